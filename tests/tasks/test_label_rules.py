"""Every label is validated per task, in graph mode, by name and rule.

`Task.invalid_labels` states each kind's rules; the train and evaluation
steps check them on every batch and raise a `ValueError` naming the task,
the rule, the value and the sample (issue 17).
"""

import numpy as np
import pytest
import tensorflow as tf

import mtlzoo

SHAPE = (16, 16, 1)
N = 4


def _tasks(ignore_index=None):
    return [
        mtlzoo.Task("c", "classification", num_classes=3, head={"units": 4}),
        mtlzoo.Task("m", "multilabel", num_classes=2, head={"units": 4}),
        mtlzoo.Task("r", "regression", head={"units": 4}),
        mtlzoo.Task(
            "s",
            "segmentation",
            num_classes=3,
            head={"width": 4},
            ignore_index=ignore_index,
        ),
        mtlzoo.Task("b", "box", num_classes=2, head={"units": 4}),
    ]


def _labels():
    rng = np.random.default_rng(0)
    return {
        "c": np.array([0, 1, 2, -1], "int32"),
        "m": np.array([[0, 1], [1, 0], [-1, 1], [np.nan, 0]], "float32"),
        "r": rng.normal(size=(N, 1)).astype("float32"),
        "s": rng.integers(-1, 3, (N,) + SHAPE[:2]).astype("int32"),
        "b": np.array(
            [
                [0.1, 0.1, 0.5, 0.6, 0],
                [0.0, 0.2, 1.0, 0.9, 1],
                [np.nan] * 4 + [1],
                [0.2, 0.2, 0.3, 0.3, -1],
            ],
            "float32",
        ),
    }


@pytest.fixture(scope="module")
def model():
    model = mtlzoo.build("tiny", _tasks(), SHAPE)
    model.compile(optimizer="sgd")
    return model


def _images():
    return np.random.default_rng(1).uniform(0, 255, (N,) + SHAPE)


def _with(task, index, value, dtype=None):
    y = _labels()
    label = y[task] if dtype is None else y[task].astype(dtype)
    label[index] = value
    y[task] = label
    return y


def test_valid_labels_with_missing_values_train(model):
    model.fit(_images(), _labels(), batch_size=N, verbose=0)


CASES = [
    ("class id too large", _with("c", 1, 3), r"task 'c'.*\[0, 3\).*3 at"),
    ("class id -5", _with("c", 2, -5), r"task 'c'.*-5 at sample 2"),
    ("float class id", _with("c", 0, 1.7, "float32"), r"task 'c'.*1.7"),
    ("multilabel 2", _with("m", 1, [2.0, 0.0]), r"task 'm'.*0 or 1.*2"),
    ("multilabel 0.5", _with("m", 0, [0.5, 1.0]), r"task 'm'.*0.5"),
    ("regression inf", _with("r", 3, np.inf), r"task 'r'.*finite.*inf"),
    ("pixel 255", _with("s", (1, 2, 3), 255), r"task 's'.*ignore_index.*255"),
    ("pixel 3", _with("s", (0, 0, 0), 3), r"task 's'.*\[0, 3\).*3 at"),
    ("box outside", _with("b", (0, 2), 1.5), r"task 'b'.*\[0, 1\].*1.5"),
    (
        "box inverted",
        _with("b", 0, [0.5, 0.1, 0.2, 0.6, 0]),
        r"task 'b'.*y1 <= y2",
    ),
    ("box class", _with("b", (1, 4), 5), r"task 'b'.*class ids.*5"),
]


@pytest.mark.parametrize("name, y, match", CASES, ids=[c[0] for c in CASES])
def test_invalid_label_is_named(model, name, y, match):
    with pytest.raises(ValueError, match=match) as info:
        model.fit(_images(), y, batch_size=N, verbose=0, shuffle=False)
    message = str(info.value)
    assert "Received" in message
    assert "InvalidArgumentError" not in message
    assert "[[" not in message


def test_evaluate_checks_labels_too(model):
    with pytest.raises(ValueError, match="task 'c'"):
        model.evaluate(_images(), _with("c", 1, 9), batch_size=N, verbose=0)


@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf])
def test_sample_weights_must_be_finite_and_non_negative(model, value):
    weights = np.ones(N, "float32")
    weights[2] = value
    with pytest.raises(ValueError, match="Sample weights of task 'r'"):
        model.fit(
            _images(),
            _labels(),
            sample_weight={"r": weights},
            batch_size=N,
            verbose=0,
            shuffle=False,
        )


def test_sample_weights_for_some_tasks_and_unknown_keys(model):
    half = np.array([1, 0, 1, 0], "float32")
    model.fit(
        _images(), _labels(), sample_weight={"c": half}, batch_size=N, verbose=0
    )
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['zz'\]") as e:
        model.fit(
            _images(),
            _labels(),
            sample_weight={"zz": half},
            batch_size=N,
            verbose=0,
        )
    assert "array(" not in str(e.value)


def test_batch_sizes_that_differ_are_named(model):
    y = _labels()
    y["r"] = y["r"][:3]
    data = tf.data.Dataset.from_tensors((_images().astype("float32"), y))
    with pytest.raises(ValueError, match="task 'r'.*3 samples"):
        model.fit(data, verbose=0)


def test_ignore_index_marks_pixels_missing():
    task = mtlzoo.Task("s", "segmentation", num_classes=3, ignore_index=255)
    assert task.get_config()["ignore_index"] == 255
    plain = mtlzoo.Task("s", "segmentation", num_classes=3)
    assert "ignore_index" not in plain.get_config()
    again = mtlzoo.tasks.Task.from_config(task.get_config())
    assert again.ignore_index == 255
    y = np.array([[[0, 255], [2, 1]]], "int32")
    np.testing.assert_array_equal(
        np.asarray(task.present_mask(y)), [[[1, 0], [1, 1]]]
    )
    pred = np.full((1, 2, 2, 3), 1 / 3, "float32")
    loss = float(task.compute_loss(y, pred))
    assert np.isclose(loss, np.log(3.0), atol=1e-5)
    model = mtlzoo.build("tiny", _tasks(ignore_index=255), SHAPE)
    model.compile(optimizer="sgd")
    model.fit(_images(), _with("s", (1, 2, 3), 255), batch_size=N, verbose=0)


@pytest.mark.parametrize("value", [-1, True, "255", 2.5])
def test_ignore_index_is_checked(value):
    with pytest.raises(ValueError, match="ignore_index"):
        mtlzoo.Task("s", "segmentation", num_classes=3, ignore_index=value)
