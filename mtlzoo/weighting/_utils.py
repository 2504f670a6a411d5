"""Shared tensor helpers of the gradient methods (graph-mode TF ops).

Most gradient methods only need the `(T, T)` Gram matrix of the task
gradients: they solve a small problem for task coefficients `alpha` and
return `alpha @ grads`. The small problems run in float64.
"""

import tensorflow as tf

EPSILON = 1e-12


def num_tasks(grads):
    """Static number of tasks (rows of `grads`)."""
    count = grads.shape[0]
    if count is None:
        raise ValueError(
            "Gradient methods need a static number of tasks (first axis "
            f"of `grads`). Received: grads.shape={grads.shape}"
        )
    return int(count)


def masked_rows(grads, present):
    """float32 `(T, D)` gradients with absent tasks' rows set to exactly 0,
    and the `(T,)` float64 presence mask. Non-finite values in absent rows
    do not leak (`tf.where`, not a product)."""
    grads = tf.cast(grads, tf.float32)
    present = tf.reshape(tf.cast(present, tf.float32), [-1])
    keep = present > 0
    # The select copies all of `grads`: only when a task is absent.
    grads = tf.cond(
        tf.reduce_all(keep),
        lambda: grads,
        lambda: tf.where(keep[:, None], grads, tf.zeros_like(grads)),
    )
    return grads, tf.cast(keep, tf.float64)


def gram(grads):
    """float64 `(T, T)` Gram matrix `grads @ grads.T`."""
    return tf.cast(tf.matmul(grads, grads, transpose_b=True), tf.float64)


def nonzero_mask(matrix, mask, tolerance=EPSILON):
    """Presence mask that also drops tasks with a zero gradient."""
    diag = tf.linalg.diag_part(matrix)
    scale = tf.maximum(tf.reduce_max(diag), EPSILON)
    return mask * tf.cast(diag > tolerance * scale, tf.float64)


def combine(alpha, grads, dtype):
    """`(D,)` direction `sum_t alpha_t grads_t`, cast to `dtype`."""
    alpha = tf.cast(alpha, grads.dtype)
    direction = tf.linalg.matvec(grads, alpha, transpose_a=True)
    return tf.cast(direction, dtype)


def restrict(matrix, mask):
    """`matrix` with the rows and columns of masked-out tasks set to 0."""
    return matrix * mask[:, None] * mask[None, :]


def normalize(matrix):
    """Gram matrix divided by its largest diagonal entry (0 stays 0)."""
    return tf.math.divide_no_nan(
        matrix, tf.reduce_max(tf.linalg.diag_part(matrix))
    )


def masked_softmax(logits, mask):
    """Softmax over the entries where `mask` is 1; 0 elsewhere."""
    logits = tf.where(mask > 0, logits, -1e30 * tf.ones_like(logits))
    shifted = logits - tf.reduce_max(logits)
    exp = tf.exp(shifted) * mask
    return exp / tf.maximum(tf.reduce_sum(exp), EPSILON)


def random_seed(seed_generator):
    """An int32 `(2,)` seed for `tf.random.stateless_*` from a Keras
    `SeedGenerator` (advances its state)."""
    return tf.cast(seed_generator.next(), tf.int32)
