"""Read a finished search: the best branch tree and a zoo-style config."""

import math

TUNER_KEYS = "tuner/"


def _best(tuner):
    trials = tuner.oracle.get_best_trials(1)
    if not trials:
        raise ValueError(
            "The tuner has no completed trial yet; run `tuner.search(...)` "
            f"first. Received: tuner={type(tuner).__name__}"
        )
    hypermodel = tuner.hypermodel
    if not hasattr(hypermodel, "branch_points"):
        raise ValueError(
            "The tuner's hypermodel must be a "
            "mtlzoo.tuning.MultiTaskHyperModel. Received: hypermodel of "
            f"type {type(hypermodel).__name__}"
        )
    return trials[0], hypermodel


def best_branch_points(tuner):
    """The branch tree of the best trial, as a `branch_points` dict.

    Args:
        tuner: a keras-tuner `Tuner` over a `MultiTaskHyperModel`, after
            `search`.

    Returns:
        dict task (or tuple of tasks) -> level, e.g.
        `{"garment": "P5", "mask": "P3", ("group", "ink"): "P4"}`.

    Example:

    >>> tuner.search(train_ds, validation_data=val_ds, epochs=2)
    >>> model = mtlzoo.build("tiny", tasks, (32, 32, 1),
    ...                      branch_points=best_branch_points(tuner))
    """
    trial, hypermodel = _best(tuner)
    return hypermodel.branch_points(trial.hyperparameters.copy())


def best_config(tuner):
    """A ready zoo-style config of the best trial.

    Args:
        tuner: a keras-tuner `Tuner` over a `MultiTaskHyperModel`, after
            `search`.

    Returns:
        dict with `"architecture"` (`MultiTaskModel.get_config()` of the
        best model; `MultiTaskModel.from_config` rebuilds it), `"training"`
        (optimizer, learning rate, weighting, batch size, every chosen
        hyperparameter) and `"search"` (tuner, objective, score, trial id,
        the best trial's metrics). JSON-serialisable.

    Example:

    >>> config = mtlzoo.tuning.best_config(tuner)
    >>> model = mtlzoo.MultiTaskModel.from_config(config["architecture"])
    """
    trial, hypermodel = _best(tuner)
    hp = trial.hyperparameters.copy()
    model = hypermodel.build_model(hp, weights=None)
    architecture = model.get_config()
    del model
    training = {"optimizer": hypermodel.optimizer}
    training.update(hypermodel.training_options(hp))
    values = {
        k: v for k, v in hp.values.items() if not k.startswith(TUNER_KEYS)
    }
    training["hyperparameters"] = values
    if "tuner/epochs" in hp.values:
        training["epochs"] = int(hp.values["tuner/epochs"])
    metrics = {}
    for name in trial.metrics.metrics:
        value = trial.metrics.get_last_value(name)
        if value is not None:
            metrics[name] = _json_float(value)
    objective = tuner.oracle.objective
    return {
        "architecture": architecture,
        "training": training,
        "search": {
            "tuner": type(tuner).__name__,
            "objective": objective.name,
            "direction": objective.direction,
            "score": _json_float(trial.score),
            "trial_id": trial.trial_id,
            "metrics": metrics,
        },
    }


def _json_float(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
