"""Errors of the constructor, compile() and the train step name the
culprit and end with `Received: ...`."""

import numpy as np
import pytest
from model_helpers import SHAPE
from model_helpers import expect_error
from model_helpers import small_tasks
from model_helpers import tiny_model

import mtlzoo
from mtlzoo import testing


def test_errors_name_the_culprit():
    tasks = small_tasks(("classification", "regression"))
    expect_error("no_such_net", mtlzoo.build, "no_such_net", tasks, SHAPE)
    expect_error("kind", mtlzoo.Task, "a", "colour")
    expect_error(
        "unique",
        mtlzoo.build,
        "tiny",
        [tasks[0], tasks[0]],
        SHAPE,
    )
    expect_error("P7", tiny_model, tasks, branch_points={"digit": "P7"})
    expect_error("nobody", tiny_model, tasks, branch_points={"nobody": "P3"})
    expect_error(
        "nest",
        tiny_model,
        small_tasks(("classification", "regression", "segmentation")),
        branch_points={("digit", "ink"): "P2", ("ink", "mask"): "P3"},
    )
    expect_error("input_shape", mtlzoo.build, "tiny", tasks, (32, 32))
    expect_error(
        "units",
        tiny_model,
        [mtlzoo.Task("a", "classification", num_classes=2, head={"unitz": 3})],
    )
    expect_error("num_classes", mtlzoo.Task, "a", "classification")
    expect_error("wobble", tiny_model, tasks, wobble=3)


def test_label_errors():
    tasks = small_tasks(("classification", "segmentation"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    with pytest.raises(ValueError, match="mask") as info:
        model.train_on_batch(x, {"digit": y["digit"]})
    assert "Received" in str(info.value)
    bad = dict(y, mask=np.zeros((2, 16, 16), "int32"))
    with pytest.raises(ValueError, match="mask.*shape"):
        model.train_on_batch(x, bad)
    bad = dict(y, extra=y["digit"])
    with pytest.raises(ValueError, match="extra"):
        model.train_on_batch(x, bad)
    reg = small_tasks(("regression",))
    model = tiny_model(reg)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="floating point"):
        model.train_on_batch(x, {"ink": np.zeros((2, 2), "int32")})


def test_compile_errors():
    model = tiny_model()
    expect_error("loss", model.compile, loss="mse")
    expect_error("nobody", model.compile, loss_weights={"nobody": 1.0})
    expect_error("digit", model.compile, loss_weights={"digit": -1.0})
    expect_error("weighting", model.compile, weighting="no_such_method")
    expect_error("nobody", model.compile, head_optimizers={"nobody": "sgd"})


def test_nan_loss_is_named():
    tasks = small_tasks(("classification", "regression"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    y["ink"] = np.full_like(y["ink"], np.inf)
    with pytest.raises(Exception, match="task 'ink'"):
        model.train_on_batch(x, y)


@pytest.mark.parametrize("method", ["predict", "evaluate", "fit"])
def test_images_of_the_wrong_shape_are_named(method):
    tasks = small_tasks(("classification", "regression"))
    model = tiny_model(tasks)
    model.compile()
    height, width, channels = SHAPE
    y = testing.random_labels(model.tasks, SHAPE, 2)
    cases = {
        (2, height + 4, width, channels): "Resize the images",
        (height, width, channels): r"add a batch axis",
        (2, height, width, channels + 2): r"Received: x with shape",
    }
    for shape, message in cases.items():
        x = np.zeros(shape, "float32")
        args = (x,) if method == "predict" else (x, y)
        with pytest.raises(ValueError, match=message) as info:
            getattr(model, method)(*args, verbose=0)
        assert f"(batch, {height}, {width}, {channels})" in str(info.value)
    out = model.predict(np.full((2, *SHAPE), 128.0, "float32"), verbose=0)
    assert set(out) == set(model.task_names)
