"""The base of the loss-weighting callbacks: a weighting method's hooks
run on any model's task-weight variables."""

from mtlzoo.weighting import WeightingCallback


class MethodCallback(WeightingCallback):
    """Runs a fresh `method_class(**options)` on the model it is set on.

    The method's formula and state live in `mtlzoo.weighting`; this
    callback binds the method to the model's task weights at the first
    training event (whatever weighting the model was compiled with) and,
    when `resets` is True, starts the method over at every `fit`.

    Subclasses set `method_class` and `resets`, and pass the method's
    options to `__init__`; `get_config()` returns those options.
    """

    method_class = None
    resets = True

    def __init__(self, **options):
        super().__init__(self.method_class(**options))
        self.options = dict(options)
        self._bound_model = None

    def bind(self):
        """Bind the method to `self.model`'s task weights (once per model)."""
        model = self.model
        names = getattr(model, "task_names", None)
        weights = getattr(model, "task_weights", None)
        if names is None or not isinstance(weights, dict):
            raise ValueError(
                f"{type(self).__name__} needs a model with `task_names` and "
                "a `task_weights` dict (task name -> keras.Variable), such as "
                f"mtlzoo.MultiTaskModel. Received: model={type(model).__name__}"
            )
        if self._bound_model is model:
            return
        names = list(names)
        if self.method.built and len(self.method.task_names) != len(names):
            # Its per-task state has the old number of tasks.
            self.method = self.fresh_method()
        self.method.setup(names, [weights[n] for n in names])
        self._bound_model = model

    def fresh_method(self):
        """A new method with this callback's options (override to carry
        over state that does not depend on the tasks)."""
        return self.method_class(**self.options)

    def on_train_begin(self, logs=None):
        self.bind()
        if self.resets:
            self.method.reset_state()
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.bind()
        super().on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self.bind()
        super().on_train_batch_begin(batch, logs)

    def get_config(self):
        return dict(self.options)
