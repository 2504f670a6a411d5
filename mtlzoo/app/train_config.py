"""Train a model from a zoo-style JSON config (what `mtlzoo train` runs).

A config has an `architecture` block (exactly `MultiTaskModel.get_config()`)
and a `training` block:

```json
{
  "name": "shapes_tiny",
  "architecture": {"backbone": "tiny", "tasks": [...], ...},
  "training": {
    "dataset": {"loader": "shapes",
                "args": {"size": 32},
                "train": {"split": "train", "num_samples": 512},
                "validation": {"split": "validation", "num_samples": 64},
                "test": {"split": "test", "num_samples": 128}},
    "epochs": 2, "batch_size": 32,
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.002}},
    "weighting": "equal", "weighting_options": {},
    "callbacks": [{"name": "DynamicWeightAveraging",
                   "args": {"temperature": 2.0}}],
    "seed": 0, "images": 4
  }
}
```

`dataset.loader` (or `name`, as in `mtlzoo search` configs, whose best
config trains as it is) is a function of `mtlzoo.datasets`; `args` go to
every split, `train` / `validation` / `test` to one (`validation` defaults to
the test split). The loader is asked for the architecture's tasks. A zoo
config (top-level `dataset` with `loader`, `train`, `test`, `paths`,
`sample`) works too: its recorded paths are used when they exist here,
else its shipped sample. Callbacks are named classes of
`mtlzoo.callbacks` or `keras.callbacks`.
"""

import copy
import json
import os
import time

import keras
import numpy as np

from mtlzoo import callbacks as callbacks_lib
from mtlzoo.app import plots
from mtlzoo.datasets import config as dataset_config
from mtlzoo.model import MultiTaskModel
from mtlzoo.presets.weights import weights_block
from mtlzoo.tasks import Task

TRAINING_KEYS = (
    "dataset",
    "epochs",
    "batch_size",
    "optimizer",
    "learning_rate",
    "weighting",
    "weighting_options",
    "loss_weights",
    "callbacks",
    "seed",
    "images",
)


def train(config, output_dir, name=None, epochs=None, verbose=2):
    """Build, train, evaluate and save a model described by a config.

    Writes into `output_dir`: `<name>.weights.h5`, `<name>.json` (the
    config with the built architecture, `weights` (file, sha256, size,
    params), `training.minutes` and `metrics` measured on the test split),
    `logs/` (TensorBoard: Keras scalars, `TaskBalanceLogger` task weights,
    losses and gradient conflict, `DensePredictionImages`), `curves.png`
    and `task_weights.png`.

    Args:
        config: dict. See the module docstring.
        output_dir: str. Output directory.
        name: str. Run name. Defaults to `config["name"]` or the
            architecture's name.
        epochs: int. Overrides `training.epochs`.
        verbose: int. Keras `fit` verbosity. Defaults to 2.

    Returns:
        dict with `weights`, `config`, `log_dir` (paths) and `metrics`.

    Example:

    >>> result = mtlzoo.app.train_config.train(config, "runs/shapes")
    >>> result["metrics"]["shape_accuracy"]
    """
    if not isinstance(config, dict) or "architecture" not in config:
        raise ValueError(
            "A training config needs an `architecture` block "
            "(MultiTaskModel.get_config()). Received: config keys="
            f"{sorted(config) if isinstance(config, dict) else config!r}"
        )
    training = dict(config.get("training") or {})
    unknown = sorted(set(training) - set(TRAINING_KEYS) - _ZOO_TRAINING)
    if unknown:
        raise ValueError(
            f"Unknown `training` key(s) {unknown}; allowed: "
            f"{list(TRAINING_KEYS)}. Received: training keys={sorted(training)}"
        )
    arch = copy.deepcopy(config["architecture"])
    name = name or config.get("name") or arch.get("name") or "model"
    epochs = int(epochs or training.get("epochs", 1))
    batch_size = int(training.get("batch_size", 32))
    keras.utils.set_random_seed(int(training.get("seed", 0)))

    model = MultiTaskModel.from_config(arch)
    names = [t.name for t in model.tasks]
    train_ds, val_ds, test_ds = load_datasets(config, model.tasks)
    train_ds = train_ds.batch(batch_size)
    val_ds = val_ds.batch(batch_size)
    test_ds = test_ds.batch(batch_size)

    optimizer = training.get("optimizer", "adam")
    if isinstance(optimizer, dict):
        optimizer = keras.optimizers.deserialize(copy.deepcopy(optimizer))
    else:
        optimizer = keras.optimizers.get(optimizer)
    if training.get("learning_rate") is not None:
        optimizer.learning_rate = float(training["learning_rate"])
    from mtlzoo import weighting as weighting_lib

    method = weighting_lib.get(
        training.get("weighting"), **training.get("weighting_options", {})
    )
    model.compile(
        optimizer=optimizer,
        weighting=method,
        loss_weights=training.get("loss_weights"),
    )

    os.makedirs(output_dir, exist_ok=True)
    log_dir = os.path.join(output_dir, "logs")
    x_fixed, y_fixed = _fixed_batch(val_ds, int(training.get("images", 4)))
    cbs = logging_callbacks(model, log_dir, x_fixed, y_fixed)
    cbs += build_callbacks(training.get("callbacks") or [])

    start = time.time()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        callbacks=cbs,
        verbose=verbose,
    )
    minutes = (time.time() - start) / 60.0
    results = model.evaluate(test_ds, return_dict=True, verbose=0)
    metrics = task_metrics(results, names)
    test_samples = int(sum(int(x.shape[0]) for x, _ in test_ds))

    out = copy.deepcopy(config)
    out.setdefault("training", {})
    out["training"]["epochs"] = epochs
    out["training"]["minutes"] = round(minutes, 3)
    out["metrics"] = _metrics_block(config, model.tasks, metrics, test_samples)
    weights_path, config_path = write_outputs(
        model, out, output_dir, name, history
    )
    return {
        "weights": weights_path,
        "config": config_path,
        "log_dir": log_dir,
        "metrics": metrics,
    }


# Informational keys of zoo configs and `mtlzoo search` results.
_ZOO_TRAINING = {
    "hyperparameters",
    "command",
    "losses",
    "train_samples",
    "budget",
    "minutes",
    "machine",
}


def dataset_block(config):
    """`(loader name, args per split)` of a config's dataset.

    The block is read by `mtlzoo.datasets.config` (the reader `mtlzoo
    eval`, `mtlzoo search` and the preset recipes use too); a zoo block
    whose recorded paths are missing here falls back to its shipped
    sample.
    """
    block = _dataset_block(config)
    splits = {
        split: dataset_config.split_arguments(block, split, missing="sample")
        for split in dataset_config.SPLITS
    }
    return block["loader"], splits


def _dataset_block(config):
    training = config.get("training") or {}
    block = training.get("dataset") or config.get("dataset")
    if not isinstance(block, dict) or not ({"loader", "name"} & set(block)):
        raise ValueError(
            "The config needs `training.dataset` (or a zoo `dataset` block) "
            "with a `loader` from mtlzoo.datasets. "
            f"Received: dataset={block!r}"
        )
    return dataset_config.read_block(block)


def load_datasets(config, tasks):
    """Unbatched train, validation and test datasets for `tasks`."""
    splits, _ = dataset_config.load_splits(
        _dataset_block(config), tasks=tasks, missing="sample"
    )
    return splits


check_tasks = dataset_config.check_tasks


def logging_callbacks(model, log_dir, x_fixed, y_fixed):
    """The TensorBoard callbacks of `mtlzoo train`.

    Keras's `TensorBoard` (losses, metrics, task weights), a
    `TaskBalanceLogger` (task weights, losses and gradient conflict on
    `(x_fixed, y_fixed)`) and, for models with dense tasks, a
    `DensePredictionImages` of that batch.
    """
    cbs = [
        keras.callbacks.TensorBoard(log_dir),
        callbacks_lib.TaskBalanceLogger(
            log_dir, conflict_data=(x_fixed, y_fixed)
        ),
    ]
    if any(t.is_dense for t in model.tasks):
        cbs.append(
            callbacks_lib.DensePredictionImages(log_dir, x_fixed, y_fixed)
        )
    return cbs


def task_metrics(results, names):
    """The task metrics of `evaluate` results (no losses, no weights)."""
    return {
        k: float(v)
        for k, v in results.items()
        if any(k.startswith(f"{n}_") for n in names)
        and not k.endswith(("_loss", "_weight"))
    }


def write_outputs(model, config, output_dir, name, history):
    """Write a trained model's weights, config and curves.

    Writes `<name>.weights.h5`, `<name>.json` (`config` with `name`, the
    model's `architecture` and a `weights` block: file, sha256, size,
    params), `curves.png` and `task_weights.png`.

    Returns:
        `(weights_path, config_path)`.
    """
    os.makedirs(output_dir, exist_ok=True)
    weights_file = f"{name}.weights.h5"
    weights_path = os.path.join(output_dir, weights_file)
    model.save_weights(weights_path)
    out = dict(config)
    out["name"] = name
    out["architecture"] = model.get_config()
    out["weights"] = weights_block(weights_path, model.count_params())
    config_path = os.path.join(output_dir, f"{name}.json")
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    plots.training_curves(history, os.path.join(output_dir, "curves.png"))
    plots.task_weights(history, os.path.join(output_dir, "task_weights.png"))
    return weights_path, config_path


def build_callbacks(specs):
    """Callbacks from `[{"name": ..., "args": {...}}]` entries."""
    out = []
    for spec in specs:
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(
                'A callback is {"name": ..., "args": {...}}. '
                f"Received: callback={spec!r}"
            )
        cls = getattr(callbacks_lib, spec["name"], None)
        cls = cls or getattr(keras.callbacks, spec["name"], None)
        if not isinstance(cls, type):
            raise ValueError(
                "Unknown callback; expected a class of mtlzoo.callbacks or "
                f"keras.callbacks. Received: name={spec['name']!r}"
            )
        out.append(cls(**(spec.get("args") or {})))
    return out


def _fixed_batch(dataset, count):
    images, labels = next(iter(dataset))
    x = np.asarray(images)[:count]
    y = {k: np.asarray(v)[:count] for k, v in labels.items()}
    return x, y


def _metrics_block(config, tasks, metrics, test_samples, split="test"):
    previous = config.get("metrics") or {}
    tasks = [t if isinstance(t, Task) else Task(**t) for t in tasks]
    block = {
        "split": split,
        f"{split}_samples": test_samples,
        "multi_task": metrics,
        "primary": {t.name: t.primary_metric for t in tasks},
        "higher_is_better": {
            t.primary_metric: t.higher_is_better for t in tasks
        },
    }
    single = previous.get("single_task") or {}
    primary = [t.primary_metric for t in tasks]
    if all(k in single and k in metrics for k in primary):
        from mtlzoo.metrics import delta_m

        block["single_task"] = single
        block["delta_m"] = delta_m(
            {k: metrics[k] for k in primary},
            {k: single[k] for k in primary},
            block["higher_is_better"],
        )
    return block
