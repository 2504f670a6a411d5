"""A table of bad inputs through the public API and the CLI (issue 17).

Each case must fail with a clear error: a `ValueError`/`TypeError` (or,
for the CLI, a non-zero exit and one `error:` line) whose message names
the culprit and says `Received` or states the rule, with no TensorFlow
class names, no traceback and no dumped arrays. The parametrised test ids
are the table; pytest's summary counts the outcomes.
"""

import os
import re
import zipfile

import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo.app import cli

SHAPE = (16, 16, 1)
N = 4
FORBIDDEN = ("InvalidArgumentError", "tensorflow.python", "Traceback", "{{node")
# A dumped array: '[[' or 'array(' followed by a long run of numbers.
DUMPED = re.compile(r"(\[\[|array\()[-\d.,\s\[\]e+nai]{60,}")


def _tasks():
    return [
        mtlzoo.Task("c", "classification", num_classes=3, head={"units": 4}),
        mtlzoo.Task("m", "multilabel", num_classes=2, head={"units": 4}),
        mtlzoo.Task("r", "regression", head={"units": 4}),
        mtlzoo.Task("s", "segmentation", num_classes=3, head={"width": 4}),
        mtlzoo.Task("b", "box", num_classes=2, head={"units": 4}),
    ]


def _x():
    return (
        np.random.default_rng(0).uniform(0, 255, (N,) + SHAPE).astype("float32")
    )


def _y(**changes):
    rng = np.random.default_rng(1)
    y = {
        "c": np.array([0, 1, 2, -1], "int32"),
        "m": np.array([[0, 1], [1, 0], [1, 1], [0, 0]], "float32"),
        "r": rng.normal(size=(N, 1)).astype("float32"),
        "s": rng.integers(0, 3, (N,) + SHAPE[:2]).astype("int32"),
        "b": np.array([[0.1, 0.1, 0.5, 0.5, 1]] * N, "float32"),
    }
    for key, (index, value, *dtype) in changes.items():
        label = y[key].astype(dtype[0]) if dtype else y[key].copy()
        label[index] = value
        y[key] = label
    return y


_MODEL = {}


def model():
    """One compiled model for every fit/evaluate/predict case."""
    if "m" not in _MODEL:
        built = mtlzoo.build("tiny", _tasks(), SHAPE)
        built.compile(optimizer="sgd")
        _MODEL["m"] = built
    return _MODEL["m"]


def _bad_x(value, index=2):
    x = _x()
    x[index, 3, 3, 0] = value
    return x


def _fit(x=None, y=None, **kwargs):
    x = _x() if x is None else x
    y = _y() if y is None else y
    kwargs.setdefault("batch_size", N)
    model().fit(x, y, verbose=0, shuffle=False, **kwargs)


def _evaluate(x=None, y=None):
    model().evaluate(_x() if x is None else x, y or _y(), verbose=0)


def _predict(x):
    model().predict(x, verbose=0)


def _mismatched_batch():
    y = _y()
    y["r"] = y["r"][:3]
    model().fit(tf.data.Dataset.from_tensors((_x(), y)), verbose=0)


def _saved(tmp, tasks, suffix):
    path = os.path.join(tmp, f"other{suffix}")
    other = mtlzoo.build("tiny", tasks, SHAPE)
    if suffix == ".keras":
        other.save(path)
    else:
        other.save_weights(path)
    return path


def _load_other_tasks(tmp, suffix):
    tasks = [
        mtlzoo.Task("c", "classification", num_classes=3, head={"units": 4}),
        mtlzoo.Task("z", "regression", head={"units": 4}),
    ]
    model().load_weights(_saved(tmp, tasks, suffix))


def _hyper_model(**kwargs):
    from mtlzoo.tuning import MultiTaskHyperModel

    MultiTaskHyperModel("tiny", _tasks()[:2], SHAPE, **kwargs)


def _prepare(images):
    from mtlzoo import images as images_lib

    images_lib.prepare(images, SHAPE)


def _task(*args, **kwargs):
    return lambda tmp: mtlzoo.Task(*args, **kwargs)


def _build(*args, **kwargs):
    return lambda tmp: mtlzoo.build(*args, **kwargs)


def _compile(**kwargs):
    return lambda tmp: mtlzoo.build("tiny", _tasks()[:2], SHAPE).compile(
        **kwargs
    )


TWO = [
    mtlzoo.Task("c", "classification", num_classes=3),
    mtlzoo.Task("r", "regression"),
]

# (id, function of a temporary directory, culprit named in the message,
#  the rule when the message need not say "Received").
API = [
    (
        "build-unknown-backbone",
        _build("no_such_net", TWO, SHAPE),
        "no_such_net",
    ),
    ("build-2d-shape", _build("tiny", TWO, (32, 32)), "input_shape"),
    ("build-zero-shape", _build("tiny", TWO, (0, 32, 1)), "input_shape"),
    (
        "build-unknown-architecture",
        _build("tiny", TWO, SHAPE, architecture="nope"),
        "nope",
    ),
    (
        "build-branch-level",
        _build("tiny", TWO, SHAPE, branch_points={"c": "P7"}),
        "P7",
    ),
    (
        "build-branch-task",
        _build("tiny", TWO, SHAPE, branch_points={"nobody": "P3"}),
        "nobody",
    ),
    (
        "build-head-task",
        _build("tiny", TWO, SHAPE, heads={"nobody": {}}),
        "nobody",
    ),
    ("build-duplicate-task", _build("tiny", [TWO[0], TWO[0]], SHAPE), "'c'"),
    (
        "build-batch-norm",
        _build("tiny", TWO, SHAPE, batch_norm="sometimes"),
        "sometimes",
    ),
    (
        "build-freeze-until",
        _build("tiny", TWO, SHAPE, freeze_until="P9"),
        "P9",
    ),
    ("build-unknown-kwarg", _build("tiny", TWO, SHAPE, wobble=3), "wobble"),
    (
        "build-missing-weights",
        _build("tiny", TWO, SHAPE, backbone_weights="/no/such.weights.h5"),
        "/no/such.weights.h5",
    ),
    ("task-unknown-kind", _task("a", "colour"), "colour"),
    ("task-bad-name", _task("a b", "regression"), "a b"),
    ("task-no-classes", _task("a", "classification"), "num_classes"),
    (
        "task-one-class",
        _task("a", "classification", num_classes=1),
        "num_classes",
    ),
    ("task-zero-units", _task("a", "regression", units=0), "units"),
    ("task-negative-weight", _task("a", "regression", weight=-1), "weight"),
    (
        "task-nan-weight",
        _task("a", "regression", weight=float("nan")),
        "weight",
    ),
    ("task-head-not-dict", _task("a", "regression", head="big"), "head"),
    (
        "task-ignore-index-minus-one",
        _task("a", "segmentation", num_classes=3, ignore_index=-1),
        "ignore_index",
    ),
    (
        "task-ignore-index-str",
        _task("a", "segmentation", num_classes=3, ignore_index="255"),
        "ignore_index",
    ),
    (
        "task-class-names-length",
        _task("a", "classification", num_classes=3, class_names=["x"]),
        "class_names",
    ),
    (
        "task-unknown-loss",
        _task("a", "regression", loss="no_such_loss"),
        "no_such_loss",
    ),
    (
        "task-unknown-metric",
        _task("a", "regression", metrics=["no_such_metric"]),
        "no_such_metric",
    ),
    ("compile-keras-loss", _compile(loss="mse"), "loss"),
    ("compile-unknown-task-weight", _compile(loss_weights={"q": 1}), "q"),
    ("compile-negative-weight", _compile(loss_weights={"c": -1.0}), "'c'"),
    (
        "compile-nan-weight",
        _compile(loss_weights={"c": float("nan")}),
        "'c'",
    ),
    (
        "compile-inf-weight",
        _compile(loss_weights={"r": float("inf")}),
        "'r'",
    ),
    ("compile-weights-not-dict", _compile(loss_weights=[1, 2]), "loss_weights"),
    ("compile-unknown-weighting", _compile(weighting="nope_mtl"), "nope_mtl"),
    (
        "compile-head-optimizer-task",
        _compile(head_optimizers={"nobody": "sgd"}),
        "nobody",
    ),
    ("compile-unknown-kwarg", _compile(wobble=1), "wobble"),
    ("fit-missing-task", lambda t: _fit(y={"c": _y()["c"]}), "'m'"),
    ("fit-extra-key", lambda t: _fit(y=dict(_y(), extra=_y()["c"])), "extra"),
    ("fit-no-labels", lambda t: model().train_on_batch(_x(), None), "y=None"),
    (
        "fit-label-shape",
        lambda t: _fit(y=dict(_y(), c=np.zeros((N, 3), "int32"))),
        "'c'",
    ),
    (
        "fit-int-regression",
        lambda t: _fit(y=dict(_y(), r=np.zeros((N, 1), "int32"))),
        "'r'",
    ),
    ("fit-class-too-large", lambda t: _fit(y=_y(c=(1, 3))), "'c'"),
    ("fit-class-negative", lambda t: _fit(y=_y(c=(1, -5))), "'c'"),
    ("fit-class-fraction", lambda t: _fit(y=_y(c=(1, 1.7, "float32"))), "'c'"),
    ("fit-multilabel-two", lambda t: _fit(y=_y(m=((0, 1), 2.0))), "'m'"),
    ("fit-regression-inf", lambda t: _fit(y=_y(r=(0, np.inf))), "'r'"),
    ("fit-segmentation-255", lambda t: _fit(y=_y(s=((0, 1, 1), 255))), "'s'"),
    ("fit-box-outside", lambda t: _fit(y=_y(b=((2, 3), 1.4))), "'b'"),
    (
        "fit-box-inverted",
        lambda t: _fit(y=_y(b=(1, [0.6, 0.1, 0.2, 0.5, 0]))),
        "'b'",
    ),
    ("fit-box-class", lambda t: _fit(y=_y(b=((3, 4), 7))), "'b'"),
    ("fit-nan-pixel", lambda t: _fit(x=_bad_x(np.nan)), "sample 2"),
    ("fit-inf-pixel", lambda t: _fit(x=_bad_x(-np.inf, 1)), "sample 1"),
    (
        "fit-negative-sample-weight",
        lambda t: _fit(sample_weight={"c": np.array([1, -1, 1, 1.0])}),
        "'c'",
    ),
    (
        "fit-nan-sample-weight",
        lambda t: _fit(sample_weight={"r": np.array([1, np.nan, 1, 1.0])}),
        "'r'",
    ),
    (
        "fit-sample-weight-unknown-task",
        lambda t: _fit(sample_weight={"zz": np.ones(N)}),
        "zz",
    ),
    (
        "fit-sample-weight-lengths",
        lambda t: _fit(sample_weight={"c": np.ones(N), "r": np.ones(2)}),
        "sample_weight",
    ),
    ("fit-batch-sizes-differ", lambda t: _mismatched_batch(), "'r'"),
    (
        "train-on-batch-nan-pixel",
        lambda t: model().train_on_batch(_bad_x(np.nan), _y()),
        "sample 2",
    ),
    ("evaluate-class-too-large", lambda t: _evaluate(y=_y(c=(0, 9))), "'c'"),
    ("evaluate-nan-pixel", lambda t: _evaluate(x=_bad_x(np.nan)), "sample 2"),
    ("predict-nan-pixel", lambda t: _predict(_bad_x(np.nan, 3)), "sample 3"),
    (
        "load-weights-other-tasks",
        lambda t: _load_other_tasks(t, ".keras"),
        "tasks",
    ),
    (
        "load-weights-h5-other-tasks",
        lambda t: _load_other_tasks(t, ".weights.h5"),
        "task",
    ),
    ("load-unknown-preset", lambda t: mtlzoo.load("no_such_model"), "no_such"),
    (
        "from-preset-missing-folder",
        lambda t: mtlzoo.MultiTaskModel.from_preset(os.path.join(t, "nowhere")),
        "nowhere",
    ),
    (
        "save-to-preset-existing",
        lambda t: [model().save_to_preset(t) for _ in range(2)],
        "overwrite",
    ),
    (
        "datasets-unknown",
        lambda t: mtlzoo.datasets.get("no_such_data"),
        "no_such_data",
    ),
    (
        "weighting-unknown",
        lambda t: mtlzoo.weighting.get("no_such_method"),
        "no_such_method",
    ),
    (
        "weighting-bad-option",
        lambda t: mtlzoo.weighting.get("pcgrad", wobble=1),
        "wobble",
    ),
    (
        "tuner-empty-head-units",
        lambda t: _hyper_model(head_units=[]),
        "head_units",
    ),
    (
        "tuner-zero-learning-rate",
        lambda t: _hyper_model(learning_rates=[0]),
        "learning_rates",
    ),
    (
        "images-missing-file",
        lambda t: _prepare(["/no/such/image.png"]),
        "/no/such/image.png",
    ),
    (
        "images-bad-channels",
        lambda t: _prepare(np.zeros((1, 8, 8, 7), "uint8")),
        "7",
    ),
]


def _check_message(message, culprit, rule=None):
    assert culprit in message, (culprit, message)
    assert "Received" in message or (rule and rule in message), message
    for word in FORBIDDEN:
        assert word not in message, (word, message)
    assert not DUMPED.search(message), message


def _table(rows):
    """pytest params `(function, culprit)` with the case name as id."""
    out = []
    for row in rows:
        marks = ()
        if hasattr(row, "values"):  # a pytest.param
            row, marks = row.values, row.marks
        out.append(pytest.param(row[1], row[2], id=row[0], marks=marks))
    return out


@pytest.mark.parametrize("case, culprit", _table(API))
def test_api_bad_input_is_named(case, culprit, tmp_path):
    with pytest.raises((ValueError, TypeError)) as info:
        case(str(tmp_path))
    _check_message(str(info.value), culprit)


def _garbage_keras(tmp):
    path = os.path.join(tmp, "garbage.keras")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{not json")
    return path


CLI = [
    ("cli-info-unknown", lambda t: ["info", "no_such_preset"], "no_such"),
    ("cli-eval-unknown", lambda t: ["eval", "no_such_preset"], "no_such"),
    (
        "cli-predict-missing-image",
        lambda t: ["predict", "fashion_tiny_test", "/no/such.png"],
        "/no/such.png",
    ),
    (
        "cli-predict-bad-model-file",
        lambda t: ["predict", _garbage_keras(t), _garbage_keras(t)],
        "garbage.keras",
    ),
    (
        "cli-train-missing-config",
        lambda t: ["train", "/no/such/config.json"],
        "/no/such/config.json",
    ),
    (
        "cli-export-unwritable-output",
        lambda t: [
            "export",
            "fashion_tiny_test",
            "--output",
            "/proc/mtlzoo_forbidden/model_savedmodel",
            "--samples",
            "4",
        ],
        "/proc/mtlzoo_forbidden",
    ),
]


@pytest.mark.parametrize("argv, culprit", _table(CLI))
def test_cli_bad_input_is_named(argv, culprit, tmp_path, capsys):
    code = cli.main(argv(str(tmp_path)))
    err = capsys.readouterr().err
    assert code != 0, err
    lines = [line for line in err.splitlines() if "error" in line]
    assert lines, err
    _check_message(lines[-1], culprit, rule="error:")


def test_the_table_is_large_enough():
    assert len(API) + len(CLI) >= 60
