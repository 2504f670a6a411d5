"""Single-task baselines for delta_m, measured once and cached as JSON."""

import json
import os

import keras

from mtlzoo import model as model_lib
from mtlzoo.tasks import validate_tasks
from mtlzoo.tuning import _data


def load_baselines(path):
    """Read the baselines of a JSON file written by `measure_baselines`.

    Args:
        path: str. The JSON file.

    Returns:
        dict primary metric name -> single-task value.
    """
    try:
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Cannot read a baselines JSON file ({error}). Received: "
            f"path={path!r}"
        ) from error
    baselines = content.get("baselines") if isinstance(content, dict) else None
    if not isinstance(baselines, dict):
        raise ValueError(
            "A baselines file holds {'baselines': {metric: value}, ...}. "
            f"Received: path={path!r}"
        )
    return {k: float(v) for k, v in baselines.items()}


def measure_baselines(
    backbone,
    tasks,
    input_shape,
    train_data,
    validation_data,
    epochs=1,
    batch_size=32,
    learning_rate=1e-3,
    optimizer="adam",
    weights=None,
    heads=None,
    path=None,
    data_key=None,
    verbose=0,
):
    """Train one single-task model per task and return its primary metric.

    Each task gets `mtlzoo.build(backbone, [task], ...)` (its default head
    unless `heads` says otherwise), trained with the same budget a search
    trial gets (`epochs`, `batch_size`, optimizer and learning rate). The
    value kept is the best validation primary metric over the epochs, the
    way keras-tuner scores a trial by its best epoch.

    With `path`, results are cached in a JSON file: a later call with the
    same settings (backbone, input shape, budget, head options, weights and
    `data_key`) reads them instead of training, and only tasks missing
    from the file are trained. The cache does not look at the data itself:
    pass a `data_key` naming the data (e.g. the dataset and its arguments)
    when several datasets share a file.

    Args:
        backbone: str. Backbone name.
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`.
        train_data: `tf.data.Dataset` of `(image, labels)` or a tuple
            `(x, y)` with `y` a dict task -> labels.
        validation_data: same form as `train_data`.
        epochs: int. Training epochs per task. Defaults to 1.
        batch_size: int. Batch size for arrays and unbatched datasets.
            Defaults to 32.
        learning_rate: float. Defaults to 1e-3.
        optimizer: str. Optimizer name. Defaults to `"adam"`.
        weights: backbone weights (None, `"imagenet"` or a path).
        heads: dict. Task -> head options. Defaults to the task's own.
        path: str. JSON cache file. Defaults to None (no cache).
        data_key: str. Names the data in the cache key.
        verbose: int. Keras `fit` verbosity. Defaults to 0.

    Returns:
        dict primary metric name (e.g. `"garment_accuracy"`) -> value; pass
        it as `mtlzoo.tuning.objective(..., baselines=...)`.

    Example:

    >>> baselines = mtlzoo.tuning.measure_baselines(
    ...     "tiny", tasks, (32, 32, 1), (x, y), (x_val, y_val),
    ...     epochs=1, path="baselines.json")
    """
    tasks = validate_tasks(tasks)
    heads = dict(heads or {})
    settings = {
        "backbone": backbone,
        "input_shape": [int(d) for d in input_shape],
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "optimizer": optimizer,
        "weights": None if weights is None else str(weights),
        "data_key": data_key,
    }
    cached = _read_cache(path, settings)
    results = dict(cached["baselines"])
    for task in tasks:
        metric = task.primary_metric
        entry = {"task": task.get_config(), "head": heads.get(task.name)}
        if metric in results and cached["runs"].get(metric) == entry:
            continue
        results[metric] = _train_one(
            backbone,
            task,
            input_shape,
            train_data,
            validation_data,
            settings,
            weights,
            heads.get(task.name),
            verbose,
        )
        cached["runs"][metric] = entry
        if path:
            _write_cache(path, settings, results, cached["runs"])
    return {t.primary_metric: results[t.primary_metric] for t in tasks}


def train_single_task(
    backbone,
    task,
    input_shape,
    train_data,
    epochs=1,
    batch_size=32,
    optimizer="adam",
    learning_rate=1e-3,
    backbone_weights=None,
    head=None,
    validation_data=None,
    name=None,
    seed=None,
    verbose=0,
):
    """Build, compile and fit the single-task model of one task.

    The one single-task baseline trainer of mtlzoo: `measure_baselines`
    (search objectives) and `tools/train_preset.py` (the zoo cards'
    baselines) both train their baselines here. The model is
    `mtlzoo.build(backbone, [task], ...)` (the task's default head unless
    `head` says otherwise), compiled with equal weighting.

    Args:
        backbone: str. Backbone name.
        task: `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`.
        train_data: `tf.data.Dataset` of `(image, labels)` (batched or
            not) or a tuple `(x, y)` with `y` a dict task -> labels; labels
            of other tasks are dropped.
        epochs: int. Defaults to 1.
        batch_size: int. Batch size for arrays and unbatched datasets.
            Defaults to 32.
        optimizer: str or `keras.optimizers.Optimizer`. A name is built
            with `learning_rate`. Defaults to `"adam"`.
        learning_rate: float. For an optimizer given by name. Defaults to
            1e-3.
        backbone_weights: the backbone's initialisation (None,
            `"imagenet"` or a path). Defaults to None.
        head: dict. Head options of the task. Defaults to None.
        validation_data: same form as `train_data`, or None.
        name: str. Model name. Defaults to `"<task>_single_task"`.
        seed: int. `keras.utils.set_random_seed` before building, or None.
        verbose: int. Keras `fit` verbosity. Defaults to 0.

    Returns:
        `(model, history)`: the trained model and the `fit` history dict.
    """
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = model_lib.build(
        backbone,
        [task],
        input_shape,
        backbone_weights=backbone_weights,
        heads={task.name: head} if head else None,
        name=name or f"{task.name}_single_task",
    )
    if isinstance(optimizer, str):
        config = {"learning_rate": learning_rate}
        optimizer = keras.optimizers.get(
            {"class_name": optimizer, "config": config}
        )
    model.compile(optimizer=optimizer)
    names = [task.name]
    train = _data.select_labels(train_data, names)
    kwargs = {}
    if _data.is_dataset(train):
        x, y = _data.ensure_batched(train, batch_size), None
    else:
        x, y = train[0], train[1]
        kwargs["batch_size"] = batch_size
    if validation_data is not None:
        val = _data.select_labels(validation_data, names)
        if _data.is_dataset(val):
            val = _data.ensure_batched(val, batch_size)
        kwargs["validation_data"] = val
    history = model.fit(x, y, epochs=epochs, verbose=verbose, **kwargs)
    return model, history.history


def _train_one(
    backbone,
    task,
    input_shape,
    train_data,
    validation_data,
    settings,
    weights,
    head,
    verbose,
):
    """The best validation primary metric of one single-task run."""
    keras.backend.clear_session()
    _, history = train_single_task(
        backbone,
        task,
        input_shape,
        train_data,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        optimizer=settings["optimizer"],
        learning_rate=settings["learning_rate"],
        backbone_weights=weights,
        head=head,
        validation_data=validation_data,
        verbose=verbose,
    )
    key = f"val_{task.primary_metric}"
    if key not in history:
        raise ValueError(
            f"Training task '{task.name}' logged no '{key}'. "
            f"Received: history keys={sorted(history)}"
        )
    values = history[key]
    return float(max(values) if task.higher_is_better else min(values))


def _read_cache(path, settings):
    empty = {"baselines": {}, "runs": {}}
    if not path or not os.path.exists(path):
        return empty
    with open(path, encoding="utf-8") as f:
        content = json.load(f)
    if content.get("settings") != settings:
        return empty
    return {
        "baselines": dict(content.get("baselines", {})),
        "runs": dict(content.get("runs", {})),
    }


def _write_cache(path, settings, baselines, runs):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(
            {"settings": settings, "baselines": baselines, "runs": runs},
            f,
            indent=2,
            sort_keys=True,
        )
    os.replace(tmp, path)
