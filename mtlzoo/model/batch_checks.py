"""The checks of a batch: finite images, valid labels and sample weights.

Each check is recorded in a `StepGuard` (see `mtlzoo.model.step_guard`)
as a boolean and a message naming the culprit: the images by sample
position, a task's labels with the rule they break (`Task.invalid_labels`)
and the offending value and sample, a task's sample weights. They run in
graph mode on every batch, as a few reductions over the batch.
"""

import tensorflow as tf


def check_batch(guard, tasks, x, y, sample_weights, inputs=True):
    """Record the checks of a batch in `guard`.

    Args:
        guard: `StepGuard`.
        tasks: list of `mtlzoo.Task`.
        x: images (a tensor, or a nest of them).
        y: dict task name -> labels.
        sample_weights: dict task name -> `(batch,)` weights.
        inputs: bool. Check that the images are finite. Defaults to True.

    Returns:
        `(y, sample_weights)`. Labels or weights whose batch size differs
        from the images' are replaced by missing ones of the right size
        (the step then runs to its end, restores the model and raises the
        size error).

    Raises:
        ValueError: at once, when the sizes differ in the static shapes.
    """
    images = [t for t in tf.nest.flatten(x) if hasattr(t, "dtype")]
    if inputs:
        for tensor in images:
            check_inputs(guard, tensor)
    if images:
        y, sample_weights = _same_batch(
            guard, tasks, images[0], y, sample_weights
        )
    for task in tasks:
        check_labels(guard, task, y[task.name])
    for name, weights in sample_weights.items():
        check_sample_weights(guard, name, weights)
    return y, sample_weights


def check_inputs(guard, x):
    """Record "the images are finite", naming the first bad sample."""
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        return
    bad = tf.logical_not(tf.math.is_finite(x))
    if x.shape.rank is None or x.shape.rank < 2:
        per_sample = tf.reshape(tf.cast(bad, "int32"), (-1,))
    else:
        axes = list(range(1, x.shape.rank))
        per_sample = tf.reduce_sum(tf.cast(bad, "int32"), axis=axes)
    ok = tf.logical_not(tf.reduce_any(per_sample > 0))
    first = tf.argmax(per_sample > 0, output_type="int32")
    count = tf.gather(per_sample, first) if per_sample.shape[0] != 0 else 0
    message = tf.strings.format(
        "Input images contain NaN or inf at sample {} (of the batch of {}); "
        "images must hold finite pixel values. Received: {} NaN or inf "
        "value(s) in that image",
        (first, tf.shape(per_sample)[0], count),
    )
    guard.add(ok, message)


def check_labels(guard, task, labels):
    """Record the rules of `task.invalid_labels` on a batch of labels."""
    for bad, values, rule in task.invalid_labels(labels):
        ok, value, sample = _first_bad(bad, values)
        message = tf.strings.format(
            f"Labels of task '{task.name}' ({task.kind}) must be {rule}. "
            "Received: {} at sample {} (of the batch)",
            (value, sample),
        )
        guard.add(ok, message)


def check_sample_weights(guard, name, weights):
    """Record "the sample weights of task `name` are finite and >= 0"."""
    w = tf.cast(tf.convert_to_tensor(weights), "float32")
    bad = tf.logical_not(tf.math.is_finite(w)) | (w < 0)
    ok, value, sample = _first_bad(bad, w)
    message = tf.strings.format(
        f"Sample weights of task '{name}' must be finite and >= 0 (0 marks "
        "a sample without this task's label). Received: {} at sample {} "
        "(of the batch)",
        (value, sample),
    )
    guard.add(ok, message)


def _first_bad(bad, values):
    """`(ok, value, sample)`: no True in `bad`; the value and the sample
    index of its first True entry."""
    bad = tf.convert_to_tensor(bad)
    flat = tf.reshape(bad, (-1,))
    ok = tf.logical_not(tf.reduce_any(flat))
    index = tf.argmax(tf.cast(flat, "int32"), output_type="int32")
    size = tf.size(flat)
    batch = tf.maximum(tf.shape(bad)[0], 1) if bad.shape.rank else 1
    per_sample = tf.maximum(size // batch, 1)
    # One padding entry, so that an empty batch gathers a 0.
    values = tf.convert_to_tensor(values)
    flat_values = tf.reshape(values, (-1,))
    flat_values = tf.concat([flat_values, tf.zeros((1,), values.dtype)], 0)
    value = tf.gather(flat_values, tf.minimum(index, size))
    return ok, value, index // per_sample


def _same_batch(guard, tasks, x, y, sample_weights):
    """Check that every task's labels and weights have the images' batch
    size; replace those that do not by missing ones."""
    sizes = {}
    for name, value in list(y.items()) + [
        (f"sample weights of '{k}'", v) for k, v in sample_weights.items()
    ]:
        sizes[name] = tf.convert_to_tensor(value).shape[:1]
    n_static = x.shape[0] if x.shape.rank else None
    static = {k: s[0] for k, s in sizes.items() if s.rank and s[0] is not None}
    if n_static is not None and any(v != n_static for v in static.values()):
        raise ValueError(_size_message(tasks, n_static, static))
    n = tf.shape(x)[0]
    missing = {t.name: t.missing_label for t in tasks}
    y = dict(y)
    for task in tasks:
        name = task.name
        if n_static is not None and static.get(name) == n_static:
            continue
        y[name] = _fit_batch(guard, name, y[name], n, missing[name], tasks)
    weights = dict(sample_weights)
    for name, value in sample_weights.items():
        key = f"sample weights of '{name}'"
        if n_static is not None and static.get(key) == n_static:
            continue
        weights[name] = _fit_batch(guard, key, value, n, 0.0, tasks)
    return y, weights


def _fit_batch(guard, name, value, n, missing, tasks):
    value = tf.convert_to_tensor(value)
    got = tf.shape(value)[0]
    same = tf.equal(got, n)
    label = name if name.startswith("sample") else f"task '{name}'"
    guard.add(
        same,
        tf.strings.format(
            f"The labels of every task must have the images' batch size; "
            f"those of {label} do not. Received: {{}} samples for "
            f"{label}, {{}} images",
            (got, n),
        ),
    )
    shape = tf.concat([[n], tf.shape(value)[1:]], 0)
    if not value.dtype.is_floating and missing != missing:  # NaN
        missing = -1
    fill = tf.cast(tf.fill(shape, missing), value.dtype)
    fitted = tf.cond(same, lambda: value, lambda: fill)
    return tf.ensure_shape(fitted, value.shape)


def _size_message(tasks, n, static):
    """The message of `_fit_batch`'s in-graph check, for sizes known
    before tracing (one message for the rule, whichever check meets it)."""
    names = [t.name for t in tasks]
    off = {
        (f"task '{k}'" if k in names else k): int(v)
        for k, v in sorted(static.items())
        if v != n
    }
    counts = ", ".join(f"{v} samples for {k}" for k, v in off.items())
    return (
        "The labels of every task must have the images' batch size; "
        f"those of {', '.join(off)} do not. Received: {counts}, {n} images"
    )
