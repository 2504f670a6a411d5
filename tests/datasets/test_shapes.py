"""The procedural shapes scenes: tasks, rendering, determinism."""

import importlib

import numpy as np
import pytest
from dataset_helpers import check_specs
from dataset_helpers import collect
from dataset_helpers import first

from mtlzoo import datasets
from mtlzoo.datasets.shapes import render_objects
from mtlzoo.datasets.shapes import render_scenes

shapes_module = importlib.import_module("mtlzoo.datasets.shapes")


def test_shapes_all_tasks_shapes_and_ranges():
    ds, tasks = datasets.shapes(
        num_samples=70, size=32, tasks=list(shapes_module.TASK_NAMES),
        batch_size=70,
    )  # fmt: skip
    assert [t.name for t in tasks] == list(shapes_module.TASK_NAMES)
    check_specs(ds, tasks)
    images, y = first(ds)
    assert images.shape == (70, 32, 32, 3)
    assert images.min() >= 0 and images.max() <= 255 and images.max() > 100
    assert y["shape"].shape == (70,) and set(np.unique(y["shape"])) <= {
        0, 1, 2, 3,
    }  # fmt: skip
    assert np.all((y["scale"] >= 0.12) & (y["scale"] <= 0.3))
    np.testing.assert_allclose(
        np.linalg.norm(y["orientation"], axis=-1), 1, 1e-5
    )
    assert np.all((y["position"] >= 0.2) & (y["position"] <= 0.8))
    seg, depth, normals = y["segmentation"], y["depth"][..., 0], y["normals"]
    assert seg.shape == (70, 32, 32) and 0 <= seg.min() and seg.max() <= 4
    background = seg == 0
    assert np.all(depth[background] == 1.0) and np.all(depth[~background] < 1)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1, rtol=1e-5)
    np.testing.assert_array_equal(
        normals[background], [[0, 0, 1]] * background.sum()
    )
    assert np.all(normals[..., 2] > 0)  # every surface faces the camera
    box = y["box"]
    assert np.all((box[:, :4] >= 0) & (box[:, :4] <= 1))
    assert np.all(box[:, 0] < box[:, 2]) and np.all(box[:, 1] < box[:, 3])
    np.testing.assert_array_equal(box[:, 4], y["shape"])
    # the main object's class fills part of its box in the segmentation
    for i in range(70):
        y1, x1, y2, x2 = np.round(box[i, :4] * 32).astype(int)
        assert np.any(seg[i, y1:y2, x1:x2] == 1 + y["shape"][i])


def test_shapes_normals_match_depth_gradient():
    out = render_scenes(np.random.default_rng(0), 16, 64, (1, 1))
    depth, normals, seg = (
        out["depth"][..., 0],
        out["normals"],
        out["segmentation"],
    )
    # central differences inside objects, in image-side units
    dzdx = (depth[:, 1:-1, 2:] - depth[:, 1:-1, :-2]) * 64 / 2
    same = (seg[:, 1:-1, 2:] == seg[:, 1:-1, :-2]) & (seg[:, 1:-1, 1:-1] > 0)
    same &= (seg[:, 1:-1, 2:] > 0) & (seg[:, 1:-1, :-2] > 0)
    n = normals[:, 1:-1, 1:-1]
    slope = n[..., 0] / n[..., 2]
    np.testing.assert_allclose(dzdx[same], slope[same], atol=0.02)


def _two_objects(base):
    """A big ellipse and a small square, both centred, at given depths."""
    return {
        "present": np.array([[True, True]]),
        "shape": np.array([[1, 0]]),
        "scale": np.array([[0.3, 0.1]]),
        "angle": np.zeros((1, 2)),
        "center": np.full((1, 2, 2), 0.5),
        "base": np.array([base]),
        "color": np.ones((1, 2, 3)),
        "background": np.array([0.2]),
    }


def test_shapes_occlusion_nearer_object_wins():
    square_in_front = render_objects(_two_objects([0.7, 0.3]), 32)
    seg = square_in_front["segmentation"][0]
    depth = square_in_front["depth"][0, ..., 0]
    assert seg[16, 16] == 1 and seg[16, 24] == 2 and seg[0, 0] == 0
    assert depth[16, 16] < 0.3 < depth[16, 24] < 0.7 and depth[0, 0] == 1
    assert square_in_front["shape"][0] == 1  # the ellipse shows most

    ellipse_in_front = render_objects(_two_objects([0.3, 0.7]), 32)
    seg = ellipse_in_front["segmentation"][0]
    assert not np.any(seg == 1) and seg[16, 16] == 2
    np.testing.assert_allclose(
        ellipse_in_front["box"][0], [0.3125, 0.15625, 0.6875, 0.84375, 1]
    )


def test_shapes_deterministic_lazy_and_split_dependent():
    def load(**kwargs):
        ds, _ = datasets.shapes(size=16, shuffle=False, **kwargs)
        return collect(ds)[0]

    a = load(num_samples=70, seed=5)
    np.testing.assert_array_equal(a, load(num_samples=70, seed=5))
    np.testing.assert_array_equal(a[:64], load(num_samples=64, seed=5))
    assert not np.array_equal(a, load(num_samples=70, seed=6))
    assert not np.array_equal(a, load(num_samples=70, seed=5, split="test"))
    ds, tasks = datasets.shapes(
        num_samples=4, size=16, channels=1, tasks=["shape"], num_objects=2
    )
    image, labels = first(ds)
    assert image.shape == (16, 16, 1) and list(labels) == ["shape"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_objects": 0}, "num_objects"),
        ({"num_objects": (3, 1)}, "num_objects"),
        ({"num_objects": 9}, "num_objects"),
        ({"size": 8}, "size"),
        ({"tasks": ["colour"]}, "tasks"),
        ({"split": "val"}, "split"),
        ({"num_samples": None}, "num_samples"),
    ],
)
def test_shapes_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        datasets.shapes(**kwargs)
