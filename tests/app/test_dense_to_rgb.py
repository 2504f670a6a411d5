"""`mtlzoo.app.plots.dense_to_rgb`: dense maps as RGB images."""

import numpy as np
import pytest

from mtlzoo.app import plots
from mtlzoo.tasks import get_kind


def test_dense_to_rgb():
    seg = np.zeros((1, 2, 2, 3))
    seg[0, 0, 0, 2] = 1.0
    rgb = plots.dense_to_rgb("segmentation", seg)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(rgb[0, 0, 0], plots.PALETTE[2])
    np.testing.assert_array_equal(rgb[0, 1, 1], plots.PALETTE[0])
    ids = np.array([[[-1, 1]]])
    assert (plots.dense_to_rgb("segmentation", ids)[0, 0, 0] == 255).all()
    depth = np.array([[[[0.0], [1.0]]]])
    d = plots.dense_to_rgb("depth", depth)
    assert d.shape == (1, 1, 2, 3) and not (d[0, 0, 0] == d[0, 0, 1]).all()
    normals = np.zeros((1, 1, 1, 3))
    normals[..., 2] = 1.0
    n = plots.dense_to_rgb("normals", normals)
    np.testing.assert_array_equal(n[0, 0, 0], [128, 128, 255])
    with pytest.raises(ValueError, match="kind='edges'"):
        plots.dense_to_rgb("edges", normals)
    # a kind without colours (not dense) is refused like an unknown one
    with pytest.raises(ValueError, match="kind='classification'"):
        plots.dense_to_rgb("classification", normals)


def test_dense_to_rgb_is_the_kind_hook():
    seg = np.array([[[0, 2], [1, -1]]])
    np.testing.assert_array_equal(
        plots.dense_to_rgb("segmentation", seg),
        get_kind("segmentation").colorize(seg),
    )
    depth = np.array([[[[0.0], [1.0]]]])
    np.testing.assert_array_equal(
        plots.dense_to_rgb("depth", depth, (0.0, 2.0)),
        get_kind("depth").colorize(depth, (0.0, 2.0)),
    )
