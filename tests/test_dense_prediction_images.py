import glob
import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import mtlzoo
from mtlzoo import testing
from mtlzoo.tasks.segmentation import PALETTE

SHAPE = (32, 32, 3)
TASKS = [
    mtlzoo.Task("shape", "classification", num_classes=3),
    mtlzoo.Task("seg", "segmentation", num_classes=4),
    mtlzoo.Task("depth", "depth"),
    mtlzoo.Task("normals", "normals"),
]


def _images(log_dir):
    """tag -> list of (step, [PIL images]) from the event files."""
    out = {}
    for path in glob.glob(f"{log_dir}/validation/events.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                pngs = [
                    Image.open(io.BytesIO(b)).convert("RGB") for b in tensor[2:]
                ]
                out.setdefault(value.tag, []).append((event.step, pngs))
    return out


def test_writes_dense_images(tmp_path):
    model = mtlzoo.build("tiny", TASKS, input_shape=SHAPE)
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(TASKS, SHAPE, 2)
    log_dir = str(tmp_path / "logs")
    callback = mtlzoo.callbacks.DensePredictionImages(log_dir, x, y, every=2)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0)  # skipped: every=2
    callback.on_epoch_end(1)
    callback.on_train_end()
    images = _images(log_dir)
    assert sorted(images) == [
        "dense/depth/label",
        "dense/depth/prediction",
        "dense/input",
        "dense/normals/label",
        "dense/normals/prediction",
        "dense/seg/label",
        "dense/seg/prediction",
    ]
    for tag in ("dense/seg/prediction", "dense/depth/prediction"):
        assert [step for step, _ in images[tag]] == [2]
    step, pngs = images["dense/seg/prediction"][0]
    assert len(pngs) == 2 and pngs[0].size == (32, 32)
    # segmentation colours come from the palette
    colours = {tuple(c) for c in np.asarray(pngs[0]).reshape(-1, 3)}
    assert colours <= {tuple(c) for c in PALETTE}
    # labels are coloured like predictions
    label = np.asarray(images["dense/seg/label"][0][1][0])
    expected = TASKS[1].colorize(y["seg"][:1])[0]
    np.testing.assert_array_equal(label, expected)


def test_errors(tmp_path):
    x = testing.random_images(SHAPE, 1)
    with pytest.raises(ValueError, match="every=0"):
        mtlzoo.callbacks.DensePredictionImages(str(tmp_path), x, every=0)
    with pytest.raises(ValueError, match=r"images.shape=\(32, 32, 3\)"):
        mtlzoo.callbacks.DensePredictionImages(str(tmp_path), x[0])
    with pytest.raises(ValueError, match="log_dir=''"):
        mtlzoo.callbacks.DensePredictionImages("", x)
    model = mtlzoo.build("tiny", TASKS[:1], input_shape=SHAPE)
    callback = mtlzoo.callbacks.DensePredictionImages(str(tmp_path), x)
    callback.set_model(model)
    with pytest.raises(ValueError, match="Received: tasks="):
        callback.on_train_begin()
