import glob

import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo import testing
from mtlzoo.callbacks.task_balance_logger import TaskBalanceLogger
from mtlzoo.callbacks.task_balance_logger import cosine_matrix

SHAPE = (32, 32, 1)


def tasks():
    return [
        mtlzoo.Task(
            "digit", "classification", num_classes=4, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 4}),
    ]


def read_scalars(log_dir):
    values = {}
    for path in glob.glob(f"{log_dir}/train/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                values.setdefault(value.tag, []).append(
                    (event.step, float(tensor))
                )
    return values


def test_cosine_matrix_formula():
    g = np.array([[1.0, 0.0], [1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]])
    cos = cosine_matrix(g)
    np.testing.assert_allclose(cos[0, 1], 1 / np.sqrt(2))
    np.testing.assert_allclose(cos[0, 2], -1.0)
    assert cos[3].tolist() == [0.0] * 4
    np.testing.assert_allclose(np.diag(cos)[:3], 1.0)


def test_task_gradients_rows_match_single_task_tape():
    model = mtlzoo.build("tiny", tasks(), SHAPE)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks(), SHAPE, 4)
    grads, losses, present = model.task_gradients(x, y)
    shared = model._all_shared
    assert grads.shape[0] == 3
    assert grads.shape[1] == sum(int(np.prod(v.shape)) for v in shared)
    with tf.GradientTape() as tape:
        out = model(x, training=False)
        loss = tasks()[1].compute_loss(y["ink"], out["ink"])
    g = tape.gradient(loss, shared, unconnected_gradients="zero")
    flat = np.concatenate([np.ravel(a) for a in g])
    np.testing.assert_allclose(np.asarray(grads)[1], flat, atol=1e-6)
    np.testing.assert_allclose(float(losses[1]), float(loss), rtol=1e-6)
    assert np.asarray(present).tolist() == [1.0, 1.0, 1.0]
    rep, _, _ = model.task_gradients(x, y, representation=True)
    assert rep.shape[0] == 3


def test_logger_writes_weights_losses_and_conflict(tmp_path):
    model = mtlzoo.build("tiny", tasks(), SHAPE)
    model.compile(optimizer="adam", loss_weights={"mask": 0.5})
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks(), SHAPE, 8)
    conflict = (x[:4], {k: v[:4] for k, v in y.items()})
    logger = TaskBalanceLogger(str(tmp_path), conflict_data=conflict)
    hist = model.fit(
        x, y, batch_size=4, epochs=2, verbose=0, callbacks=[logger]
    )
    scalars = read_scalars(str(tmp_path))
    for name in ("digit", "ink", "mask"):
        assert [s for s, _ in scalars[f"task_weight/{name}"]] == [0, 1]
        assert f"gradient_norm/{name}" in scalars
        logged = scalars[f"task_loss/{name}"][-1][1]
        np.testing.assert_allclose(logged, hist.history[f"{name}_loss"][-1])
    assert scalars["task_weight/mask"][0][1] == 0.5
    cos, _ = logger.measure()
    logged = scalars["gradient_cosine/digit__ink"][-1][1]
    np.testing.assert_allclose(logged, cos[0, 1], rtol=1e-5, atol=1e-6)
    assert -1.0 <= logged <= 1.0


def test_logger_per_step_and_errors(tmp_path):
    model = mtlzoo.build("tiny", tasks()[:2], SHAPE)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks()[:2], SHAPE, 8)
    logger = TaskBalanceLogger(str(tmp_path), update_freq=2)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[logger])
    steps = [s for s, _ in read_scalars(str(tmp_path))["task_weight/digit"]]
    assert steps == [2, 4]
    with pytest.raises(ValueError, match="update_freq"):
        TaskBalanceLogger(str(tmp_path), update_freq=0)
    with pytest.raises(ValueError, match="conflict_data"):
        TaskBalanceLogger(str(tmp_path), conflict_data=x)
