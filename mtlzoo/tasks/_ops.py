"""Tensor helpers shared by the task kinds (masked means, label cleanup)."""

import numpy as np
import tensorflow as tf
from keras import ops

EPS = 1e-7


def masked_mean(values, mask):
    """Mean of `values` where `mask` is 1; exactly 0 with an empty mask.

    Inside `strategy.run` of a `tf.distribute` strategy with several
    replicas in sync, the mean is the global batch's: the sums and the
    counts of every replica are all-reduced, so each replica gets the same
    value. Its gradient is this replica's share, `replicas * d(local sum) /
    global count`, so that scaling by `1 / replicas` and summing the
    replicas' gradients (what a distributed train step does) gives the
    gradient of the global mean. Elsewhere (one replica, or outside
    `strategy.run`) it is the plain masked mean of `values`.
    """
    values = _float_tensor(values, "values")
    mask = _float_tensor(mask, "mask")
    if not _same_shape(values.shape, mask.shape):
        raise ValueError(
            "`masked_mean` needs `mask` of the same shape as `values` (one "
            "weight per value). Received: values.shape="
            f"{tuple(values.shape)}, mask.shape={tuple(mask.shape)}"
        )
    total = ops.sum(values * mask)
    count = ops.sum(mask)
    replica = _replica_context()
    if replica is None:
        return total / ops.maximum(count, 1.0)
    sums = replica.all_reduce(
        "sum", ops.stop_gradient(ops.stack([total, count]))
    )
    denominator = ops.maximum(sums[1], 1.0)
    share = total * float(replica.num_replicas_in_sync) / denominator
    # Value: the global mean; gradient: this replica's share.
    return sums[0] / denominator + (share - ops.stop_gradient(share))


def _float_tensor(value, name):
    """`value` cast to float32, or a TypeError naming `name`."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        try:
            value = np.asarray(value, "float32")
        except (TypeError, ValueError):
            raise TypeError(
                f"`masked_mean` takes numeric arrays or tensors. "
                f"Received: {name} of type {type(value).__name__}"
            ) from None
    elif not _numeric(dtype):
        raise TypeError(
            f"`masked_mean` takes numeric arrays or tensors. "
            f"Received: {name} with dtype={dtype}"
        )
    return ops.cast(value, "float32")


def _numeric(dtype):
    name = str(getattr(dtype, "name", dtype))
    return name.startswith(("float", "int", "uint", "bool", "bfloat"))


def _same_shape(a, b):
    """Equal ranks, and equal sizes wherever both are known."""
    a, b = tuple(a), tuple(b)
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b)
    )


def _replica_context():
    """The `tf.distribute` replica context when several replicas run in
    sync, else None."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def argmax(y_pred):
    """Class ids along the last axis, int32."""
    return ops.cast(ops.argmax(y_pred, -1), "int32")


def finite_or_zero(y):
    """`y` as float32 with NaN (missing) entries replaced by 0."""
    y = ops.cast(y, "float32")
    return ops.where(ops.isnan(y), ops.zeros_like(y), y)


def class_ids(y_true, num_classes=None):
    """Integer class ids with missing (`-1`) entries replaced by 0.

    With `num_classes`, ids are also clipped to `num_classes - 1`, so that
    an ignored (`ignore_index`) or invalid id never reaches an op that
    would fail on it (invalid ids are reported by the step's label
    checks, see `Task.invalid_labels`).
    """
    ids = ops.maximum(ops.cast(y_true, "int32"), 0)
    if num_classes is not None:
        ids = ops.minimum(ids, num_classes - 1)
    return ops.cast(ids, "int32")


def invalid_class_ids(y_true, num_classes, ignore_index=None):
    """Bool mask of entries that are neither a class id in
    `[0, num_classes)` nor missing (`-1`, `NaN`, or `ignore_index`);
    float ids must be whole numbers."""
    y = ops.cast(y_true, "float32")
    missing = ops.isnan(y) | (y == -1.0)
    if ignore_index is not None:
        missing = missing | (y == float(ignore_index))
    valid = (y >= 0) & (y < num_classes) & (y == ops.floor(y))
    return ~(missing | valid)


def infinite(y_true):
    """Bool mask of `inf` / `-inf` entries (NaN marks a missing label)."""
    return ops.isinf(ops.cast(y_true, "float32"))


def apply_sample_weight(mask, sample_weight):
    """`mask` times per-sample weights broadcast over its trailing axes."""
    if sample_weight is None:
        return mask
    sw = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
    sw = ops.reshape(sw, (-1,) + (1,) * (len(mask.shape) - 1))
    return mask * sw


def mask_like(mask, values):
    """`mask` brought to the shape of `values` (a loss or metric output).

    Extra trailing axes of `mask` (label entries that `values` averaged
    over) are reduced with `min`: an entry counts only when all its labels
    are present. Missing trailing axes are added and broadcast.

    Args:
        mask: float tensor. Weights of the label entries (0 = missing).
        values: tensor with a batch axis.

    Returns:
        A float32 tensor shaped like `values`.
    """
    mask = ops.cast(mask, "float32")
    rank = len(values.shape)
    if len(mask.shape) > rank:
        mask = ops.min(mask, axis=tuple(range(rank, len(mask.shape))))
    while len(mask.shape) < rank:
        mask = ops.expand_dims(mask, -1)
    return ops.broadcast_to(mask, ops.shape(values))
