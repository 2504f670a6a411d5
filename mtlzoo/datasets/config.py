"""The one reader of dataset blocks: train, eval, search and preset recipes.

Every JSON config that names data (`mtlzoo train` configs, `mtlzoo search`
configs and their results, zoo preset configs and recipes) holds a
dataset block, read here:

```json
{"loader": "fashion_tasks",
 "args": {"size": 32},
 "train": {"split": "train", "num_samples": 512},
 "validation": {"split": "validation", "num_samples": 64},
 "test": {"split": "test"}}
```

- `loader` (or `name` when there is no `loader`, as in `mtlzoo search`
  configs): a name of `mtlzoo.datasets.list_datasets()`.
- `args`: keyword arguments of every split; `train`, `validation`, `test`:
  those of one split (`split` defaults to the split's own name; a missing
  `validation` is the test split).
- Zoo blocks add `paths` (loader argument -> data location used for
  training; used when every one exists here), `sample` (arguments that
  select the real sample shipped with mtlzoo, or null) and `search`
  (whether the loader's own search finds the same data), plus the
  informational `name`, `source`, `license` and `class_names`.

Example:

>>> block = {"loader": "fashion_tasks", "args": {"path": "sample"}}
>>> ds, tasks = mtlzoo.datasets.config.load_split(block, "test",
...                                               batch_size=32)
"""

import copy
import inspect
import os

from mtlzoo.datasets import registry

SPLITS = ("train", "validation", "test")
KEYS = (
    "loader",
    "name",
    "args",
    "paths",
    "sample",
    "search",
    "source",
    "license",
    "class_names",
) + SPLITS
# What to do when a zoo block's recorded `paths` are not on this machine.
MISSING = ("search", "sample")


class DataNotFoundError(FileNotFoundError):
    """The data a dataset block names is not available on this machine."""


def read_block(block):
    """Check a dataset block and return a normalised copy.

    Args:
        block: dict. A dataset block (see the module docstring).

    Returns:
        A new dict with `loader` set (from `name` when missing).

    Raises:
        ValueError: on a block that is not a dict, has no loader, names an
            unknown loader or has unknown keys or badly typed entries.
    """
    if not isinstance(block, dict):
        raise ValueError(
            f"A dataset block is a dict with a `loader`. Received: "
            f"dataset={block!r}"
        )
    block = copy.deepcopy(block)
    if "loader" not in block and "name" in block:
        block["loader"] = block["name"]  # `mtlzoo search` configs
    loader = block.get("loader")
    if not isinstance(loader, str):
        raise ValueError(
            "A dataset block needs a `loader` (or `name`) from "
            f"mtlzoo.datasets.list_datasets(). Received: dataset={block!r}"
        )
    registry.get(loader)  # raises on an unknown name, listing the valid
    unknown = sorted(set(block) - set(KEYS))
    if unknown:
        raise ValueError(
            f"Unknown dataset block key(s) {unknown}; allowed: {list(KEYS)}."
            f" Received: dataset keys={sorted(block)}"
        )
    for key in ("args", "paths") + SPLITS:
        if block.get(key) is not None and not isinstance(block[key], dict):
            raise ValueError(
                f"`dataset.{key}` must be a dict of loader arguments. "
                f"Received: {key}={block[key]!r}"
            )
    if block.get("sample") is not None and not isinstance(
        block["sample"], dict
    ):
        raise ValueError(
            "`dataset.sample` must be a dict of loader arguments or null. "
            f"Received: sample={block['sample']!r}"
        )
    return block


def split_arguments(
    block,
    split,
    sample=False,
    data=None,
    missing="search",
    strict=False,
    owner=None,
):
    """Keyword arguments of the block's loader for one split.

    Args:
        block: dict. A dataset block.
        split: str. `"train"`, `"validation"` or `"test"`.
        sample: bool. Use the real sample shipped with mtlzoo (the block's
            `sample`) instead of the full data. Defaults to False.
        data: None, str or dict. Where the full data is: one path (for a
            block with one `paths` entry) or a dict argument -> path.
            Defaults to None: the recorded `paths` when they all exist here,
            else as `missing` says.
        missing: str. When recorded `paths` are missing here: `"search"`
            (the loader's own search, offline, if the block's `search`
            allows it) or `"sample"` (the shipped sample if there is one,
            else the search). Otherwise `DataNotFoundError`. Defaults to
            `"search"`.
        strict: bool. Refuse a split the block does not name (else a
            missing `validation` is the test split). Defaults to False.
        owner: str. Who the block belongs to (e.g. `"preset 'x'"`), for
            error messages. Defaults to None.

    Returns:
        dict of loader keyword arguments (`split` included, no
        `batch_size`).

    Raises:
        DataNotFoundError: when the full data is not available.
    """
    block = read_block(block)
    where = f" of {owner}" if owner else ""
    if split not in SPLITS or (strict and split not in block):
        valid = [s for s in SPLITS if s in block] if strict else list(SPLITS)
        raise ValueError(
            f"`split` must be one of {valid}{where}. Received: split={split!r}"
        )
    if missing not in MISSING:
        raise ValueError(
            f"`missing` must be one of {list(MISSING)}. "
            f"Received: missing={missing!r}"
        )
    own = split if split in block or split != "validation" else "test"
    args = dict(block.get("args") or {}, **(block.get(own) or {}))
    args.setdefault("split", own)
    args.pop("batch_size", None)
    if "paths" in block:
        args = _with_data(block, args, sample, data, missing, split, where)
    elif sample or data is not None:
        raise ValueError(
            f"The dataset block{where} records no `paths` or `sample`. "
            f"Received: sample={sample!r}, data={data!r}"
        )
    return args


def _with_data(block, args, sample, data, missing, split, where):
    """`args` completed with the data location of a zoo block."""
    if sample:
        return _sample_arguments(block, args, where, sample)
    recorded = dict(block["paths"])
    if data is not None:
        recorded.update(_data_paths(recorded, data, where))
        absent = {
            k: v for k, v in recorded.items() if not os.path.exists(str(v))
        }
        if absent:
            raise DataNotFoundError(
                f"Data path(s) not found: {absent}. Received: data={data!r}"
            )
        return dict(args, **recorded)
    if all(os.path.exists(str(p)) for p in recorded.values()):
        return dict(args, **recorded)
    if missing == "sample" and block.get("sample") is not None:
        return _sample_arguments(block, args, where, True)
    if block.get("search"):
        args.update({k: None for k in recorded})
        args["download"] = False
        return args
    raise DataNotFoundError(
        f"The full {split} data{where} ({block.get('source', block['loader'])})"
        f" is not available here: not at "
        f"{sorted(map(str, recorded.values()))}. Pass its location "
        "(`data=` / `--data PATH`), or use the real sample shipped with "
        "mtlzoo (`sample=True` / `--sample`). "
        f"Received: data={data!r}"
    )


def _sample_arguments(block, args, where, sample):
    if block.get("sample") is None:
        raise ValueError(
            f"The dataset{where} ({block['loader']}) has no shipped sample. "
            f"Received: sample={sample!r}"
        )
    args = dict(args, **block["sample"])
    args.pop("num_samples", None)  # the sample is small: use it all
    return args


def _data_paths(recorded, data, where):
    if isinstance(data, (str, os.PathLike)):
        if len(recorded) != 1:
            raise ValueError(
                f"The dataset{where} reads {sorted(recorded)}; pass a dict "
                f"argument -> path. Received: data={data!r}"
            )
        return {next(iter(recorded)): os.fspath(data)}
    if not isinstance(data, dict) or set(data) - set(recorded):
        raise ValueError(
            f"`data` must be a path or a dict with keys in "
            f"{sorted(recorded)}. Received: data={data!r}"
        )
    return data


def load_split(block, split, tasks=None, batch_size=None, shuffle=None, **kw):
    """The dataset of one split of a block, and its tasks.

    Args:
        block: dict. A dataset block.
        split: str. `"train"`, `"validation"` or `"test"`.
        tasks: list of `mtlzoo.Task` or task names. When given, the loader
            is asked for them (if it takes `tasks`), `Task`s are checked
            against the loaded ones, and only their labels are kept.
            Defaults to None (the loader's tasks, every label).
        batch_size: int. Passed to the loader when given.
        shuffle: bool. Passed to the loader when given.
        **kw: `sample`, `data`, `missing`, `strict`, `owner` of
            `split_arguments`.

    Returns:
        `(dataset, tasks)` as the loader returns them (labels restricted to
        `tasks` when given).
    """
    block = read_block(block)
    args = split_arguments(block, split, **kw)
    loader = registry.get(block["loader"])
    names = None
    if tasks is not None:
        names = [getattr(t, "name", t) for t in tasks]
        if "tasks" in inspect.signature(loader).parameters:
            args["tasks"] = list(names)
    if batch_size is not None:
        args["batch_size"] = batch_size
    if shuffle is not None:
        args["shuffle"] = shuffle
    ds, loaded = loader(**args)
    if names is not None:
        check_tasks(tasks, loaded, block["loader"])
        if [t.name for t in loaded] != names:
            ds = select_tasks(ds, names)
    return ds, loaded


def load_splits(block, tasks=None, splits=SPLITS, **kw):
    """Unbatched datasets of several splits (see `load_split`).

    Returns:
        `(datasets, tasks)`: a tuple of datasets in the order of `splits`
        and the loader's tasks.
    """
    out, loaded = [], None
    for split in splits:
        ds, loaded = load_split(block, split, tasks=tasks, **kw)
        out.append(ds)
    return tuple(out), loaded


def select_tasks(dataset, names):
    """Keep only the labels of tasks `names` in a `(image, labels)` dataset."""
    keep = list(names)
    return dataset.map(lambda x, y: (x, {k: y[k] for k in keep}))


def check_tasks(tasks, loaded, loader):
    """Raise unless every `Task` in `tasks` matches a loaded task.

    Names (strings) in `tasks` are only checked for presence.
    """
    by_name = {t.name: t for t in loaded}
    for task in tasks:
        name = getattr(task, "name", task)
        other = by_name.get(name)
        if other is not None and isinstance(task, str):
            continue
        if other is None or _signature(other) != _signature(task):
            raise ValueError(
                f"Task '{name}' does not match the dataset '{loader}' "
                f"({other!r}). Received: task={task!r}"
            )


def _signature(task):
    return task.kind, task.num_classes, task.units
