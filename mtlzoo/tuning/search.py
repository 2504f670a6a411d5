"""Run a whole search from a JSON config (what `mtlzoo search` calls)."""

import json
import os

import keras_tuner as kt

from mtlzoo.datasets import config as datasets_config
from mtlzoo.tuning.baselines import measure_baselines
from mtlzoo.tuning.multi_task_hyper_model import MultiTaskHyperModel
from mtlzoo.tuning.objectives import objective as make_objective
from mtlzoo.tuning.results import best_config
from mtlzoo.tuning.search_space import check_list

TUNERS = {
    "random_search": kt.RandomSearch,
    "random": kt.RandomSearch,
    "hyperband": kt.Hyperband,
    "bayesian_optimization": kt.BayesianOptimization,
    "bayesian": kt.BayesianOptimization,
    "grid_search": kt.GridSearch,
    "grid": kt.GridSearch,
}
_SECTIONS = ("backbone", "input_shape", "tasks", "dataset", "search")
_SECTIONS += ("objective", "tuner", "output")
_SEARCH_KEYS = (
    "levels",
    "head_units",
    "head_layers",
    "dense_widths",
    "dense_convs",
    "weightings",
    "learning_rates",
    "batch_sizes",
    "groups",
    "weights",
    "heads",
    "optimizer",
    "compile_options",
)
_TUNER_KEYS = (
    "type",
    "max_trials",
    "epochs",
    "batch_size",
    "seed",
    "directory",
    "project_name",
    "overwrite",
    "executions_per_trial",
    "factor",
    "num_initial_points",
)


def load_data(dataset_config, tasks=None):
    """Train and validation datasets from a config's `dataset` section.

    Args:
        dataset_config: dict. `{"name": <loader in mtlzoo.datasets>,
            "args": {...common...}, "train": {...}, "validation": {...}}`;
            `train` defaults to `{"split": "train"}`, `validation` to
            `{"split": "test"}`.
        tasks: list of task names to load. Defaults to the loader's.

    Returns:
        `(train, validation, tasks)`: unbatched datasets and `Task`s.
    """
    if not isinstance(dataset_config, dict) or "name" not in dataset_config:
        raise ValueError(
            "The `dataset` section must be a dict with a `name`. "
            f"Received: dataset={dataset_config!r}"
        )
    _check_keys(
        "dataset", dataset_config, ("name", "args", "train"), ("validation",)
    )
    block = dict(dataset_config)
    if isinstance(block.get("validation"), dict):
        # In search configs the validation data is the test split unless
        # the block names another (the reader would default to its own).
        block["validation"] = {"split": "test", **block["validation"]}
    (train, validation), task_list = datasets_config.load_splits(
        block, tasks=tasks, splits=("train", "validation")
    )
    return train, validation, task_list


def run_search(config, verbose=1):
    """Build a hypermodel and tuner from a config, search, return the best.

    Config sections (JSON):
    - `backbone` (str), `input_shape` (optional; read from the data).
    - `tasks`: optional list of task names of the dataset to use.
    - `dataset`: see `load_data`.
    - `search`: `MultiTaskHyperModel` arguments (`levels`, `head_units`,
      `head_layers`, `dense_widths`, `dense_convs`, `weightings`,
      `learning_rates`, `batch_sizes`, `groups`, `weights`, `heads`,
      `optimizer`, `compile_options`).
    - `objective`: `{"name": "val_delta_m", "baselines": dict | path |
      "measure", "baselines_path": path, "weights", "scales", "cost",
      "cost_weight", "cost_reference"}`. `"measure"` trains single-task
      baselines with the trial budget first (`measure_baselines`), cached
      in `baselines_path` (default `<directory>/<project>_baselines.json`,
      outside the project folder that `overwrite` clears).
    - `tuner`: `{"type": "random_search" | "hyperband" |
      "bayesian_optimization" | "grid_search", "max_trials", "epochs"
      (Hyperband's `max_epochs`), "batch_size", "seed", "directory",
      "project_name", "overwrite", "executions_per_trial", "factor",
      "num_initial_points"}`.
    - `output`: optional path; the best config is written there as JSON.

    Progress is keras-tuner's own output.

    Distributed search (keras-tuner's distributed mode): start the same
    call with the same config in one chief process and any number of
    worker processes, each with `KERASTUNER_ORACLE_IP` and
    `KERASTUNER_ORACLE_PORT` (where the chief listens; every worker must
    reach it) and its own `KERASTUNER_TUNER_ID`: `"chief"` for the chief,
    `"tuner0"`, `"tuner1"`, ... for the workers. The chief serves the
    oracle (it trains nothing), writes the trial records, `output` and the
    final `oracle.json`, and returns the best config once every worker is
    done; a worker runs trials until `max_trials` trials (counted over all
    workers) have started, writes only its own trials' checkpoints and
    `<tuner_id>.json`, and returns None. Workers never clear the project
    folder (`overwrite` applies on the chief only), so a shared
    `directory` is safe. `"baselines": "measure"` is refused here: measure
    them once beforehand and pass the file (`"baselines": path`), so every
    worker scores against the same numbers.

    Args:
        config: dict or path of a JSON file.
        verbose: int. keras-tuner verbosity. Defaults to 1.

    Returns:
        The best config (see `best_config`), with the search config under
        `"search"]["config"]`; None on a distributed worker.

    Example:

    >>> best = mtlzoo.tuning.run_search({
    ...     "backbone": "tiny",
    ...     "dataset": {"name": "fashion_tasks",
    ...                 "args": {"path": "sample", "size": 32}},
    ...     "tasks": ["garment", "ink"],
    ...     "objective": {"name": "val_delta_m", "baselines": "measure"},
    ...     "tuner": {"type": "random_search", "max_trials": 3,
    ...               "epochs": 1, "directory": "/tmp/search"}})
    """
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    if not isinstance(config, dict):
        raise ValueError(
            f"A search config must be a dict. Received: config={config!r}"
        )
    _check_keys("config", config, ("backbone", "dataset"), _SECTIONS)
    search = dict(config.get("search") or {})
    _check_keys("search", search, (), _SEARCH_KEYS)
    tuner_cfg = dict(config.get("tuner") or {})
    _check_keys("tuner", tuner_cfg, (), _TUNER_KEYS)
    kind = tuner_cfg.get("type", "random_search")
    if kind not in TUNERS:
        raise ValueError(
            f"Unknown tuner type; expected one of {sorted(TUNERS)}. "
            f"Received: type={kind!r}"
        )
    _check_counts(tuner_cfg)
    distributed = _is_distributed()
    obj_cfg = dict(config.get("objective") or {"name": "val_delta_m"})
    if obj_cfg.get("baselines") == "measure" and distributed:
        raise ValueError(
            "`baselines: measure` cannot be used in a distributed search: "
            "each process would train its own baselines and workers would "
            "score trials against different numbers. Measure them once "
            "(`mtlzoo.tuning.measure_baselines(..., path=...)` or a run "
            "without the KERASTUNER_* variables) and pass the file as "
            "`baselines`. Received: baselines='measure', "
            f"KERASTUNER_TUNER_ID={os.environ.get('KERASTUNER_TUNER_ID')!r}"
        )
    if "learning_rates" in search:  # also used by "measure" below
        check_list(
            "learning_rates", search["learning_rates"], float, positive=True
        )
    epochs = int(tuner_cfg.get("epochs", 1))
    batch_size = int(tuner_cfg.get("batch_size", 32))
    directory = tuner_cfg.get("directory", "mtlzoo_search")
    project = tuner_cfg.get("project_name", "search")

    train, validation, tasks = load_data(config["dataset"], config.get("tasks"))
    input_shape = config.get("input_shape") or tuple(
        int(d) for d in train.element_spec[0].shape
    )
    train = train.batch(batch_size)
    validation = validation.batch(batch_size)

    baselines = obj_cfg.pop("baselines", None)
    baselines_path = obj_cfg.pop("baselines_path", None)
    if baselines == "measure":
        baselines = measure_baselines(
            config["backbone"],
            tasks,
            input_shape,
            train,
            validation,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=(search.get("learning_rates") or [1e-3])[0],
            optimizer=search.get("optimizer", "adam"),
            weights=search.get("weights"),
            path=baselines_path
            or os.path.join(directory, f"{project}_baselines.json"),
            data_key=json.dumps(config["dataset"], sort_keys=True),
        )
    objective = make_objective(
        obj_cfg.pop("name", "val_delta_m"),
        baselines=baselines,
        tasks=tasks,
        **obj_cfg,
    )
    hypermodel = MultiTaskHyperModel(
        config["backbone"],
        tasks,
        input_shape,
        objective=objective,
        **search,
    )
    common = {
        "objective": objective,
        "seed": tuner_cfg.get("seed", 0),
        "directory": directory,
        "project_name": project,
        # A worker must not clear the folder the chief writes the trials to.
        "overwrite": tuner_cfg.get("overwrite", True) and not _is_worker(),
        "executions_per_trial": tuner_cfg.get("executions_per_trial", 1),
    }
    fit_kwargs = {"validation_data": validation}
    tuner_class = TUNERS[kind]
    if tuner_class is kt.Hyperband:
        tuner = tuner_class(
            hypermodel,
            max_epochs=epochs,
            factor=tuner_cfg.get("factor", 3),
            **common,
        )
    else:
        extra = {}
        if tuner_class is kt.BayesianOptimization:
            if "num_initial_points" in tuner_cfg:
                extra["num_initial_points"] = tuner_cfg["num_initial_points"]
        tuner = tuner_class(
            hypermodel,
            max_trials=tuner_cfg.get("max_trials", 10),
            **common,
            **extra,
        )
        fit_kwargs["epochs"] = epochs
    tuner.search(train, verbose=verbose, **fit_kwargs)
    if _is_worker():
        return None
    if distributed:
        # keras-tuner's chief last saved its oracle before the last trial
        # left `ongoing_trials`: oracle.json would list it as running.
        tuner.save()
    best = best_config(tuner)
    best["search"]["config"] = config
    best["training"].setdefault("epochs", epochs)
    best["training"].setdefault("batch_size", batch_size)
    best["dataset"] = config["dataset"]
    if config.get("output"):
        path = config["output"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(best, f, indent=2, sort_keys=True)
    return best


def _is_distributed():
    """keras-tuner's distributed mode is on (it checks the same variable)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return False
    names = ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise ValueError(
            "A distributed search needs KERASTUNER_ORACLE_IP, "
            "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID (`chief` on the "
            f"chief, `tuner0`, `tuner1`, ... on workers); {missing} not set. "
            "Received: KERASTUNER_ORACLE_IP="
            f"{os.environ['KERASTUNER_ORACLE_IP']!r}"
        )
    return True


def _is_worker():
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "")
    return _is_distributed() and "chief" not in tuner_id


def _check_counts(tuner_cfg):
    """The tuner section's counts are ints >= 1 (keras-tuner would run
    forever with `max_trials: 0`)."""
    for key in ("max_trials", "epochs", "batch_size", "executions_per_trial"):
        value = tuner_cfg.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Search config section `tuner`: `{key}` must be an int >= 1. "
                f"Received: {key}={value!r}"
            )


def _check_keys(section, values, required, optional):
    missing = [k for k in required if k not in values]
    unknown = sorted(set(values) - set(required) - set(optional))
    if missing or unknown:
        raise ValueError(
            f"Search config section `{section}`: missing {missing}, unknown "
            f"{unknown}; allowed keys are {list(required) + list(optional)}. "
            f"Received: {section} keys={sorted(values)}"
        )
