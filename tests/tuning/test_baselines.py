"""mtlzoo.tuning.measure_baselines: single-task baselines, cached."""

from tuning_helpers import SHAPE
from tuning_helpers import TASKS
from tuning_helpers import data

from mtlzoo import tuning


def test_measure_baselines_caches(tmp_path, monkeypatch):
    path = str(tmp_path / "baselines.json")
    train, val = data(16), data(8, seed=1)
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
