"""Combining per-task gradients into one update with a weighting method.

Two paths give the same update (a test checks it):

- the matrix path lays the task gradients out as a `(T, D)` matrix and
  calls `weighting.combine_gradients`, summing (parameter mode) or
  gathering (representation mode) the matrix across replicas;
- the Gram path, for `gram_based` methods, never builds the matrix: it
  computes the `(T, T)` Gram matrix block by block, asks the method for the
  task coefficients `alpha` and returns `alpha @ G` piece by piece.
"""

import tensorflow as tf
from keras import ops

from mtlzoo.model.distribution import replicas


def combine_task_gradients(rows, targets, weighting, objective, stats, scale):
    """The combined update of the shared pieces, shaped like `targets`.

    Args:
        rows: list of T lists. Task t's gradient with respect to each of
            `targets` (None where the task does not reach it).
        targets: list of tensors or variables. What the gradients are of.
        weighting: `mtlzoo.weighting.Weighting` with `requires_gradients`.
        objective: `TaskObjective`. Its `checked` guards the gradients.
        stats: `(losses, weights, present)`, three `(T,)` tensors.
        scale: scalar tensor. The distribution loss scale (`1 / replicas`).

    Returns:
        A list of tensors, one per target.
    """
    losses, weights, present = stats
    rep = weighting.representation_gradients
    _, count = replicas()
    if rep and getattr(weighting, "uses_features", False):
        return feature_direction(
            rows, targets, weighting, objective, stats, scale
        )
    if weighting.gram_based and (rep or count == 1):
        return gram_direction(rows, targets, weighting, objective, stats, scale)
    matrix = stack_rows(rows, targets)
    if count > 1:
        matrix = matrix * scale
    _, matrix = objective.checked(losses, matrix)
    direction = combine_across_replicas(
        weighting, matrix, losses, weights, present
    )
    if not weighting.gram_based:
        # No per-task coefficient (GradDrop): the task weight is applied.
        weighting.record_applied_weights(weights * present)
    return split_like(direction, targets)


def combine_across_replicas(weighting, matrix, losses, weights, present):
    """Run the method on the global task-gradient matrix.

    Under `tf.distribute`, each replica holds the gradients of its part
    of the batch. Shared-parameter gradients are summed across replicas
    (the method then sees what one device would see, and the result is
    divided by the replica count since the optimizer sums again);
    representation gradients are gathered (each replica's features are
    different coordinates) and each replica keeps its own slice.

    Args:
        weighting: `mtlzoo.weighting.Weighting`.
        matrix: `(T, D)` tensor. This replica's task gradients.
        losses: `(T,)` tensor. The task losses (already the global
            batch's masked means, see `TaskObjective.task_losses`; the
            replicas' mean is taken again as a safeguard).
        weights: `(T,)` tensor. Task weights.
        present: `(T,)` tensor. Tasks with labels in the batch (global
            too).

    Returns:
        The `(D,)` update of this replica's coordinates.
    """
    ctx, count = replicas()
    if count == 1:
        return weighting.combine_gradients(matrix, losses, weights, present)
    losses = ctx.all_reduce("mean", losses)
    present = ops.cast(ctx.all_reduce("sum", present) > 0, "float32")
    if not weighting.representation_gradients:
        matrix = ctx.all_reduce("sum", matrix)
        direction = weighting.combine_gradients(
            matrix, losses, weights, present
        )
        return direction / float(count)
    local = tf.shape(matrix)[1]
    sizes = ctx.all_gather(tf.reshape(local, (1,)), axis=0)
    full = tf.ensure_shape(
        ctx.all_gather(matrix, axis=1), (matrix.shape[0], None)
    )
    direction = weighting.combine_gradients(full, losses, weights, present)
    replica = ctx.replica_id_in_sync_group
    start = tf.reduce_sum(sizes[:replica])
    return direction[start : start + local]


def feature_direction(rows, targets, weighting, objective, stats, scale):
    """The update of a method that reads the shared features themselves
    (`weighting.uses_features`, e.g. GradDrop's batch purity).

    Calls `weighting.combine_feature_gradients(grads, features, losses,
    weights, present)` with one `(T, batch, ...)` gradient per feature
    tensor; under `tf.distribute` each replica passes its own part of the
    batch (the method all-reduces what it sums over the batch).

    Args and returns: as `combine_task_gradients` (representation mode).
    """
    losses, weights, present = stats
    matrix = stack_rows(rows, targets)
    ctx, count = replicas()
    if count > 1:
        matrix = matrix * scale
    _, matrix = objective.checked(losses, matrix)
    if count > 1:
        losses = ctx.all_reduce("mean", losses)
        present = ops.cast(ctx.all_reduce("sum", present) > 0, "float32")
    pieces = split_like_rows(matrix, targets)
    weighting.record_applied_weights(weights * present)
    return weighting.combine_feature_gradients(
        pieces, list(targets), losses, weights, present
    )


def split_like_rows(matrix, tensors):
    """Cut a `(T, D)` matrix into `(T, *tensor.shape)` pieces."""
    sizes = [tf.size(t) for t in tensors]
    pieces = tf.split(matrix, tf.stack(sizes), num=len(tensors), axis=1)
    rows = matrix.shape[0]
    return [
        tf.reshape(p, tf.concat([[rows], tf.shape(t)], 0))
        for p, t in zip(pieces, tensors)
    ]


def gram_direction(rows, targets, weighting, objective, stats, scale):
    """The update of a `gram_based` method, without the `(T, D)` matrix.

    Shared pieces (tensors or variables) are grouped by the set of tasks
    whose gradient reaches them; a group reached by several tasks is laid
    out as one `(tasks, n)` block (one copy), a piece reached by one task
    is used in place (a dense head's skips from shallow levels). The Gram
    matrix is the sum of the blocks' Gram matrices, all-reduced across
    replicas in representation mode (replicas hold different coordinates),
    and the update of each block is `alpha @ block`.

    Args and returns: as `combine_task_gradients`.
    """
    losses, weights, present = stats
    groups = _group_by_users(rows, len(targets))
    gram, blocks = _blockwise_gram(rows, groups)
    ctx, count = replicas()
    if count > 1:
        gram = ctx.all_reduce("sum", gram) * tf.cast(scale, "float64") ** 2
        losses = ctx.all_reduce("mean", losses)
        present = ops.cast(ctx.all_reduce("sum", present) > 0, "float32")
    if objective.check_finite:
        # A NaN or inf anywhere in task t's gradient makes G[t, t] so.
        diag = tf.linalg.diag_part(gram)[:, None]
        _, diag = objective.checked(losses, diag)
        with tf.control_dependencies([diag]):
            gram = tf.identity(gram)
    mask = tf.cast(tf.reshape(present, (-1,)) > 0, "float64")
    keep = mask[:, None] * mask[None, :] > 0
    gram = tf.where(keep, gram, tf.zeros_like(gram))
    alpha = weighting.gram_coefficients(gram, losses, weights, mask)
    alpha = tf.cast(alpha * mask, "float32")
    weighting.record_applied_weights(alpha * ops.cast(weights, "float32"))
    if count > 1:
        alpha = alpha * tf.cast(scale, "float32")
    return _combine_pieces(alpha, rows, targets, groups, blocks)


def _group_by_users(rows, count):
    """Dict: tuple of the tasks reaching a piece -> the pieces' indices."""
    groups = {}
    for p in range(count):
        users = tuple(t for t in range(len(rows)) if rows[t][p] is not None)
        groups.setdefault(users, []).append(p)
    return groups


def _blockwise_gram(rows, groups):
    """The `(T, T)` float64 Gram matrix and the multi-task blocks.

    Returns:
        `(gram, blocks)`; `blocks` is a list of `(users, indices, block)`
        with `block` the `(len(users), n)` gradients of those pieces.
    """
    count = len(rows)
    entries = {}
    blocks = []
    for users, indices in groups.items():
        if not users:
            continue
        if len(users) == 1:
            (t,) = users
            for p in indices:
                g = ops.reshape(rows[t][p], (-1,))
                entries.setdefault((t, t), []).append(tf.tensordot(g, g, 1))
            continue
        flat = [ops.reshape(rows[t][p], (-1,)) for t in users for p in indices]
        block = ops.reshape(ops.concatenate(flat), (len(users), -1))
        block_gram = tf.matmul(block, block, transpose_b=True)
        for a, i in enumerate(users):
            for b, j in enumerate(users):
                entries.setdefault((i, j), []).append(block_gram[a, b])
        blocks.append((users, indices, block))
    zero = tf.zeros((), "float32")
    gram = tf.stack(
        [
            tf.stack(
                [tf.add_n(entries.get((i, j), [zero])) for j in range(count)]
            )
            for i in range(count)
        ]
    )
    return tf.cast(gram, "float64"), blocks


def _combine_pieces(alpha, rows, targets, groups, blocks):
    """`alpha @ G` piece by piece, shaped like `targets` (zeros where no
    task reaches)."""
    pieces = [None] * len(targets)
    for users, indices in groups.items():
        if len(users) == 1:
            (t,) = users
            for p in indices:
                pieces[p] = alpha[t] * rows[t][p]
    for users, indices, block in blocks:
        coefficients = tf.gather(alpha, list(users))
        direction = tf.linalg.matvec(block, coefficients, transpose_a=True)
        parts = split_like(direction, [targets[p] for p in indices])
        for p, part in zip(indices, parts):
            pieces[p] = part
    return [
        ops.zeros_like(x) if g is None else g for g, x in zip(pieces, targets)
    ]


def stack_rows(rows, targets):
    """Per-task gradient lists (None: not reached) as a row-major (T, D)
    matrix with a single copy."""
    flat = []
    for row in rows:
        flat += [
            ops.reshape(ops.zeros_like(x) if a is None else a, (-1,))
            for a, x in zip(row, targets)
        ]
    return ops.reshape(ops.concatenate(flat), (len(rows), -1))


def split_like(vector, tensors):
    """Cut a flat vector into pieces shaped like `tensors`."""
    sizes = [tf.size(t) for t in tensors]
    pieces = tf.split(vector, tf.stack(sizes), num=len(tensors))
    return [tf.reshape(p, tf.shape(t)) for p, t in zip(pieces, tensors)]
