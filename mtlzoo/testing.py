"""Shared test helpers: every model type runs these three checks."""

import json
import os
import tempfile

import keras
import numpy as np

from mtlzoo.tasks import validate_tasks


def random_labels(tasks, input_shape, batch_size, seed=0, missing=0.0):
    """Random labels of the right shape/dtype per task.

    Each task's kind draws its labels (`Task.random_labels`); missing ones
    hold the kind's `missing_label` (-1 or NaN).

    Args:
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple. Per-sample image shape.
        batch_size: int. Number of samples.
        seed: int. Random seed.
        missing: float. Fraction of samples whose label is marked missing.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for task in validate_tasks(tasks):
        n = batch_size
        y = task.random_labels(rng, input_shape, n)
        drop = rng.uniform(size=n) < missing
        if drop.any():
            y = y.copy()
            y[drop] = task.missing_label
        out[task.name] = y
    return out


def random_images(input_shape, batch_size, seed=0):
    """Random raw images (0..255, float32)."""
    rng = np.random.default_rng(seed)
    shape = (batch_size,) + tuple(input_shape)
    return rng.uniform(0, 255, shape).astype("float32")


def run_model_test(model, batch_size=2, steps=1):
    """Output keys = task names, shapes, predict, fit, logs per task."""
    tasks = model.tasks
    shape = tuple(model.input_shape_)
    x = random_images(shape, batch_size)
    y = random_labels(tasks, shape, batch_size)
    out = model(x, training=False)
    assert sorted(out) == sorted(t.name for t in tasks), sorted(out)
    for task in tasks:
        expected = (batch_size,) + task.output_shape(shape)
        got = tuple(out[task.name].shape)
        assert got == expected, (task.name, got, expected)
    pred = model.predict(x, verbose=0)
    assert sorted(pred) == sorted(out)
    if not model.compiled:
        model.compile(optimizer="adam")
    history = model.fit(
        x, y, batch_size=batch_size, epochs=steps, verbose=0
    ).history
    for task in tasks:
        for key in (f"{task.name}_loss", f"{task.name}_weight"):
            assert key in history, (key, sorted(history))
            assert np.all(np.isfinite(history[key])), (key, history[key])
        assert task.primary_metric in history, task.primary_metric
    return history


def run_serialization_test(model):
    """get_config -> from_config -> get_config is the same JSON."""
    config = model.get_config()
    text = json.dumps(config, sort_keys=True)
    clone = model.__class__.from_config(json.loads(text))
    again = json.dumps(clone.get_config(), sort_keys=True)
    assert text == again, (text, again)
    assert len(clone.weights) == len(model.weights)
    return clone


def run_saving_test(model, batch_size=2):
    """`.keras` save and `load_model` give identical predictions."""
    x = random_images(tuple(model.input_shape_), batch_size, seed=1)
    before = model.predict(x, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    after = loaded.predict(x, verbose=0)
    for name in before:
        np.testing.assert_allclose(before[name], after[name], atol=1e-6)
    for name, var in model.task_weights.items():
        np.testing.assert_allclose(
            float(var.numpy()), float(loaded.task_weights[name].numpy())
        )
    return loaded
