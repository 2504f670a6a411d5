"""The preset registry: one JSON config per preset in `zoo_configs/`.

Configs are read from the installed package (`mtlzoo/zoo_configs`, where
the wheel puts them) and then from the repository checkout
(`<repo>/zoo_configs`, for an editable install or a source tree); the first
file of a name wins. Weight files are looked up the same way under
`pretrained/` (see `mtlzoo.zoo.weights`).
"""

import copy
import fnmatch
import json
import pathlib

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
# Installed package data first, then the repository checkout.
CONFIG_DIRS = [_PACKAGE / "zoo_configs", _PACKAGE.parent / "zoo_configs"]


def config_files():
    """Preset name -> path of its JSON config (first directory wins)."""
    files = {}
    for directory in CONFIG_DIRS:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            files.setdefault(path.stem, path)
    return files


def list_models(pattern=None):
    """Names of the pretrained presets, sorted.

    Args:
        pattern: str. An `fnmatch` pattern such as `"*fashion*"`.
            Defaults to None (every preset).

    Returns:
        A sorted list of preset names, each usable with `mtlzoo.load`.

    Example:

    >>> mtlzoo.zoo.list_models("multi_*")
    ['multi_fashion_mnist_lenet', 'multi_fashion_resnet_small', ...]
    """
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError(
            f"`pattern` must be a string or None. Received: pattern={pattern!r}"
        )
    names = sorted(config_files())
    if pattern is None:
        return names
    return [name for name in names if fnmatch.fnmatch(name, pattern)]


def config_path(name):
    """Path of the JSON config of preset `name`; raises if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"A preset name is a string. Received: name={name!r}")
    files = config_files()
    if name not in files:
        valid = ", ".join(sorted(files)) or "(none found)"
        raise ValueError(
            f"Unknown preset. Valid names: {valid}. Received: name={name!r}"
        )
    return files[name]


def get_config(name):
    """The full zoo config of a preset, as a fresh dict.

    Args:
        name: str. A name from `list_models()`.

    Returns:
        dict with `name`, `description`, `architecture`, `training`,
        `weights`, `metrics`, `dataset` and `license`
        (see `mtlzoo.zoo.schema`).
    """
    path = config_path(name)
    with open(path, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Zoo config {path} is not valid JSON: {error}. "
                f"Received: name={name!r}"
            ) from error
    return copy.deepcopy(config)
