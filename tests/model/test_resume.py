"""Exact resume with `keras.callbacks.BackupAndRestore` (issue 17, item 4).

The subprocess tests train a tiny model for a few epochs uninterrupted,
then again with a backup and `kill -9` in the middle of an epoch, resume
it, and compare every final variable (weights, BatchNorm statistics,
weighting state, both optimizers' slots).

Keras restores a backup at the epoch it was written in, not at the batch:
`save_freq=<int>` backups replay the interrupted epoch from its first
batch on weights that already saw part of it (shown with a plain Keras
model below). With `save_freq="epoch"` (the default) the resumed run
reproduces the uninterrupted one exactly when the data come in the same
order every epoch (`shuffle=False`, or a `tf.data` pipeline that does not
depend on how many epochs ran in the process).
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from model_helpers import small_tasks
from model_helpers import tiny_model

import mtlzoo
from mtlzoo import testing
from mtlzoo.model.weighting_callbacks import with_weighting_callbacks

WORKER = os.path.join(os.path.dirname(__file__), "resume_worker.py")


def run_worker(out, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, WORKER, str(out), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def resume_difference(tmp_path, *args, save_freq="epoch", kill_at=5):
    """Max abs difference of every variable, uninterrupted vs killed and
    resumed; and the resumed run's stderr."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    full, resumed = tmp_path / "full.npz", tmp_path / "resumed.npz"
    result = run_worker(full, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    backup = ["--backup", tmp_path / "backup", "--save-freq", save_freq]
    killed = run_worker(resumed, *args, *backup, "--kill-at", kill_at)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not resumed.exists()
    result = run_worker(resumed, *args, *backup)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = np.load(full), np.load(resumed)
    assert sorted(a) == sorted(b)
    worst = max(
        float(np.max(np.abs(a[k].astype("float64") - b[k])))
        for k in a
        if a[k].size
    )
    return worst, result.stderr


# Two epochs of two steps; killed in the second epoch, after its backup.
FAST = ("--epochs", 2, "--steps", 2)


def test_resume_is_exact_with_head_optimizers(tmp_path):
    # Before: both optimizers restarted ("Skipping variable loading for
    # optimizer"), 0.125 away after 3 epochs.
    worst, stderr = resume_difference(
        tmp_path, *FAST, "--head-optimizers", kill_at=3
    )
    assert "Skipping variable loading" not in stderr
    assert worst < 1e-6, worst


@pytest.mark.large
@pytest.mark.parametrize(
    "weighting", ["equal", "pcgrad", "famo", "dwa", "dtp", "rlw", "nash_mtl"]
)
def test_resume_is_exact(tmp_path, weighting):
    worst, stderr = resume_difference(
        tmp_path, "--weighting", weighting, "--head-optimizers", kill_at=6
    )
    assert "Skipping variable loading" not in stderr
    assert worst < 1e-6, (weighting, worst)


@pytest.mark.large
def test_plain_keras_resumes_exactly_at_epochs_only(tmp_path):
    at_epoch, _ = resume_difference(tmp_path / "a", "--plain")
    assert at_epoch == 0.0
    # A mid-epoch backup replays the epoch from its first batch.
    mid_epoch, _ = resume_difference(tmp_path / "b", "--plain", save_freq=3)
    assert mid_epoch > 1e-3


# ---------------------------------------------------------------------
# In-process checks of the pieces.
def fit_data(model, count=8):
    shape = tuple(model.input_shape_)
    x = testing.random_images(shape, count)
    return x, testing.random_labels(model.tasks, shape, count)


def optimizer_values(model):
    optimizers = [model.optimizer, *model.head_optimizers.values()]
    return [np.asarray(v) for o in optimizers for v in o.variables]


def test_backup_restores_both_optimizers(tmp_path):
    backup = str(tmp_path / "backup")

    def run(epochs):
        keras.utils.set_random_seed(0)
        model = tiny_model()
        model.compile(
            optimizer=keras.optimizers.Adam(1e-2),
            head_optimizers={"digit": keras.optimizers.SGD(0.1, momentum=0.9)},
        )
        x, y = fit_data(model)
        callback = keras.callbacks.BackupAndRestore(
            backup, delete_checkpoint=False
        )
        model.fit(
            x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[callback]
        )
        return model

    trained = run(1)
    restored = run(1)  # the backup says epoch 1 is done: no step runs
    assert int(restored.optimizer.iterations) == 2
    for a, b in zip(optimizer_values(trained), optimizer_values(restored)):
        np.testing.assert_array_equal(a, b)


def test_random_state_of_a_method_is_saved(tmp_path):
    tasks = small_tasks(("classification", "regression", "multilabel"))
    path = str(tmp_path / "m.weights.h5")
    keras.utils.set_random_seed(0)
    model = tiny_model(tasks)
    model.compile(optimizer="sgd", weighting=mtlzoo.weighting.PCGrad(seed=3))
    model.fit(*fit_data(model), batch_size=4, epochs=1, verbose=0)
    (state,) = model.weighting.random_states()
    model.save_weights(path)
    other = tiny_model(tasks)
    other.compile(optimizer="sgd", weighting=mtlzoo.weighting.PCGrad(seed=3))
    (fresh,) = other.weighting.random_states()
    assert not np.array_equal(np.asarray(fresh), np.asarray(state))
    other.load_weights(path)
    np.testing.assert_array_equal(np.asarray(fresh), np.asarray(state))


def test_weighting_without_random_state_loads_old_layout(tmp_path):
    method = mtlzoo.weighting.get("dwa")
    method.setup(["a", "b"], [keras.Variable(1.0), keras.Variable(1.0)])
    store = {}
    method.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    method.load_own_variables(store)


def test_weighting_callbacks_run_before_backup_and_restore():
    model = tiny_model()
    model.compile(optimizer="sgd", weighting="dwa")
    backup = keras.callbacks.BackupAndRestore("unused")
    mine = keras.callbacks.History()
    out = with_weighting_callbacks([mine, backup], model.weighting, model)
    assert out[0] is mine and out[2] is backup
    assert isinstance(out[1], mtlzoo.weighting.WeightingCallback)
    out = with_weighting_callbacks([mine], model.weighting, model)
    assert out[0] is mine and len(out) == 2


def test_rlw_draws_on_from_a_loaded_state():
    model = tiny_model()
    method = mtlzoo.weighting.RandomLossWeighting(seed=0)
    model.compile(optimizer="sgd", weighting=method)
    method.on_train_begin()
    method.on_train_batch_begin(0)
    saved = np.asarray(method.generator_state).copy()
    method.on_train_batch_begin(1)
    expected = [float(model.task_weights[n]) for n in model.task_names]
    # A fresh method whose variable is loaded after its `on_train_begin`.
    fresh = mtlzoo.weighting.RandomLossWeighting(seed=0)
    model.compile(optimizer="sgd", weighting=fresh)
    fresh.on_train_begin()
    fresh.generator_state.assign(saved)
    fresh.on_train_batch_begin(1)
    got = [float(model.task_weights[n]) for n in model.task_names]
    np.testing.assert_allclose(got, expected)
