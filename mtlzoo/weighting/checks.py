"""Guards that name the task whose loss or gradient went non-finite."""

import tensorflow as tf


def assert_finite(losses, grads=None, task_names=None):
    """Fail with the task's name if a task loss or gradient is NaN or inf.

    Works eagerly and inside a `tf.function` train step (the assertions are
    stateful ops, so they run without explicit control dependencies).

    Args:
        losses: `(T,)` tensor or list of T scalar tensors. Task losses.
        grads: optional `(T, D)` tensor, or list of T tensors (or lists of
            tensors, e.g. one per shared variable). Task gradients.
        task_names: optional list of T str. Names used in the messages;
            defaults to `"task_<index>"`.

    Returns:
        The `(losses, grads)` it was given, passed through the checks, so the
        caller can use the returned values to order the checks first.

    Raises:
        tf.errors.InvalidArgumentError: at run time, with a message such as
            "Loss of task 'mask' is NaN or inf".
        ValueError: when the number of names does not match the losses.

    Example:

    >>> losses, grads = assert_finite(losses, grads, ["garment", "mask"])
    """
    count = len(losses) if isinstance(losses, (list, tuple)) else None
    if count is None:
        losses = tf.convert_to_tensor(losses)
        count = losses.shape[0]
    if task_names is None:
        task_names = [f"task_{index}" for index in range(count)]
    task_names = list(task_names)
    if count is not None and len(task_names) != count:
        raise ValueError(
            f"Expected {count} task names, one per loss. "
            f"Received: task_names={task_names}"
        )
    checked_losses = []
    for index, name in enumerate(task_names):
        checked_losses.append(
            tf.debugging.assert_all_finite(
                losses[index],
                message=f"Loss of task '{name}' is NaN or inf",
            )
        )
    if isinstance(losses, (list, tuple)):
        losses = type(losses)(checked_losses)
    else:
        losses = tf.stack(checked_losses)
    if grads is None:
        return losses, grads
    # One reduction per task: a NaN or inf anywhere in a row makes its sum
    # non-finite (a finite row whose sum overflows float32 is flagged too:
    # it would overflow the update anyway). No copy of the gradients.
    checks = []
    if not isinstance(grads, (list, tuple)):
        grads = tf.convert_to_tensor(grads)
        row_sums = tf.reduce_sum(tf.reshape(grads, (count, -1)), axis=1)
    for index, name in enumerate(task_names):
        message = f"Gradient of task '{name}' has NaN or inf values"
        if not isinstance(grads, (list, tuple)):
            total = row_sums[index]
            checks.append(
                tf.debugging.assert_all_finite(total, message=message)
            )
            continue
        task_grads = grads[index]
        if isinstance(task_grads, (list, tuple)):
            parts = [tf.reduce_sum(g) for g in task_grads if g is not None]
            total = tf.add_n(parts) if parts else tf.zeros(())
        else:
            total = tf.reduce_sum(task_grads)
        checks.append(tf.debugging.assert_all_finite(total, message=message))
    with tf.control_dependencies(checks):
        grads = tf.nest.map_structure(
            lambda g: g if g is None else tf.identity(g), grads
        )
    return losses, grads


def finite_checks(losses, grads=None, task_names=None):
    """The NaN/inf checks of `assert_finite`, as booleans with messages.

    For a caller that raises later (the train step raises after restoring
    the model, see `mtlzoo.model.step_guard`). Arguments as
    `assert_finite`.

    `losses` may be None (only the gradients are checked; `task_names`
    is then required).

    Returns:
        A list of `(ok, message)`: a scalar bool tensor, and a string
        tensor naming the task and its non-finite value.
    """
    out = []
    if losses is None:
        return out + _gradient_checks(grads, list(task_names))
    if isinstance(losses, (list, tuple)):
        losses = tf.stack([tf.convert_to_tensor(v) for v in losses])
    losses = tf.reshape(tf.convert_to_tensor(losses), (-1,))
    count = losses.shape[0]
    if task_names is None:
        task_names = [f"task_{index}" for index in range(count)]
    task_names = list(task_names)
    if count is not None and len(task_names) != count:
        raise ValueError(
            f"Expected {count} task names, one per loss. "
            f"Received: task_names={task_names}"
        )
    for index, name in enumerate(task_names):
        value = losses[index]
        message = tf.strings.format(
            f"Loss of task '{name}' is NaN or inf (its images and labels "
            "passed the checks: the model or the learning rate diverged). "
            "Received: loss={}",
            value,
        )
        out.append((tf.math.is_finite(value), message))
    if grads is None:
        return out
    return out + _gradient_checks(grads, task_names)


def _gradient_checks(grads, task_names):
    out = []
    if not isinstance(grads, (list, tuple)):
        grads = tf.convert_to_tensor(grads)
        totals = tf.reduce_sum(tf.reshape(grads, (len(task_names), -1)), 1)
        totals = [totals[index] for index in range(len(task_names))]
    else:
        totals = []
        for task_grads in grads:
            if isinstance(task_grads, (list, tuple)):
                parts = [tf.reduce_sum(g) for g in task_grads if g is not None]
                totals.append(tf.add_n(parts) if parts else tf.zeros(()))
            else:
                totals.append(tf.reduce_sum(task_grads))
    for name, total in zip(task_names, totals):
        message = (
            f"Gradient of task '{name}' has NaN or inf values although its "
            "loss is finite. Received: a non-finite gradient"
        )
        out.append((tf.math.is_finite(total), message))
    return out
