"""Aligned-MTL: independent component alignment (Senushkin et al., 2023)."""

import keras
import numpy as np
import tensorflow as tf

from mtlzoo.weighting import _utils
from mtlzoo.weighting._catalog import WEIGHTINGS
from mtlzoo.weighting.base import Weighting

_SCALES = ("min", "median", "rmse")


@WEIGHTINGS.register("aligned_mtl", aliases=("alignedmtl",))
@keras.saving.register_keras_serializable(package="mtlzoo")
class AlignedMTL(Weighting):
    """Aligned-MTL: makes the task gradients orthogonal and equally long.

    With the eigen-decomposition `G G^T = V diag(lambda) V^T` of the Gram
    matrix of the present tasks (eigenvalues below
    `max(lambda) * T * eps_float32` are dropped, as in the authors' code),
    the aligned task gradients are `G^T B` with
    `B = sqrt(lambda_min) V diag(lambda^-1/2) V^T`: their singular values
    are all `sqrt(lambda_min)`, the smallest one (the condition number
    becomes 1). The update is their sum, `sum_t alpha_t g_t` with
    `alpha = B 1`. Absent tasks' rows are zero, so they drop out of the
    decomposition and get `alpha_t = 0`.

    Args:
        scale: str. Singular value the aligned gradients get: `"min"` (the
            paper), `"median"` or `"rmse"` (root mean square of the kept
            eigenvalues). Defaults to `"min"`.
        representation_gradients: bool. See `Weighting`.

    Example:

    >>> model.compile(optimizer="adam", weighting="aligned_mtl")

    Reference:
        - [Senushkin et al., 2023. Independent Component Alignment for
          Multi-Task Learning](https://arxiv.org/abs/2305.19000)
    """

    requires_gradients = True
    gram_based = True

    def __init__(self, scale="min", **kwargs):
        super().__init__(**kwargs)
        if scale not in _SCALES:
            raise ValueError(
                f"`scale` must be one of {list(_SCALES)}. "
                f"Received: scale={scale!r}"
            )
        self.scale = scale

    def coefficients(self, matrix, mask):
        """`(T,)` float64 weights of the task gradients in the update."""
        count = matrix.shape[0]
        matrix = _utils.restrict(matrix, mask)
        values, vectors = tf.linalg.eigh(matrix)
        tolerance = (
            tf.reduce_max(values) * count * float(np.finfo(np.float32).eps)
        )
        kept = values > tolerance
        safe = tf.where(kept, values, tf.ones_like(values))
        inverse_root = tf.where(kept, tf.math.rsqrt(safe), 0.0)
        if self.scale == "min":
            target = tf.reduce_min(tf.where(kept, values, np.inf))
        elif self.scale == "median":
            # Median of the kept eigenvalues (for an even count the lower
            # one, as torch.median).
            ranked = tf.sort(tf.where(kept, values, np.inf))
            kept_count = tf.reduce_sum(tf.cast(kept, tf.int32))
            target = tf.gather(ranked, tf.maximum(kept_count - 1, 0) // 2)
        else:
            kept_float = tf.cast(kept, tf.float64)
            target = tf.math.divide_no_nan(
                tf.reduce_sum(values * kept_float), tf.reduce_sum(kept_float)
            )
        target = tf.where(tf.reduce_any(kept), target, 0.0)
        basis = vectors * (tf.sqrt(target) * inverse_root)[None, :]
        alignment = tf.matmul(basis, vectors, transpose_b=True)
        return tf.reduce_sum(alignment, axis=1) * mask

    def gram_coefficients(self, gram, losses, weights, mask):
        return self.coefficients(gram, mask)

    def get_config(self):
        config = super().get_config()
        config["scale"] = self.scale
        return config
