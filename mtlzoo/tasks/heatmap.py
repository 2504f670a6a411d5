"""Heatmaps: one map per keypoint at a fraction of the input resolution."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _crop
from mtlzoo.tasks import _heatmaps
from mtlzoo.tasks import _ops
from mtlzoo.tasks._point_options import PointOptionsMixin
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind

_DEFAULTS = {
    "num_keypoints": 1,
    "stride": 4,
    "pck_threshold": 0.05,
    "keypoint_names": None,
}


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("heatmap")
class HeatmapTask(PointOptionsMixin, Task):
    """One heatmap per keypoint, at `1 / stride` of the input resolution.

    The head outputs `(batch, H / stride, W / stride, K)` maps in [0, 1]
    (a sigmoid), each peaking where its keypoint is. Labels have the same
    shape, values in [0, 1] (e.g. Gaussian blobs, see
    `keypoints_to_heatmaps`), `NaN` where missing: a map that is all `NaN`
    marks a keypoint without a label, a sample whose maps are all `NaN`
    has no label for the task (as depth marks missing pixels).

    Loss: per-pixel mean squared error (masked: `NaN` entries count
    neither in the sum nor in the mean). Metrics: `<task>_mse` (the same
    masked squared error) and `<task>_peak_pck` (primary): the fraction of
    labelled keypoints whose predicted arg-max cell lies within
    `pck_threshold` (a fraction of the map's width and height, Euclidean)
    of the label's arg-max cell. A keypoint counts for `peak_pck` when its
    label map has a positive finite maximum (an all-zero map labels a
    point as absent: it adds to the loss and `mse` only).

    Args:
        name: str. Task name.
        num_keypoints: int >= 1. Number of keypoints K (output channels).
            Defaults to 1.
        stride: int. Input pixels per map cell, a power of two >= 1; the
            input height and width must be multiples of it. Defaults to 4.
        pck_threshold: float > 0. Distance (in map fractions) within which
            a peak counts as correct for `<task>_peak_pck`. Defaults to
            0.05.
        keypoint_names: list of K str. Keypoint names, used by `describe`
            and `summarize`. Defaults to None (keypoint indices).
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Options of the head (`mtlzoo.heads.DenseHead`, which
            decodes to the map resolution). Defaults to None.

    Non-default values of these arguments appear in `get_config()`.

    Example:

    >>> task = mtlzoo.Task("pose", "heatmap", num_keypoints=17, stride=4)
    >>> task.output_shape((256, 256, 3))
    (64, 64, 17)
    >>> task.primary_metric
    'pose_peak_pck'
    """

    count_option = "num_keypoints"
    option_defaults = _DEFAULTS

    is_dense = True
    metric_directions = {"mse": False, "peak_pck": True}
    primary_metric_name = "peak_pck"
    default_head = "dense"
    output_activation = "sigmoid"
    head_search_space = "dense"
    loss_name = "per-pixel mean squared error (masked)"
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
        stride=4,
        pck_threshold=0.05,
        keypoint_names=None,
    ):
        self.num_keypoints = _heatmaps.check_count(name, num_keypoints)
        if (
            isinstance(stride, bool)
            or not isinstance(stride, (int, np.integer))
            or stride < 1
            or stride & (stride - 1)
        ):
            raise ValueError(
                f"Task '{name}': stride must be a power of two >= 1 (1, 2, "
                f"4, ...). Received: stride={stride!r}"
            )
        threshold = _heatmaps.check_threshold(name, pck_threshold)
        self.stride = int(stride)
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
            f"{self.num_keypoints}, stride={self.stride})"
        )

    # ------------------------------------------------------------ shapes
    def map_size(self, input_shape):
        """`(height, width)` of the maps for images of `input_shape`.

        Raises:
            ValueError: when the input height or width is not a multiple
                of `stride`.
        """
        ok = isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
        size = tuple(input_shape[:2]) if ok else ()
        ok = ok and all(
            s is None
            or (isinstance(s, (int, np.integer)) and not isinstance(s, bool))
            and s > 0
            for s in size
        )
        if not ok:
            raise ValueError(
                f"Task '{self.name}': `input_shape` must be (height, "
                "width, channels) with positive int height and width. "
                f"Received: input_shape={input_shape!r}"
            )
        if any(s is not None and s % self.stride for s in size):
            raise ValueError(
                f"Task '{self.name}': the input height and width must be "
                f"multiples of stride={self.stride}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return tuple(None if s is None else s // self.stride for s in size)

    def output_shape(self, input_shape):
        return self.map_size(input_shape) + (self.num_keypoints,)

    def label_shape(self, input_shape):
        return self.output_shape(input_shape)

    # ------------------------------------------------------------ labels
    def invalid_labels(self, y_true):
        y = ops.cast(y_true, "float32")
        ok = ops.isnan(y) | ((y >= 0.0) & (y <= 1.0))
        return [
            (~ok, y, "heatmap values in [0, 1], or NaN for a missing label")
        ]

    def element_loss(self, y_true, y_pred):
        return ops.square(_ops.finite_or_zero(y_true) - y_pred)

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        y = ops.cast(y_true, "float32")
        metrics[0].update_state(
            ops.square(_ops.finite_or_zero(y) - y_pred), mask
        )
        hit, counted = self._peak_hits(y, y_pred, mask)
        metrics[1].update_state(hit, counted)

    def _peak_hits(self, y_true, y_pred, mask):
        """`(hit, counted)`, both `(batch, K)` floats: whether the arg-max
        cells lie within `pck_threshold`, and which keypoints count (label
        present with a positive peak, times the sample weight)."""
        _, h, w, k = ops.shape(y_pred)
        flat_true = ops.reshape(
            ops.where(ops.isnan(y_true), -1.0, y_true), (-1, h * w, k)
        )
        flat_pred = ops.reshape(y_pred, (-1, h * w, k))
        weight = ops.max(ops.reshape(mask, (-1, h * w, k)), axis=1)
        counted = weight * ops.cast(ops.max(flat_true, axis=1) > 0, "float32")
        it = ops.argmax(flat_true, axis=1)
        ip = ops.argmax(flat_pred, axis=1)
        dy = ops.cast(it // w - ip // w, "float32") / ops.cast(h, "float32")
        dx = ops.cast(it % w - ip % w, "float32") / ops.cast(w, "float32")
        distance = ops.sqrt(dx * dx + dy * dy)
        hit = ops.cast(distance <= self.pck_threshold, "float32")
        return hit, counted

    def random_labels(self, rng, input_shape, batch_size):
        """Gaussian blobs (sigma one cell) around uniform random points."""
        h, w = self.map_size(input_shape)
        points = rng.uniform(0.0, 1.0, (batch_size, self.num_keypoints, 2))
        return _heatmaps.render(points, h, w, sigma=1.0)

    # ------------------------------------------------- keypoints <-> maps
    def keypoints_to_heatmaps(self, points, input_shape, sigma=1.0):
        """Labels of this task from keypoints.

        Args:
            points: array `(..., K, 2)` of `x, y` as fractions of the image
                width and height, or labels of a `keypoints` task
                `(..., K, 3 or 4)` whose last column is the visibility: 0
                gives an all-zero map (no peak), NaN an all-NaN map (no
                label); NaN coordinates give an all-NaN map.
            input_shape: tuple. Per-sample image shape.
            sigma: float > 0. Blob standard deviation in map cells.
                Defaults to 1.0.

        Returns:
            float32 array `(..., H / stride, W / stride, K)`.

        Example:

        >>> task = mtlzoo.Task("pose", "heatmap", num_keypoints=2)
        >>> y = task.keypoints_to_heatmaps([[0.25, 0.5], [0.8, 0.1]],
        ...                                (32, 32, 3))
        >>> y.shape
        (8, 8, 2)
        """
        p = _heatmaps.numeric_array(points, "points")
        if p.ndim < 2 or p.shape[-2] != self.num_keypoints:
            raise ValueError(
                f"Task '{self.name}' has {self.num_keypoints} keypoints: "
                "points must be shaped (..., K, 2+). "
                f"Received: points.shape={p.shape}"
            )
        h, w = self.map_size(input_shape)
        return _heatmaps.render(p, h, w, sigma)

    def heatmaps_to_keypoints(self, values, refine=True):
        """Keypoints of heatmaps (predictions or labels).

        Args:
            values: array `(..., h, w, K)`, one map or a batch.
            refine: bool. Move each arg-max cell centre by up to half a
                cell towards the peak (a parabola through the log values
                around it: exact for Gaussian blobs). Defaults to True.

        Returns:
            float64 array `(..., K, 3)`: `x, y` as fractions of the image
            width and height, then the peak value (usable as the
            visibility of a `keypoints` label); NaN for a map without a
            finite value.

        Example:

        >>> task = mtlzoo.Task("pose", "heatmap", num_keypoints=1)
        >>> y = task.keypoints_to_heatmaps([[0.3, 0.6]], (32, 32, 3))
        >>> task.heatmaps_to_keypoints(y)[0, :2].round(3).tolist()
        [0.3, 0.6]
        """
        if not isinstance(refine, (bool, np.bool_)):
            raise TypeError(
                f"`refine` must be True or False. Received: refine={refine!r}"
            )
        a = _heatmaps.numeric_array(values, "values")
        if a.ndim < 3 or a.shape[-1] != self.num_keypoints:
            raise ValueError(
                f"Task '{self.name}' has {self.num_keypoints} keypoints: "
                "heatmaps must be shaped (..., H, W, K). "
                f"Received: values.shape={a.shape}"
            )
        return _heatmaps.peaks(a, refine=refine)

    # --------------------------------------------------------- app hooks
    def decode(self, value):
        """A prediction in label form: the maps themselves, clipped to
        [0, 1] (see `heatmaps_to_keypoints` for the keypoints)."""
        value = np.asarray(value, dtype="float64")
        return np.where(np.isnan(value), np.nan, np.clip(value, 0.0, 1.0))

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`points` `(K, 2)`: each map's refined peak in pixels of the
        image (NaN for a map without a finite value), `scores` `(K,)` (the
        peak values) and `names` (the task's `keypoint_names`, or None).
        `threshold` is unused: `scores` are left for the caller to cut."""
        peaks = self.heatmaps_to_keypoints(value)
        names = self.keypoint_names
        return {
            "points": _crop.points_to_image(peaks[..., :2], crop_box),
            "scores": peaks[..., 2],
            "names": None if names is None else list(names),
        }

    def _point_names(self, class_names):
        names = class_names
        if names is None or len(names) != self.num_keypoints:
            names = self.keypoint_names
        return names

    def summarize(self, value, class_names=None, top_k=3):
        """One dict per keypoint: `point` (name or index), `coords`
        (`[x, y]` image fractions of its peak) and `score` (peak value);
        None where the map has no finite value."""
        names = self._point_names(class_names)
        out = []
        for k, (x, y, score) in enumerate(self.heatmaps_to_keypoints(value)):
            out.append(
                {
                    "point": names[k] if names else k,
                    "coords": [_heatmaps.number(x), _heatmaps.number(y)],
                    "score": _heatmaps.number(score),
                }
            )
        return out

    def describe(self, value, class_names=None, shown=3):
        """`"17 maps, 15 peaks > 0.5: nose (0.51, 0.22), ..."`."""
        names = self._point_names(class_names)
        points = self.heatmaps_to_keypoints(value)
        found = np.flatnonzero(np.nan_to_num(points[:, 2], nan=0.0) > 0.5)
        parts = [
            f"{names[k] if names else k} "
            f"({points[k, 0]:.2f}, {points[k, 1]:.2f})"
            for k in found[:shown]
        ]
        more = ", ..." if len(found) > shown else ""
        text = f"{len(points)} maps, {len(found)} peaks > 0.5"
        return text + (": " + ", ".join(parts) + more if parts else "")

    @classmethod
    def colorize(cls, values, value_range=None):
        """Heatmaps `(N, h, w, K)` as `(N, h, w, 3)` uint8: the maximum
        over keypoints in magma, scaled to `value_range` (default
        `(0, 1)`); cells whose maps are all NaN are white."""
        return _heatmaps.colorize(values, value_range)

    @classmethod
    def check_export(cls, expected, got, labels=None):
        """`peak_agreement` (fraction of maps whose arg-max cell is the
        same), `max_peak_shift` (largest move of a refined peak, in image
        fractions) and, with labels, the mean absolute error to them."""
        if expected.ndim < 3 or not expected.size:
            return {}
        pe = _heatmaps.peaks(expected, refine=False)
        pg = _heatmaps.peaks(got, refine=False)
        both_nan = np.isnan(pe[..., :2]) & np.isnan(pg[..., :2])
        same = np.all((pe[..., :2] == pg[..., :2]) | both_nan, -1)
        re = _heatmaps.peaks(expected)[..., :2]
        rg = _heatmaps.peaks(got)[..., :2]
        shift = np.sqrt(np.sum((re - rg) ** 2, -1))
        shift = shift[np.isfinite(shift)]
        out = {
            "peak_agreement": float(np.mean(same)),
            "max_peak_shift": float(shift.max()) if shift.size else 0.0,
        }
        out.update(_arrays.label_error(expected, got, labels))
        return out
