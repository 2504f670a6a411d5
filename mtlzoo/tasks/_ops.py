"""Tensor helpers shared by the task kinds (masked means, label cleanup)."""

from keras import ops

EPS = 1e-7


def masked_mean(values, mask):
    """Mean of `values` where `mask` is 1; exactly 0 with an empty mask."""
    values = ops.cast(values, "float32")
    mask = ops.cast(mask, "float32")
    total = ops.sum(values * mask)
    count = ops.sum(mask)
    return total / ops.maximum(count, 1.0)


def argmax(y_pred):
    """Class ids along the last axis, int32."""
    return ops.cast(ops.argmax(y_pred, -1), "int32")


def finite_or_zero(y):
    """`y` as float32 with NaN (missing) entries replaced by 0."""
    y = ops.cast(y, "float32")
    return ops.where(ops.isnan(y), ops.zeros_like(y), y)


def class_ids(y_true):
    """Integer class ids with missing (`-1`) entries replaced by 0."""
    return ops.cast(ops.maximum(ops.cast(y_true, "int32"), 0), "int32")


def apply_sample_weight(mask, sample_weight):
    """`mask` times per-sample weights broadcast over its trailing axes."""
    if sample_weight is None:
        return mask
    sw = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
    sw = ops.reshape(sw, (-1,) + (1,) * (len(mask.shape) - 1))
    return mask * sw
