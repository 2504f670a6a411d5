"""Re-measure a preset's metrics on its test split (or the shipped sample)."""

import os

from mtlzoo.zoo import registry


class DataNotFoundError(FileNotFoundError):
    """A preset's full test data is not available on this machine."""


def dataset_arguments(config, split="test", sample=False, data=None):
    """Keyword arguments of the preset's dataset loader for one split.

    Args:
        config: dict. A zoo config.
        split: str. `"test"`, `"train"` or, for a preset trained with
            a validation split, `"validation"`. Defaults to `"test"`.
        sample: bool. Use the real sample shipped with mtlzoo instead of
            the full data (`dataset.sample`). Defaults to False.
        data: None, str or dict. Where the full data is: one path (for a
            loader with one path argument) or a dict argument -> path.
            Defaults to None: the paths recorded at training time when they
            exist here, else the loader's own search (`$MTLZOO_DATA_DIR`,
            the Keras cache) when the config allows it.

    Returns:
        dict of loader keyword arguments.

    Raises:
        DataNotFoundError: when the full data is not available.
    """
    block = config["dataset"]
    splits = [k for k in ("train", "validation", "test") if k in block]
    if split not in splits:
        raise ValueError(
            f"`split` must be one of {splits} for preset "
            f"'{config['name']}'. Received: split={split!r}"
        )
    kwargs = dict(block[split])
    if sample:
        if block["sample"] is None:
            raise ValueError(
                f"Preset '{config['name']}' ({block['name']}) has no shipped "
                f"sample. Received: sample={sample!r}"
            )
        kwargs.update(block["sample"])
        kwargs.pop("num_samples", None)  # the sample is small: use it all
        return kwargs
    recorded = dict(block["paths"])
    if data is not None:
        if isinstance(data, (str, os.PathLike)):
            if len(recorded) != 1:
                raise ValueError(
                    f"Preset '{config['name']}' reads {sorted(recorded)}; pass "
                    f"a dict argument -> path. Received: data={data!r}"
                )
            data = {next(iter(recorded)): os.fspath(data)}
        if not isinstance(data, dict) or set(data) - set(recorded):
            raise ValueError(
                f"`data` must be a path or a dict with keys in "
                f"{sorted(recorded)}. Received: data={data!r}"
            )
        recorded.update(data)
        missing = {
            k: v for k, v in recorded.items() if not os.path.exists(str(v))
        }
        if missing:
            raise DataNotFoundError(
                f"Data path(s) not found: {missing}. Received: data={data!r}"
            )
        kwargs.update(recorded)
        return kwargs
    if all(os.path.exists(str(p)) for p in recorded.values()):
        kwargs.update(recorded)
        return kwargs
    if block["search"]:
        kwargs.update({k: None for k in recorded})
        kwargs["download"] = False
        return kwargs
    raise DataNotFoundError(
        f"The full {split} data of preset '{config['name']}' "
        f"({block['source']}) is not available here: not at "
        f"{sorted(map(str, recorded.values()))}. Pass its location "
        "(`data=` / `--data PATH`), or evaluate on the real sample shipped "
        "with mtlzoo (`sample=True` / `--sample`). "
        f"Received: data={data!r}"
    )


def load_dataset(config, split="test", sample=False, data=None, batch_size=128):
    """The preset's dataset for `split`, batched and unshuffled."""
    from mtlzoo import datasets

    kwargs = dataset_arguments(config, split, sample, data)
    loader = getattr(datasets, config["dataset"]["loader"])
    try:
        ds, _ = loader(batch_size=batch_size, shuffle=False, **kwargs)
    except FileNotFoundError as error:
        raise DataNotFoundError(
            f"{error} Or evaluate on the real sample shipped with mtlzoo "
            "(`sample=True` / `--sample`)."
        ) from error
    return ds


def measure(model, dataset, verbose=0):
    """Task metrics of `model` on `dataset` (the zoo's measuring code).

    Args:
        model: a compiled `MultiTaskModel`.
        dataset: `tf.data.Dataset` of `(image, labels)` batches.
        verbose: int. Keras progress bar. Defaults to 0.

    Returns:
        dict metric name -> float, task metrics only (no losses).
    """
    logs = model.evaluate(dataset, return_dict=True, verbose=verbose)
    prefixes = tuple(f"{n}_" for n in model.task_names)
    return {
        k: float(v)
        for k, v in sorted(logs.items())
        if k.startswith(prefixes)
        and not k.endswith(("_loss", "_weight"))
        and k != "regularization_loss"
    }


def evaluate(name, sample=False, data=None, batch_size=128, verbose=0):
    """Re-measure a preset's test metrics with its shipped weights.

    Args:
        name: str. A preset name.
        sample: bool. Evaluate on the real sample shipped with mtlzoo
            instead of the full test split. Defaults to False.
        data: None, str or dict. Location of the full data (see
            `dataset_arguments`). Defaults to None.
        batch_size: int. Defaults to 128.
        verbose: int. Keras progress bar. Defaults to 0.

    Returns:
        dict with `metrics` (measured now), `card` (the config's
        `metrics.multi_task`, measured on the full test split) and
        `num_samples`.

    Example:

    >>> result = mtlzoo.zoo.evaluate("fashion_tiny_test", sample=True)
    >>> result["metrics"]["garment_accuracy"]
    """
    from mtlzoo.zoo.loading import load

    config = registry.get_config(name)
    dataset = load_dataset(config, "test", sample, data, batch_size)
    model = load(name)
    count = sum(int(x.shape[0]) for x, _ in dataset)
    return {
        "metrics": measure(model, dataset, verbose),
        "card": dict(config["metrics"]["multi_task"]),
        "num_samples": count,
    }
