"""Keypoints: K points per image, each with coordinates and a visibility."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _crop
from mtlzoo.tasks import _heatmaps
from mtlzoo.tasks import _ops
from mtlzoo.tasks._point_options import PointOptionsMixin
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind

_DEFAULTS = {
    "num_keypoints": 1,
    "coords": 2,
    "visibility": True,
    "pck_threshold": 0.05,
    "keypoint_names": None,
}


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("keypoints")
class KeypointsTask(PointOptionsMixin, Task):
    """K points per image (landmarks, a pose), each 2-D or 3-D, with a
    visibility.

    Labels are `(batch, K, coords + 1)`: `x, y` (and `z`) as fractions of
    the image width and height (`z` on the scale of `x`), then the
    visibility: 1 for a visible point, 0 for a labelled point that is not
    visible (its coordinates may be NaN and get no loss). A row of NaN (a
    NaN visibility) marks a point that is not labelled; a sample whose rows
    are all NaN has no label for the task.

    The head outputs `(batch, K, coords + 1)`, the coordinates then the
    probability that the point is visible, or `(batch, K, coords)` with
    `visibility=False` (for models that predict no visibility). Loss: mean
    squared error of the coordinates of visible points, plus binary
    cross-entropy of the visibility of labelled points. Metrics:
    `<task>_pck` (primary; the fraction of visible points predicted within
    `pck_threshold` of their label, Euclidean over the coordinates) and
    `<task>_distance` (their mean distance), both over visible points only.

    Args:
        name: str. Task name.
        num_keypoints: int >= 1. Number of points K. Defaults to 1.
        coords: int. 2 (`x, y`) or 3 (`x, y, z`). Defaults to 2.
        visibility: bool. Whether the head predicts each point's
            visibility. Defaults to True.
        pck_threshold: float > 0. Distance (in image fractions) within
            which a point counts as correct for `<task>_pck`. Defaults to
            0.05.
        keypoint_names: list of K str. Point names, used by `describe` and
            `summarize`. Defaults to None (point indices).
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options (see `mtlzoo.heads.KeypointsHead`).
            Defaults to None.

    Non-default values of these arguments appear in `get_config()`.

    Example:

    >>> task = mtlzoo.Task("landmarks", "keypoints", num_keypoints=5)
    >>> task.output_shape((48, 48, 3))
    (5, 3)
    >>> task.primary_metric
    'landmarks_pck'
    """

    count_option = "num_keypoints"
    option_defaults = _DEFAULTS

    metric_directions = {"pck": True, "distance": False}
    primary_metric_name = "pck"
    default_head = "keypoints"
    loss_name = (
        "squared error of visible points' coordinates + visibility "
        "cross-entropy (masked)"
    )
    vector_labels = True

    def __init__(
        self,
        name,
        kind=None,
        num_classes=None,
        units=None,
        weight=1.0,
        head=None,
        loss=None,
        metrics=None,
        class_names=None,
        *,
        num_keypoints=1,
        coords=2,
        visibility=True,
        pck_threshold=0.05,
        keypoint_names=None,
    ):
        self.num_keypoints = _check_int(name, "num_keypoints", num_keypoints)
        if (
            isinstance(coords, bool)
            or not isinstance(coords, (int, np.integer))
            or coords not in (2, 3)
        ):
            raise ValueError(
                f"Task '{name}': keypoints have 2 or 3 coordinates. "
                f"Received: coords={coords!r}"
            )
        if not isinstance(visibility, bool):
            raise TypeError(
                f"Task '{name}': visibility must be True or False. "
                f"Received: visibility={visibility!r}"
            )
        threshold = _heatmaps.check_threshold(name, pck_threshold)
        self.coords = int(coords)
        self.visibility = visibility
        self.pck_threshold = threshold
        self.keypoint_names = _heatmaps.check_names(
            name, keypoint_names, self.num_keypoints
        )
        super().__init__(
            name,
            kind=kind,
            num_classes=num_classes,
            units=units,
            weight=weight,
            head=head,
            loss=loss,
            metrics=metrics,
            class_names=class_names,
        )

    def __repr__(self):
        return (
            f"Task({self.name!r}, {self.kind!r}, num_keypoints="
            f"{self.num_keypoints}, coords={self.coords})"
        )

    # ------------------------------------------------------------ shapes
    def output_shape(self, input_shape):
        return (self.num_keypoints, self.coords + int(self.visibility))

    def label_shape(self, input_shape):
        return (self.num_keypoints, self.coords + 1)

    # ------------------------------------------------------------ labels
    def present_mask(self, y_true):
        """`(batch, K)`: 1 where the point is labelled (finite
        visibility)."""
        vis = ops.cast(y_true, "float32")[..., self.coords]
        return ops.cast(~ops.isnan(vis), "float32")

    def invalid_labels(self, y_true):
        y = ops.cast(y_true, "float32")
        vis = y[..., self.coords]
        ok = ops.isnan(vis) | ((vis >= 0.0) & (vis <= 1.0))
        return [
            (
                _ops.infinite(y[..., : self.coords]),
                y[..., : self.coords],
                "finite coordinates, or NaN where unknown",
            ),
            (
                ~ok,
                vis,
                "visibilities in [0, 1], or NaN for an unlabelled point",
            ),
        ]

    def _visible(self, y_true, labelled):
        vis = _ops.finite_or_zero(ops.cast(y_true, "float32")[..., self.coords])
        return labelled * ops.cast(vis > 0.5, "float32")

    def _distance(self, y_true, y_pred):
        c = self.coords
        diff = _ops.finite_or_zero(y_true[..., :c]) - y_pred[..., :c]
        return ops.sqrt(ops.sum(ops.square(diff), axis=-1) + 1e-12)

    def safe_labels(self, y_true, y_pred, one_hot=False):
        """Labels shaped like `y_pred`: the predicted values stand in for
        missing ones and for the coordinates of invisible points."""
        c = self.coords
        y = ops.cast(y_true, "float32")
        labelled = self.present_mask(y)
        visible = ops.expand_dims(self._visible(y, labelled), -1) > 0
        pred = ops.stop_gradient(y_pred)
        coords = ops.where(
            visible & ~ops.isnan(y[..., :c]), y[..., :c], pred[..., :c]
        )
        if not self.visibility:
            return coords
        vis = ops.where(
            ops.expand_dims(labelled, -1) > 0, y[..., c:], pred[..., c:]
        )
        return ops.concatenate([coords, vis], -1)

    # -------------------------------------------------------------- loss
    def default_loss(self, y_true, y_pred, sample_weight=None):
        c = self.coords
        y_true = ops.cast(self.standardize(y_true, y_pred), "float32")
        y_pred = ops.cast(y_pred, "float32")
        labelled = self._apply_sample_weight(
            self.present_mask(y_true), sample_weight
        )
        visible = self._visible(y_true, labelled)
        diff = _ops.finite_or_zero(y_true[..., :c]) - y_pred[..., :c]
        loss = _ops.masked_mean(ops.mean(ops.square(diff), -1), visible)
        if self.visibility:
            target = ops.cast(
                _ops.finite_or_zero(y_true[..., c]) > 0.5, "float32"
            )
            p = ops.clip(y_pred[..., c], _ops.EPS, 1.0 - _ops.EPS)
            bce = -(target * ops.log(p) + (1.0 - target) * ops.log(1.0 - p))
            loss = loss + _ops.masked_mean(bce, labelled)
        return loss

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        y_true = ops.cast(y_true, "float32")
        visible = self._visible(y_true, mask)
        distance = self._distance(y_true, y_pred)
        hit = ops.cast(distance <= self.pck_threshold, "float32")
        metrics[0].update_state(hit, visible)
        metrics[1].update_state(distance, visible)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, self.num_keypoints)
        coords = rng.uniform(0.0, 1.0, shape + (self.coords,))
        visible = (rng.uniform(size=shape) < 0.8).astype("float32")
        visible[:, 0] = 1.0  # every sample has a visible point
        coords[visible == 0] = np.nan
        return np.concatenate([coords, visible[..., None]], -1).astype(
            "float32"
        )

    # --------------------------------------------------------- app hooks
    def decode(self, value):
        """A prediction in label form `(K, coords + 1)`: the visibility
        thresholded at 0.5 (1 when the model predicts none)."""
        value = np.asarray(value, "float64")
        c = self.coords
        if value.shape[-1] == c:
            ones = np.ones(value.shape[:-1] + (1,))
            return np.concatenate([value, ones], -1)
        vis = value[..., c:]
        vis = np.where(np.isnan(vis), np.nan, (vis > 0.5).astype("float64"))
        return np.concatenate([value[..., :c], vis], -1)

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`points` `(K, coords)` in pixels of the image (`x = left + x_frac
        * crop width`, `z` scaled like `x`), `visibility` `(K,)` (the
        predicted probabilities; None where the model predicts none) and
        `names` (the task's `keypoint_names`, or None)."""
        value = np.asarray(value, "float64")
        c = self.coords
        vis = value[..., c] if value.shape[-1] > c else None
        names = self.keypoint_names
        return {
            "points": _crop.points_to_image(value[..., :c], crop_box),
            "visibility": vis,
            "names": None if names is None else list(names),
        }

    def _point_names(self, class_names):
        names = class_names if class_names is not None else None
        if names is None or len(names) != self.num_keypoints:
            names = self.keypoint_names
        return names

    def summarize(self, value, class_names=None, top_k=3):
        """One dict per point: `point` (name or index), `coords` and
        `visibility` (None where the model predicts none)."""
        value = np.asarray(value, "float64")
        names = self._point_names(class_names)
        c = self.coords
        out = []
        for k, row in enumerate(value):
            vis = row[c] if row.shape[-1] > c else None
            out.append(
                {
                    "point": names[k] if names else k,
                    "coords": [_number(v) for v in row[:c]],
                    "visibility": None if vis is None else _number(vis),
                }
            )
        return out

    def describe(self, value, class_names=None, shown=3):
        """`"5 points, 4 visible: left_eye (0.31, 0.40), ..."`."""
        value = np.asarray(value, "float64")
        names = self._point_names(class_names)
        c = self.coords
        if value.shape[-1] > c:
            visible = np.nan_to_num(value[:, c], nan=0.0) > 0.5
        else:
            visible = np.ones(len(value), bool)
        parts = []
        for k in np.flatnonzero(visible)[:shown]:
            label = names[k] if names else str(k)
            xy = ", ".join(f"{v:.2f}" for v in value[k, :c])
            parts.append(f"{label} ({xy})")
        more = ", ..." if visible.sum() > shown else ""
        return (
            f"{len(value)} points, {int(visible.sum())} visible: "
            + ", ".join(parts)
            + more
        ).rstrip(": ")

    @classmethod
    def check_export(cls, expected, got, labels=None):
        """`max_point_shift`: the largest move of a point in the image
        plane (Euclidean over `x, y`, in image fractions)."""
        shift = np.sqrt(np.sum((expected[..., :2] - got[..., :2]) ** 2, -1))
        return {"max_point_shift": float(np.max(shift)) if shift.size else 0.0}


def _check_int(name, key, value):
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < 1:
        raise ValueError(
            f"Task '{name}' needs an integer {key} >= 1. "
            f"Received: {key}={value!r}"
        )
    return int(value)


def _number(value):
    value = float(value)
    return value if np.isfinite(value) else None
