"""The zoo config schema and its check.

A zoo config (`zoo_configs/<name>/config.json`) has these blocks:

- `name` (str): the preset name, equal to its folder's name.
- `description` (str): one paragraph.
- `architecture` (dict): exactly `MultiTaskModel.get_config()`.
- `training` (dict): how the weights were made: `command` (the exact
  command that reproduces the preset), `losses` (task -> loss), `weighting`
  (name) and `weighting_options`, `optimizer` (a serialised Keras
  optimizer), `epochs`, `batch_size`, `train_samples`, `seed`, `budget`
  (the rule shared with the single-task baselines), `minutes` (measured
  wall time: `multi_task`, `single_task` per task, `total`) and `machine`.
- `weights` (dict): `file`, required `sha256`, `size_bytes`, `params`,
  optional `url`.
- `metrics` (dict): measured on `split` (`test_samples` items):
  `multi_task` and `single_task` (metric name -> value, same keys),
  `primary` (task -> its primary metric), `higher_is_better`,
  `delta_m` (percent, one primary metric per task), `delta_m_definition`,
  `delta_m_all_metrics` (percent, every metric), optional `variants`
  (other multi-task runs with the same budget), optional `validation`
  (`samples` and the baselines' `single_task` metrics on the dataset's
  validation split; then every variant carries its `validation_delta_m`
  and the shipped one has the highest) and optional `seeds`
  (`run`: the shipped run's label; `runs`: per seed its `multi_task`,
  `single_task` and `delta_m`, the card's own seed first;
  `delta_m_mean`, `delta_m_std`).
- `dataset` (dict): `name`, `loader` (a function of `mtlzoo.datasets`),
  `train` and `test` (its keyword arguments), optional `validation`
  (the same for the held-out split the shipped run was chosen on),
  `paths` (data locations used for training), `sample` (arguments that
  select the shipped sample, or null), `search` (whether the loader's own
  search/download finds the same data), `source`, `license`, optional
  `class_names`.
- `license` (str): the licence of the weights.
- `source` (dict, optional): for presets converted from another runtime
  (`source.converted_from` set), see `mtlzoo.presets.converted`: they have
  no `training` or `dataset` block, and their `metrics` block holds the
  agreement with the original runtime instead of baselines and delta_m.

`validate_config(config)` returns the config or raises one `ValueError`
listing every problem.
"""

import re

from mtlzoo.presets import converted as converted_lib
from mtlzoo.presets import first_use

_NUMBER = (int, float)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
ARCHITECTURE_KEYS = (
    "backbone",
    "tasks",
    "input_shape",
    "architecture",
    "branch_points",
    "heads",
    "preprocessing",
    "architecture_options",
    "name",
    "trainable",
)

# key -> (types, required)
_TOP = {
    "name": (str, True),
    "description": (str, True),
    "architecture": (dict, True),
    "training": (dict, True),
    "weights": (dict, True),
    "metrics": (dict, True),
    "dataset": (dict, True),
    "license": (str, True),
    "source": (dict, False),
}
_TRAINING = {
    "command": (str, True),
    "losses": (dict, True),
    "weighting": (str, True),
    "weighting_options": (dict, True),
    "optimizer": (dict, True),
    "epochs": (int, True),
    "batch_size": (int, True),
    "train_samples": (int, True),
    "seed": (int, True),
    "budget": (str, True),
    "minutes": (dict, True),
    "machine": (str, True),
}
_WEIGHTS = {
    "file": (str, True),
    "sha256": (str, True),
    "size_bytes": (int, True),
    "params": (int, True),
    "url": (str, False),
    "convert_from": (dict, False),
}
_METRICS = {
    "split": (str, True),
    "test_samples": (int, True),
    "multi_task": (dict, True),
    "single_task": (dict, True),
    "primary": (dict, True),
    "higher_is_better": (dict, True),
    "delta_m": (_NUMBER, True),
    "delta_m_definition": (str, True),
    "delta_m_all_metrics": (_NUMBER, True),
    "variants": (list, False),
    "validation": (dict, False),
    "seeds": (dict, False),
}
_DATASET = {
    "name": (str, True),
    "loader": (str, True),
    "train": (dict, True),
    "test": (dict, True),
    "validation": (dict, False),
    "paths": (dict, True),
    "sample": ((dict, type(None)), True),
    "search": (bool, True),
    "source": (str, True),
    "license": (str, True),
    "class_names": (dict, False),
}


def metric_higher_is_better(metric):
    """Whether a larger value of a logged task metric is better.

    The directions are the task kinds' (`Task.metric_directions`); the
    longest matching suffix wins.

    Args:
        metric: str. A metric log name such as `"mask_mean_iou"`.

    Returns:
        bool.
    """
    # Imported here: the kinds import Keras, the rest of the schema not.
    from mtlzoo.tasks import metric_directions

    directions = metric_directions()
    for suffix in sorted(directions, key=len, reverse=True):
        if metric.endswith("_" + suffix):
            return directions[suffix]
    raise ValueError(
        f"Unknown metric; expected a name ending in one of "
        f"{sorted(directions)}. Received: metric={metric!r}"
    )


def _check_block(block, spec, where, errors):
    if not isinstance(block, dict):
        errors.append(f"{where} must be an object")
        return False
    for key, (types, required) in spec.items():
        if key not in block:
            if required:
                errors.append(f"{where}.{key} is missing")
            continue
        value = block[key]
        if isinstance(value, bool) and bool not in _as_tuple(types):
            errors.append(f"{where}.{key} must not be a boolean")
        elif not isinstance(value, types):
            errors.append(
                f"{where}.{key} must be {_type_names(types)}, "
                f"not {type(value).__name__}"
            )
    unknown = sorted(set(block) - set(spec))
    if unknown:
        errors.append(f"{where} has unknown key(s) {unknown}")
    return True


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _type_names(types):
    names = {"dict": "an object", "list": "a list", "str": "a string"}
    return " or ".join(
        names.get(t.__name__, t.__name__) for t in _as_tuple(types)
    )


def _check_architecture(arch, errors):
    missing = [k for k in ARCHITECTURE_KEYS if k not in arch]
    unknown = sorted(set(arch) - set(ARCHITECTURE_KEYS))
    if missing:
        errors.append(f"architecture lacks {missing}")
    if unknown:
        errors.append(f"architecture has unknown key(s) {unknown}")
    tasks = arch.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        errors.append("architecture.tasks must be a non-empty list")
        return []
    names = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("name"), str):
            errors.append(f"architecture.tasks[{i}] must be a task config")
            continue
        names.append(task["name"])
    shape = arch.get("input_shape")
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(isinstance(d, int) and d > 0 for d in shape)
    ):
        errors.append("architecture.input_shape must be 3 positive ints")
    return names


def _check_metrics(metrics, tasks, errors):
    mtl = metrics.get("multi_task")
    stl = metrics.get("single_task")
    if not isinstance(mtl, dict) or not isinstance(stl, dict):
        return
    if set(mtl) != set(stl):
        errors.append(
            "metrics.multi_task and metrics.single_task name different "
            f"metrics: {sorted(set(mtl) ^ set(stl))}"
        )
    for block_name, block in (("multi_task", mtl), ("single_task", stl)):
        for key, value in block.items():
            if isinstance(value, bool) or not isinstance(value, _NUMBER):
                errors.append(f"metrics.{block_name}.{key} must be a number")
    primary = metrics.get("primary")
    if isinstance(primary, dict):
        if tasks and sorted(primary) != sorted(tasks):
            errors.append(
                f"metrics.primary must name every task {sorted(tasks)}; "
                f"it names {sorted(primary)}"
            )
        for task, metric in primary.items():
            if metric not in mtl:
                errors.append(
                    f"metrics.primary.{task} = {metric!r} is not a measured "
                    "metric"
                )
    directions = metrics.get("higher_is_better")
    if isinstance(directions, dict):
        for key in mtl:
            try:
                expected = metric_higher_is_better(key)
            except ValueError as error:
                errors.append(f"metrics.multi_task: {error}")
                continue
            if directions.get(key) is not expected:
                errors.append(
                    f"metrics.higher_is_better.{key} must be {expected}"
                )
    for key in mtl:
        if not any(key.startswith(t + "_") for t in tasks):
            errors.append(f"metric {key!r} belongs to no task")
    for i, variant in enumerate(metrics.get("variants") or []):
        if not isinstance(variant, dict) or not {
            "label",
            "multi_task",
            "delta_m",
        } <= set(variant):
            errors.append(
                f"metrics.variants[{i}] needs label, multi_task and delta_m"
            )
    variants = metrics.get("variants") or []
    shipped = [v.get("shipped") for v in variants if isinstance(v, dict)]
    if variants and shipped.count(True) != 1:
        errors.append(
            "metrics.variants must mark exactly one run shipped=true; "
            f"marked: {shipped.count(True)}"
        )
    if metrics.get("validation") is not None:
        _check_validation(metrics, variants, errors)
    seeds = metrics.get("seeds")
    if seeds is not None:
        _check_seeds(seeds, metrics, errors)


def _check_validation(metrics, variants, errors):
    validation = metrics["validation"]
    if not isinstance(validation, dict) or not {
        "samples",
        "single_task",
    } <= set(validation):
        errors.append("metrics.validation needs samples and single_task")
        return
    if not variants:
        return
    scores = [
        v.get("validation_delta_m") for v in variants if isinstance(v, dict)
    ]
    if not all(isinstance(x, _NUMBER) for x in scores):
        errors.append(
            "with metrics.validation every variant needs a numeric "
            "validation_delta_m"
        )
        return
    best = max(scores)
    for v in variants:
        if v.get("shipped") and v["validation_delta_m"] != best:
            errors.append(
                "the shipped variant must have the highest "
                f"validation_delta_m ({best}); {v.get('label')!r} has "
                f"{v['validation_delta_m']}"
            )


def _check_seeds(seeds, metrics, errors):
    need = {"run", "runs", "delta_m_mean", "delta_m_std"}
    if not isinstance(seeds, dict) or not need <= set(seeds):
        errors.append(f"metrics.seeds needs {sorted(need)}")
        return
    runs = seeds["runs"]
    if not isinstance(runs, list) or len(runs) < 2:
        errors.append("metrics.seeds.runs must list at least two seeds")
        return
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not {
            "seed",
            "multi_task",
            "single_task",
            "delta_m",
        } <= set(run):
            errors.append(
                f"metrics.seeds.runs[{i}] needs seed, multi_task, "
                "single_task and delta_m"
            )
            return
    if runs[0]["delta_m"] != metrics.get("delta_m"):
        errors.append(
            "metrics.seeds.runs[0] must be the card's own run: its delta_m "
            f"{runs[0]['delta_m']} differs from metrics.delta_m "
            f"{metrics.get('delta_m')}"
        )
    values = [run["delta_m"] for run in runs]
    mean = sum(values) / len(values)
    if abs(mean - seeds["delta_m_mean"]) > 1e-3:
        errors.append(
            f"metrics.seeds.delta_m_mean {seeds['delta_m_mean']} is not the "
            f"mean of the runs' delta_m ({mean:.3f})"
        )


def validate_config(config, name=None):
    """Check a zoo config against the schema.

    Args:
        config: dict. A parsed zoo config.
        name: str. The expected preset name (the preset folder's name).
            Defaults to None (not checked).

    Returns:
        The config, unchanged.

    Raises:
        ValueError: listing every problem found.

    Example:

    >>> validate_config(mtlzoo.zoo.get_config("fashion_tiny_test"))
    """
    errors = []
    converted = converted_lib.is_converted(config)
    top = converted_lib.TOP if converted else _TOP
    if not _check_block(config, top, "config", errors):
        raise ValueError(
            f"A zoo config must be a JSON object. Received: config={config!r}"
        )
    preset = config.get("name")
    if isinstance(preset, str) and not _NAME.match(preset):
        errors.append("name must be lower_snake_case")
    if name is not None and preset != name:
        errors.append(f"name {preset!r} differs from the folder name {name!r}")
    tasks = []
    arch = config.get("architecture")
    if isinstance(arch, dict):
        tasks = _check_architecture(arch, errors)
    training = config.get("training")
    if converted:
        converted_lib.check_config(config, tasks, errors, _check_block)
    elif _check_block(training, _TRAINING, "training", errors) and tasks:
        losses = training.get("losses")
        if isinstance(losses, dict) and sorted(losses) != sorted(tasks):
            errors.append(f"training.losses must name every task {tasks}")
        minutes = training.get("minutes")
        if isinstance(minutes, dict) and not {
            "multi_task",
            "single_task",
            "total",
        } <= set(minutes):
            errors.append(
                "training.minutes needs multi_task, single_task and total"
            )
        command = training.get("command")
        if isinstance(command, str) and "tools/train_preset.py" not in command:
            errors.append("training.command must run tools/train_preset.py")
    weights = config.get("weights")
    if _check_block(weights, _WEIGHTS, "weights", errors):
        sha = weights.get("sha256")
        if isinstance(sha, str) and not _HEX64.match(sha):
            errors.append("weights.sha256 must be 64 lowercase hex digits")
        file = weights.get("file")
        if isinstance(file, str) and (
            "/" in file or "\\" in file or not file.endswith(".weights.h5")
        ):
            errors.append("weights.file must be a bare NAME.weights.h5")
        if isinstance(weights.get("convert_from"), dict):
            errors.extend(first_use.spec_problems(weights["convert_from"]))
    metrics = config.get("metrics")
    if not converted and _check_block(metrics, _METRICS, "metrics", errors):
        _check_metrics(metrics, tasks, errors)
    dataset = config.get("dataset")
    if (
        not converted
        and _check_block(dataset, _DATASET, "dataset", errors)
        and isinstance(metrics, dict)
    ):
        if metrics.get("validation") is not None and not dataset.get(
            "validation"
        ):
            errors.append(
                "metrics.validation needs dataset.validation (the split it "
                "was measured on)"
            )
    if errors:
        raise ValueError(
            f"Invalid zoo config ({len(errors)} problem(s)): "
            + "; ".join(errors)
            + f". Received: name={preset!r}"
        )
    return config
