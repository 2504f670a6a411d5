"""The train step of MultiTaskModel: task losses, weighting, gradients.

`TrainingMixin` holds everything that runs inside `fit`/`evaluate`: the
masked per-task losses, the loss-level path (one backward pass of the
method's combined loss), the gradient-method path (per-task gradients on
the parameters shared by every task, or on the shared features, combined by
the method, also across `tf.distribute` replicas), per-head optimizers, the
NaN/inf guard and the per-task logs.
"""

import keras
import tensorflow as tf
from keras import ops
from keras.src.losses import loss as loss_module
from keras.src.trainers.data_adapters import data_adapter_utils

from mtlzoo.weighting import checks


class TrainingMixin:
    """Train/test steps and gradient bookkeeping of `MultiTaskModel`."""

    def _partition_variables(self):
        """Split trainable variables by the tasks that use them.

        Stored untracked (`object.__setattr__`), so Keras does not count
        these lists as the model's own variables.
        """
        users = {}
        for name in self.task_names:
            sub = keras.Model(self.inputs, self.outputs_dict()[name])
            for v in sub.trainable_variables:
                users.setdefault(id(v), set()).add(name)
        every = set(self.task_names)
        for v in self._weighting_variables():
            users.setdefault(id(v), every)
        order = self._ordered_trainable()

        def used_by(v):
            return users.get(id(v), set())

        heads = {
            name: [v for v in order if used_by(v) == {name}]
            for name in self.task_names
        }
        by_head_opt = {id(v) for n in self.head_optimizers for v in heads[n]}
        trunk_ids = set()
        if self._shared_tensors:
            trunk = keras.Model(self.inputs, self._shared_tensors)
            trunk_ids = {id(v) for v in trunk.trainable_variables}
        # Per task, the variables it uses outside the shared parameters
        # (parameter mode) or outside the trunk (representation mode): their
        # gradients come out of the same backward pass as the task's row.
        own = {
            rep: [
                [
                    v
                    for v in order
                    if name in used_by(v)
                    and (id(v) not in trunk_ids if rep else used_by(v) != every)
                ]
                for name in self.task_names
            ]
            for rep in (False, True)
        }
        parts = {
            "_task_own_variables": own,
            "_variables": order,
            "_head_variables": heads,
            "_main_variables": [v for v in order if id(v) not in by_head_opt],
            "_all_shared": [v for v in order if used_by(v) == every],
            "_trunk_variables": [v for v in order if id(v) in trunk_ids],
        }
        for key, value in parts.items():
            object.__setattr__(self, key, value)

    def _ordered_trainable(self):
        """Trainable variables in a fixed order (construction order)."""
        trainable = {id(v): v for v in self.trainable_variables}
        order = [v for v in self._canonical if id(v) in trainable]
        seen = {id(v) for v in order}
        order += [v for v in trainable.values() if id(v) not in seen]
        return order

    def _weighting_variables(self):
        if self.weighting is None:
            return []
        return list(self.weighting.trainable_variables)

    def _checked(self, losses, grads=None):
        if not self.check_finite:
            return losses, grads
        return checks.assert_finite(losses, grads, self.task_names)

    def _task_losses(self, y, y_pred, sw, separate=False):
        """`(T,)` losses and presence; with `separate=True` also the list of
        the T scalar losses before stacking (a gradient taken from a slice
        of the stacked vector flows back through every task's graph, with
        zeros for the others; from the scalar it only reaches its own)."""
        losses, present = [], []
        for task in self.tasks:
            n = task.name
            loss = task.compute_loss(y[n], y_pred[n], sw.get(n))
            mask = task.label_mask(y[n], y_pred[n])
            if sw.get(n) is not None:
                mask = task._apply_sample_weight(mask, sw[n])
            losses.append(loss)
            present.append(ops.cast(ops.sum(mask) > 0, "float32"))
        if separate:
            return ops.stack(losses), ops.stack(present), losses
        return ops.stack(losses), ops.stack(present)

    def _update_logs(self, y, y_pred, sw, losses):
        for i, task in enumerate(self.tasks):
            n = task.name
            self._task_loss_trackers[n].update_state(losses[i])
            task.update_metrics(
                self._task_metrics[n], y[n], y_pred[n], sw.get(n)
            )
        if self.losses:
            self._regularization_tracker.update_state(self._regularization())
        logs = {m.name: m.result() for m in self.metrics}
        return logs

    def _current_weights(self):
        return ops.stack([self.task_weights[n].value for n in self.task_names])

    # ------------------------------------------------------------------
    def train_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        y, sw = self._standardize_labels(y, sample_weight)
        rep = self.weighting.representation_gradients
        has_shared = self._trunk_variables if rep else self._all_shared
        if self.weighting.requires_gradients and has_shared:
            y_pred, losses, total = self._gradient_method_step(x, y, sw)
        else:
            y_pred, losses, total = self._loss_method_step(x, y, sw)
        self._loss_tracker.update_state(total)
        logs = self._update_logs(y, y_pred, sw, losses)
        for n in self.task_names:
            logs[f"{n}_weight"] = ops.convert_to_tensor(self.task_weights[n])
        return logs

    def _regularization(self):
        if self.losses:
            return ops.sum(
                ops.stack([ops.cast(v, "float32") for v in self.losses])
            )
        return ops.zeros((), "float32")

    def _loss_method_step(self, x, y, sw):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            losses, present = self._task_losses(y, y_pred, sw)
            losses, _ = self._checked(losses)
            weights = self._current_weights()
            total = self.weighting.combine_losses(losses, weights, present)
            total = total + self._regularization()
            scaled = loss_module.scale_loss_for_distribution(total)
            scaled = self.optimizer.scale_loss(scaled)
        variables = self._variables
        grads = tape.gradient(scaled, variables)
        self._apply(grads, variables)
        return y_pred, losses, total

    def _gradient_method_step(self, x, y, sw):
        rep = self.weighting.representation_gradients
        with tf.GradientTape(persistent=True) as tape:
            if rep:
                y_pred, shared = self._forward_with_shared(x)
            else:
                y_pred = self(x, training=True)
            losses, present, separate = self._task_losses(
                y, y_pred, sw, separate=True
            )
            losses, _ = self._checked(losses)
            weights = self._current_weights()
            weighted = weights * present * losses
            reg = self._regularization()
            total = ops.sum(weighted) + reg
            per_task = [
                weights[i] * present[i] * separate[i]
                for i in range(len(self.tasks))
            ]
            scaled = loss_module.scale_loss_for_distribution(total)
        scale = loss_module.scale_loss_for_distribution(ops.ones(()))
        _, replicas = _replicas()
        shared_vars = self._trunk_variables if rep else self._all_shared
        targets = shared if rep else shared_vars
        # One backward pass per task gives both its row of the task-gradient
        # matrix and the gradients of the variables only it (or its branch
        # group) uses; those are summed over tasks, which is the gradient of
        # the weighted total with respect to them.
        n_targets = len(targets)
        rest_grads = {}
        rows = []
        for t, own in zip(per_task, self._task_own_variables[rep]):
            # None marks a shared tensor the task does not depend on.
            g = tape.gradient(t, targets + own)
            rows.append(g[:n_targets])
            for v, gv in zip(own, g[n_targets:]):
                gv = ops.zeros_like(v) if gv is None else gv
                key = id(v)
                rest_grads[key] = (
                    gv if key not in rest_grads else rest_grads[key] + gv
                )
        if self.weighting.gram_based and (rep or replicas == 1):
            pieces = self._gram_direction(
                rows, targets, losses, weights, present, scale
            )
        else:
            matrix = _stack_rows(rows, targets)
            if replicas > 1:
                matrix = matrix * scale
            _, matrix = self._checked(losses, matrix)
            direction = self._combine_across_replicas(
                matrix, losses, weights, present, rep
            )
            pieces = _split_like(direction, targets)
        if rep:
            shared_grads = tape.gradient(
                targets,
                shared_vars,
                output_gradients=pieces,
                unconnected_gradients="zero",
            )
        else:
            shared_grads = pieces
        shared_ids = {id(v) for v in shared_vars}
        rest = [v for v in self._variables if id(v) not in shared_ids]
        grads_by_id = {
            k: g * scale if replicas > 1 else g for k, g in rest_grads.items()
        }
        leftover = [v for v in rest if id(v) not in grads_by_id]
        if leftover:
            # Variables no task output reaches (only losses do).
            more = tape.gradient(scaled, leftover, unconnected_gradients="zero")
            grads_by_id.update(zip((id(v) for v in leftover), more))
        grads_by_id.update(zip((id(v) for v in shared_vars), shared_grads))
        if self.losses:
            # Regularisers (e.g. soft-sharing couplings) add to every
            # variable they touch; leftovers already have theirs via
            # `scaled`.
            done = {id(v) for v in leftover}
            reg_vars = [v for v in self._variables if id(v) not in done]
            reg_grads = tape.gradient(
                reg * scale, reg_vars, unconnected_gradients="zero"
            )
            for v, r in zip(reg_vars, reg_grads):
                grads_by_id[id(v)] = grads_by_id[id(v)] + r
        del tape
        variables = self._variables
        self._apply([grads_by_id[id(v)] for v in variables], variables)
        return y_pred, losses, total

    def task_gradients(self, x, y, sample_weight=None, representation=False):
        """Per-task gradients of the unweighted task losses, shared part.

        Used for gradient-conflict logging and task-affinity analysis. Runs
        the model in inference mode (no dropout, frozen BatchNorm stats).

        Args:
            x: batch of images.
            y: dict task name -> labels for the batch.
            sample_weight: optional dict task name -> `(batch,)` weights.
            representation: bool. Gradients with respect to the shared
                features instead of the parameters shared by all tasks.

        Returns:
            `(grads, losses, present)`: a `(T, D)` tensor (rows in
            `task_names` order), the `(T,)` losses and the `(T,)` mask of
            tasks with labels in the batch.
        """
        if not hasattr(self, "_variables"):
            self.head_optimizers = getattr(self, "head_optimizers", {})
            self._partition_variables()
        x = ops.convert_to_tensor(x)
        y = tf.nest.map_structure(ops.convert_to_tensor, y)
        y, sw = self._standardize_labels(y, sample_weight)
        sw = {k: ops.convert_to_tensor(v, "float32") for k, v in sw.items()}
        key = bool(representation)
        cache = self.__dict__.setdefault("_task_gradient_fns", {})
        if key not in cache:
            cache[key] = tf.function(
                lambda x, y, sw: self._task_gradients(x, y, sw, key),
                reduce_retracing=True,
            )
        return cache[key](x, y, sw)

    def _task_gradients(self, x, y, sw, representation):
        with tf.GradientTape(persistent=True) as tape:
            if representation:
                y_pred, shared = self._forward_with_shared(x, training=False)
            else:
                y_pred = self(x, training=False)
            losses, present, per_task = self._task_losses(
                y, y_pred, sw, separate=True
            )
        targets = shared if representation else self._all_shared
        rows = [tape.gradient(t, targets) for t in per_task]
        del tape
        return _stack_rows(rows, targets), losses, present

    def _gram_direction(self, rows, targets, losses, weights, present, scale):
        """The method's update for `gram_based` methods, without the (T, D)
        matrix.

        Shared pieces (tensors or variables) are grouped by the set of tasks
        whose gradient reaches them; a group reached by several tasks is
        laid out as one `(tasks, n)` block (one copy), a piece reached by one
        task is used in place (a dense head's skips from shallow levels).
        The Gram matrix is the sum of the blocks' Gram matrices, all-reduced
        across replicas in representation mode (replicas hold different
        coordinates), and the update of each block is `alpha @ block`.
        """
        count = len(rows)
        groups = {}
        for p in range(len(targets)):
            users = tuple(t for t in range(count) if rows[t][p] is not None)
            groups.setdefault(users, []).append(p)
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
            flat = [
                ops.reshape(rows[t][p], (-1,)) for t in users for p in indices
            ]
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
                    [
                        tf.add_n(entries.get((i, j), [zero]))
                        for j in range(count)
                    ]
                )
                for i in range(count)
            ]
        )
        gram = tf.cast(gram, "float64")
        ctx, replicas = _replicas()
        if replicas > 1:
            gram = ctx.all_reduce("sum", gram) * tf.cast(scale, "float64") ** 2
            losses = ctx.all_reduce("mean", losses)
            present = ops.cast(ctx.all_reduce("sum", present) > 0, "float32")
        if self.check_finite:
            # A NaN or inf anywhere in task t's gradient makes G[t, t] so.
            diag = tf.linalg.diag_part(gram)[:, None]
            _, diag = self._checked(losses, diag)
            with tf.control_dependencies([diag]):
                gram = tf.identity(gram)
        mask = tf.cast(tf.reshape(present, (-1,)) > 0, "float64")
        keep = mask[:, None] * mask[None, :] > 0
        gram = tf.where(keep, gram, tf.zeros_like(gram))
        alpha = self.weighting.gram_coefficients(gram, losses, weights, mask)
        alpha = tf.cast(alpha * mask, "float32")
        if replicas > 1:
            alpha = alpha * tf.cast(scale, "float32")
        pieces = [None] * len(targets)
        for users, indices in groups.items():
            if len(users) == 1:
                (t,) = users
                for p in indices:
                    pieces[p] = alpha[t] * rows[t][p]
        for users, indices, block in blocks:
            coefficients = tf.gather(alpha, list(users))
            direction = tf.linalg.matvec(block, coefficients, transpose_a=True)
            parts = _split_like(direction, [targets[p] for p in indices])
            for p, part in zip(indices, parts):
                pieces[p] = part
        return [
            ops.zeros_like(x) if g is None else g
            for g, x in zip(pieces, targets)
        ]

    def _combine_across_replicas(self, matrix, losses, weights, present, rep):
        """Run the method on the global task-gradient matrix.

        Under `tf.distribute`, each replica holds the gradients of its part
        of the batch. Shared-parameter gradients are summed across replicas
        (the method then sees what one device would see, and the result is
        divided by the replica count since the optimizer sums again);
        representation gradients are gathered (each replica's features are
        different coordinates) and each replica keeps its own slice.
        """
        ctx, replicas = _replicas()
        if replicas == 1:
            return self.weighting.combine_gradients(
                matrix, losses, weights, present
            )
        losses = ctx.all_reduce("mean", losses)
        present = ops.cast(ctx.all_reduce("sum", present) > 0, "float32")
        if not rep:
            matrix = ctx.all_reduce("sum", matrix)
            direction = self.weighting.combine_gradients(
                matrix, losses, weights, present
            )
            return direction / float(replicas)
        local = tf.shape(matrix)[1]
        sizes = ctx.all_gather(tf.reshape(local, (1,)), axis=0)
        full = tf.ensure_shape(
            ctx.all_gather(matrix, axis=1), (matrix.shape[0], None)
        )
        direction = self.weighting.combine_gradients(
            full, losses, weights, present
        )
        replica = ctx.replica_id_in_sync_group
        start = tf.reduce_sum(sizes[:replica])
        return direction[start : start + local]

    def _forward_with_shared(self, x, training=True):
        """Forward pass cut at the shared features.

        The task part takes the shared tensors as its inputs, so a task's
        gradient with respect to a shallow shared tensor (a dense skip)
        does not also count the path through deeper shared stages.
        """
        if self._with_shared is None:
            shared = list(self._shared_tensors)
            trunk = keras.Model(self.inputs, shared)
            rest = keras.Model(shared, self.outputs_dict())
            object.__setattr__(self, "_with_shared", (trunk, rest))
        trunk, rest = self._with_shared
        shared = trunk(x, training=training)
        if not isinstance(shared, (list, tuple)):
            shared = [shared]
        shared = [tf.identity(t) for t in shared]
        return rest(shared, training=training), shared

    def _apply(self, grads, variables):
        if not self.head_optimizers:
            self.optimizer.apply_gradients(zip(grads, variables))
            return
        by_id = dict(zip((id(v) for v in variables), grads))
        main = self._main_variables
        self.optimizer.apply_gradients([(by_id[id(v)], v) for v in main])
        for name, opt in self.head_optimizers.items():
            own = self._head_variables[name]
            opt.apply_gradients([(by_id[id(v)], v) for v in own])

    def test_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        y, sw = self._standardize_labels(y, sample_weight)
        y_pred = self(x, training=False)
        losses, present = self._task_losses(y, y_pred, sw)
        # The plain weighted sum: evaluation must not move a method's state
        # (FAMO) and stays comparable across methods.
        total = ops.sum(self._current_weights() * present * losses)
        self._loss_tracker.update_state(total + self._regularization())
        return self._update_logs(y, y_pred, sw, losses)


def _replicas():
    """`(replica context, number of replicas in sync)`; 1 outside one."""
    ctx = tf.distribute.get_replica_context()
    return ctx, (ctx.num_replicas_in_sync if ctx is not None else 1)


def _stack_rows(rows, targets):
    """Per-task gradient lists (None: not reached) as a row-major (T, D)
    matrix with a single copy."""
    flat = []
    for row in rows:
        flat += [
            ops.reshape(ops.zeros_like(x) if a is None else a, (-1,))
            for a, x in zip(row, targets)
        ]
    return ops.reshape(ops.concatenate(flat), (len(rows), -1))


def _split_like(vector, tensors):
    """Cut a flat vector into pieces shaped like `tensors`."""
    sizes = [tf.size(t) for t in tensors]
    pieces = tf.split(vector, tf.stack(sizes), num=len(tensors))
    return [tf.reshape(p, tf.shape(t)) for p, t in zip(pieces, tensors)]
