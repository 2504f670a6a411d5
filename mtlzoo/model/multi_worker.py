"""What `MultiTaskModel` needs to train under multi-worker `tf.distribute`.

Keras 3 (checked with 3.15.1 on TensorFlow 2.21) cannot run `fit` or
`evaluate` under `tf.distribute.MultiWorkerMirroredStrategy` once there are
two or more workers (keras-team/keras#20585, tensorflow/tensorflow#72388):

1. Before the first step, `fit` reduces the first distributed batch with a
   single `strategy.reduce(...)` call to build the model symbolically. The
   multi-worker strategy cannot reduce a nest (`(x, y)`), and fails with
   `ValueError: Attempt to convert a value (PerReplica:{...})`. A
   `MultiTaskModel` is built when it is constructed and its `fit` builds the
   optimizers, so there is nothing to build: the model skips that step
   (`needs_symbolic_build`).
2. After each step, Keras reduces every log across workers with
   `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalar logs
   every model returns (`Invalid reduction dimension 0 for input with 0
   dimensions`). The train and test steps give each log a leading axis of
   length 1 in that case (`step_logs`): the reduction then averages the
   workers' (identical, synchronised) values and removes the axis again,
   so callbacks and the history see the usual scalars.

Nothing changes on one worker (`MirroredStrategy`, one device, or a
`MultiWorkerMirroredStrategy` with a single worker).
"""

import tensorflow as tf
from keras import ops


def in_multi_worker_mode(strategy=None):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over several
    workers (its cluster has two or more `chief` and `worker` tasks).

    Args:
        strategy: a `tf.distribute.Strategy`; defaults to the current one.

    Returns:
        bool.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec() if resolver is not None else None
    if not spec:
        return False
    jobs = [job for job in spec.jobs if job in ("chief", "worker")]
    return sum(spec.num_tasks(job) for job in jobs) > 1


def needs_symbolic_build(model):
    """Whether Keras' symbolic build before `fit`/`evaluate` may run.

    False in multi-worker mode, where it cannot (see the module
    docstring); the model is built at construction and `fit` builds its
    optimizers first.
    """
    return not in_multi_worker_mode(model.distribute_strategy)


def step_logs(logs):
    """The logs of a train or test step, shaped for Keras' reduction.

    In multi-worker mode every value gets a leading axis of length 1 (see
    the module docstring); otherwise `logs` is returned as it is.

    Args:
        logs: dict name -> tensor, as a step returns them.

    Returns:
        dict name -> tensor.
    """
    if not in_multi_worker_mode():
        return logs
    return {k: ops.expand_dims(v, 0) for k, v in logs.items()}
