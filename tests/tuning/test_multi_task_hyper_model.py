"""mtlzoo.tuning.MultiTaskHyperModel: search space, hp overrides, tuners."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
from tuning_helpers import BASELINES
from tuning_helpers import SHAPE
from tuning_helpers import TASKS
from tuning_helpers import data

import mtlzoo
from mtlzoo import tuning
from mtlzoo.tuning import hp_name


def test_build_defaults():
    tasks = TASKS + [mtlzoo.Task("m", "segmentation", num_classes=2)]
    hypermodel = tuning.MultiTaskHyperModel("tiny", tasks, SHAPE)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    assert model.compiled
    assert hypermodel.branch_points_of(model) == {
        "a": "P5",
        "b": "P5",
        "m": "P5",
    }
    heads = model.get_config()["heads"]
    assert heads["a"] == {"units": [128]}
    assert heads["b"] == {"units": [128]}
    assert heads["m"] == {"width": 64, "convs": 1}
    assert hp.values["weighting"] == "equal"
    assert hp.values["learning_rate"] == pytest.approx(1e-3)
    lr = keras.ops.convert_to_numpy(model.optimizer.learning_rate)
    assert float(lr) == pytest.approx(1e-3)
    assert "batch_size" not in hp.values
    # The default space: every backbone level, deepest first.
    assert hp.space[0].name == hp_name("branch", "a")
    assert list(hp.space[0].values) == ["P5", "P4", "P3", "P2", "P1"]
    # Default head of a fresh model: the same architecture config.
    plain = mtlzoo.build("tiny", tasks, SHAPE, heads=heads)
    assert plain.count_params() == model.count_params()


def test_fixed_overrides_take_effect():
    tasks = TASKS + [mtlzoo.Task("m", "segmentation", num_classes=2)]
    hypermodel = tuning.MultiTaskHyperModel(
        "tiny", tasks, SHAPE, weightings=["equal", "pcgrad"]
    )
    hp = kt.HyperParameters()
    hp.Fixed(hp_name("branch", "a"), "P2")
    hp.Fixed(hp_name("branch", "m"), "P3")
    hp.Fixed(hp_name("head_units", "b"), 32)
    hp.Fixed(hp_name("head_layers", "b"), 2)
    hp.Fixed(hp_name("dense_width", "m"), 16)
    hp.Fixed("weighting", "pcgrad")
    model = hypermodel.build(hp)
    assert hypermodel.branch_points_of(model) == {
        "a": "P2",
        "b": "P5",
        "m": "P3",
    }
    names = {layer.name for layer in model.layers}
    assert {"a_P3", "a_P4", "a_P5", "m_P4", "m_P5"} <= names
    assert "b_P5" not in names
    assert model.get_layer("b_head_dense_2").units == 32
    assert model.get_config()["heads"]["m"]["width"] == 16
    assert type(model.weighting).__name__ == "PCGrad"


def test_restrictions_groups_and_errors():
    hypermodel = tuning.MultiTaskHyperModel(
        "tiny",
        TASKS + [mtlzoo.Task("c", "regression")],
        SHAPE,
        levels=["P3", "P1"],
        head_units=[16, 64],
        head_layers=[0],
        learning_rates=[1e-2, 1e-3],
        batch_sizes=[8, 16],
        groups={("a", "c"): "P3"},
    )
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    names = [p.name for p in hp.space]
    assert hp_name("branch", ("a", "c")) in names
    assert hp_name("branch", "b") in names
    assert hp_name("branch", "a") not in names
    assert hp.values[hp_name("branch", ("a", "c"))] == "P3"
    assert hp.values[hp_name("head_units", "a")] == 16
    assert hp.values["learning_rate"] == pytest.approx(1e-3)
    assert hp.values["batch_size"] == 8
    assert model.get_config()["heads"]["a"] == {"units": []}
    assert hypermodel.branch_points_of(model) == {
        ("a", "c"): "P3",
        "b": "P3",
    }
    with pytest.raises(ValueError, match="levels"):
        tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, levels=["P7"])
    with pytest.raises(ValueError, match="groups"):
        tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, groups=[["a", "z"]])
    with pytest.raises(ValueError, match="head_units"):
        tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, head_units=[0])
    wrong = tuning.objective("val_delta_m", baselines={"z_mae": 1.0})
    with pytest.raises(ValueError, match="z_mae"):
        tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, objective=wrong)
    with pytest.raises(ValueError, match="Unknown weighting"):
        tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, weightings=["nope"])


@pytest.mark.parametrize("kind", ["grid", "bayesian", "hyperband"])
def test_other_tuners(kind, tmp_path):
    obj = tuning.objective("val_delta_m", baselines=BASELINES)
    hypermodel = tuning.MultiTaskHyperModel(
        "tiny",
        TASKS,
        SHAPE,
        levels=["P3", "P5"],
        head_units=[8],
        head_layers=[1],
        batch_sizes=[8, 16],
        compile_options={"run_eagerly": True},
    )
    common = dict(objective=obj, directory=str(tmp_path), seed=0)
    if kind == "grid":
        # A plain keras-tuner objective works when the hypermodel knows
        # the score: its fit writes `val_delta_m` into the epoch logs.
        hypermodel.objective = obj
        common["objective"] = kt.Objective("val_delta_m", "max")
        tuner = kt.GridSearch(hypermodel, max_trials=2, **common)
    elif kind == "bayesian":
        # keras-tuner's BayesianOptimization needs scikit-learn.
        pytest.importorskip("sklearn")
        tuner = kt.BayesianOptimization(
            hypermodel, max_trials=2, num_initial_points=1, **common
        )
    else:
        tuner = kt.Hyperband(hypermodel, max_epochs=2, factor=3, **common)
    x, y = data(16)
    kwargs = {} if kind == "hyperband" else {"epochs": 1}
    tuner.search(x, y, validation_data=data(8, seed=1), verbose=0, **kwargs)
    done = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(done) >= 2
    assert all(np.isfinite(t.score) for t in done)
    if kind == "grid":
        # The grid starts at the defaults and walks the first choices.
        first = done[0].hyperparameters.values
        assert first[hp_name("branch", "a")] == "P5"
    assert set(tuning.best_branch_points(tuner).values()) <= {"P3", "P5"}
