"""The weights a method applies: recorded at every step, in the logs and
in TensorBoard."""

import glob

import keras
import numpy as np
import tensorflow as tf
from fit_helpers import tiny_model_and_data
from weighting_helpers import combine
from weighting_helpers import make

import mtlzoo


def test_gram_methods_record_alpha_times_weight():
    grads = np.diag([0.01, 1.0, 100.0])
    method, _ = make("nash_mtl", 3, max_norm=0.0)
    combine(method, grads, weights=np.array([1.0, 2.0, 0.5]))
    alpha = method.alpha.numpy()
    np.testing.assert_allclose(alpha, [100.0, 1.0, 0.01], rtol=1e-6)
    np.testing.assert_allclose(
        method.applied_weights.numpy(), alpha * [1.0, 2.0, 0.5], rtol=1e-6
    )
    logs = method.applied_weight_logs()
    assert sorted(logs) == [f"t{i}_applied_weight" for i in range(3)]


def test_train_step_records_applied_weights():
    model, x, y = tiny_model_and_data()
    model.compile(
        optimizer="sgd",
        weighting=mtlzoo.weighting.NashMTL(max_norm=0.0),
        loss_weights={"ink": 2.0},
    )
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # Gradients are of the weighted losses: applied = alpha * w.
    alpha = model.weighting.alpha.numpy()
    np.testing.assert_allclose(
        model.weighting.applied_weights.numpy(), alpha * [1.0, 2.0], rtol=1e-5
    )
    model, x, y = tiny_model_and_data()
    model.compile(optimizer="sgd", loss_weights={"ink": 3.0})
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(model.weighting.applied_weights, [1.0, 3.0])


def test_step_logs_carry_applied_weights():
    model, x, y = tiny_model_and_data()
    model.compile(optimizer="sgd", weighting="uncertainty")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    # `<task>_weight` is the task-weight variable (user / callbacks),
    # `<task>_applied_weight` what the method applied at the epoch's last
    # step (w_t c_t exp(-s_t) here).
    assert history["ink_weight"] == [1.0, 1.0]
    assert history["digit_applied_weight"][0] == 1.0
    assert history["ink_applied_weight"][0] == 0.5
    assert history["ink_applied_weight"][1] != 0.5


def read_scalars(log_dir):
    values = {}
    for path in glob.glob(f"{log_dir}/train/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                values.setdefault(value.tag, {})[event.step] = float(tensor)
    return values


def test_tensorboard_task_weights_agree(tmp_path):
    model, x, y = tiny_model_and_data()
    model.compile(optimizer="sgd")
    # A callback that assigns the weights at epoch end, before the loggers.
    dwa = mtlzoo.callbacks.DynamicWeightAveraging(temperature=0.5)
    logger = mtlzoo.callbacks.TaskBalanceLogger(str(tmp_path / "balance"))
    board = keras.callbacks.TensorBoard(str(tmp_path / "keras"))
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=4,
        verbose=0,
        callbacks=[dwa, logger, board],
    )
    ours = read_scalars(tmp_path / "balance")
    theirs = read_scalars(tmp_path / "keras")
    for task in ("digit", "ink"):
        logged = ours[f"task_weight/{task}"]
        keras_logged = theirs[f"epoch_{task}_weight"]
        assert sorted(logged) == sorted(keras_logged) == [0, 1, 2, 3]
        for step in logged:
            np.testing.assert_allclose(
                logged[step], keras_logged[step], rtol=1e-6
            )
        # DWA moved the weights: the check is not vacuous.
        assert len({round(v, 6) for v in logged.values()}) > 1
        assert f"applied_weight/{task}" in ours
