"""Dense-task metric helpers and the multi-task score delta_m."""

import math

from keras import ops

_EPS = 1e-7


def cosine(a, b):
    """Cosine similarity along the last axis (per pixel for normals)."""
    a = ops.cast(a, "float32")
    b = ops.cast(b, "float32")
    na = ops.sqrt(ops.sum(ops.square(a), -1) + _EPS)
    nb = ops.sqrt(ops.sum(ops.square(b), -1) + _EPS)
    return ops.sum(a * b, -1) / (na * nb)


def angle_degrees(a, b):
    """Angle between vectors along the last axis, in degrees."""
    cos = ops.clip(cosine(a, b), -1.0 + _EPS, 1.0 - _EPS)
    return ops.arccos(cos) * (180.0 / math.pi)


def box_iou(a, b):
    """IoU of boxes `[y1, x1, y2, x2]` (last axis), elementwise."""
    a = ops.cast(a, "float32")
    b = ops.cast(b, "float32")
    y1 = ops.maximum(a[..., 0], b[..., 0])
    x1 = ops.maximum(a[..., 1], b[..., 1])
    y2 = ops.minimum(a[..., 2], b[..., 2])
    x2 = ops.minimum(a[..., 3], b[..., 3])
    inter = ops.maximum(y2 - y1, 0.0) * ops.maximum(x2 - x1, 0.0)

    def area(box):
        return ops.maximum(box[..., 2] - box[..., 0], 0.0) * ops.maximum(
            box[..., 3] - box[..., 1], 0.0
        )

    return inter / ops.maximum(area(a) + area(b) - inter, _EPS)


def delta_m(mtl, stl, higher_is_better):
    """Relative multi-task gain over single-task baselines, in percent.

    Maninis et al. 2019 / Vandenhende et al. 2021:
    `100 / T * sum_t (-1)^{l_t} (M_mtl,t - M_stl,t) / M_stl,t`, where
    `l_t = 1` when lower is better. Higher is better.

    Args:
        mtl: dict. Metric name -> multi-task value.
        stl: dict. Metric name -> single-task baseline value.
        higher_is_better: dict. Metric name -> bool.

    Returns:
        float, percent.

    Example:

    >>> delta_m({"a_accuracy": 0.9}, {"a_accuracy": 0.8},
    ...         {"a_accuracy": True})
    12.5
    """
    for name, arg in (("mtl", mtl), ("stl", stl)):
        if not isinstance(arg, dict) or not arg:
            raise ValueError(
                f"`{name}` must be a non-empty dict of metric values. "
                f"Received: {name}={arg!r}"
            )
    if set(mtl) != set(stl):
        raise ValueError(
            "`mtl` and `stl` must name the same metrics. "
            f"Received: mtl keys={sorted(mtl)}, stl keys={sorted(stl)}"
        )
    missing = sorted(set(mtl) - set(higher_is_better))
    if missing:
        raise ValueError(
            f"`higher_is_better` lacks {missing}. "
            f"Received: higher_is_better={higher_is_better!r}"
        )
    total = 0.0
    for name, base in stl.items():
        if base == 0:
            raise ValueError(
                f"Single-task baseline of '{name}' is 0; delta_m divides by "
                f"it. Received: stl[{name!r}]={base!r}"
            )
        sign = 1.0 if higher_is_better[name] else -1.0
        total += sign * (float(mtl[name]) - float(base)) / abs(float(base))
    return 100.0 * total / len(stl)
