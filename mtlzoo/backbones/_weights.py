"""Backbone weight files: shipped fallbacks, loading with clear errors."""

import os
import urllib.error
import warnings

from mtlzoo import _files


def is_download_error(error):
    """Whether `error` says a weights download failed (offline, URL)."""
    if isinstance(error, (OSError, urllib.error.URLError)):
        return True
    return "URL fetch failure" in str(error)


def find_pretrained(filename):
    """Path (str) of a weights file shipped in `pretrained/`, or None."""
    path = _files.package_path("pretrained", filename, must_exist=False)
    return str(path) if path.is_file() else None


def load_weights(model, path, backbone):
    """`model.load_weights(path)`, with errors naming the backbone."""
    if not os.path.isfile(path):
        raise ValueError(
            f"Weights file for backbone '{backbone}' not found: {path}. "
            f"Received: weights={path!r}"
        )
    if not path.endswith((".h5", ".hdf5")):
        raise ValueError(
            f"Weights file for backbone '{backbone}' must be a .h5 or "
            f".weights.h5 file. Received: weights={path!r}"
        )
    try:
        # Keras warns about every skipped group before raising on a file that
        # does not fit: keep those warnings only when the load succeeds.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
    except Exception as error:
        raise ValueError(
            f"Weights in {path} do not fit backbone '{backbone}' with input "
            f"shape {tuple(model.input.shape[1:])}: {error}. "
            f"Received: weights={path!r}"
        ) from error
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
