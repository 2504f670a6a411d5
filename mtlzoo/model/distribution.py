"""`tf.distribute` helpers of the train step."""

import tensorflow as tf
from keras import ops


def replicas():
    """`(replica context, number of replicas in sync)`; 1 outside one."""
    ctx = tf.distribute.get_replica_context()
    return ctx, (ctx.num_replicas_in_sync if ctx is not None else 1)


def scale_loss_for_distribution(value):
    """Scale a loss by `1 / replicas` under a multi-replica strategy.

    Under `tf.distribute`, each replica computes the loss of its part of
    the batch and the optimizer sums the replicas' gradients; scaling each
    replica's loss by `1 / num_replicas_in_sync` makes the sum the gradient
    of the mean. Outside a strategy, or with one replica, `value` is
    returned unchanged. Same semantics as Keras' own train step (multiply by
    `1 / num_replicas_in_sync` of `tf.distribute.get_strategy()`, cast to
    the dtype of `value`).

    Args:
        value: a scalar tensor.

    Returns:
        The scaled tensor.
    """
    num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if num_replicas > 1:
        value = ops.multiply(value, ops.cast(1.0 / num_replicas, value.dtype))
    return value
