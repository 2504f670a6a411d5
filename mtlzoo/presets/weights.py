"""Locating and hash-checking preset weight files.

A preset's `weights.file` is looked up next to its `config.json` (a
preset folder written by `save_to_preset`), then in `pretrained/<name>/` of
the installed package and of the repository checkout
(`mtlzoo._files.candidates`), then in the Keras cache (`$KERAS_HOME/mtlzoo`,
filled by `keras.utils.get_file` when the config has a `url`). Every file
found is checked against the config's `weights.sha256`
(`mtlzoo._files.sha256`); a mismatch is refused.
"""

import os
import pathlib

from mtlzoo import _files
from mtlzoo._files import sha256  # noqa: F401 (the old public name)

# Installed package data first, then the repository checkout.
WEIGHTS_DIRS = _files.candidates("pretrained")
CACHE_SUBDIR = "mtlzoo"


def weights_block(path, params):
    """The `weights` block of a zoo config for the weights file at `path`.

    Args:
        path: str or path. The weights file (its name is the block's
            `file`).
        params: int. The model's parameter count.

    Returns:
        dict with `file`, `sha256`, `size_bytes` and `params`.
    """
    path = pathlib.Path(path)
    return {
        "file": path.name,
        "sha256": _files.sha256(path),
        "size_bytes": path.stat().st_size,
        "params": int(params),
    }


def weights_spec(config, preset=None):
    """`(file, sha256, url or None)` of a config's `weights` block.

    Args:
        config: dict. A zoo config.
        preset: str. The preset's name or path, for error messages.
            Defaults to `config["name"]`.

    Raises:
        ValueError: naming the preset and the missing key, when the config
            has no `weights` block, `weights.file` or `weights.sha256`.
    """
    preset = preset or config.get("name")
    spec = config.get("weights")
    if not isinstance(spec, dict):
        raise ValueError(
            f"Preset '{preset}' has no `weights` block in its config, so it "
            "has no weights to load; pass load_weights=False to build it "
            f"untrained. Received: weights={spec!r}"
        )
    for key in ("file", "sha256"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ValueError(
                f"Preset '{preset}' lacks `weights.{key}` in its config: "
                "weights are only loaded with their file name and sha256. "
                f"Received: weights={spec!r}"
            )
    return spec["file"], spec["sha256"], spec.get("url")


def check_sha256(path, expected, name=None):
    """Refuse a file whose sha256 differs from `expected`.

    Args:
        path: str or path. The file to check.
        expected: str. The sha256 hex digest recorded in the zoo config.
        name: str. Preset name, for the error message. Defaults to None.

    Returns:
        `path` as a string.

    Raises:
        ValueError: naming the file, the expected and the actual hash.
    """
    actual = _files.sha256(path)
    if actual != expected:
        preset = f" of preset '{name}'" if name else ""
        raise ValueError(
            f"Refusing weights file {path}{preset}: its sha256 does not "
            f"match the zoo config (expected {expected}, actual {actual}). "
            "The file is corrupted, truncated or from another version; "
            "delete it and restore or re-download it. "
            f"Received: path={str(path)!r}"
        )
    return str(path)


def _keras_home():
    """`$KERAS_HOME` (read now, unlike Keras), else `~/.keras`."""
    return os.environ.get(
        "KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")
    )


def _cache_dir():
    return pathlib.Path(_keras_home()) / CACHE_SUBDIR


def candidate_paths(file, name=None, folder=None):
    """Where `file` is looked for, in order (existing or not).

    Args:
        file: str. The weights file name (`weights.file`).
        name: str. The preset name: its `pretrained/<name>/` folders.
        folder: str or path. The preset's own folder (its config.json's).
    """
    paths = [] if folder is None else [pathlib.Path(folder) / file]
    if name:
        paths += [pathlib.Path(d) / name / file for d in WEIGHTS_DIRS]
    return paths + [_cache_dir() / file]


def locate(config, folder=None):
    """Path of a preset's weight file, hash-checked.

    Args:
        config: dict. A zoo config (see `mtlzoo.zoo.get_config`).
        folder: str or path. The folder of the preset's config.json,
            looked at first. Defaults to None.

    Returns:
        str. Path of a local file whose sha256 matches the config.

    Raises:
        ValueError: if a found file's hash does not match, or the config
            names no weights file or sha256.
        FileNotFoundError: if no copy exists and none can be downloaded.
    """
    name = config.get("name")
    file, expected, url = weights_spec(config)
    places = candidate_paths(file, name, folder)
    for path in places:
        if path.is_file():
            return check_sha256(path, expected, name)
    looked = [str(p) for p in places]
    if url:
        import keras

        try:
            # Keras falls back to /tmp/.keras when the home does not exist.
            os.makedirs(_cache_dir(), exist_ok=True)
            path = keras.utils.get_file(
                fname=file,
                origin=url,
                file_hash=expected,
                hash_algorithm="sha256",
                cache_dir=_keras_home(),
                cache_subdir=CACHE_SUBDIR,
            )
        except Exception as error:  # network errors come in many types
            raise FileNotFoundError(
                f"Weights of preset '{name}' are not installed (looked at "
                f"{looked}) and the download from {url} failed: {error}. "
                f"Received: name={name!r}"
            ) from error
        return check_sha256(path, expected, name)
    raise FileNotFoundError(
        f"Weights of preset '{name}' are not installed (looked at {looked}) "
        "and its config has no download url. Reinstall mtlzoo or pass "
        f"load_weights=PATH. Received: name={name!r}"
    )
