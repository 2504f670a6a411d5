"""Helpers shared by the backbone tests."""

import keras
import numpy as np

SIZE = 32


def stage_backbones():
    """Registered backbones that build at SIZE x SIZE (the registry-wide
    tests); fixed-input trunks such as `mtcnn_onet` have their own tests."""
    from mtlzoo import backbones

    return [
        name
        for name in backbones.list_backbones()
        if backbones.get(name).min_input_size <= SIZE
    ]


def random_images(channels=3, batch=2, seed=0, size=SIZE):
    """Random raw images in [0, 255], `(batch, size, size, channels)`."""
    rng = np.random.default_rng(seed)
    shape = (batch, size, size, channels)
    return rng.uniform(0, 255, shape).astype("float32")


def forward(stages, images):
    """Preprocess, then run every stage; returns {level: features}."""
    x = stages.preprocess(images)
    features = {}
    for level in stages.levels:
        x = stages.stages[level](x, training=False)
        features[level] = keras.ops.convert_to_numpy(x)
    return features
