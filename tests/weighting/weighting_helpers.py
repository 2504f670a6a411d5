"""Shared helpers of the weighting tests (a module, not a test file)."""

import inspect

import keras
import numpy as np
import scipy.optimize
import tensorflow as tf

from mtlzoo import weighting

NAMES = weighting.list_weightings()
GRADIENT_NAMES = [n for n in NAMES if weighting.get(n).requires_gradients]
CLASSES = sorted({type(weighting.get(n)) for n in NAMES}, key=str)


def seeded(name):
    """`{"seed": 0}` for the methods that draw random numbers."""
    params = inspect.signature(type(weighting.get(name)).__init__).parameters
    return {"seed": 0} if "seed" in params else {}


def make(name, num_tasks=3, **kwargs):
    """A method bound to `num_tasks` fresh weight variables (value 1)."""
    method = weighting.get(name, **kwargs)
    variables = [keras.Variable(1.0, trainable=False) for _ in range(num_tasks)]
    method.setup([f"t{i}" for i in range(num_tasks)], variables)
    return method, variables


def combine(method, grads, losses=None, weights=None, present=None):
    grads = np.asarray(grads, "float32")
    count = grads.shape[0]
    losses = np.ones(count) if losses is None else losses
    weights = np.ones(count) if weights is None else weights
    present = np.ones(count) if present is None else present
    out = method.combine_gradients(
        tf.constant(grads),
        tf.constant(losses, tf.float32),
        tf.constant(weights, tf.float32),
        tf.constant(present, tf.float32),
    )
    return out.numpy().astype("float64")


def simplex_minimize(objective, count):
    result = scipy.optimize.minimize(
        objective,
        np.ones(count) / count,
        bounds=[(0.0, 1.0)] * count,
        constraints=({"type": "eq", "fun": lambda x: 1.0 - x.sum()},),
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return result.x
