"""Shared helpers of the tuning tests (a module, not a test file)."""

import mtlzoo
from mtlzoo import testing

SHAPE = (32, 32, 1)
TASKS = [
    mtlzoo.Task("a", "classification", num_classes=3),
    mtlzoo.Task("b", "regression"),
]
BASELINES = {"a_accuracy": 0.4, "b_mae": 0.8}


def data(n=32, seed=0):
    """Random images and labels of `TASKS`: `(x, y)`."""
    x = testing.random_images(SHAPE, n, seed=seed)
    y = testing.random_labels(TASKS, SHAPE, n, seed=seed)
    return x, y


def search_config(directory, output=None):
    """A tiny `run_search` config on the shipped fashion sample."""
    config = {
        "backbone": "tiny",
        "tasks": ["garment", "ink"],
        "dataset": {
            "name": "fashion_tasks",
            "args": {"path": "sample", "size": 32},
            "train": {"num_samples": 48},
            "validation": {"num_samples": 16},
        },
        "search": {
            "levels": ["P3", "P5"],
            "head_units": [8, 16],
            "compile_options": {"run_eagerly": True},
        },
        "objective": {
            "name": "val_delta_m",
            "baselines": {"garment": 0.3, "ink": 0.1},
        },
        "tuner": {
            "type": "random_search",
            "max_trials": 2,
            "epochs": 1,
            "batch_size": 16,
            "directory": str(directory),
            "project_name": "search",
        },
    }
    if output:
        config["output"] = str(output)
    return config
