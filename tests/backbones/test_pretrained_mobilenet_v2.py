"""The shipped ImageNet MobileNetV2 backbone weights (offline, fast).

``pretrained/mobilenet_v2_imagenet_no_top.weights.h5`` is torchvision's
``mobilenet_v2-b0353104.pth`` converted by ``tools/convert_mobilenet_v2.py``.
``tests/data/mobilenet_v2_chelsea.npz`` (written by the same script) holds a
97 x 97 crop of scikit-image's ``chelsea`` photo (CC0), the features torch
computed for it, and the features Keras computed for its 96 x 96 corner.
"""

import hashlib
import pathlib

import keras
import numpy as np
import pytest
from keras.applications import imagenet_utils

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "pretrained"
WEIGHTS = PRETRAINED / "mobilenet_v2_imagenet_no_top.weights.h5"
DATA = ROOT / "tests" / "data" / "mobilenet_v2_chelsea.npz"


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sums():
    sums = {}
    for line in (PRETRAINED / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def _features(size, image_uint8):
    model = keras.applications.MobileNetV2(
        include_top=False,
        input_shape=(size, size, 3),
        weights=str(WEIGHTS),
    )
    # The weights expect torchvision's normalisation ("torch" mode), not
    # keras.applications.mobilenet_v2.preprocess_input ("tf" mode).
    x = imagenet_utils.preprocess_input(
        image_uint8[None].astype("float32"), mode="torch"
    )
    fmap = keras.ops.convert_to_numpy(model(x, training=False))
    assert fmap.shape[-1] == 1280
    return fmap.mean(axis=(1, 2))[0]


@pytest.fixture(scope="module")
def data():
    with np.load(DATA) as d:
        return {k: d[k] for k in d.files}


def test_sha256sums_match_shipped_files():
    sums = _sums()
    assert WEIGHTS.name in sums
    for name, digest in sums.items():
        assert _sha256(PRETRAINED / name) == digest, name


def test_weights_file_is_not_a_git_lfs_pointer():
    # ~9 MB of float32 weights; an LFS pointer or truncated copy is tiny.
    assert WEIGHTS.stat().st_size > 9_000_000
    assert WEIGHTS.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


def test_features_at_96_match_conversion(data):
    crop = data["chelsea97_uint8"][:96, :96]
    got = _features(96, crop)
    want = data["keras_features96"]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    # ReLU6 output, averaged: in [0, 6] and not degenerate.
    assert got.min() >= 0.0 and got.max() <= 6.0
    assert got.std() > 0.1


def test_features_match_torch_reference_at_odd_size(data):
    # At sides 32k + 1 Keras' MobileNetV2 pads like torchvision, so the
    # converted weights must reproduce torch's features exactly.
    got = _features(97, data["chelsea97_uint8"])
    want = data["torch_features97"]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
