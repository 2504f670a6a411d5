"""A kind added by a user touches only its own code: a throwaway "count"
kind (Poisson regression of how many objects an image holds) is defined
here, registered, trained one step in a model, and removed again."""

import numpy as np
import pytest
from keras import ops

from mtlzoo import testing
from mtlzoo.presets import schema
from mtlzoo.tasks import RegressionTask
from mtlzoo.tasks import register_kind
from mtlzoo.tasks import unregister_kind


class CountTask(RegressionTask):
    """How many objects an image holds (Poisson regression)."""

    output_activation = "softplus"
    loss_name = "Poisson negative log-likelihood (masked)"

    def element_loss(self, y_true, y_pred):
        y = ops.cast(y_true, "float32")
        y = ops.where(ops.isnan(y), ops.zeros_like(y), y)
        return y_pred - y * ops.log(y_pred + 1e-7)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, self.units)
        return rng.poisson(3.0, shape).astype("float32")

    def describe(self, value, class_names=None):
        return f"about {float(np.ravel(value)[0]):.1f}"


@pytest.fixture
def count_kind():
    register_kind("count", CountTask)
    yield CountTask
    unregister_kind("count")


def test_user_kind_builds_and_trains(count_kind):
    import mtlzoo

    assert "count" in mtlzoo.tasks.list_kinds()
    tasks = [
        mtlzoo.Task("objects", "count", head={"units": 8}),
        mtlzoo.Task.from_config(
            {"name": "digit", "kind": "classification", "num_classes": 3}
        ),
    ]
    assert type(tasks[0]) is CountTask
    model = mtlzoo.build("tiny", tasks, (32, 32, 1))
    assert model.get_layer("objects").get_config()["activation"] == "softplus"
    history = testing.run_model_test(model)
    assert "objects_mae" in history and np.isfinite(history["objects_loss"])
    clone = testing.run_serialization_test(model)
    assert type(clone.tasks[0]) is CountTask
    assert tasks[0].describe([2.6]) == "about 2.6"
    assert schema.metric_higher_is_better("objects_mae") is False


def test_user_kind_loss_ignores_missing_counts(count_kind):
    import mtlzoo

    task = mtlzoo.Task("objects", "count")
    y_pred = np.array([[2.0], [5.0]], "float32")
    loss = float(task.compute_loss(np.array([[2.0], [np.nan]]), y_pred))
    np.testing.assert_allclose(loss, 2.0 - 2.0 * np.log(2.0), rtol=1e-5)
    assert float(task.compute_loss([[np.nan], [np.nan]], y_pred)) == 0.0


def test_user_kind_is_gone_after_unregister(count_kind):
    unregister_kind("count")
    import mtlzoo

    with pytest.raises(ValueError, match="count"):
        mtlzoo.Task("objects", "count")
    register_kind("count", CountTask)  # the fixture removes it again
