"""Model outputs as values users need: points in image pixels, masks at the
image's resolution, probabilities, boxes, ages in years.

Models that work on a crop of a photo (a face, a hand, a person) predict
in the crop's frame: keypoints in fractions of the crop, masks at the
input's size. `postprocess` maps every output back to the photo, through
each task kind's `Task.postprocess` hook, then applies what a preset's
`source.postprocess` block in its `config.json` says its outputs mean
(`box_offsets`, `value` with a unit, `world` points, skeleton `edges`).
`square_box` and `crop_input` make the crop the way the presets expect.

Example:

>>> model = mtlzoo.load("faces_mtcnn_onet")
>>> box = mtlzoo.zoo.square_box((182, 64, 265, 171))  # a face detection
>>> batch = mtlzoo.zoo.crop_input(photo, box, model)
>>> (result,) = mtlzoo.postprocess(model, model.predict(batch), crop_box=box)
>>> result["landmarks"]["points"]  # (5, 2) pixels of the photo
"""

import copy
import math
import numbers

import numpy as np

from mtlzoo.presets import registry
from mtlzoo.tasks import validate_tasks

#: Widest crop (pixels) `square_box` makes: beyond, a box is a mistake.
_MAX_SIDE = 1e7
#: A crop may reach outside the photo by at most this many photo sizes.
_MAX_CROP_OVERHANG = 4

#: What a preset's `source.postprocess.tasks.<task>.as` may say.
INTERPRETATIONS = ("box_offsets", "probability", "value", "world")


def postprocess(model, outputs, image_size=None, crop_box=None, threshold=0.5):
    """Turn a batch of model outputs into plain values in the photo's frame.

    Every task goes through its kind's `Task.postprocess` hook:

    - `keypoints`: `points` `(K, coords)` in pixels of the photo
      (`x = left + x_fraction * crop width`, `z` scaled like `x`),
      `visibility` (probabilities, or None) and `names`;
    - `segmentation`: `probabilities` `(height, width, C)` and `mask`
      `(height, width)` (int32 class ids; two classes: class 1 where its
      probability >= `threshold`) at the photo's resolution, and
      `fractions` of its pixels per class;
    - `classification`: `probabilities` (class name -> probability),
      `class`, `score`, and for two classes `probability` (of class 1);
    - `regression`: `values` (and `value` for one unit);
    - `box`: `box` `[x1, y1, x2, y2]` in photo pixels, `class`, `score`;
    - `heatmap`: `points` (each map's peak, photo pixels) and `scores`;
      other kinds: their own hook, by default `values` (the raw output).

    A converted preset's `config.json` may say more in
    `source.postprocess.tasks`: `{"as": "box_offsets"}` adds `box`
    `[x1, y1, x2, y2]` in photo pixels (MTCNN: crop corners moved by the
    offsets times the crop size); `{"as": "value", "unit": "years",
    "scale": s, "offset": o}` sets `value = raw * s + o` and `unit`;
    `{"as": "probability", "class": name}` sets `probability` to that
    class's; `{"as": "world", "unit": "metres"}` keeps keypoints in the
    model's own 3-D frame (not mapped to the photo); `edges` (pairs of
    point indices) is passed on for drawing.

    Args:
        model: a `mtlzoo.MultiTaskModel` or a preset name. Gives the tasks
            (and, for a preset, its `source.postprocess` block).
        outputs: dict task name -> batched array, as `model.predict`
            returns.
        image_size: `(height, width)` of the photo. Defaults to None: the
            model's input size when `crop_box` is None (the outputs stay in
            the input's frame); required with `crop_box` by dense tasks.
        crop_box: `(left, top, right, bottom)` in pixels of the photo: the
            region resized into the model's input (PIL's `Image.crop`
            convention), or one such box per image, shape `(N, 4)`.
            Defaults to None: the whole photo (stretched to the input).
        threshold: float in [0, 1]. Cut-off for probabilities turned into
            decisions (two-class masks, multilabel labels). Defaults to
            0.5.

    Returns:
        A list with one dict per image: task name -> dict of NumPy arrays
        and Python numbers, strings and lists.

    Example:

    >>> model = mtlzoo.load("faces_mtcnn_onet")
    >>> out = model.predict(batch)  # batch: 48x48 crops of `box`
    >>> (result,) = mtlzoo.postprocess(model, out, crop_box=box)
    >>> result["face"]["probability"], result["box"]["box"]
    """
    tasks, spec, input_size = _tasks_spec(model)
    batch = _check_outputs(tasks, outputs, input_size)
    threshold = _check_threshold(threshold)
    if image_size is not None:
        image_size = _check_image_size(image_size)
    if crop_box is None:
        if image_size is None:
            image_size = input_size
        boxes = [(0.0, 0.0, float(image_size[1]), float(image_size[0]))]
        boxes = boxes * batch
    else:
        boxes = _check_crop_boxes(crop_box, batch)
        dense = [t.name for t in tasks if t.is_dense]
        if image_size is None and dense:
            raise ValueError(
                f"Dense tasks {dense} need the photo's `image_size` "
                "(height, width) to place their maps. Received: "
                "image_size=None"
            )
    results = []
    for i, box in enumerate(boxes):
        result = {}
        for task in tasks:
            value = np.asarray(outputs[task.name][i])
            out = task.postprocess(value, box, image_size, threshold)
            extra = (spec.get("tasks") or {}).get(task.name)
            if extra:
                out = _interpret(task, extra, value, out, box)
            result[task.name] = out
        results.append(result)
    return results


def square_box(box, scale=1.0):
    """The square crop box around a detection box, in whole pixels.

    The square has the longer side of `box` times `scale`, the same
    centre, and is rounded to whole pixels (so `crop_input` and
    `postprocess` use exactly the same region). MTCNN and the MediaPipe
    models take square crops.

    Args:
        box: `(left, top, right, bottom)` in pixels.
        scale: float > 0. Side of the square over the box's longer side.
            Defaults to 1.0.

    Returns:
        `(left, top, right, bottom)`: a tuple of 4 ints.

    Example:

    >>> mtlzoo.zoo.square_box((182, 64, 265, 171))
    (170, 64, 277, 171)
    """
    (left, top, right, bottom) = _check_box(box, "box")
    if (
        isinstance(scale, bool)
        or not isinstance(scale, numbers.Real)
        or not 0 < scale < math.inf
    ):
        raise ValueError(
            "`scale` must be a positive finite number. "
            f"Received: scale={scale!r}"
        )
    side = max(right - left, bottom - top) * float(scale)
    if not side < _MAX_SIDE:
        raise ValueError(
            f"The square box would be {side:.3g} pixels wide (the box's "
            f"longer side times `scale`); at most {_MAX_SIDE:.0e} are "
            f"supported. Received: box={box!r}, scale={scale!r}"
        )
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    x1 = int(math.floor(cx - side / 2.0 + 0.5))
    y1 = int(math.floor(cy - side / 2.0 + 0.5))
    n = max(1, int(round(side)))
    return (x1, y1, x1 + n, y1 + n)


def crop_input(image, crop_box, model_or_input_shape):
    """Cut a crop of a photo and resize it to a model's input.

    The parts of the crop outside the photo are black (0), as MTCNN and
    MediaPipe pad.

    Args:
        image: a photo: path, PIL image or array `(H, W)` / `(H, W, C)`
            (0..255), read as `mtlzoo.images.prepare` reads it.
        crop_box: `(left, top, right, bottom)`, whole pixels (see
            `square_box`); may reach outside the photo.
        model_or_input_shape: a model, or its input shape `(h, w, c)`.

    Returns:
        float32 array `(1, h, w, c)`, values 0..255.

    Example:

    >>> batch = mtlzoo.zoo.crop_input(photo, (170, 64, 277, 171), model)
    """
    from mtlzoo import images

    height, width, channels = images.input_shape(model_or_input_shape)
    box = _check_box(crop_box, "crop_box")
    if any(v != int(v) for v in box):
        raise ValueError(
            "`crop_box` must be whole pixels (round it, or use "
            "`mtlzoo.zoo.square_box`), so `postprocess` maps back to the "
            f"same region. Received: crop_box={tuple(crop_box)!r}"
        )
    left, top, right, bottom = (int(v) for v in box)
    photos = images.prepare(image, (None, None, channels))
    if len(photos) != 1:
        raise ValueError(
            "`crop_input` crops one photo; call it once per photo. "
            f"Received: image with {len(photos)} images"
        )
    photo = photos[0]
    h, w = photo.shape[:2]
    bad = ~np.isfinite(photo)
    if bad.any():
        raise ValueError(
            "The photo holds NaN or inf pixel values; pixels must be "
            f"finite. Received: {int(bad.sum())} NaN or inf value(s)"
        )
    reach = _MAX_CROP_OVERHANG * max(h, w)
    if (
        not (left < w and top < h and right > 0 and bottom > 0)
        or max(right - left, bottom - top) > reach
    ):
        raise ValueError(
            f"`crop_box` must overlap the {w}x{h} photo and be at most "
            f"{_MAX_CROP_OVERHANG} times its size. "
            f"Received: crop_box={tuple(crop_box)!r}"
        )
    canvas = np.zeros((bottom - top, right - left, channels), "float32")
    y0, y1 = max(top, 0), min(bottom, h)
    x0, x1 = max(left, 0), min(right, w)
    if y1 > y0 and x1 > x0:
        canvas[y0 - top : y1 - top, x0 - left : x1 - left] = photo[y0:y1, x0:x1]
    return images.prepare(canvas, (height, width, channels))


# ----------------------------------------------------------------- checks
def _tasks_spec(model):
    """`(tasks, source.postprocess spec, (input height, width))`."""
    if isinstance(model, str):
        config = registry.get_config(model)
        arch = config["architecture"]
        tasks = validate_tasks(copy.deepcopy(arch["tasks"]))
        return tasks, _spec(config), tuple(arch["input_shape"][:2])
    tasks = getattr(model, "tasks", None)
    shape = getattr(model, "input_shape", None)
    if not tasks or not isinstance(shape, tuple):
        raise TypeError(
            "`model` must be a mtlzoo.MultiTaskModel or a preset name. "
            f"Received: model={model!r}"
        )
    spec = {}
    name = getattr(model, "name", None)
    if name in registry.list_models():
        config = registry.get_config(name)
        names = [t["name"] for t in config["architecture"]["tasks"]]
        if names == [t.name for t in tasks]:
            spec = _spec(config)
    return list(tasks), spec, tuple(shape[1:3])


def _spec(config):
    return dict((config.get("source") or {}).get("postprocess") or {})


def _check_outputs(tasks, outputs, input_size):
    if not isinstance(outputs, dict):
        raise TypeError(
            "`outputs` must be the dict task name -> array that "
            "`model.predict` returns. Received: "
            f"outputs={type(outputs).__name__}"
        )
    names = [t.name for t in tasks]
    missing = [n for n in names if n not in outputs]
    if missing:
        raise ValueError(
            f"`outputs` lacks tasks {missing} (the model has {names}). "
            f"Received: outputs keys={sorted(map(str, outputs))}"
        )
    extra = sorted(str(k) for k in outputs if k not in names)
    if extra:
        raise ValueError(
            f"`outputs` has entries {extra} that are not tasks of the model "
            f"({names}): outputs of another model? "
            f"Received: outputs keys={sorted(map(str, outputs))}"
        )
    sizes = set()
    for task in tasks:
        try:
            value = np.asarray(outputs[task.name], "float64")
        except (TypeError, ValueError):
            raise TypeError(
                f"Output '{task.name}' must be a numeric array. Received: "
                f"outputs['{task.name}'] of type "
                f"{type(outputs[task.name]).__name__}"
            ) from None
        expected = tuple(task.output_shape(tuple(input_size) + (3,)))
        ok = value.ndim == len(expected) + 1 and all(
            e is None or e == g for e, g in zip(expected, value.shape[1:])
        )
        if not ok:
            raise ValueError(
                f"Output '{task.name}' must be a batch of shape (N,) + "
                f"{expected}. Received: outputs['{task.name}'].shape="
                f"{value.shape}"
            )
        finite = (
            np.isfinite(value).reshape(len(value), -1) if value.size else value
        )
        bad = ~finite.all(-1) if value.size else np.zeros(0, bool)
        if bad.any():
            raise ValueError(
                f"Output '{task.name}' holds NaN or inf for image "
                f"{int(np.argmax(bad))}: the model's outputs must be finite "
                "to be post-processed. Received: "
                f"{int(bad.sum())} image(s) with non-finite values"
            )
        sizes.add(value.shape[0])
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            "Every output needs the same, non-zero batch size. Received: "
            f"batch sizes={sorted(sizes)}"
        )
    return sizes.pop()


def _check_threshold(threshold):
    ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not ok or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(
            "`threshold` must be a number in [0, 1]. "
            f"Received: threshold={threshold!r}"
        )
    return float(threshold)


def _check_image_size(image_size):
    ok = (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool)
            for v in image_size
        )
        and min(image_size) > 0
    )
    if not ok:
        raise ValueError(
            "`image_size` must be (height, width), two positive ints. "
            f"Received: image_size={image_size!r}"
        )
    return (int(image_size[0]), int(image_size[1]))


def _check_box(box, name):
    try:
        values = np.asarray(box, "float64")
    except (TypeError, ValueError):
        values = np.zeros((0,))
    if _has_bool(box):
        values = np.zeros((0,))
    ok = values.shape == (4,) and np.isfinite(values).all()
    if ok:
        ok = values[2] > values[0] and values[3] > values[1]
    if not ok:
        raise ValueError(
            f"`{name}` must be 4 finite numbers (left, top, right, "
            "bottom) in pixels with right > left and bottom > top. "
            f"Received: {name}={box!r}"
        )
    return tuple(float(v) for v in values)


def _has_bool(value):
    """Whether `value` (a number, array or nested sequence) holds bools."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == bool
    if isinstance(value, (list, tuple)):
        return any(_has_bool(v) for v in value)
    return False


def _check_crop_boxes(crop_box, batch):
    try:
        values = np.asarray(crop_box, "float64")
    except (TypeError, ValueError):
        values = np.zeros((0,))
    if values.ndim == 2:
        if values.shape[0] != batch:
            raise ValueError(
                f"Pass one crop box for all images or one per image "
                f"({batch}). Received: crop_box.shape={values.shape}"
            )
        return [_check_box(b, "crop_box") for b in values]
    return [_check_box(crop_box, "crop_box")] * batch


# ----------------------------------------------------------- per preset
def _interpret(task, extra, value, out, box):
    """Apply a preset's `source.postprocess.tasks.<task>` entry."""
    out = dict(out)
    kind = extra.get("as")
    if "edges" in extra:
        out["edges"] = [list(map(int, e)) for e in extra["edges"]]
    if kind == "box_offsets":
        left, top, right, bottom = box
        w, h = right - left, bottom - top
        d = np.asarray(value, "float64").reshape(-1)[:4]
        out["box"] = [
            float(left + d[0] * w),
            float(top + d[1] * h),
            float(right + d[2] * w),
            float(bottom + d[3] * h),
        ]
    elif kind == "value":
        raw = float(np.asarray(value, "float64").reshape(-1)[0])
        out["value"] = raw * extra.get("scale", 1.0) + extra.get("offset", 0.0)
        out["unit"] = extra.get("unit")
    elif kind == "probability" and "class" in extra:
        out["probability"] = out["probabilities"][extra["class"]]
    elif kind == "world":
        c = getattr(task, "coords", value.shape[-1])
        out["points"] = np.asarray(value, "float64")[..., :c]
        out["unit"] = extra.get("unit")
        out["world"] = True
    return out
