"""Tests for mtlzoo.tuning: search space, objectives, grouping, search."""

import json
import os
import socket
import subprocess
import sys

import keras
import keras_tuner as kt
import numpy as np
import pytest

import mtlzoo
from mtlzoo import testing
from mtlzoo import tuning
from mtlzoo.tuning import hp_name

SHAPE = (32, 32, 1)
TASKS = [
    mtlzoo.Task("a", "classification", num_classes=3),
    mtlzoo.Task("b", "regression"),
]
BASELINES = {"a_accuracy": 0.4, "b_mae": 0.8}


def _data(n=32, seed=0):
    x = testing.random_images(SHAPE, n, seed=seed)
    y = testing.random_labels(TASKS, SHAPE, n, seed=seed)
    return x, y


# ---------------------------------------------------------------------------
# Search space
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------
def test_delta_m_objective_ranks_on_a_common_scale():
    # Task b is a regression in pixels: its MAE is ~100, accuracy ~0.8.
    baselines = {"a": 0.85, "b": 100.0}
    obj = tuning.objective("val_delta_m", baselines=baselines, tasks=TASKS)
    assert obj.name == "val_delta_m" and obj.direction == "max"
    worse = {"val_a_accuracy": 0.80, "val_b_mae": 100.0}
    better = {"val_a_accuracy": 0.90, "val_b_mae": 101.0}
    expected = 100 * ((0.9 - 0.85) / 0.85 - (101 - 100) / 100) / 2
    assert obj.get_value(better) == pytest.approx(expected)
    assert obj.get_value(better) > obj.get_value(worse)
    assert obj.better_than(obj.get_value(better), obj.get_value(worse))
    # keras-tuner's own multi-objective (an unweighted raw sum) prefers
    # the worse model here.
    raw = (
        kt.Objective("val_a_accuracy", "max"),
        kt.Objective("val_b_mae", "min"),
    )
    multi = kt.oracles.RandomSearchOracle(objective=list(raw)).objective
    assert multi.better_than(multi.get_value(worse), multi.get_value(better))
    # A precomputed value in the logs wins; the raw metrics are needed.
    assert obj.get_value({"val_delta_m": 3.0}) == 3.0
    assert not obj.has_value({"val_a_accuracy": 0.9})
    with pytest.raises(ValueError, match="baselines"):
        tuning.objective("val_delta_m")


def test_weighted_sum_and_cost_objectives():
    obj = tuning.objective(
        "val_weighted_sum",
        scales={"a_accuracy": 1.0, "b_mae": 50.0},
        weights={"a": 3.0, "b": 1.0},
    )
    logs = {"val_a_accuracy": 0.8, "val_b_mae": 25.0}
    assert obj.get_value(logs) == pytest.approx((3 * 0.8 - 25 / 50) / 4)
    cost = tuning.objective(
        "val_delta_m", baselines=BASELINES, cost="params", cost_weight=2.0
    )
    assert cost.name == "val_delta_m_cost"
    base = {"val_a_accuracy": 0.44, "val_b_mae": 0.8}
    small = dict(base, params=1000.0)
    big = dict(base, params=4000.0)
    # 4x the parameters costs 2 doublings * 2 points.
    assert cost.get_value(small) - cost.get_value(big) == pytest.approx(4.0)
    # Better enough to pay for the size: +10 points of accuracy gain.
    big_better = dict(big, val_a_accuracy=0.48)
    assert cost.get_value(big_better) > cost.get_value(small)
    plain = tuning.objective("val_delta_m", baselines=BASELINES)
    assert plain.get_value(big) == plain.get_value(small)


# ---------------------------------------------------------------------------
# Searches
# ---------------------------------------------------------------------------
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
    x, y = _data(32)
    xv, yv = _data(16, seed=1)
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
    x, y = _data(16)
    kwargs = {} if kind == "hyperband" else {"epochs": 1}
    tuner.search(x, y, validation_data=_data(8, seed=1), verbose=0, **kwargs)
    done = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(done) >= 2
    assert all(np.isfinite(t.score) for t in done)
    if kind == "grid":
        # The grid starts at the defaults and walks the first choices.
        first = done[0].hyperparameters.values
        assert first[hp_name("branch", "a")] == "P5"
    assert set(tuning.best_branch_points(tuner).values()) <= {"P3", "P5"}


def test_measure_baselines_caches(tmp_path, monkeypatch):
    path = str(tmp_path / "baselines.json")
    train, val = _data(16), _data(8, seed=1)
    args = dict(epochs=1, batch_size=8, path=path)
    first = tuning.measure_baselines(
        "tiny", TASKS[:1], SHAPE, train, val, **args
    )
    assert list(first) == ["a_accuracy"]
    assert 0.0 <= first["a_accuracy"] <= 1.0
    assert tuning.load_baselines(path) == first
    from mtlzoo.tuning import baselines as baselines_module

    trained = []

    def fake(backbone, task, *rest):
        trained.append(task.name)
        return 0.5

    monkeypatch.setattr(baselines_module, "_train_one", fake)
    both = tuning.measure_baselines("tiny", TASKS, SHAPE, train, val, **args)
    # Only the task missing from the cache is trained.
    assert trained == ["b"]
    assert both == {"a_accuracy": first["a_accuracy"], "b_mae": 0.5}
    again = tuning.measure_baselines("tiny", TASKS, SHAPE, train, val, **args)
    assert again == both and trained == ["b"]
    obj = tuning.objective("val_delta_m", baselines=path)
    assert obj.get_value({"val_" + k: v for k, v in both.items()}) == 0.0
    # Another budget is another cache entry: everything trains again.
    tuning.measure_baselines(
        "tiny", TASKS, SHAPE, train, val, **dict(args, epochs=2)
    )
    assert trained == ["b", "a", "b"]


# ---------------------------------------------------------------------------
# Task grouping
# ---------------------------------------------------------------------------
def test_task_affinity_groups_identical_tasks():
    # Three regressions on the same inputs: y, y and -y. The heads start
    # equal, so a step for "a" is exactly a step for "b", and opposes "c".
    tasks = [mtlzoo.Task(n, "regression", head={"units": []}) for n in "abc"]
    model = mtlzoo.build("tiny", tasks, SHAPE)
    for name in "bc":
        model.get_layer(name).set_weights(model.get_layer("a").get_weights())
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (64,) + SHAPE).astype("float32")
    target = (4.0 + x.mean(axis=(1, 2, 3)) / 64.0)[:, None].astype("float32")
    y = {"a": target, "b": target, "c": -target}
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    affinity, names = tuning.task_affinity(
        model, (x, y), steps=8, lr=0.01, batch_size=16
    )
    assert names == ["a", "b", "c"]
    assert affinity.shape == (3, 3)
    np.testing.assert_allclose(affinity[0, 1], affinity[0, 0], rtol=1e-3)
    assert affinity[0, 1] > 0 and affinity[1, 0] > 0
    assert affinity[0, 2] < 0 and affinity[2, 0] < 0
    groups = tuning.suggest_groups((affinity, names), 2, level="P4")
    assert groups == {("a", "b"): "P4", ("c",): "P4"}
    # The groups are a valid tree and a valid `groups=` argument.
    mtlzoo.build("tiny", tasks, SHAPE, branch_points=groups)
    hypermodel = tuning.MultiTaskHyperModel("tiny", tasks, SHAPE, groups=groups)
    assert [tuple(u) for u in hypermodel.branch_groups] == [("a", "b"), ("c",)]


def test_suggest_groups_exhaustive_and_greedy():
    # Known best 2-partition: {0, 2} and {1, 3} (hand-checked).
    a = np.array(
        [
            [0.0, 0.1, 0.9, -0.5],
            [0.0, 0.0, -0.2, 0.6],
            [0.8, -0.1, 0.0, 0.0],
            [-0.4, 0.7, 0.1, 0.0],
        ]
    )
    groups = tuning.suggest_groups(a, 2, names=list("wxyz"), level="P2")
    assert groups == {("w", "y"): "P2", ("x", "z"): "P2"}
    assert tuning.group_score(a, [[0, 2], [1, 3]]) == pytest.approx(3.0)
    assert tuning.suggest_groups(a, 1) == {(0, 1, 2, 3): "P3"}
    assert tuning.suggest_groups(a, 4) == {(i,): "P3" for i in range(4)}
    # Ten tasks (greedy): three blocks of mutual help, noise elsewhere.
    rng = np.random.default_rng(0)
    blocks = [[0, 3, 6], [1, 4, 7, 9], [2, 5, 8]]
    big = rng.uniform(-0.3, 0.0, (10, 10))
    for block in blocks:
        big[np.ix_(block, block)] = rng.uniform(0.5, 1.0)
    found = tuning.suggest_groups(big, 3)
    assert sorted(found) == sorted(tuple(b) for b in blocks)
    with pytest.raises(ValueError, match="n_groups"):
        tuning.suggest_groups(a, 5)
    with pytest.raises(ValueError, match="square"):
        tuning.suggest_groups(np.zeros((2, 3)), 1)


def test_plot_affinity(tmp_path):
    path = tmp_path / "affinity.png"
    a = np.array([[0.1, 0.5], [-0.3, 0.2]])
    assert tuning.plot_affinity(a, ["a", "b"], str(path)) == str(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="affinity"):
        tuning.plot_affinity(a, ["a"], str(path))


# ---------------------------------------------------------------------------
# Config-driven and distributed search
# ---------------------------------------------------------------------------
def _search_config(directory, output=None):
    config = {
        "backbone": "tiny",
        "tasks": ["garment", "ink"],
        "dataset": {
            "name": "fashion_tasks",
            "args": {"path": "sample", "size": 32},
            "train": {"num_samples": 48},
            "validation": {"num_samples": 16},
        },
        "search": {
            "levels": ["P3", "P5"],
            "head_units": [8, 16],
            "compile_options": {"run_eagerly": True},
        },
        "objective": {
            "name": "val_delta_m",
            "baselines": {"garment": 0.3, "ink": 0.1},
        },
        "tuner": {
            "type": "random_search",
            "max_trials": 2,
            "epochs": 1,
            "batch_size": 16,
            "directory": str(directory),
            "project_name": "search",
        },
    }
    if output:
        config["output"] = str(output)
    return config


def test_run_search_measures_and_keeps_baselines(tmp_path, monkeypatch):
    config = _search_config(tmp_path, output=tmp_path / "best.json")
    config["tasks"] = ["ink"]  # one baseline to train keeps this fast
    config["objective"] = {"name": "val_delta_m", "baselines": "measure"}
    config["tuner"]["max_trials"] = 1
    best = tuning.run_search(config, verbose=0)
    cache = tmp_path / "search_baselines.json"
    assert list(tuning.load_baselines(str(cache))) == ["ink_mae"]
    assert best["search"]["objective"] == "val_delta_m"
    assert json.loads((tmp_path / "best.json").read_text()) == best
    # A second search (overwriting the project) reads the cached baselines.
    from mtlzoo.tuning import baselines as baselines_module

    def fail(*args, **kwargs):
        raise AssertionError("baselines trained again")

    monkeypatch.setattr(baselines_module, "_train_one", fail)
    assert tuning.run_search(config, verbose=0) is not None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_chief_and_worker(tmp_path):
    output = tmp_path / "best.json"
    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1")
    env["KERASTUNER_ORACLE_PORT"] = str(_free_port())
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    script = "import sys, mtlzoo.tuning as t; t.run_search(sys.argv[1], 0)"
    procs = {}
    for role in ("chief", "worker0"):
        directory = tmp_path / role
        config = _search_config(directory, output if role == "chief" else None)
        path = tmp_path / f"{role}.json"
        path.write_text(json.dumps(config))
        procs[role] = subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            env=dict(env, KERASTUNER_TUNER_ID=role),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    logs = {}
    try:
        for role, proc in procs.items():
            logs[role], _ = proc.communicate(timeout=170)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for role, proc in procs.items():
        assert proc.returncode == 0, (role, logs.get(role, "")[-3000:])
    # The chief's oracle recorded the trials; the worker trained them.
    chief_dir = tmp_path / "chief" / "search"
    trials = sorted(p.name for p in chief_dir.glob("trial_*"))
    assert len(trials) == 2, trials
    for trial in trials:
        record = json.loads((chief_dir / trial / "trial.json").read_text())
        assert record["status"] == "COMPLETED"
        assert record["score"] is not None
        assert (tmp_path / "worker0" / "search" / trial).is_dir()
        assert not list((chief_dir / trial).glob("checkpoint*"))
    best = json.loads(output.read_text())
    assert best["search"]["score"] is not None
    assert [t["name"] for t in best["architecture"]["tasks"]] == [
        "garment",
        "ink",
    ]
