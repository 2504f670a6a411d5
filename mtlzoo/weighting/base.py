"""The contract between `MultiTaskModel.train_step` and a weighting method."""

import inspect

import keras
from keras import ops

from mtlzoo.weighting import _weight_reuse as weight_reuse


@keras.saving.register_keras_serializable(package="mtlzoo")
class Weighting(keras.layers.Layer):
    """Base class of task-balancing methods.

    `MultiTaskModel.compile(weighting=...)` attaches one instance to the
    model, calls `setup(task_names, task_weights, tasks=tasks)` once, then
    in every train step either

    - `combine_losses(losses, weights, present)` when
      `requires_gradients` is False (loss-level methods: equal, fixed,
      uncertainty, FAMO): returns the scalar loss the model differentiates;
    - `combine_gradients(grads, losses, weights, present)` when
      `requires_gradients` is True (gradient methods): `grads` is the
      `(T, D)` matrix of per-task gradients of the *weighted* task losses
      `w_t * L_t` on the shared part (flattened shared parameters, or the
      flattened shared representation when `representation_gradients` is
      True); it returns the `(D,)` update direction for the shared part.
      Head parameters always take their own task's weighted gradient.
      Methods whose update is `alpha @ grads` with `alpha` a function of
      the Gram matrix set `gram_based = True` and implement
      `gram_coefficients` instead; the train step then never builds the
      `(T, D)` matrix.

    In both, `losses` is the `(T,)` vector of unweighted task losses,
    `weights` the `(T,)` current task weights, and `present` a `(T,)` float
    mask that is 0 for a task with no label in the batch: such a task must
    get no weight and must not change the others' update.

    Methods keep state in Keras variables (`add_weight`), so it is saved
    with the model. Methods whose weights change between steps or epochs
    override the hooks `on_train_begin`, `on_epoch_end` and
    `on_train_batch_begin`; `fit` runs them through `callbacks()`.
    Trainable variables are optimised with the model's optimizer on the
    loss returned by `combine_losses`. A method may assign the model's task
    weights (`self.task_weights`, e.g. GradNorm).

    Args:
        representation_gradients: bool. For gradient methods: use gradients
            with respect to the shared features (one backward pass through
            the trunk) instead of the shared parameters. Defaults to False.
        update_weights_every: int. For `gram_based` methods: recompute the
            coefficients `alpha` every this many steps and reuse them in
            between, where `fit` then takes one backward pass instead of
            one per task (see `mtlzoo.weighting._weight_reuse`). Defaults
            to 1 (every step).
    """

    requires_gradients = False
    # True for methods whose update is `alpha @ grads` with `alpha` a
    # function of the `(T, T)` Gram matrix only: they implement
    # `gram_coefficients`, and the train step can then skip building the
    # `(T, D)` matrix (it accumulates the Gram matrix piece by piece).
    gram_based = False

    def __init__(
        self, representation_gradients=False, update_weights_every=1, **kwargs
    ):
        super().__init__(**kwargs)
        self.representation_gradients = bool(representation_gradients)
        self.update_weights_every = weight_reuse.check_update_weights_every(
            self, update_weights_every
        )
        self.task_names = None
        self.task_weights = None

    def setup(self, task_names, task_weights, tasks=None):
        """Bind to a model's tasks; create per-task state here.

        Args:
            task_names: list of str. Task names, in the model's order.
            task_weights: list of `keras.Variable`. The model's task-weight
                variables, same order.
            tasks: optional list of `mtlzoo.Task`, same order. What the
                tasks are (their `kind`), for methods whose rule depends on
                it (uncertainty weighting); ignored by default.
        """
        self.task_names = list(task_names)
        # Untracked: the variables belong to the model, not to the method.
        object.__setattr__(self, "task_weights", list(task_weights))
        if not self.built:
            self.build_state(len(self.task_names))
            weight_reuse.build(self, len(self.task_names))
            self.built = True
        from mtlzoo.weighting import _diagnostics

        _diagnostics.attach(
            self, "applied_weights", shape=(len(self.task_names),)
        )

    def record_applied_weights(self, values):
        """Store the `(T,)` weights the last step applied (the train step
        calls this; see `applied_weight_logs`)."""
        if getattr(self, "applied_weights", None) is not None:
            self.applied_weights.assign(
                ops.cast(ops.reshape(values, (-1,)), "float32")
            )

    def applied_weight_logs(self):
        """`{"<task>_applied_weight": scalar}` for the step logs.

        The applied weight of task t is the coefficient of its *unweighted*
        loss gradient `grad L_t` in the last step's update of the shared
        part: `d total / d L_t` for a loss-level method (`w_t` for equal
        and fixed weighting and the methods that assign task weights,
        `w_t c_t exp(-s_t)` for uncertainty weighting, FAMO's
        `w_t z_t / (c L_t)`), `alpha_t w_t` for a method whose update is
        `alpha @ grads` (MGDA, PCGrad, CAGrad, IMTL, Nash-MTL, Aligned-MTL,
        GradNorm), and `w_t` for GradDrop (it keeps or drops coordinates,
        no coefficient). 0 for a task with no label in the batch.
        """
        values = getattr(self, "applied_weights", None)
        if values is None or not self.task_names:
            return {}
        return {
            f"{name}_applied_weight": values[i]
            for i, name in enumerate(self.task_names)
        }

    def build_state(self, num_tasks):
        """Create method variables for `num_tasks` tasks (override)."""

    def call(self, losses, weights, present):
        return self.combine_losses(losses, weights, present)

    def combine_losses(self, losses, weights, present):
        """Scalar training loss from task losses. Default: weighted sum."""
        return ops.sum(weights * present * losses)

    def combine_gradients(self, grads, losses, weights, present):
        """`(D,)` shared update from `(T, D)` task gradients.

        Default: `gram_coefficients` of the Gram matrix for `gram_based`
        methods, otherwise the sum of the present tasks' gradients.
        """
        if self.gram_based:
            from mtlzoo.weighting import _utils

            masked, mask = _utils.masked_rows(grads, present)

            def compute():
                return self.gram_coefficients(
                    _utils.gram(masked), losses, weights, mask
                )

            if weight_reuse.scheduled_here(self):
                alpha = weight_reuse.coefficients(self, compute, mask)
            else:
                alpha = compute()
            self.record_applied_weights(
                ops.cast(alpha * mask, "float32") * ops.cast(weights, "float32")
            )
            return _utils.combine(alpha, masked, grads.dtype)
        present = ops.cast(ops.expand_dims(present, 0), grads.dtype)
        return ops.matmul(present, grads)[0]

    def reuse_variables(self):
        """`(coefficients, step)`: the variables of the reuse state (see
        `mtlzoo.weighting._weight_reuse`), or None before they exist."""
        if not hasattr(self, "reuse_step"):
            return None
        return self.reused_coefficients, self.reuse_step

    def gram_coefficients(self, gram, losses, weights, mask):
        """`(T,)` float64 `alpha`, the update being `alpha @ grads`.

        Implemented by `gram_based` methods.

        Args:
            gram: `(T, T)` float64 Gram matrix of the task gradients, with
                the rows and columns of absent tasks set to 0.
            losses: `(T,)` unweighted task losses.
            weights: `(T,)` current task weights.
            mask: `(T,)` float64, 1 for the tasks present in the batch.
        """
        raise NotImplementedError(
            f"{type(self).__name__} sets gram_based=True but does not "
            "implement gram_coefficients(gram, losses, weights, mask)."
        )

    # ----------------------------------------------------------- hooks
    # Methods whose weights change between steps or epochs (DWA, DTP, RLW)
    # override these; `callbacks()` then returns a callback that `fit`
    # adds and that forwards the training events to them.
    def on_train_begin(self, logs=None):
        """Called at the start of `fit` (override)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of every epoch with the epoch's logs
        (override)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before every training step (override)."""

    def reset_state(self):
        """Forget what the hooks have seen, as before the first `fit`
        (override). The state is otherwise kept across `fit` calls and
        saved with the model."""

    def has_hooks(self):
        """True when the class overrides one of the training hooks."""
        return any(
            getattr(type(self), hook) is not getattr(Weighting, hook)
            for hook in _HOOKS
        )

    def callbacks(self):
        """Keras callbacks `MultiTaskModel.fit` adds to drive this method.

        Returns:
            `[]` for a method without hooks, else a list with one
            `mtlzoo.weighting.WeightingCallback` forwarding
            `on_train_begin`, `on_epoch_end` and `on_train_batch_begin` to
            this method.
        """
        if not self.has_hooks():
            return []
        from mtlzoo.weighting._callback import WeightingCallback

        return [WeightingCallback(self)]

    # ---------------------------------------------------------- saving
    # Keras saves a layer's `add_weight` variables only; the state of its
    # `keras.random.SeedGenerator`s (PCGrad's task order, GradDrop's
    # masks) is saved too, as `random_<i>`, so a resumed or reloaded
    # model draws the same numbers on. Files without them still load.
    def random_states(self):
        """The variables of the method's random state (its
        `keras.random.SeedGenerator`s), in creation order."""
        weights = {id(v) for v in self.weights}
        return [v for v in self.variables if id(v) not in weights]

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for i, state in enumerate(self.random_states()):
            store[f"random_{i}"] = state

    def load_own_variables(self, store):
        keys = list(store.keys())
        own = {k: store[k] for k in keys if not k.startswith("random_")}
        super().load_own_variables(own)
        for i, state in enumerate(self.random_states()):
            if f"random_{i}" in keys:
                state.assign(store[f"random_{i}"])

    def get_config(self):
        config = super().get_config()
        config["representation_gradients"] = self.representation_gradients
        config["update_weights_every"] = self.update_weights_every
        return config


_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_batch_begin")


def setup_method(method, task_names, task_weights, tasks=None):
    """Call `method.setup`, passing `tasks=` when its `setup` takes it.

    `MultiTaskModel.compile` binds its method with this, so a method whose
    `setup` override predates the `tasks` argument keeps working.

    Args:
        method: `Weighting`.
        task_names: list of str.
        task_weights: list of `keras.Variable`.
        tasks: optional list of `mtlzoo.Task`.
    """
    parameters = inspect.signature(method.setup).parameters.values()
    takes_tasks = any(
        p.name == "tasks" or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )
    if takes_tasks:
        return method.setup(task_names, task_weights, tasks=tasks)
    return method.setup(task_names, task_weights)
