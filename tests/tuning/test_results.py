"""mtlzoo.tuning results: the best trial's branch points and config."""

import json

import keras
import keras_tuner as kt
import pytest
from tuning_helpers import BASELINES
from tuning_helpers import SHAPE
from tuning_helpers import TASKS
from tuning_helpers import data

import mtlzoo
from mtlzoo import tuning
from mtlzoo.tuning import hp_name


@pytest.fixture(scope="module")
def random_tuner(tmp_path_factory):
    keras.utils.set_random_seed(0)
    directory = tmp_path_factory.mktemp("random")
    obj = tuning.objective("val_delta_m", baselines=BASELINES)
    hypermodel = tuning.MultiTaskHyperModel(
        "tiny",
        TASKS,
        SHAPE,
        levels=["P2", "P5"],
        head_units=[8, 16],
        head_layers=[1],
        objective=obj,
        compile_options={"run_eagerly": True},
    )
    tuner = kt.RandomSearch(
        hypermodel,
        objective=obj,
        max_trials=3,
        seed=1,
        directory=str(directory),
        project_name="random",
    )
    x, y = data(32)
    xv, yv = data(16, seed=1)
    tuner.search(
        x, y, validation_data=(xv, yv), epochs=1, batch_size=16, verbose=0
    )
    return tuner


# keras-tuner loads the best checkpoint into a fresh, unbuilt optimizer.
@pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning")
def test_random_search_best_model_has_chosen_levels(random_tuner):
    tuner = random_tuner
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3
    assert all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        for key in ("val_delta_m", "params", "step_time", "val_a_accuracy"):
            assert trial.metrics.exists(key), key
    hp = tuner.get_best_hyperparameters(1)[0]
    chosen = {
        "a": hp.values[hp_name("branch", "a")],
        "b": hp.values[hp_name("branch", "b")],
    }
    assert tuning.best_branch_points(tuner) == chosen
    model = tuner.get_best_models(1)[0]
    assert tuner.hypermodel.branch_points_of(model) == chosen
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == max(t.score for t in trials)
    # The score is delta_m of the reported metrics.
    m = {k: best.metrics.get_last_value(k) for k in best.metrics.metrics}
    obj = tuner.oracle.objective
    assert best.score == pytest.approx(obj.compute(m), rel=1e-5)


def test_best_config_round_trips(random_tuner):
    config = tuning.best_config(random_tuner)
    text = json.dumps(config)
    config = json.loads(text)
    arch = config["architecture"]
    model = mtlzoo.MultiTaskModel.from_config(arch)
    assert json.dumps(model.get_config(), sort_keys=True) == json.dumps(
        arch, sort_keys=True
    )
    tree = {e["tasks"][0]: e["level"] for e in arch["branch_points"]}
    assert tree == tuning.best_branch_points(random_tuner)
    training = config["training"]
    assert training["weighting"] == "equal"
    assert training["learning_rate"] == pytest.approx(1e-3)
    assert training["optimizer"] == "adam"
    assert hp_name("branch", "a") in training["hyperparameters"]
    assert config["search"]["objective"] == "val_delta_m"
    assert config["search"]["score"] == pytest.approx(
        random_tuner.oracle.get_best_trials(1)[0].score
    )
