"""`update_weights_every`: a gradient method's coefficients reused between
updates (one backward pass on the reuse steps)."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from fit_helpers import tiny_model_and_data
from weighting_helpers import combine
from weighting_helpers import make

from mtlzoo import weighting
from mtlzoo.weighting.base import Weighting

GRAM_METHODS = ["mgda", "pcgrad", "cagrad", "imtl", "nash_mtl", "aligned_mtl"]


class ConstantCoefficients(Weighting):
    """A `gram_based` method whose `alpha` never changes: a reuse step
    must then give exactly the full step's update."""

    requires_gradients = True
    gram_based = True

    def gram_coefficients(self, gram, losses, weights, mask):
        return tf.constant([0.3, 1.7], tf.float64)[: gram.shape[0]]


def trained(method, steps=4, batch=2, epochs=1, seed=0):
    keras.utils.set_random_seed(seed)
    model, x, y = tiny_model_and_data(count=steps * batch)
    model.compile(optimizer="sgd", weighting=method)
    history = BatchLogs()
    model.fit(
        x,
        y,
        batch_size=batch,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[history],
    )
    return model, history.logs


class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(
            {k: float(v) for k, v in logs.items() if "applied_weight" in k}
        )


def weights_of(model):
    return [np.array(v) for v in model.weights]


@pytest.mark.parametrize(
    "value", [0, -2, 1.5, True, "2", None], ids=lambda v: repr(v)
)
def test_bad_values_are_named(value):
    with pytest.raises(ValueError, match="Received: update_weights_every="):
        weighting.get("mgda", update_weights_every=value)


@pytest.mark.parametrize("name", ["graddrop", "equal", "famo", "uncertainty"])
def test_refused_without_coefficients(name):
    with pytest.raises(ValueError, match="no such coefficients"):
        weighting.get(name, update_weights_every=2)
    # 1 is today's behaviour, accepted everywhere.
    weighting.get(name, update_weights_every=1)


@pytest.mark.parametrize("name", GRAM_METHODS + ["gradnorm"])
def test_config_round_trip(name):
    method = weighting.get(
        name, update_weights_every=3, representation_gradients=True
    )
    config = method.get_config()
    assert config["update_weights_every"] == 3
    assert type(method).from_config(config).get_config() == config
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(method))
    )
    clone = keras.saving.deserialize_keras_object(serialized)
    assert clone.update_weights_every == 3
    assert weighting.get(name).get_config()["update_weights_every"] == 1


def test_combine_gradients_reuses_coefficients():
    grads = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    lazy, _ = make("mgda", 2, update_weights_every=2)
    first = combine(lazy, grads)
    other = np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    # Second call: the first call's coefficients on the new gradients.
    alpha = np.linalg.lstsq(grads.T, first, rcond=None)[0]
    np.testing.assert_allclose(combine(lazy, other), alpha @ other, atol=1e-5)
    # Third call: solved again, as a fresh method would.
    fresh, _ = make("mgda", 2)
    np.testing.assert_allclose(
        combine(lazy, other), combine(fresh, other), atol=1e-6
    )


def test_every_one_is_todays_step_bit_for_bit():
    default, _ = trained(weighting.get("mgda", representation_gradients=True))
    explicit, _ = trained(
        weighting.get(
            "mgda", representation_gradients=True, update_weights_every=1
        )
    )
    for a, b in zip(weights_of(default), weights_of(explicit)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rep", [False, True], ids=["params", "rep"])
def test_reuse_step_equals_full_step_for_the_same_coefficients(rep):
    every_step, _ = trained(ConstantCoefficients(representation_gradients=rep))
    reused, _ = trained(
        ConstantCoefficients(
            representation_gradients=rep, update_weights_every=3
        )
    )
    for a, b in zip(weights_of(every_step), weights_of(reused)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_coefficients_reused_between_updates():
    method = weighting.get(
        "mgda", representation_gradients=True, update_weights_every=3
    )
    _, logs = trained(method, steps=6)
    rows = [np.array([log[k] for k in sorted(log)]) for log in logs]
    assert len(rows) == 6
    np.testing.assert_array_equal(rows[0], rows[1])
    np.testing.assert_array_equal(rows[0], rows[2])
    np.testing.assert_array_equal(rows[3], rows[5])
    assert not np.allclose(rows[0], rows[3])
    assert float(method.reuse_step.numpy()) == 6.0


def test_resume_continues_the_schedule(tmp_path):
    def method():
        return weighting.get(
            "pcgrad",
            representation_gradients=True,
            update_weights_every=3,
            seed=1,
        )

    straight, _ = trained(method(), steps=2, epochs=2)
    keras.utils.set_random_seed(0)
    model, x, y = tiny_model_and_data(count=4)
    model.compile(optimizer="sgd", weighting=method())
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "half.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    state = loaded.weighting.reuse_variables()
    np.testing.assert_array_equal(
        state[0].numpy(), model.weighting.reuse_variables()[0].numpy()
    )
    assert float(state[1].numpy()) == 2.0
    # The third step reuses the first step's coefficients: restored.
    loaded.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weights_of(straight), weights_of(loaded)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


DISTRIBUTED = textwrap.dedent(
    """
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import mtlzoo
    from mtlzoo import testing
    tasks = [mtlzoo.Task("digit", "classification", num_classes=3,
                         head={"units": 4}),
             mtlzoo.Task("ink", "regression", head={"units": 4})]
    shape = (16, 16, 1)
    x = testing.random_images(shape, 4)
    y = testing.random_labels(tasks, shape, 4)
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        model = mtlzoo.build("tiny", tasks, shape)
        model.compile(optimizer="sgd", weighting=mtlzoo.weighting.get(
            "mgda", update_weights_every=2))
    try:
        model.fit(x, y, batch_size=4, verbose=0)
    except Exception as error:
        print("ERROR", type(error).__name__, error)
    """
)


def test_several_replicas_are_refused_by_name():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", DISTRIBUTED],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "ERROR ValueError" in result.stdout, result.stderr[-2000:]
    assert "Received: update_weights_every=2, replicas=2" in result.stdout, (
        result.stdout[-2000:]
    )
