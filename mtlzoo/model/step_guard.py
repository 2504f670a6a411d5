"""All-or-nothing train steps: a failed check leaves the model untouched.

A train step changes state in three places: the forward pass (Keras'
BatchNormalization assigns its moving statistics, dropout advances its
seed), the weighting method (FAMO's logits, GradNorm's task weights,
Nash-MTL's warm start, PCGrad's seed) and the optimizers (weights, slots,
iteration count). `StepGuard` makes the step atomic:

1. before the forward pass it reads the state the step may assign (the
   model's non-trainable variables and the method's variables);
2. the step records checks as it goes (`add`): finite inputs, valid
   labels and sample weights, finite task losses and gradients;
3. `apply` runs the optimizers only when every check passed;
4. `finish` puts the read values back when one failed, and only then
   raises the first failed check's message.

In graph mode nothing raises in the middle of the step (an assertion there
would not stop the stateful ops that do not depend on it); the checks are
booleans until `finish`, whose assertions run after the restore.

Reading a variable copies nothing unless the step writes it (TensorFlow
copies on write), so the guard costs a few small ops per step.
"""

import tensorflow as tf
from keras import ops

from mtlzoo.model import step_errors


class StepGuard:
    """Checks of one train (or evaluation) step, and the state to restore.

    Args:
        model: the `MultiTaskModel` being trained.
        weighting: its weighting method, or None.
        restore: bool. Snapshot and restore state (train steps). Defaults
            to True.

    Example:

    >>> guard = StepGuard(model, model.weighting)
    >>> guard.add(ok, "Loss of task 'c' is NaN or inf. Received: ...")
    >>> guard.apply(lambda g: optimizer.apply_gradients(zip(g, v)), grads)
    >>> y_pred = guard.finish(y_pred)
    """

    def __init__(self, model, weighting=None, restore=True):
        self.checks = []
        self.variables = state_variables(model, weighting) if restore else []
        self.snapshot = [
            tf.identity(ops.convert_to_tensor(v)) for v in self.variables
        ]
        self._ok = None

    def add(self, ok, message):
        """Record a check.

        Args:
            ok: scalar bool tensor (or Python bool).
            message: str or scalar string tensor. The error if `ok` is
                False; it names the culprit and states the rule.
        """
        self.checks.append((tf.convert_to_tensor(ok, tf.bool), message))
        self._ok = None

    def ok(self):
        """Scalar bool tensor: every check so far passed (the same on every
        replica under `tf.distribute`)."""
        if self._ok is None:
            if not self.checks:
                self._ok = tf.constant(True)
            else:
                flags = tf.stack([ok for ok, _ in self.checks])
                self._ok = _all_replicas(tf.reduce_all(flags))
        return self._ok

    def apply(self, apply_fn, values):
        """Run `apply_fn(values)` (the optimizers' update) only if `ok()`.

        Args:
            apply_fn: callable taking `values`.
            values: a nest of tensors (the gradients). Passed explicitly:
                under `tf.distribute`, each replica applies its own.
        """
        ok = self.ok()
        if not tf.distribute.has_strategy():

            def run():
                apply_fn(values)
                return tf.constant(True)

            tf.cond(ok, run, lambda: tf.constant(False))
            return

        # A cond with a branch that calls `merge_call` (the optimizers do)
        # is not allowed in a replica context: decide across replicas, as
        # `keras.optimizers.LossScaleOptimizer` does.
        def cross_replica(distribution, ok, values):
            first = distribution.experimental_local_results(ok)[0]

            def run():
                distribution.extended.call_for_each_replica(
                    apply_fn, args=(values,)
                )
                return tf.constant(True)

            tf.cond(first, run, lambda: tf.constant(False))

        tf.distribute.get_replica_context().merge_call(
            cross_replica, args=(ok, values)
        )

    def finish(self, outputs):
        """Restore the state if a check failed, then raise its message.

        Args:
            outputs: a nest of tensors (the step's results).

        Returns:
            `outputs`, ordered after the checks (metrics updated from them
            wait for the checks).
        """
        if not self.checks:
            return outputs
        ok = self.ok()
        restored = self._restore(ok)
        if tf.executing_eagerly():
            for flag, message in self.checks:
                if not bool(flag):
                    raise ValueError(step_errors.text(message))
            return outputs
        asserts = []
        previous = restored
        for flag, message in self.checks:
            with tf.control_dependencies(previous):
                check = tf.debugging.Assert(
                    flag, [step_errors.tagged(message)], summarize=1
                )
            previous = [check]
            asserts.append(check)
        with tf.control_dependencies(asserts):
            return tf.nest.map_structure(tf.identity, outputs)

    def _restore(self, ok):
        if not self.variables:
            return []
        if not tf.distribute.has_strategy():

            def put_back():
                for v, s in zip(self.variables, self.snapshot):
                    v.assign(s)
                return tf.constant(False)

            return [tf.cond(ok, lambda: tf.constant(True), put_back)]
        # Assigning mirrored variables inside control flow is not allowed
        # in a replica context: select instead.
        return [
            v.assign(tf.where(ok, ops.convert_to_tensor(v), s))
            for v, s in zip(self.variables, self.snapshot)
        ]


def state_variables(model, weighting=None):
    """The variables a train step may assign besides the optimizers':
    the model's non-trainable variables (BatchNorm moving statistics,
    seeds, task weights) and the weighting method's variables."""
    out, seen = [], set()
    more = list(weighting.variables) if weighting is not None else []
    for v in list(model.non_trainable_variables) + more:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _all_replicas(flag):
    """`flag` and-ed across replicas (one bad replica fails the step)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return flag
    bad = ctx.all_reduce("sum", tf.cast(tf.logical_not(flag), "float32"))
    return tf.equal(bad, 0.0)
