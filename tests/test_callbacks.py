import math

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import callbacks
from mtlzoo import testing


class FakeModel:
    """What the callbacks need from a MultiTaskModel."""

    def __init__(self, names=("a", "b", "c")):
        self.task_names = list(names)
        self.task_weights = {
            n: keras.Variable(1.0, trainable=False, name=f"{n}_weight")
            for n in names
        }

    def weights_now(self):
        return np.array([self.task_weights[n].numpy() for n in self.task_names])


def attach(callback, names=("a", "b", "c")):
    model = FakeModel(names)
    callback.set_model(model)
    return model


def loss_logs(values, names=("a", "b", "c")):
    logs = {f"{n}_loss": v for n, v in zip(names, values)}
    logs["loss"] = sum(values)
    return logs


# ---------------------------------------------------------------------- DWA
def test_dwa_matches_paper_formula():
    dwa = callbacks.DynamicWeightAveraging(temperature=2.0)
    model = attach(dwa)
    model.task_weights["b"].assign(5.0)
    dwa.on_train_begin()
    np.testing.assert_array_equal(model.weights_now(), [1.0, 1.0, 1.0])
    history = [[1.0, 2.0, 0.5], [0.5, 1.8, 0.5], [0.45, 0.9, 0.6]]
    dwa.on_epoch_end(0, loss_logs(history[0]))
    # Epochs 1 and 2 use weight 1.
    np.testing.assert_array_equal(model.weights_now(), [1.0, 1.0, 1.0])
    dwa.on_epoch_end(1, loss_logs(history[1]))
    # r = (0.5, 0.9, 1.0); w = K exp(r / T) / sum exp(r / T), by hand:
    exps = [math.exp(0.25), math.exp(0.45), math.exp(0.5)]
    expected = [3 * e / sum(exps) for e in exps]
    np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [0.8558, 1.0453, 1.0989], rtol=1e-3)
    dwa.on_epoch_end(2, loss_logs(history[2]))
    ratios = np.array(history[2]) / np.array(history[1])
    exps = np.exp(ratios / 2.0)
    np.testing.assert_allclose(
        model.weights_now(), 3 * exps / exps.sum(), rtol=1e-6
    )
    assert dwa.get_config() == {"temperature": 2.0}


def test_dwa_high_temperature_gives_equal_weights():
    dwa = callbacks.DynamicWeightAveraging(temperature=1e6)
    model = attach(dwa)
    dwa.on_train_begin()
    dwa.on_epoch_end(0, loss_logs([1.0, 1.0, 1.0]))
    dwa.on_epoch_end(1, loss_logs([0.1, 1.0, 3.0]))
    np.testing.assert_allclose(model.weights_now(), 1.0, rtol=1e-5)


def test_dwa_errors():
    for bad in (0, -1.0, "2", True):
        with pytest.raises(ValueError, match=f"Received: temperature={bad!r}"):
            callbacks.DynamicWeightAveraging(temperature=bad)
    dwa = callbacks.DynamicWeightAveraging()
    attach(dwa)
    logs = loss_logs([1.0, 1.0, 1.0])
    del logs["b_loss"]
    with pytest.raises(ValueError) as info:
        dwa.on_epoch_end(0, logs)
    message = str(info.value)
    assert "'b_loss'" in message and "task 'b'" in message
    assert message.endswith("Received: logs keys=['a_loss', 'c_loss', 'loss']")
    dwa.set_model(keras.Sequential())
    with pytest.raises(ValueError, match="task_weights"):
        dwa.on_train_begin()


# ---------------------------------------------------------------------- DTP
def test_dtp_matches_paper_formula():
    dtp = callbacks.DynamicTaskPrioritization(gamma=2.0)
    model = attach(dtp, ("a", "b", "seg"))
    dtp.on_train_begin()
    logs = {
        "a_accuracy": 0.9,
        "b_sparse_categorical_accuracy": 0.5,
        "seg_mean_iou": 0.2,
        "a_loss": 0.3,
        "b_loss": 1.0,
        "seg_loss": 2.0,
    }
    dtp.on_epoch_end(0, logs)
    # w = -(1 - k)^gamma log(k), by hand:
    expected = [
        -(0.1**2) * math.log(0.9),  # 0.0010536
        -(0.5**2) * math.log(0.5),  # 0.1732868
        -(0.8**2) * math.log(0.2),  # 1.0300410
    ]
    np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        expected, [0.0010536, 0.1732868, 1.0300410], rtol=1e-5
    )


def test_dtp_named_kpis_momentum_and_limits():
    dtp = callbacks.DynamicTaskPrioritization(
        gamma=1.0, kpi={"a": "a_top_k"}, momentum=0.5
    )
    model = attach(dtp, ("a", "ink"))
    model.task_weights["ink"].assign(0.7)
    dtp.on_train_begin()
    dtp.on_epoch_end(0, {"a_top_k": 0.4, "ink_loss": 1.0})
    np.testing.assert_allclose(
        model.weights_now(), [-0.6 * math.log(0.4), 0.7], rtol=1e-6
    )
    dtp.on_epoch_end(1, {"a_top_k": 0.8, "ink_loss": 1.0})
    smoothed = 0.5 * 0.4 + 0.5 * 0.8
    np.testing.assert_allclose(
        model.weights_now(),
        [-(1 - smoothed) * math.log(smoothed), 0.7],
        rtol=1e-6,
    )
    perfect = callbacks.DynamicTaskPrioritization()
    model = attach(perfect, ("a",))
    perfect.on_epoch_end(0, {"a_accuracy": 1.0})
    assert model.weights_now()[0] == 0.0
    perfect.on_epoch_end(1, {"a_accuracy": 0.0})
    assert np.isfinite(model.weights_now()[0]) and model.weights_now()[0] > 10


def test_dtp_errors():
    with pytest.raises(ValueError, match="Received: gamma=-1"):
        callbacks.DynamicTaskPrioritization(gamma=-1)
    with pytest.raises(ValueError, match="Received: kpi=\\['a'\\]"):
        callbacks.DynamicTaskPrioritization(kpi=["a"])
    with pytest.raises(ValueError, match="Received: momentum=1"):
        callbacks.DynamicTaskPrioritization(momentum=1)
    dtp = callbacks.DynamicTaskPrioritization()
    attach(dtp, ("a", "ink"))
    with pytest.raises(ValueError) as info:
        dtp.on_epoch_end(0, {"a_accuracy": 0.5, "ink_loss": 1.0})
    message = str(info.value)
    assert "task 'ink'" in message and "kpi=" in message
    assert message.endswith("Received: logs keys=['a_accuracy', 'ink_loss']")
    with pytest.raises(ValueError, match="Received: a_accuracy=1.5"):
        dtp.on_epoch_end(0, {"a_accuracy": 1.5, "ink_accuracy": 0.5})
    named = callbacks.DynamicTaskPrioritization(kpi={"a": "a_auc"})
    attach(named, ("a", "ink"))
    with pytest.raises(ValueError, match="'a_auc' for task 'a'"):
        named.on_epoch_end(0, {"a_accuracy": 0.5})
    unknown = callbacks.DynamicTaskPrioritization(kpi={"x": "x_accuracy"})
    attach(unknown, ("a",))
    with pytest.raises(ValueError, match="unknown tasks \\['x'\\]"):
        unknown.on_train_begin()


# ---------------------------------------------------------------------- RLW
def test_rlw_normal_is_softmax_of_normal_draws():
    rlw = callbacks.RandomLossWeighting(distribution="normal", seed=3)
    model = attach(rlw)
    rng = np.random.default_rng(3)
    for batch in range(3):
        rlw.on_train_batch_begin(batch)
        eps = rng.standard_normal(3)
        expected = np.exp(eps) / np.exp(eps).sum()
        np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "distribution", callbacks.random_loss_weighting.DISTRIBUTIONS
)
def test_rlw_distributions(distribution):
    rlw = callbacks.RandomLossWeighting(distribution=distribution, seed=0)
    model = attach(rlw, ("a", "b", "c", "d"))
    draws = []
    for batch in range(50):
        rlw.on_train_batch_begin(batch)
        draws.append(model.weights_now())
    draws = np.array(draws)
    np.testing.assert_allclose(draws.sum(1), 1.0, rtol=1e-6)
    assert np.all(draws >= 0)
    assert len({tuple(d) for d in draws}) > 5  # fresh weights every step
    np.testing.assert_allclose(draws.mean(0), 0.25, atol=0.1)
    if distribution == "bernoulli":
        for d in draws:
            on = d[d > 0]
            np.testing.assert_allclose(on, 1.0 / len(on), rtol=1e-6)
    again = callbacks.RandomLossWeighting(distribution=distribution, seed=0)
    assert again.sample(4).tolist() == pytest.approx(draws[0].tolist())


def test_rlw_errors():
    with pytest.raises(ValueError, match="Received: distribution='cauchy'"):
        callbacks.RandomLossWeighting(distribution="cauchy")
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        callbacks.RandomLossWeighting(seed=1.5)
    rlw = callbacks.RandomLossWeighting()
    assert rlw.get_config() == {"distribution": "normal", "seed": None}


# -------------------------------------------------------------- with fit
def test_dwa_drives_a_real_model():
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]
    model = mtlzoo.build("tiny", tasks, (32, 32, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x = testing.random_images((32, 32, 1), 8)
    y = testing.random_labels(tasks, (32, 32, 1), 8)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.DynamicWeightAveraging(temperature=2.0)],
    ).history
    losses = {n: history[f"{n}_loss"] for n in ("digit", "ink")}
    assert history["digit_weight"][:2] == [1.0, 1.0]
    ratios = np.array([losses[n][1] / losses[n][0] for n in ("digit", "ink")])
    exps = np.exp(ratios / 2.0)
    expected = 2 * exps / exps.sum()
    # The weights set after epoch 2 are those the third epoch trained with.
    np.testing.assert_allclose(
        [history["digit_weight"][2], history["ink_weight"][2]],
        expected,
        rtol=1e-5,
    )
