"""The dataset catalog: `register_dataset`, `get`, `list_datasets`.

A loader is a function returning `(dataset, tasks)`; it is registered
under its name in the module that defines it (file name = loader name).
"""

from mtlzoo._registry import Registry

DATASETS = Registry("dataset loader", "name")


def register_dataset(name, loader=None, aliases=()):
    """Registers a loader function under `name`; usable as a decorator.

    Args:
        name: str. Registry name, also the `loader` of dataset configs.
        loader: callable. Returns `(dataset, tasks)`. Omit it to use
            `register_dataset` as a decorator.
        aliases: tuple of str. Other names `get` accepts. Defaults to ().

    Returns:
        The loader.

    Example:

    >>> @register_dataset("my_data")
    ... def my_data(split="train", batch_size=None):
    ...     return dataset, tasks
    """
    return DATASETS.register(name, loader, aliases=aliases)


def get(name):
    """Returns the loader function registered under `name`.

    Args:
        name: str. A name from `list_datasets()`.

    Returns:
        The loader: `loader(split=..., ...)` returns `(dataset, tasks)`.

    Example:

    >>> ds, tasks = get("multi_mnist")(split="test", path="sample")
    """
    return DATASETS.get(name)


def list_datasets(pattern=None):
    """Lists registered dataset loader names.

    Args:
        pattern: str or `None`. An `fnmatch` pattern such as `"multi_*"`.
            Defaults to `None` (all names).

    Returns:
        A sorted list of names.
    """
    return DATASETS.names(pattern)
