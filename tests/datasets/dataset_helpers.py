"""Helpers shared by the dataset tests: fake MNIST-like files, readers."""

import gzip
import pathlib

import numpy as np
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[2]
FASHION_DIR = REPO.parent / "shared" / "data" / "fashion-mnist"


def items(n, value, seed):
    """n 28x28 uint8 items: random blobs of a single grey `value`."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28)) < 0.3).astype(np.uint8) * value


def fake_npz(path, n_train=40, n_test=20, train_value=100, test_value=200):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": items(n_train, train_value, 1),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": items(n_test, test_value, 2),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    np.savez(path, **arrays)
    return arrays


def write_idx(path, array, compress):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def fake_idx_dir(directory, arrays):
    directory.mkdir(parents=True, exist_ok=True)
    for split, prefix, gz in (("train", "train", True), ("test", "t10k", 0)):
        suffix = ".gz" if gz else ""
        write_idx(
            directory / f"{prefix}-images-idx3-ubyte{suffix}",
            arrays[f"x_{split}"],
            gz,
        )
        write_idx(
            directory / f"{prefix}-labels-idx1-ubyte{suffix}",
            arrays[f"y_{split}"],
            gz,
        )
    return directory


def first(ds):
    image, labels = next(iter(ds))
    return image.numpy(), {k: v.numpy() for k, v in labels.items()}


def collect(ds):
    images, labels = [], {}
    for image, label in ds:
        images.append(image.numpy())
        for k, v in label.items():
            labels.setdefault(k, []).append(v.numpy())
    return np.stack(images), {k: np.stack(v) for k, v in labels.items()}


def check_specs(ds, tasks, batched=True):
    """Labels fit every Task's validate_label_spec; images are (H, W, C)."""
    image_spec, label_spec = ds.element_spec
    assert image_spec.dtype == tf.float32
    assert set(label_spec) == {t.name for t in tasks}
    input_shape = tuple(image_spec.shape[-3:])
    for task in tasks:
        spec = label_spec[task.name]
        shape = tuple(spec.shape) if batched else (None,) + tuple(spec.shape)
        task.validate_label_spec(shape, spec.dtype, input_shape)
        assert spec.dtype == tf.as_dtype(task.label_dtype)


def numbered_npz(path, n_train=40, n_test=10):
    """Every item a constant 28x28 block whose grey level is its number."""
    x = np.repeat(np.arange(1, n_train + n_test + 1, dtype=np.uint8), 784)
    x = x.reshape(-1, 28, 28)
    y = np.arange(n_train + n_test) % 10
    np.savez(
        path,
        x_train=x[:n_train], y_train=y[:n_train],
        x_test=x[n_train:], y_test=y[n_train:],
    )  # fmt: skip
    return path


def item_numbers(ds, corner=(0, 0)):
    images, _ = collect(ds)
    return set(images[:, corner[0], corner[1], 0].astype(int).tolist())
