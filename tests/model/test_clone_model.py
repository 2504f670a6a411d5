"""`keras.models.clone_model` on a compiled `MultiTaskModel`."""

import keras
import numpy as np

import mtlzoo
from mtlzoo.presets.transfer import transfer_weights


def test_clone_of_a_compiled_model():
    model = mtlzoo.load("fashion_tiny_test")  # compiled (equal weighting)
    assert model.compiled
    clone = keras.models.clone_model(model)
    # Keras makes a plain functional model of any Functional subclass,
    # compiled with the Keras part of the compile config.
    assert clone.compiled
    assert type(clone.optimizer) is type(model.optimizer)
    assert clone.optimizer is not model.optimizer
    assert [layer.name for layer in clone.layers] == [
        layer.name for layer in model.layers
    ]
    for a, b in zip(clone.layers, model.layers):
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    # Fresh weights, by Keras' design; copied, the predictions are equal.
    assert transfer_weights(model, clone) == []
    x = np.random.RandomState(0).uniform(0, 255, (3, 28, 28, 1))
    x = x.astype("float32")
    ours = model.predict(x, verbose=0)
    theirs = clone.predict(x, verbose=0)
    assert set(ours) == set(theirs)
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_compile_config_round_trip_keeps_weighting():
    model = mtlzoo.load("fashion_tiny_test", compile=False)
    model.compile(optimizer="sgd", weighting="pcgrad", check_finite=False)
    config = model.get_compile_config()
    again = mtlzoo.MultiTaskModel.from_config(model.get_config())
    again.compile_from_config(config)
    assert type(again.weighting) is type(model.weighting)
    assert again.check_finite is False
    assert isinstance(again.optimizer, keras.optimizers.SGD)
