"""Fine-tune a preset on an `.npz` file (`mtlzoo train --preset NAME`).

The `.npz` file holds `images`, an array `(N, H, W)` or `(N, H, W, C)` of
any size and channel count (converted to the preset's input by
`mtlzoo.images.prepare`, values 0..255), and one label array per task,
named after the task (`garment`, `mask`, ...), with `N` rows:

- A preset task of that name is kept, with its trained head.
- Any other name is a new task: declare it, `"NAME:KIND[:N]"` (`N` is
  `num_classes` for class kinds, `units` for regression kinds), e.g.
  `"digit:classification:10"`, `"size:regression"`. Nothing is guessed
  from the arrays: an undeclared name is an error that suggests a
  declaration.
- `tasks` picks which label arrays to train on (default: all of them).
  Preset tasks without labels in the file are dropped from the model.

Labels follow the task kinds: class ids (-1 where missing), floats (NaN
where missing). Dense labels (masks, depth) of the images' original size
are resized with the images (nearest neighbour, so ids and NaN stay).
The last `validation_split` of the samples (as Keras's own
`validation_split`, no shuffling first) is held out: validation data
during `fit`, and the metrics written to the config. The outputs are those
of `mtlzoo train CONFIG` (`mtlzoo.app.train_config.train`).

Example:

>>> result = mtlzoo.app.fine_tune.fine_tune(
...     "fashion_tiny_test", "my.npz", "runs/mine", epochs=3,
...     new_tasks=["digit:classification:10"])
>>> result["metrics"]
"""

import copy
import os
import time

import keras
import numpy as np

from mtlzoo import images as images_lib
from mtlzoo import tasks as tasks_lib
from mtlzoo.app import train_config
from mtlzoo.presets import registry
from mtlzoo.presets.saving import compile_arguments
from mtlzoo.tasks import Task
from mtlzoo.zoo import load


def parse_task(spec):
    """A new task from a declaration `"NAME:KIND[:N]"`.

    Args:
        spec: str or `mtlzoo.Task`. `N` is `num_classes` for kinds that
            take classes and `units` for kinds that take units.

    Returns:
        A `mtlzoo.Task`.
    """
    if isinstance(spec, Task):
        return spec
    parts = spec.split(":") if isinstance(spec, str) else []
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(
            "A task declaration is NAME:KIND[:N] (N: classes, units or "
            "keypoints), e.g. digit:classification:10. "
            f"Received: task={spec!r}"
        )
    name, kind = parts[:2]
    if kind not in tasks_lib.list_kinds():
        raise ValueError(
            f"Unknown task kind in {spec!r}; kinds: "
            f"{tasks_lib.list_kinds()}. Received: kind={kind!r}"
        )
    arguments = {}
    if len(parts) == 3:
        try:
            number = int(parts[2])
        except ValueError:
            raise ValueError(
                f"N of a task declaration is an integer. Received: "
                f"task={spec!r}"
            ) from None
        cls = tasks_lib.get_kind(kind)
        key = getattr(cls, "count_option", None) or (
            "num_classes" if cls.num_classes_min is not None else "units"
        )
        arguments[key] = number
    return Task(name, kind, **arguments)


def fine_tune(
    preset,
    data,
    output_dir,
    tasks=None,
    new_tasks=None,
    epochs=5,
    batch_size=32,
    validation_split=0.1,
    weighting=None,
    learning_rate=None,
    freeze_until=None,
    batch_norm="recalibrate",
    seed=0,
    name=None,
    verbose=2,
):
    """Fine-tune a preset on an `.npz` file and write the `train` outputs.

    Writes into `output_dir`, as `mtlzoo.app.train_config.train` does:
    `<name>.weights.h5`, `<name>.json` (a config `mtlzoo predict` and
    `mtlzoo export` read: the fine-tuned `architecture`, `training` (preset,
    data, epochs, ...), `weights` with its sha256, `metrics` on the held-out
    samples), `logs/` (TensorBoard), `curves.png` and `task_weights.png`.

    Args:
        preset: str. A preset name (`mtlzoo.zoo.list_models()`) or folder.
        data: str. The `.npz` file (see the module docstring).
        output_dir: str. Output directory.
        tasks: list of str. Label arrays to train on. Defaults to None
            (every array but `images`).
        new_tasks: list of `mtlzoo.Task` or `"NAME:KIND[:N]"` strings.
            Tasks the preset does not have (or replaces). Defaults to None.
        epochs: int. Defaults to 5.
        batch_size: int. Defaults to 32.
        validation_split: float. Fraction held out (the last samples),
            0 <= f < 1; 0 measures the metrics on the training samples.
            Defaults to 0.1.
        weighting: str. A `mtlzoo.weighting` name. Defaults to None (the
            preset's).
        learning_rate: float. Defaults to None (the preset's optimizer as
            configured).
        freeze_until: str. Freeze the backbone stages up to this level
            (`"P3"`, ...) or `"backbone"` (only the heads train); see
            `MultiTaskModel.freeze`. Defaults to None (everything trains).
        batch_norm: str. BatchNormalization while fine-tuning (see
            `MultiTaskModel.from_preset`): `"frozen"` (the preset's run in
            inference mode, so `fit` and `evaluate` agree), `"recalibrate"`
            (they train, and `fit` re-estimates their statistics at its
            end) or `"train"`. Defaults to `"recalibrate"`.
        seed: int. Defaults to 0.
        name: str. Run name. Defaults to `<preset>_<data file stem>`.
        verbose: int. Keras `fit` verbosity. Defaults to 2.

    Returns:
        dict with `weights`, `config`, `log_dir` (paths), `metrics` and
        `model` (the fine-tuned model).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be >= 1. Received: epochs={epochs!r}")
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(
            "`validation_split` must be in [0, 1). "
            f"Received: validation_split={validation_split!r}"
        )
    folder = registry.find_preset(preset)
    preset_config = registry.read_config(folder / registry.CONFIG_FILE)
    preset_name = preset_config.get("name") or folder.name
    arch = preset_config["architecture"]
    arrays = read_npz(data)
    declared = {t.name: t for t in map(parse_task, new_tasks or [])}
    chosen = _choose_tasks(tasks, arrays, declared, arch, preset_name)
    input_shape = tuple(arch["input_shape"])
    x = images_lib.prepare(arrays["images"], input_shape)
    count = len(x)
    name = name or f"{preset_name}_{_stem(data)}"
    keras.utils.set_random_seed(int(seed))

    model = load(preset, tasks=chosen, compile=False, batch_norm=batch_norm)
    if freeze_until is not None:
        model.freeze(until=freeze_until)
    y = {
        t.name: _labels(t, arrays[t.name], count, x.shape[1:3])
        for t in model.tasks
    }
    for task in model.tasks:
        task.validate_label_spec(
            y[task.name].shape, y[task.name].dtype, x.shape[1:]
        )
    held = int(round(count * float(validation_split)))
    if count - held < 1:
        raise ValueError(
            f"No training samples left after the validation split. "
            f"Received: samples={count}, validation_split={validation_split}"
        )
    cut = count - held
    x_train, y_train = x[:cut], {k: v[:cut] for k, v in y.items()}
    x_val, y_val = (x[cut:], {k: v[cut:] for k, v in y.items()})
    validation = (x_val, y_val) if held else None

    arguments = compile_arguments(preset_config)
    if weighting is not None:
        from mtlzoo import weighting as weighting_lib

        arguments["weighting"] = weighting_lib.get(weighting)
    optimizer = arguments.get("optimizer") or keras.optimizers.Adam()
    if learning_rate is not None:  # replaces a schedule too
        settings = dict(optimizer.get_config(), learning_rate=learning_rate)
        optimizer = type(optimizer).from_config(settings)
    arguments["optimizer"] = optimizer
    model.compile(**arguments)

    log_dir = os.path.join(output_dir, "logs")
    fixed_x, fixed_y = validation or (x_train, y_train)
    cbs = train_config.logging_callbacks(
        model, log_dir, fixed_x[:4], {k: v[:4] for k, v in fixed_y.items()}
    )
    start = time.time()
    history = model.fit(
        x_train,
        y_train,
        batch_size=int(batch_size),
        epochs=epochs,
        validation_data=validation,
        callbacks=cbs,
        verbose=verbose,
    )
    minutes = (time.time() - start) / 60.0
    eval_x, eval_y = validation or (x_train, y_train)
    results = model.evaluate(
        eval_x, eval_y, batch_size=int(batch_size), return_dict=True, verbose=0
    )
    names = [t.name for t in model.tasks]
    metrics = train_config.task_metrics(results, names)
    split = "validation" if held else "train"
    config = {
        "description": f"Preset '{preset_name}' fine-tuned on {data}.",
        "training": {
            "preset": preset_name,
            "data": os.path.abspath(data),
            "tasks": names,
            "new_tasks": sorted(declared),
            "epochs": epochs,
            "batch_size": int(batch_size),
            "validation_split": float(validation_split),
            "freeze_until": freeze_until,
            "batch_norm": batch_norm,
            "optimizer": keras.optimizers.serialize(model.optimizer),
            "weighting": keras.saving.serialize_keras_object(model.weighting),
            "seed": int(seed),
            "minutes": round(minutes, 3),
        },
        "metrics": train_config._metrics_block(
            {}, model.tasks, metrics, len(eval_x), split=split
        ),
    }
    weights, config_path = train_config.write_outputs(
        model, config, output_dir, name, history
    )
    return {
        "weights": weights,
        "config": config_path,
        "log_dir": log_dir,
        "metrics": metrics,
        "model": model,
    }


def read_npz(path):
    """The arrays of a fine-tuning `.npz` file (it must hold `images`)."""
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(f"No such .npz file. Received: data={path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Cannot read the .npz file ({error}). Received: data={path!r}"
        ) from None
    if "images" not in arrays:
        raise ValueError(
            f"The .npz file needs an `images` array; it has "
            f"{sorted(arrays)}. Received: data={os.fspath(path)!r}"
        )
    return arrays


def suggest(name, labels):
    """A `NAME:KIND[:N]` declaration that would fit a label array."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "iub":
        classes = max(int(labels.max(initial=0)) + 1, 2)
        kind = "segmentation" if labels.ndim >= 3 else "classification"
        return f"{name}:{kind}:{classes}"
    units = int(np.prod(labels.shape[1:])) if labels.ndim > 1 else 1
    return f"{name}:regression" + (f":{units}" if units > 1 else "")


def _choose_tasks(tasks, arrays, declared, arch, preset_name):
    labels = [k for k in arrays if k != "images"]
    names = list(tasks) if tasks else labels
    if not names:
        raise ValueError(
            "The .npz file has no label arrays (one per task, named after "
            f"it) besides `images`. Received: arrays={sorted(arrays)}"
        )
    missing = [n for n in names if n not in arrays or n == "images"]
    if missing:
        raise ValueError(
            f"No labels for task(s) {missing} in the .npz file; it has "
            f"{labels}. Received: tasks={names}"
        )
    unused = sorted(set(declared) - set(names))
    if unused:
        raise ValueError(
            f"Declared task(s) {unused} are not trained (not in the .npz "
            f"or not in --tasks). Received: tasks={names}"
        )
    own = {t["name"]: t for t in arch["tasks"]}
    chosen = []
    for task_name in names:
        if task_name in declared:
            chosen.append(declared[task_name])
        elif task_name in own:
            chosen.append(copy.deepcopy(own[task_name]))
        else:
            raise ValueError(
                f"Task '{task_name}' is not a task of preset '{preset_name}' "
                f"(it has {sorted(own)}); declare it as NAME:KIND[:N], "
                f"e.g. --task {suggest(task_name, arrays[task_name])}. "
                f"Received: task={task_name!r}"
            )
    return chosen


def _labels(task, labels, count, size):
    """One task's labels, cast to its dtype and resized when dense."""
    labels = np.asarray(labels)
    if len(labels) != count:
        raise ValueError(
            f"Labels of task '{task.name}' have {len(labels)} rows, the "
            f"images {count}. Received: shape={labels.shape}"
        )
    if "int" in task.label_dtype and labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels) & (labels == np.round(labels))):
            raise ValueError(
                f"Labels of task '{task.name}' are class ids (integers, -1 "
                f"for missing). Received: dtype={labels.dtype}"
            )
    if labels.dtype.kind in "iubf":
        labels = labels.astype(task.label_dtype)
    if task.is_dense and labels.ndim >= 3:
        # Dense kinds coarser than the input (heatmaps) have their own size.
        size = tuple(task.output_shape(tuple(size) + (1,))[:2])
        if tuple(labels.shape[1:3]) != size:
            squeeze = labels.ndim == 3
            values = labels.astype("float32")
            resized = keras.ops.image.resize(
                values[..., None] if squeeze else values,
                tuple(size),
                interpolation="nearest",
                data_format="channels_last",
            )
            labels = keras.ops.convert_to_numpy(resized)
            labels = labels[..., 0] if squeeze else labels
            labels = labels.astype(task.label_dtype)
    elif task.takes_units and labels.ndim == 1:
        labels = labels[:, None]
    return labels


def _stem(path):
    return os.path.splitext(os.path.basename(os.fspath(path)))[0]
