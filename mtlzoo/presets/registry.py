"""The preset registry: one folder per preset, under two homes.

Preset NAME is

- `zoo_configs/NAME/`: `config.json` (the zoo config, see
  `mtlzoo.presets.schema`), `README.md` (its model card), `LICENSE` (the
  licences of its weights and data) and `recipe.json` (what
  `tools/train_preset.py NAME` trains to remake it);
- `pretrained/NAME/`: its weights file (`weights.file` of the config,
  sha256-checked, see `mtlzoo.presets.weights`).

Both homes are looked up in the installed package (`mtlzoo/zoo_configs`,
`mtlzoo/pretrained`, where the wheel puts them) and then in the repository
checkout (an editable install or a source tree): see
`mtlzoo._files.candidates`. The first folder of a name wins. Imports no
TensorFlow (`mtlzoo list` and `mtlzoo info` use it).
"""

import copy
import fnmatch
import json
import os
import pathlib

from mtlzoo import _files

CONFIGS_HOME = "zoo_configs"
WEIGHTS_HOME = "pretrained"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
LICENSE_FILE = "LICENSE"
RECIPE_FILE = "recipe.json"
# Installed package data first, then the repository checkout.
CONFIG_DIRS = _files.candidates(CONFIGS_HOME)


def preset_dirs():
    """Preset name -> its folder under `zoo_configs/` (first home wins)."""
    folders = {}
    for home in CONFIG_DIRS:
        home = pathlib.Path(home)
        if not home.is_dir():
            continue
        for config in sorted(home.glob(f"*/{CONFIG_FILE}")):
            folders.setdefault(config.parent.name, config.parent)
    return folders


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
    names = sorted(preset_dirs())
    if pattern is None:
        return names
    return [name for name in names if fnmatch.fnmatch(name, pattern)]


def preset_dir(name):
    """The `zoo_configs/` folder of preset `name`; raises if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"A preset name is a string. Received: name={name!r}")
    folders = preset_dirs()
    if name not in folders:
        valid = ", ".join(sorted(folders)) or "(none found)"
        raise ValueError(
            f"Unknown preset. Valid names: {valid}. Received: name={name!r}"
        )
    return folders[name]


def config_path(name):
    """Path of the `config.json` of preset `name`; raises if unknown."""
    return preset_dir(name) / CONFIG_FILE


def find_preset(preset):
    """The folder of a preset given by registry name or by path.

    Args:
        preset: str or path. A name from `list_models()`, a folder holding
            a `config.json`, or such a `config.json` file.

    Returns:
        `pathlib.Path` of the folder.
    """
    folders = preset_dirs()
    if isinstance(preset, str) and preset in folders:
        return folders[preset]
    if isinstance(preset, (str, os.PathLike)):
        path = pathlib.Path(preset)
        if path.is_file() and path.name == CONFIG_FILE:
            return path.parent
        if (path / CONFIG_FILE).is_file():
            return path
        if path.is_dir():
            raise ValueError(
                f"A preset folder holds a {CONFIG_FILE}; {path} has none. "
                f"Received: preset={os.fspath(preset)!r}"
            )
    if isinstance(preset, str) and os.sep not in preset:
        return preset_dir(preset)  # unknown: the error lists valid names
    raise ValueError(
        f"A preset is a name from mtlzoo.zoo.list_models() or a folder with "
        f"a {CONFIG_FILE}. Received: preset={preset!r}"
    )


def read_config(path, name=None):
    """A zoo config read from a JSON file, with clear errors."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Zoo config {path} is not valid JSON: {error}. "
                f"Received: name={name or pathlib.Path(path).parent.name!r}"
            ) from error


def get_config(name):
    """The full zoo config of a preset, as a fresh dict.

    Args:
        name: str. A name from `list_models()` (or a preset folder).

    Returns:
        dict with `name`, `description`, `architecture`, `training`,
        `weights`, `metrics`, `dataset` and `license`
        (see `mtlzoo.presets.schema`).
    """
    folder = find_preset(name)
    return copy.deepcopy(read_config(folder / CONFIG_FILE, name))
