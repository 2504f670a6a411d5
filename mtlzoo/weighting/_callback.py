"""The callback that drives a weighting method's training hooks."""

import keras


class WeightingCallback(keras.callbacks.Callback):
    """Forwards `fit`'s training events to a weighting method's hooks.

    `Weighting.callbacks()` returns one for a method that overrides
    `on_train_begin`, `on_epoch_end` or `on_train_batch_begin`, and
    `MultiTaskModel.fit` adds it to the user's callbacks. The method stays
    bound to the model's task-weight variables by `compile`.

    A method is driven once per `fit`: when several of its callbacks are
    in one `fit` (say the user also passed `method.callbacks()`), the first
    one forwards the events and the others do nothing.

    Args:
        method: `mtlzoo.weighting.Weighting`. The method to drive.

    Example:

    >>> method = mtlzoo.weighting.get("dwa")
    >>> model.compile(optimizer="adam", weighting=method)
    >>> model.fit(ds, epochs=5)  # fit adds method.callbacks()
    """

    def __init__(self, method):
        super().__init__()
        self.method = method

    def drives(self):
        """True when this callback forwards the events to its method."""
        driver = getattr(self.method, "_driver", None)
        return driver is None or driver is self

    def on_train_begin(self, logs=None):
        driver = getattr(self.method, "_driver", None)
        same_fit = (
            driver is not None
            and driver is not self
            and self.params is not None
            and driver.params is self.params
        )
        if same_fit:
            return
        object.__setattr__(self.method, "_driver", self)
        self.method.on_train_begin(logs)

    def on_train_end(self, logs=None):
        if getattr(self.method, "_driver", None) is self:
            object.__setattr__(self.method, "_driver", None)

    def on_epoch_end(self, epoch, logs=None):
        if self.drives():
            self.method.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        if self.drives():
            self.method.on_train_batch_begin(batch, logs)
