"""Inter-task affinity by lookahead loss change (TAG, Fifty et al. 2021)."""

import keras
import numpy as np
import tensorflow as tf

from mtlzoo.tuning import _data


def shared_variables(model):
    """Trainable variables that every task's output depends on."""
    outputs = model.outputs_dict()
    common = None
    order = []
    for name in model.task_names:
        sub = keras.Model(model.inputs, outputs[name])
        ids = {id(v) for v in sub.trainable_variables}
        if common is None:
            common = ids
            order = list(sub.trainable_variables)
        else:
            common &= ids
    return [v for v in order if id(v) in common]


def task_affinity(
    model,
    dataset,
    steps=100,
    lr=None,
    every=1,
    train=True,
    batch_size=32,
):
    """Inter-task affinity measured while training a multi-task model.

    At a step with parameters `theta`, for each task `i` a lookahead SGD
    step is taken on the shared parameters with task `i`'s gradient only,
    `theta_s' = theta_s - lr * grad_{theta_s} L_i`, and the relative change
    of every task `j`'s loss on the same batch is recorded:
    `Z[i, j] = 1 - L_j(theta_s', theta_j) / L_j(theta)`. Positive means a
    step for `i` helps `j`. The shared parameters (and batch-norm
    statistics) are restored after each lookahead, then the model takes its
    normal training step (`train_on_batch`) when `train=True`. `Z` is
    averaged over the measured steps.

    Args:
        model: a `MultiTaskModel`. It is trained in place when
            `train=True`; if not compiled it is compiled with SGD(`lr`).
        dataset: `tf.data.Dataset` of `(image, labels)` (batched or not;
            repeated as needed), or a tuple `(x, y)` with `y` a dict.
        steps: int. Training steps. Defaults to 100.
        lr: float. Lookahead learning rate. Defaults to the compiled
            optimizer's learning rate, else 0.01.
        every: int. Measure affinity every `every` steps. Defaults to 1.
        train: bool. Train between measurements. Defaults to True.
        batch_size: int. For arrays and unbatched datasets. Defaults to 32.

    Returns:
        `(affinity, names)`: a `(T, T)` numpy array, `affinity[i, j]` the
        mean effect of task `i`'s step on task `j`, and the task names.

    Example:

    >>> affinity, names = mtlzoo.tuning.task_affinity(
    ...     model, train_ds, steps=50)
    >>> groups = mtlzoo.tuning.suggest_groups(affinity, 2, names=names)

    Reference:
    - [Fifty et al., 2021, Efficiently Identifying Task Groupings for
      Multi-Task Learning](https://arxiv.org/abs/2109.04617)
    """
    for arg, value in (("steps", steps), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"`{arg}` must be an int >= 1. Received: {arg}={value!r}"
            )
    if not hasattr(model, "task_names") or not hasattr(model, "tasks"):
        raise ValueError(
            "`model` must be a mtlzoo.MultiTaskModel. "
            f"Received: model of type {type(model).__name__}"
        )
    if lr is None:
        lr = 0.01
        if model.compiled and hasattr(model.optimizer, "learning_rate"):
            rate = model.optimizer.learning_rate
            lr = float(keras.ops.convert_to_numpy(rate))
    lr = float(lr)
    if not lr > 0:
        raise ValueError(f"`lr` must be positive. Received: lr={lr!r}")
    if train and not model.compiled:
        model.compile(optimizer=keras.optimizers.SGD(lr))
    shared = shared_variables(model)
    if not shared:
        raise ValueError(
            "The tasks share no trainable parameters (every task branches "
            "at P0?), so there is no affinity to measure. Received: "
            f"branch_points={model.get_config().get('branch_points')!r}"
        )
    lookahead = _lookahead_fn(model, shared, lr)
    names = list(model.task_names)
    batches = _data.as_batches(_data.select_labels(dataset, names), batch_size)
    total = np.zeros((len(names), len(names)))
    counts = np.zeros_like(total)
    for step in range(steps):
        x, y = next(batches)
        if step % every == 0:
            z = lookahead(
                tf.convert_to_tensor(x),
                {k: tf.convert_to_tensor(v) for k, v in y.items()},
            ).numpy()
            ok = np.isfinite(z)
            total += np.where(ok, z, 0.0)
            counts += ok
        if train:
            model.train_on_batch(x, y)
    affinity = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    return affinity, names


def _lookahead_fn(model, shared, lr):
    tasks = list(model.tasks)
    state = [v for v in model.non_trainable_variables]

    def losses_of(x, y):
        out = model(x, training=True)
        return [t.compute_loss(y[t.name], out[t.name]) for t in tasks]

    @tf.function(reduce_retracing=True)
    def lookahead(x, y):
        saved_state = [tf.identity(v.value) for v in state]
        saved = [tf.identity(v.value) for v in shared]
        with tf.GradientTape(persistent=True) as tape:
            base = losses_of(x, y)
        grads = [
            tape.gradient(loss, shared, unconnected_gradients="zero")
            for loss in base
        ]
        del tape
        base = tf.stack(base)
        rows = []
        for g in grads:
            for v, s, d in zip(shared, saved, g):
                v.assign(s - lr * d)
            after = tf.stack(losses_of(x, y))
            rows.append(
                tf.where(
                    base > 0,
                    1.0 - after / tf.maximum(base, 1e-12),
                    float("nan"),
                )
            )
        for v, s in zip(shared, saved):
            v.assign(s)
        for v, s in zip(state, saved_state):
            v.assign(s)
        return tf.stack(rows)

    return lookahead
