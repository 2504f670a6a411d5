"""The Task base class: dispatch on kind, argument checks, registry."""

import numpy as np
import pytest

import mtlzoo
from mtlzoo.tasks import ClassificationTask
from mtlzoo.tasks import RegressionTask
from mtlzoo.tasks import Task
from mtlzoo.tasks import get_kind
from mtlzoo.tasks import register_kind
from mtlzoo.tasks import unregister_kind


def expect_error(match, fn, *args, **kwargs):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        fn(*args, **kwargs)
    assert "Received" in str(info.value)


def test_constructor_errors():
    expect_error("kind", Task, "a", "colour")
    expect_error("kind", Task, "a", None)
    expect_error("identifier", Task, "a b", "classification", num_classes=2)
    expect_error("num_classes", Task, "a", "classification")
    expect_error("num_classes", Task, "a", "segmentation", num_classes=1)
    expect_error("num_classes", Task, "a", "depth", num_classes=3)
    expect_error("units", Task, "a", "regression", units=0)
    expect_error("units", Task, "a", "box", num_classes=2, units=3)
    expect_error("weight", Task, "a", "depth", weight=-1)
    expect_error("head", Task, "a", "depth", head=[1])
    expect_error("kind", ClassificationTask, "a", "depth", num_classes=2)
    with pytest.raises(ValueError, match="Expected one of .*classification"):
        Task("a", "colour")


def test_defaults_and_keywords():
    task = Task(name="ink", kind="regression")
    assert isinstance(task, RegressionTask)
    assert task.units == 1 and task.num_classes is None
    assert Task("m", "multilabel", num_classes=1).num_classes == 1
    assert Task("d", "classification", num_classes=np.int64(4)).num_classes == 4
    assert RegressionTask("ink") == task


def test_validate_tasks():
    tasks = mtlzoo.tasks.validate_tasks(
        [Task("a", "depth"), {"name": "b", "kind": "regression"}]
    )
    assert [type(t).__name__ for t in tasks] == ["DepthTask", "RegressionTask"]
    expect_error("unique", mtlzoo.tasks.validate_tasks, [tasks[0], tasks[0]])
    expect_error("mtlzoo.Task", mtlzoo.tasks.validate_tasks, ["a"])


def test_masked_labels_count_only_present_entries():
    task = Task("digit", "classification", num_classes=3)
    y_pred = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, -1, 1])
    loss = float(task.compute_loss(labels, y_pred))
    expected = -(np.log(0.8) + np.log(0.1)) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    metrics = task.build_metrics()
    task.update_metrics(metrics, labels, y_pred)
    assert float(metrics[0].result()) == 0.5
    reg = Task("ink", "regression")
    loss = float(reg.compute_loss([[1.0], [np.nan]], [[3.0], [100.0]]))
    assert loss == 4.0


def test_register_kind_checks():
    class NotATask:
        pass

    expect_error("subclass", register_kind, "thing", NotATask)

    class Upside(RegressionTask):
        metric_directions = {"mae": True}

    expect_error("direction", register_kind, "upside", Upside)

    class NoPrimary(RegressionTask):
        primary_metric_name = "nope"

    expect_error("primary_metric_name", register_kind, "noprimary", NoPrimary)
    expect_error("lower-case", register_kind, "Bad-Name", RegressionTask)

    class Other(RegressionTask):
        pass

    expect_error("already registered", register_kind, "depth", Other)
    assert Other.kind == "regression"
    assert "upside" not in mtlzoo.tasks.list_kinds()


def test_register_and_unregister():
    @register_kind("scalar")
    class ScalarTask(RegressionTask):
        pass

    try:
        assert ScalarTask.kind == "scalar"
        assert get_kind("scalar") is ScalarTask
        task = Task("s", "scalar")
        assert type(task) is ScalarTask
        assert "scalar" in mtlzoo.tasks.KINDS
        assert get_kind("regression").kind == "regression"
    finally:
        unregister_kind("scalar")
    assert "scalar" not in mtlzoo.tasks.list_kinds()
    expect_error("kind", Task, "s", "scalar")
