"""Models named on the command line: presets, `.keras` files, train outputs.

`load(name)` resolves a name the way `mtlzoo export` and `mtlzoo predict`
do: a `.keras` file, a `.json` config written by `mtlzoo train` (weights
file next to it), or a zoo preset (`mtlzoo.zoo.load`). `sample_data`
finds calibration and check images for export; `read_images` and
`predict` serve `mtlzoo predict`.
"""

import copy
import importlib
import os

import keras
import numpy as np

from mtlzoo.model import MultiTaskModel

# Packages that register mtlzoo's Keras classes (each imports all of its
# modules). The command line imports `mtlzoo` lazily, and a `.keras` file
# may name any of their classes.
_REGISTERING_MODULES = (
    "mtlzoo.architectures",
    "mtlzoo.backbones",
    "mtlzoo.callbacks",
    "mtlzoo.heads",
    "mtlzoo.metrics",
    "mtlzoo.model",
    "mtlzoo.tasks",
    "mtlzoo.weighting",
)


def load(name):
    """A model, its config (or None) and a file stem for outputs.

    Args:
        name: str. A `.keras` file, a `.json` config written by `mtlzoo
            train` (its `weights.file` is read next to it) or a preset name
            from `mtlzoo.zoo.list_models()`.

    Returns:
        `(model, config, stem)`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A model name is a string. Received: name={name!r}")
    stem = os.path.splitext(os.path.basename(name.rstrip("/")))[0]
    if name.endswith(".keras"):
        if not os.path.isfile(name):
            raise ValueError(f"No such .keras file. Received: name={name!r}")
        for module in _REGISTERING_MODULES:
            importlib.import_module(module)
        try:
            model = keras.models.load_model(name, compile=False)
        except Exception as error:  # zip, JSON and h5 errors come in types
            raise ValueError(
                f"Cannot read {name} as a Keras model file: "
                f"{type(error).__name__}: {error}. Received: name={name!r}"
            ) from None
        return model, None, stem
    if name.endswith(".json"):
        import json

        if not os.path.isfile(name):
            raise ValueError(f"No such config file. Received: name={name!r}")
        with open(name, encoding="utf-8") as f:
            config = json.load(f)
        if "architecture" not in config or "weights" not in config:
            raise ValueError(
                "A model config needs `architecture` and `weights` blocks "
                f"(as `mtlzoo train` writes). Received: name={name!r}"
            )
        model = MultiTaskModel.from_config(
            copy.deepcopy(config["architecture"])
        )
        weights = os.path.join(
            os.path.dirname(os.path.abspath(name)), config["weights"]["file"]
        )
        if not os.path.isfile(weights):
            raise ValueError(
                f"Weights file {weights} of the config is missing. "
                f"Received: name={name!r}"
            )
        model.load_weights(weights)
        return model, config, stem
    try:
        from mtlzoo import zoo
    except ImportError:
        zoo = None
    if zoo is None or os.path.sep in name:
        raise ValueError(
            "Expected a preset name, a .keras file or a .json config. "
            f"Received: name={name!r}"
        )
    model = zoo.load(name, compile=False)
    return model, zoo.get_config(name), name


def sample_data(model, config, data=None, samples=128):
    """Calibration images and `(images, labels)` to check an export with.

    Args:
        model: the model (gives the input shape and tasks).
        config: dict or None. A zoo or `mtlzoo train` config; its dataset
            gives the data when `data` is None.
        data: str. An `.npz` file with `images` (converted to the model's
            input by `mtlzoo.images.prepare`) and optional arrays named
            after tasks (labels). Defaults to None.
        samples: int. At most this many images each.

    Returns:
        `(calibration_images, (check_images, labels))`, or `(None, None)`
        when there is no data.
    """
    if data is not None:
        if not os.path.isfile(data) or not data.endswith(".npz"):
            raise ValueError(
                f"--data must be an existing .npz file. Received: data={data!r}"
            )
        arrays = np.load(data)
        if "images" not in arrays:
            raise ValueError(
                f"{data} has no `images` array; it has {sorted(arrays)}. "
                f"Received: data={data!r}"
            )
        from mtlzoo import images as images_lib

        # any size and channel count, as `mtlzoo predict` reads files
        images = images_lib.prepare(arrays["images"], model)
        names = [t.name for t in getattr(model, "tasks", [])]
        labels = {k: arrays[k] for k in names if k in arrays} or None
        check = (images[:samples], _cut(labels, samples))
        return images[:samples], check
    if config is None:
        return None, None
    from mtlzoo.app import train_config

    tasks = list(getattr(model, "tasks", []))
    try:
        train, _, test = train_config.load_datasets(config, tasks)
    except ValueError:
        if "dataset" not in config:
            return None, None
        raise
    calib = np.concatenate([x for x, _ in train.take(samples).batch(64)])
    xs, ys = [], []
    for x, y in test.take(samples).batch(64):
        xs.append(np.asarray(x))
        ys.append({k: np.asarray(v) for k, v in y.items()})
    labels = {k: np.concatenate([y[k] for y in ys]) for k in ys[0]}
    return calib, (np.concatenate(xs), labels)


def _cut(labels, n):
    if labels is None:
        return None
    return {k: v[:n] for k, v in labels.items()}


def read_images(paths, model):
    """Image files as a float32 batch (0..255) of the model's input shape.

    Each file goes through `mtlzoo.images.prepare`: converted to the
    model's channels (grey, RGB; alpha dropped) and resized (antialiased
    bilinear, stretched) to its input size.
    """
    from mtlzoo import images

    batch = [
        images.prepare(path, model) for path in _progress(paths, "reading")
    ]
    return np.concatenate(batch)


def predict(model, config, images, paths, output_dir, top_k=3):
    """Per-image outputs; dense outputs written as PNG files.

    Returns:
        A list (one per image) of `{"image": path, "outputs": {task: ...}}`
        where a dense output is `{"png": path, ...}` (its PNG and the
        kind's `Task.summarize`) and any other output what its kind's
        `Task.summarize` gives: for classification a list of
        `[class, probability]` (top `top_k`), by default the list of
        values.
    """
    from PIL import Image

    out = model.predict(images, verbose=0)
    if not isinstance(out, dict):
        out = {"output": out}
    tasks = {t.name: t for t in getattr(model, "tasks", [])}
    names = ((config or {}).get("dataset") or {}).get("class_names") or {}
    os.makedirs(output_dir, exist_ok=True)
    results = []
    for i, path in enumerate(paths):
        stem = os.path.splitext(os.path.basename(path))[0]
        outputs = {}
        for name, values in out.items():
            value = np.asarray(values[i])
            task = tasks.get(name)
            if task is None:
                outputs[name] = [float(v) for v in value.ravel()]
            elif task.is_dense:
                rgb = task.colorize(value[None])[0]
                png = os.path.join(output_dir, f"{stem}_{name}.png")
                Image.fromarray(rgb).save(png)
                outputs[name] = {"png": png, **task.summarize(value)}
            else:
                outputs[name] = task.summarize(value, names.get(name), top_k)
        results.append({"image": path, "outputs": outputs})
    return results


def describe(value):
    """One line for a `predict` output."""
    if isinstance(value, dict):
        extra = ", ".join(
            f"{k}={_short(v)}" for k, v in value.items() if k != "png"
        )
        return f"{value['png']} ({extra})"
    if value and isinstance(value[0], list):
        return ", ".join(f"{c} {p:.3f}" for c, p in value)
    return _short(value)


def _short(value):
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3g}" for v in value) + "]"
    return f"{value:.3g}"


def _progress(items, description):
    if len(items) < 16:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=description)
