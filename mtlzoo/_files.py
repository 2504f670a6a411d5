"""Files the package ships: one lookup for "installed or checkout", one
sha256. Imports no TensorFlow (the command line uses it).

Package data lives under `mtlzoo/` in a wheel; in a source checkout (an
editable install, or running from the repository) the same folders sit at
the top of the repository. `package_path(...)` answers both.
"""

import hashlib
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
