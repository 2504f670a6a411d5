"""Re-measure a preset's metrics on its test split (or the shipped sample)."""

from mtlzoo.datasets import config as dataset_config
from mtlzoo.datasets.config import DataNotFoundError
from mtlzoo.presets import registry
from mtlzoo.zoo.loading import from_preset

__all__ = [
    "DataNotFoundError",
    "dataset_arguments",
    "evaluate",
    "load_dataset",
    "measure",
]


def dataset_arguments(config, split="test", sample=False, data=None):
    """Keyword arguments of the preset's dataset loader for one split.

    The preset's `dataset` block is read by `mtlzoo.datasets.config`, the
    reader that training, search and the preset recipes use too.

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
    return dataset_config.split_arguments(
        config["dataset"],
        split,
        sample=sample,
        data=data,
        strict=True,
        owner=f"preset '{config['name']}'",
    )


def load_dataset(config, split="test", sample=False, data=None, batch_size=128):
    """The preset's dataset for `split`, batched and unshuffled."""
    try:
        ds, _ = dataset_config.load_split(
            config["dataset"],
            split,
            batch_size=batch_size,
            shuffle=False,
            sample=sample,
            data=data,
            strict=True,
            owner=f"preset '{config['name']}'",
        )
    except DataNotFoundError:
        raise
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
    config = registry.get_config(name)
    dataset = load_dataset(config, "test", sample, data, batch_size)
    model = from_preset(name)
    count = sum(int(x.shape[0]) for x, _ in dataset)
    return {
        "metrics": measure(model, dataset, verbose),
        "card": dict(config["metrics"]["multi_task"]),
        "num_samples": count,
    }
