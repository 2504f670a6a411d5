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


def metric_results(metrics):
    """`{metric.name: metric.result()}` over every replica's updates.

    Inside `strategy.run` with several replicas, a metric's `result()`
    reads this replica's own state (Keras aggregates the replicas only
    when the metric is read outside `strategy.run`), so a step's logs
    would hold the replicas' mean of their own results: with labels
    missing unevenly, not the batch's. Here each state variable is
    all-reduced as its `aggregation` says ("sum" or "mean"; others are
    read as they are) and the results computed from those, as Keras
    does when it reads the metric across replicas. With one replica,
    the plain `result()`s.

    Args:
        metrics: list of `keras.metrics.Metric`.

    Returns:
        A dict metric name -> result.
    """
    ctx, count = replicas()
    if count == 1:
        return {m.name: m.result() for m in metrics}
    reduced = {"sum": [], "mean": []}
    for metric in metrics:
        for v in metric.variables:
            if v.aggregation in reduced:
                # tf.identity: a variable read has no device, which a
                # multi-worker all-reduce needs ("destinations can not be
                # empty").
                reduced[v.aggregation].append(tf.identity(v.value))
    reduced = {
        op: iter(ctx.all_reduce(op, values) if values else [])
        for op, values in reduced.items()
    }
    out = {}
    for metric in metrics:
        values = [
            next(reduced[v.aggregation])
            if v.aggregation in reduced
            else v.value
            for v in metric.variables
        ]
        out[metric.name] = (
            metric.stateless_result(values) if values else metric.result()
        )
    return out
