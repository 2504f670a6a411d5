import numpy as np
import pytest
from PIL import Image

from mtlzoo.app import plots

HISTORY = {
    "loss": [3.0, 2.5, 2.0],
    "val_loss": [3.1, 2.7, 2.4],
    "shape_loss": [1.2, 1.0, 0.8],
    "val_shape_loss": [1.3, 1.1, 1.0],
    "shape_accuracy": [0.4, 0.5, 0.6],
    "val_shape_accuracy": [0.35, 0.45, 0.5],
    "shape_weight": [1.0, 0.8, 0.9],
    "depth_loss": [0.9, 0.7, 0.6],
    "depth_abs_err": [0.9, 0.7, 0.6],
    "depth_weight": [1.0, 1.2, 1.1],
    "regularization_loss": [0.0, 0.0, 0.0],
}


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_training_curves_size_and_rows(tmp_path):
    path = str(tmp_path / "sub" / "curves.png")
    assert plots.training_curves(HISTORY, path, figsize=(6, 5), dpi=50) == path
    assert _png_size(path) == (300, 250)
    # default size: 10 inches wide, 2.5 per row (total + 2 tasks)
    default = plots.training_curves(HISTORY, str(tmp_path / "d.png"))
    assert _png_size(default) == (1000, 750)


def test_training_curves_accepts_history_object(tmp_path):
    class History:
        history = HISTORY

    path = plots.training_curves(History(), str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert path.endswith("c.png")


def test_task_weights(tmp_path):
    path = plots.task_weights(HISTORY, str(tmp_path / "w.png"), dpi=50)
    assert _png_size(path) == (400, 200)


def test_delta_m_chart(tmp_path):
    mtl = {"shape_accuracy": 0.9, "depth_abs_err": 0.2}
    stl = {"shape_accuracy": 0.8, "depth_abs_err": 0.25}
    hib = {"shape_accuracy": True, "depth_abs_err": False}
    path = plots.delta_m_chart(
        mtl, stl, hib, str(tmp_path / "dm.png"), figsize=(5, 4), dpi=40
    )
    assert _png_size(path) == (200, 160)


def test_affinity_heatmap(tmp_path):
    path = plots.affinity_heatmap(
        [[0.0, 0.1], [-0.2, np.nan]], ["a", "b"], str(tmp_path / "aff.png")
    )
    width, height = _png_size(path)
    assert width > 100 and height > 100


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: plots.training_curves({}, p), "history="),
        (lambda p: plots.training_curves({"loss": [1.0]}, p), "history keys"),
        (lambda p: plots.training_curves({"a_loss": ["x"]}, p), "a_loss"),
        (lambda p: plots.task_weights({"loss": [1.0]}, p), "history keys"),
        (lambda p: plots.training_curves(HISTORY, None), "path=None"),
        (
            lambda p: plots.training_curves(HISTORY, p, figsize=(0, 1)),
            r"figsize=\(0, 1\)",
        ),
        (lambda p: plots.task_weights(HISTORY, p, dpi=-1), "dpi=-1"),
        (
            lambda p: plots.delta_m_chart({"a": 1.0}, {"b": 1.0}, {}, p),
            "Received",
        ),
        (
            lambda p: plots.affinity_heatmap(np.eye(3), ["a", "b"], p),
            "Received",
        ),
    ],
)
def test_invalid_input(tmp_path, call, match):
    with pytest.raises(ValueError, match=match) as info:
        call(str(tmp_path / "x.png"))
    assert "Received:" in str(info.value)


def test_plot_affinity(tmp_path):
    path = tmp_path / "affinity.png"
    a = np.array([[0.1, 0.5], [-0.3, 0.2]])
    assert plots.plot_affinity(a, ["a", "b"], str(path)) == str(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="affinity"):
        plots.plot_affinity(a, ["a"], str(path))
