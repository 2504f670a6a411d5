"""Files the package ships: one lookup for "installed or checkout", one
sha256. Imports no TensorFlow (the command line uses it).

Package data lives under `mtlzoo/` in a wheel; in a source checkout (an
editable install, or running from the repository) the same folders sit at
the top of the repository. `package_path(...)` answers both.
"""

import hashlib
import json
import os
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def candidates(*parts):
    """Where `parts` may live, in order: the installed package, then the
    repository checkout (existing or not)."""
    return [PACKAGE_DIR.joinpath(*parts), REPO_DIR.joinpath(*parts)]


def package_path(*parts, must_exist=True):
    """The first existing location of `parts` (see `candidates`).

    Args:
        *parts: str. Path pieces below the package or repository root,
            e.g. `("pretrained", "x.weights.h5")`.
        must_exist: bool. Raise FileNotFoundError when nothing exists;
            otherwise return the first candidate. Defaults to True.
    """
    places = candidates(*parts)
    for place in places:
        if place.exists():
            return place
    if must_exist:
        raise FileNotFoundError(
            f"{'/'.join(parts)} is neither in the installed package nor in "
            f"the repository checkout (looked at {[str(p) for p in places]})."
            f" Received: parts={parts!r}"
        )
    return places[0]


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def named_json(value, folder, what, accepts):
    """The object in a JSON file given by name or path; others pass as is.

    A str or path ending in `.json` is that file; any other str names
    `<folder>/<value>.json` (a file the package ships).

    Args:
        value: str, path or anything else (returned unchanged).
        folder: path. Where the shipped files are.
        what: str. What the file holds, for messages (`"head graph"`).
        accepts: str. What else may be passed, for the message when
            nothing is found.

    Raises:
        ValueError: naming the shipped names when the file does not
            exist, or the parse error when it is not valid JSON.
    """
    if not isinstance(value, (str, os.PathLike)):
        return value
    folder = pathlib.Path(folder)
    path = pathlib.Path(value)
    if path.suffix != ".json":
        path = folder / f"{value}.json"
    if not path.is_file():
        shipped = sorted(p.stem for p in folder.glob("*.json"))
        raise ValueError(
            f"No {what} {str(value)!r}; shipped: {shipped}, or pass "
            f"{accepts}. Received: graph={value!r}"
        )
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"The {what} file is not valid JSON ({error}). "
            f"Received: graph={str(value)!r}"
        ) from None
