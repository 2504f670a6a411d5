"""The TFDS wrappers, on tfds.testing.mock_data (offline)."""

import time

import numpy as np
import pytest
import tensorflow as tf
from dataset_helpers import check_specs
from dataset_helpers import first

from mtlzoo import datasets
from mtlzoo.datasets import tfds_features

TFDS_CASES = [
    ("celeb_a", {}, ["attributes", "landmarks"]),
    ("celeb_a", {"per_attribute": True}, None),
    ("dsprites", {}, ["shape", "scale", "orientation", "position"]),
    ("shapes3d", {}, None),
    ("smallnorb", {}, None),
    ("oxford_iiit_pet", {}, ["breed", "species", "mask", "head"]),
    ("cityscapes", {}, ["segmentation"]),
    ("cityscapes", {"config": "stereo_disparity"}, ["disparity"]),
    ("nyu_depth_v2", {}, ["depth"]),
]


@pytest.mark.parametrize("name, kwargs, names", TFDS_CASES)
def test_tfds_wrappers_with_mock_data(name, kwargs, names):
    import tensorflow_datasets as tfds

    size = (24, 40)
    with tfds.testing.mock_data(num_examples=3):
        ds, tasks = getattr(datasets, name)(
            size=size, batch_size=2, seed=0, **kwargs
        )
        images, labels = first(ds)
    if names is not None:
        assert [t.name for t in tasks] == names
    if kwargs.get("per_attribute"):
        assert len(tasks) == 41 and tasks[0].name == "five_o_clock_shadow"
    check_specs(ds, tasks)
    assert images.shape[:3] == (2,) + size
    assert images.min() >= 0 and images.max() <= 255
    for task in tasks:
        assert labels[task.name].shape == (2,) + task.label_shape(size)


def test_tfds_task_subset_and_channels():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):
        ds, tasks = datasets.dsprites(tasks=["shape"], channels=3, size=32)
        image, labels = first(ds)
    assert [t.name for t in tasks] == ["shape"] and list(labels) == ["shape"]
    assert image.shape == (32, 32, 3)


def test_tfds_not_prepared_fails_fast(tmp_path):
    start = time.time()
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        datasets.smallnorb(data_dir=str(tmp_path))
    assert "Received: data_dir=" in str(info.value)
    assert time.time() - start < 10


@pytest.mark.parametrize(
    "fn, kwargs, name",
    [
        ("celeb_a", {"size": 0}, "size"),
        ("dsprites", {"channels": 2}, "channels"),
        ("smallnorb", {"tasks": ["colour"]}, "tasks"),
        ("cityscapes", {"config": "coarse"}, "config"),
        ("cityscapes", {"num_classes": 8}, "num_classes"),
        ("nyu_depth_v2", {"download": "yes"}, "download"),
    ],
)
def test_tfds_bad_arguments(fn, kwargs, name, tmp_path):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        getattr(datasets, fn)(data_dir=str(tmp_path), **kwargs)


def test_tfds_feature_mappings_on_hand_made_examples():
    pet = {
        "image": tf.zeros((10, 20, 3), tf.uint8),
        "label": tf.constant(36, tf.int64),
        "species": tf.constant(1, tf.int64),
        "segmentation_mask": tf.constant([[1, 2, 3, 0]] * 4, tf.uint8)[
            ..., None
        ],
        "head_bbox": tf.zeros(4, tf.float32),
    }
    _, labels = tfds_features.oxford_iiit_pet_example(pet, size=(4, 4))
    np.testing.assert_array_equal(labels["mask"][0], [1, 0, 2, -1])
    head = labels["head"].numpy()
    assert np.all(np.isnan(head[:4])) and head[4] == 1
    pet["head_bbox"] = tf.constant([0.1, 0.2, 0.5, 0.6])
    _, labels = tfds_features.oxford_iiit_pet_example(pet, size=4)
    np.testing.assert_allclose(labels["head"], [0.1, 0.2, 0.5, 0.6, 1])

    ids = tf.constant([[7, 26, 33, 0, 255, 23]], tf.uint8)[..., None]
    city = {
        "image_left": tf.zeros((1, 6, 3), tf.uint8),
        "segmentation_label": ids,
    }
    _, labels = tfds_features.cityscapes_example(city, size=(1, 6))
    np.testing.assert_array_equal(
        labels["segmentation"], [[0, 13, 18, -1, -1, 10]]
    )
    _, labels = tfds_features.cityscapes_example(city, (1, 6), num_classes=7)
    np.testing.assert_array_equal(
        labels["segmentation"], [[0, 6, 6, -1, -1, 4]]
    )

    nyu = {
        "image": tf.zeros((2, 2, 3), tf.uint8),
        "depth": tf.constant([[0.0, 1.5], [2.0, 0.0]], tf.float16),
    }
    _, labels = tfds_features.nyu_depth_v2_example(nyu, size=2)
    depth = labels["depth"].numpy()[..., 0]
    assert (
        np.isnan(depth[0, 0]) and np.isnan(depth[1, 1]) and depth[0, 1] == 1.5
    )

    sprite = {
        "image": tf.ones((64, 64, 1), tf.uint8),
        "label_shape": tf.constant(0, tf.int64),
        "value_scale": tf.constant(0.5),
        "value_orientation": tf.constant(np.pi / 4, tf.float32),
        "value_x_position": tf.constant(0.25),
        "value_y_position": tf.constant(0.75),
    }
    image, labels = tfds_features.dsprites_example(sprite, size=64)
    assert float(tf.reduce_max(image)) == 255.0
    np.testing.assert_allclose(labels["orientation"], [0, -1], atol=1e-6)
    np.testing.assert_allclose(labels["position"], [0.25, 0.75])

    face = {
        "image": tf.zeros((200, 100, 3), tf.uint8),
        "attributes": {
            a: tf.constant(True) for a in tfds_features.CELEB_A_ATTRIBUTES
        },
        "landmarks": {
            k: tf.constant(50 if k.endswith("_x") else 100, tf.int64)
            for k in tfds_features.CELEB_A_LANDMARKS
        },
    }
    _, labels = tfds_features.celeb_a_example(face, size=32)
    np.testing.assert_allclose(labels["landmarks"], np.full(10, 0.5))
    np.testing.assert_array_equal(labels["attributes"], np.ones(40))
