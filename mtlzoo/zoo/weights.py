"""Locating and hash-checking preset weight files.

A preset's `weights.file` is looked up in the installed package
(`mtlzoo/pretrained`), then in the repository checkout (`<repo>/pretrained`),
then in the Keras cache (`$KERAS_HOME/mtlzoo`, filled by
`keras.utils.get_file` when the config has a `url`). Every file found is
checked against the config's `weights.sha256`; a mismatch is refused.
"""

import hashlib
import os
import pathlib

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
# Installed package data first, then the repository checkout.
WEIGHTS_DIRS = [_PACKAGE / "pretrained", _PACKAGE.parent / "pretrained"]
CACHE_SUBDIR = "mtlzoo"


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    actual = sha256(path)
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


def candidate_paths(file):
    """Where `file` is looked for, in order (existing or not)."""
    return [d / file for d in WEIGHTS_DIRS] + [_cache_dir() / file]


def locate(config):
    """Path of a preset's weight file, hash-checked.

    Args:
        config: dict. A zoo config (see `mtlzoo.zoo.get_config`).

    Returns:
        str. Path of a local file whose sha256 matches the config.

    Raises:
        ValueError: if a found file's hash does not match.
        FileNotFoundError: if no copy exists and none can be downloaded.
    """
    name = config.get("name")
    spec = config["weights"]
    file, expected = spec["file"], spec["sha256"]
    for path in candidate_paths(file):
        if path.is_file():
            return check_sha256(path, expected, name)
    url = spec.get("url")
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
                f"{[str(p) for p in candidate_paths(file)]}) and the download "
                f"from {url} failed: {error}. Received: name={name!r}"
            ) from error
        return check_sha256(path, expected, name)
    raise FileNotFoundError(
        f"Weights of preset '{name}' are not installed (looked at "
        f"{[str(p) for p in candidate_paths(file)]}) and its config has no "
        f"download url. Reinstall mtlzoo or pass weights=PATH. "
        f"Received: name={name!r}"
    )
