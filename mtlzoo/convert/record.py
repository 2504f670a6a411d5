"""The conversion record: where a converted model's weights come from."""

import os

from mtlzoo import _files


def conversion_record(
    path, package=None, version=None, license=None, file=None
):
    """Where a converted file comes from, checkable by its sha256.

    Args:
        path: str or path. The source file that was converted.
        package: str. The registry package that ships it, prefixed by its
            registry (`"npm:@mediapipe/pose"`, `"pypi:mtcnn"`). Defaults to
            None.
        version: str. The package version. Defaults to None.
        license: str. The licence of the file (SPDX id and notes).
            Defaults to None.
        file: str. The file's path inside the package. Defaults to its
            base name.

    Returns:
        dict with `package`, `version`, `file`, `sha256`, `size_bytes`
        and `license`.

    Example:

    >>> conversion_record("pose_landmark_lite.tflite",
    ...                   package="npm:@mediapipe/pose",
    ...                   version="0.5.1675469404", license="Apache-2.0")
    """
    return {
        "package": package,
        "version": version,
        "file": file or os.path.basename(os.fspath(path)),
        "sha256": _files.sha256(path),
        "size_bytes": os.path.getsize(path),
        "license": license,
    }
