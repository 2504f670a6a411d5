"""`load_weights` refuses a file saved by a model with other tasks.

Keras maps saved weights onto layers by position, so a file from a model
with other tasks either fails with a message about variable counts or,
worse, loads silently onto the wrong heads. A `.keras` file names its
model's tasks in its config; a `.weights.h5` file of a `MultiTaskModel`
holds one task-weight variable per task at its top level.
"""

import json
import os
import zipfile


def check_weights_file(model, filepath):
    """Raise when `filepath` holds the weights of a model with other tasks.

    Args:
        model: the `MultiTaskModel` loading the weights.
        filepath: str or path-like. A `.keras` or `.weights.h5` file.

    Raises:
        ValueError: naming both task lists (or counts, for `.h5` files).
    """
    path = os.fspath(filepath) if isinstance(filepath, os.PathLike) else None
    if isinstance(filepath, str):
        path = filepath
    if path is None or not os.path.isfile(path):
        return
    names = list(model.task_names)
    if path.endswith(".keras"):
        saved = _keras_file_tasks(path)
        if saved is not None and saved != names:
            raise ValueError(
                f"The file holds a model with tasks {saved}, but this model "
                f"has tasks {names}; weights load by position, so they would "
                "land on other heads. Build the model with the file's tasks, "
                "or load the whole model with `keras.saving.load_model`. "
                f"Received: filepath={path!r}"
            )
    elif path.endswith(".h5"):
        count = _h5_task_count(path)
        if count and count != len(names):
            raise ValueError(
                f"The file holds the weights of a model with {count} "
                f"task(s), but this model has {len(names)}: {names}. "
                f"Received: filepath={path!r}"
            )


def _keras_file_tasks(path):
    """Task names in a `.keras` file's config, or None if unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    tasks = (config.get("config") or {}).get("tasks")
    if not isinstance(tasks, list):
        return None
    names = []
    for task in tasks:
        if isinstance(task, dict) and isinstance(task.get("config"), dict):
            task = task["config"]
        if not isinstance(task, dict) or "name" not in task:
            return None
        names.append(task["name"])
    return names


def _h5_task_count(path):
    """The number of top-level variables of a `MultiTaskModel` weights
    file (its task weights), or None if unreadable."""
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            top = handle.get("vars")
            return None if top is None else len(top.keys())
    except (ImportError, OSError):
        return None
