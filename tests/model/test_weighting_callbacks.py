"""`MultiTaskModel.fit` adds the weighting method's callbacks."""

import keras
from model_helpers import SHAPE
from model_helpers import small_tasks
from model_helpers import tiny_model

import mtlzoo
from mtlzoo import testing


class Counter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


class WithCallback(mtlzoo.weighting.Weighting):
    """Equal weighting that asks `fit` to run one callback."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.counter = Counter()

    def callbacks(self):
        return [self.counter]


def fit(model, **kwargs):
    tasks = model.tasks
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, **kwargs)


def test_fit_adds_the_weighting_callbacks_once():
    model = tiny_model(small_tasks(("classification", "regression")))
    method = WithCallback()
    model.compile(optimizer="sgd", weighting=method)
    fit(model)
    assert method.counter.epochs == 2
    other = Counter()
    fit(model, callbacks=[other])
    assert (method.counter.epochs, other.epochs) == (4, 2)
    # Already passed: not added a second time.
    fit(model, callbacks=[method.counter])
    assert method.counter.epochs == 6


def test_fit_without_weighting_callbacks_keeps_the_users():
    model = tiny_model(small_tasks(("classification", "regression")))
    model.compile(optimizer="sgd")
    mine = Counter()
    fit(model, callbacks=[mine])
    assert mine.epochs == 2
