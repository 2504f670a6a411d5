"""The contract every registered method keeps (parametrised over the
registry: a new method is tested the moment it is registered)."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from weighting_helpers import CLASSES
from weighting_helpers import GRADIENT_NAMES
from weighting_helpers import NAMES
from weighting_helpers import combine
from weighting_helpers import make
from weighting_helpers import seeded

from mtlzoo import weighting

# Non-default constructor arguments, to check that configs carry them.
NON_DEFAULTS = {
    "AlignedMTL": {"scale": "median"},
    "CAGrad": {"c": 0.5, "rescale": 2, "iterations": 30},
    "DynamicTaskPrioritization": {
        "gamma": 1.0,
        "kpi": {"a": "a_accuracy"},
        "momentum": 0.5,
    },
    "DynamicWeightAveraging": {"temperature": 4.0},
    "FAMO": {"learning_rate": 0.1, "weight_decay": 0.0, "optimizer": "sgd"},
    "FixedWeighting": {"weights": {"a": 0.5}},
    "GradDrop": {"leak": [0.1, 0.2, 0.3], "purity": "coordinate", "seed": 3},
    "GradNorm": {"alpha": 0.5, "learning_rate": 0.1, "min_weight": 0.01},
    "MGDA": {"normalization": "loss+", "max_iterations": 10},
    "NashMTL": {"max_norm": 0.0, "update_weights_every": 2, "iterations": 5},
    "PCGrad": {"reduction": "mean", "seed": 7},
    "RandomLossWeighting": {"distribution": "dirichlet", "seed": 3},
    "UncertaintyWeighting": {
        "task_types": {"a": "classification"},
        "default_type": "classification",
    },
}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_config_has_every_constructor_argument(cls):
    kwargs = NON_DEFAULTS.get(cls.__name__, {})
    method = cls(representation_gradients=True, **kwargs)
    config = method.get_config()
    params = inspect.signature(cls.__init__).parameters
    for name, param in params.items():
        if name == "self" or param.kind == param.VAR_KEYWORD:
            continue
        assert name in config, name
    for name, value in kwargs.items():
        assert config[name] == value
    assert config["representation_gradients"] is True


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_and_serialization(name):
    method = weighting.get(name)
    config = method.get_config()
    restored = type(method).from_config(config)
    assert restored.get_config() == config
    serialized = keras.saving.serialize_keras_object(method)
    serialized = json.loads(json.dumps(serialized))
    assert serialized["registered_name"].startswith("mtlzoo>")
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(method)
    assert clone.get_config() == config
    assert type(weighting.get(serialized)) is type(method)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_non_default_round_trip(cls):
    method = cls(**NON_DEFAULTS.get(cls.__name__, {}))
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(method))
    )
    clone = keras.saving.deserialize_keras_object(serialized)
    assert clone.get_config() == method.get_config()


@pytest.mark.parametrize(
    "cls, kwargs, text",
    [
        (weighting.MGDA, {"normalization": "max"}, "normalization='max'"),
        (weighting.PCGrad, {"reduction": "max"}, "reduction='max'"),
        (weighting.GradDrop, {"leak": 2.0}, "leak=2.0"),
        (weighting.GradDrop, {"leak": [0.1, -1]}, "leak[1]=-1"),
        (weighting.CAGrad, {"c": -1}, "c=-1"),
        (weighting.CAGrad, {"rescale": 3}, "rescale=3"),
        (weighting.NashMTL, {"max_norm": -1}, "max_norm=-1"),
        (weighting.NashMTL, {"iterations": 0}, "iterations=0"),
        (weighting.AlignedMTL, {"scale": "max"}, "scale='max'"),
        (weighting.GradNorm, {"alpha": -1}, "alpha=-1"),
        (weighting.FAMO, {"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
        (weighting.FAMO, {"learning_rate": 0}, "learning_rate=0"),
        (
            weighting.UncertaintyWeighting,
            {"default_type": "ordinal"},
            "default_type='ordinal'",
        ),
    ],
)
def test_bad_arguments(cls, kwargs, text):
    with pytest.raises(
        ValueError, match="Received: " + text.replace("[", r"\[")
    ):
        cls(**kwargs)


def test_setup_errors_name_the_tasks():
    with pytest.raises(ValueError, match="unknown tasks \\['x'\\]"):
        make("uncertainty", task_types={"x": "regression"})
    with pytest.raises(ValueError, match="Received: leak=\\[0.1, 0.2\\]"):
        make("graddrop", leak=[0.1, 0.2])


@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_absent_task_row_changes_nothing(name):
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(3, 40)).astype("float32")
    grads[1] = 1e3 * rng.normal(size=40)
    losses = np.array([0.7, 123.0, 1.9])
    kwargs = seeded(name)
    full, full_vars = make(name, 3, **kwargs)
    kept, kept_vars = make(name, 2, **kwargs)
    for step in range(2):
        scaled = grads * (1.0 + 0.5 * step)
        with_absent = combine(full, scaled, losses, present=[1.0, 0.0, 1.0])
        without = combine(kept, scaled[[0, 2]], losses[[0, 2]])
        np.testing.assert_allclose(with_absent, without, rtol=1e-5, atol=1e-6)
    assert full_vars[1].numpy() == 1.0
    np.testing.assert_allclose(
        [full_vars[0].numpy(), full_vars[2].numpy()],
        [v.numpy() for v in kept_vars],
        rtol=1e-6,
    )


@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_absent_row_with_nan_and_zero_gradients_stay_finite(name):
    method, _ = make(name, 3)
    grads = np.ones((3, 5), "float32")
    grads[1] = np.nan
    out = combine(method, grads, [1.0, np.nan, 1.0], present=[1, 0, 1])
    assert np.all(np.isfinite(out))
    for rows in (
        np.zeros((3, 5)),
        np.array([[1, 2, 0, 0, 1], [0] * 5, [0] * 5]),
    ):
        out = combine(method, rows)
        assert np.all(np.isfinite(out)), rows
    out = combine(method, np.ones((3, 5)), present=[0, 0, 0])
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_graph_mode(name):
    rng = np.random.default_rng(2)
    grads = tf.constant(rng.normal(size=(3, 1000)).astype("float32"))
    losses = tf.constant([0.5, 1.0, 2.0])
    weights = tf.ones([3])
    present = tf.constant([1.0, 1.0, 0.0])
    eager, _ = make(name, 3, **seeded(name))
    graph, _ = make(name, 3, **seeded(name))
    step = tf.function(graph.combine_gradients)
    for _ in range(2):
        expected = eager.combine_gradients(grads, losses, weights, present)
        out = step(grads, losses, weights, present)
        assert out.shape == (1000,) and out.dtype == tf.float32
        assert np.all(np.isfinite(out.numpy()))
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_methods_run_under_mirrored_strategy():
    """Every method, 2 logical CPUs, inside strategy.run (own process)."""
    script = textwrap.dedent(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        import numpy as np
        from mtlzoo import weighting
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        rng = np.random.default_rng(0)
        grads = tf.constant(rng.normal(size=(3, 50)).astype("float32"))
        losses = tf.constant([1.0, 2.0, 3.0])
        present = tf.constant([1.0, 1.0, 0.0])
        for name in weighting.list_weightings():
            with strategy.scope():
                variables = [keras.Variable(1.0, trainable=False)
                             for _ in range(3)]
                method = weighting.get(name)
                method.setup(["a", "b", "c"], variables)

            @tf.function
            def step():
                def replica():
                    w = tf.stack([v.value for v in variables])
                    if method.requires_gradients:
                        return method.combine_gradients(
                            grads, losses, w, present)
                    return method.combine_losses(losses, w, present)
                out = strategy.run(replica)
                return strategy.reduce("MEAN", out, axis=None)

            for _ in range(2):
                out = step().numpy()
            assert np.all(np.isfinite(out)), name
        print("OK")
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


# Options `fit` needs, by class name.
FIT_OPTIONS = {
    "DynamicTaskPrioritization": {"kpi": {"digit": "digit_accuracy"}}
}


@pytest.mark.large
@pytest.mark.parametrize(
    "name", sorted({type(weighting.get(n)).__name__: n for n in NAMES}.values())
)
def test_fit_with_every_method(name):
    import mtlzoo
    from mtlzoo import testing

    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]
    x = testing.random_images((32, 32, 1), 8)
    y = testing.random_labels(tasks, (32, 32, 1), 8, missing=0.3)
    # DTP needs a KPI in the logs: the regression task has none.
    options = FIT_OPTIONS.get(type(weighting.get(name)).__name__, {})
    for representation in (False, True):
        model = mtlzoo.build("tiny", tasks, (32, 32, 1))
        method = weighting.get(
            name, representation_gradients=representation, **options
        )
        model.compile(optimizer="adam", weighting=method)
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
        for key in ("loss", "digit_loss", "ink_loss"):
            assert np.all(np.isfinite(history[key])), (key, history)


# ------------------------------------------------------------ hooks
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_callbacks_drive_exactly_the_methods_with_hooks(cls):
    method = cls(**NON_DEFAULTS.get(cls.__name__, {}))
    callbacks = method.callbacks()
    assert isinstance(callbacks, list)
    if not method.has_hooks():
        assert callbacks == []
        return
    assert len(callbacks) == 1
    assert isinstance(callbacks[0], weighting.WeightingCallback)
    assert callbacks[0].method is method
    assert not method.requires_gradients


def test_callbacks_of_one_method_drive_it_once_per_fit():
    class Counting(weighting.Weighting):
        def on_train_begin(self, logs=None):
            self.epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)

    method = Counting()
    first, second = method.callbacks() + method.callbacks()
    params = {"epochs": 2}
    for callback in (first, second):
        callback.set_params(params)
    for callback in (first, second):
        callback.on_train_begin()
    for epoch in range(2):
        for callback in (first, second):
            callback.on_epoch_end(epoch)
    assert method.epochs == [0, 1]
    for callback in (first, second):
        callback.on_train_end()
    # A later fit (new params) is driven by its own callback.
    third = method.callbacks()[0]
    third.set_params({"epochs": 1})
    third.on_train_begin()
    third.on_epoch_end(0)
    assert method.epochs == [0]
