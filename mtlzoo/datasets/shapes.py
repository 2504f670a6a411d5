"""Procedural scenes of dSprites-like objects with dense and per-image tasks.

A scene is a grey background with 1..N objects (square, ellipse, triangle,
heart). Each object is a shaded bump: a surface whose depth is
`d - h * (1 - q)`, with `d` its base depth, `h = scale / 2` its height and
`q` a quadratic (0 at the centre, about 1 at the rim) fitted to its outline.
A z-buffer keeps the nearest surface per pixel, so nearer objects occlude
farther ones; the background is a plane at depth 1 facing the camera. The
image is the objects' colours under Lambertian shading from a light at the
top-left front, so depth and normals can be read from shading and
occlusion. Rendering is vectorised numpy, seeded per chunk of 64 scenes.
"""

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _utils
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.tasks import Task

SHAPE_NAMES = ("square", "ellipse", "triangle", "heart")
# order of rotational symmetry, for an unambiguous orientation target
SYMMETRY = np.array([4, 2, 3, 1])
SPLITS = ("train", "validation", "test")
TASK_NAMES = (
    "shape",
    "scale",
    "orientation",
    "position",
    "segmentation",
    "depth",
    "normals",
    "box",
)
DEFAULT_TASKS = TASK_NAMES[:-1]
BACKGROUND_DEPTH = 1.0
SCALE_RANGE = (0.12, 0.3)
CHUNK = 64
_LIGHT = np.array([-0.4, -0.5, 1.0], np.float32)
_LIGHT /= np.linalg.norm(_LIGHT)
_SQUARE = 0.75  # half side
_ELLIPSE = (1.1, 0.6)  # semi-axes
_TRIANGLE = 1.2  # circumradius
_HEART = (1.2, 0.12, 2.05)  # zoom, vertical shift, max of x^2 + y^2


def _square(u, v):
    a2 = _SQUARE**2
    inside = np.maximum(np.abs(u), np.abs(v)) <= _SQUARE
    return inside, (u * u + v * v) / (2 * a2), u / a2, v / a2


def _ellipse(u, v):
    a, b = _ELLIPSE
    q = (u / a) ** 2 + (v / b) ** 2
    return q <= 1.0, q, 2 * u / a**2, 2 * v / b**2


def _triangle(u, v):
    r, s3 = _TRIANGLE, float(np.sqrt(3.0))
    inside = (v <= r / 2) & (s3 * u - v <= r) & (-s3 * u - v <= r)
    return inside, (u * u + v * v) / r**2, 2 * u / r**2, 2 * v / r**2


def _heart(u, v):
    zoom, shift, r2 = _HEART
    x, y = zoom * u, shift - zoom * v
    inside = (x * x + y * y - 1.0) ** 3 - x * x * y**3 <= 0.0
    return inside, (x * x + y * y) / r2, 2 * zoom * x / r2, -2 * zoom * y / r2


_OUTLINES = (_square, _ellipse, _triangle, _heart)


def _outline(shape_id, present, u, v):
    """Inside mask, q and dq/du, dq/dv of every object in local coords.

    Each outline function is evaluated on the present objects of its shape.
    """
    inside = np.zeros(u.shape, bool)
    q, q_u, q_v = np.zeros_like(u), np.zeros_like(u), np.zeros_like(u)
    for i, outline in enumerate(_OUTLINES):
        sel = (shape_id == i) & present
        if sel.any():
            inside[sel], q[sel], q_u[sel], q_v[sel] = outline(u[sel], v[sel])
    return inside, q, q_u, q_v


def sample_objects(rng, num_samples, num_objects=(1, 3)):
    """Draw the objects of `num_samples` scenes.

    Args:
        rng: `np.random.Generator`. Source of every random choice.
        num_samples: int. Number of scenes.
        num_objects: `(low, high)`. Objects per scene, uniform in the range.

    Returns:
        dict of arrays over `(scene, object)`: `present` (bool), `shape`
        (index into `SHAPE_NAMES`), `scale`, `angle` (radians), `center`
        (`(x, y)` in 0..1), `base` (depth of the rim), `color` (RGB in
        0..1); and `background` (grey level in 0..1) per scene.
    """
    n, k_max = num_samples, num_objects[1]
    count = rng.integers(num_objects[0], k_max + 1, size=n)
    return {
        "present": np.arange(k_max)[None, :] < count[:, None],
        "shape": rng.integers(0, len(SHAPE_NAMES), size=(n, k_max)),
        "scale": rng.uniform(*SCALE_RANGE, size=(n, k_max)),
        "angle": rng.uniform(0.0, 2 * np.pi, size=(n, k_max)),
        "center": rng.uniform(0.2, 0.8, size=(n, k_max, 2)),
        "base": rng.uniform(0.3, 0.8, size=(n, k_max)),
        "color": rng.uniform(0.3, 1.0, size=(n, k_max, 3)),
        "background": rng.uniform(0.15, 0.4, size=n),
    }


def render_scenes(rng, num_samples, size, num_objects=(1, 3)):
    """Draw and render scenes; the numpy building block of `shapes`."""
    return render_objects(sample_objects(rng, num_samples, num_objects), size)


def render_objects(objects, size):
    """Render scenes of given objects (see `sample_objects`) with numpy.

    Args:
        objects: dict. Arrays as returned by `sample_objects`.
        size: int. Image height and width.

    Returns:
        dict of numpy arrays: `image` float32 `(n, size, size, 3)` in
        [0, 255] and the labels of every task of `shapes` (see there).
    """
    present, shape = objects["present"], objects["shape"]
    scale, angle = objects["scale"], objects["angle"]
    center, base, color = objects["center"], objects["base"], objects["color"]
    background = np.reshape(objects["background"], (-1, 1, 1, 1))
    n, k_max = shape.shape

    def per_object(a):
        return a[:, :, None, None].astype(np.float32)

    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    dx = grid[None, None, None, :] - per_object(center[..., 0])
    dy = grid[None, None, :, None] - per_object(center[..., 1])
    cos, sin = per_object(np.cos(angle)), per_object(np.sin(angle))
    s = per_object(scale)
    u = (cos * dx + sin * dy) / s
    v = (cos * dy - sin * dx) / s
    inside, q, q_u, q_v = _outline(shape, present, u, v)
    height = s / 2
    z = per_object(base) - height * (1.0 - q)
    z_x = height * (q_u * cos - q_v * sin) / s
    z_y = height * (q_u * sin + q_v * cos) / s

    zbuf = np.where(inside, z, np.inf)
    front = np.argmin(zbuf, axis=1)  # (n, size, size)
    pick = front[:, None]
    zmin = np.take_along_axis(zbuf, pick, 1)[:, 0]
    fg = np.isfinite(zmin)
    depth = np.where(fg, zmin, BACKGROUND_DEPTH).astype(np.float32)
    gx = np.where(fg, np.take_along_axis(z_x, pick, 1)[:, 0], 0.0)
    gy = np.where(fg, np.take_along_axis(z_y, pick, 1)[:, 0], 0.0)
    normals = np.stack([gx, gy, np.ones_like(gx)], axis=-1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    rows = np.arange(n)[:, None, None]
    seg = np.where(fg, 1 + shape[rows, front], 0).astype(np.int32)
    albedo = np.where(fg[..., None], color[rows, front], background)
    shade = 0.3 + 0.7 * np.clip(normals @ _LIGHT, 0.0, 1.0)
    image = np.clip(255.0 * albedo * shade[..., None], 0.0, 255.0)

    # per-image tasks describe the object with the largest visible area
    ids = np.arange(k_max)[None, :, None, None]
    visible = (front[:, None] == ids) & fg[:, None]
    main = np.argmax(visible.sum(axis=(2, 3)), axis=1)
    idx = np.arange(n)
    main_shape = shape[idx, main]
    theta = SYMMETRY[main_shape] * angle[idx, main]
    vis = visible[idx, main]
    rows_any, cols_any = vis.any(axis=2), vis.any(axis=1)
    box = np.stack(
        [
            np.argmax(rows_any, axis=1) / size,
            np.argmax(cols_any, axis=1) / size,
            (size - np.argmax(rows_any[:, ::-1], axis=1)) / size,
            (size - np.argmax(cols_any[:, ::-1], axis=1)) / size,
            main_shape,
        ],
        axis=-1,
    )
    return {
        "image": image.astype(np.float32),
        "shape": main_shape.astype(np.int32),
        "scale": scale[idx, main, None].astype(np.float32),
        "orientation": np.stack([np.sin(theta), np.cos(theta)], -1).astype(
            np.float32
        ),
        "position": center[idx, main].astype(np.float32),
        "segmentation": seg,
        "depth": depth[..., None],
        "normals": normals.astype(np.float32),
        "box": box.astype(np.float32),
    }


def _all_tasks():
    n = len(SHAPE_NAMES)
    return [
        Task("shape", "classification", num_classes=n),
        Task("scale", "regression", units=1),
        Task("orientation", "regression", units=2),
        Task("position", "regression", units=2),
        Task("segmentation", "segmentation", num_classes=n + 1),
        Task("depth", "depth"),
        Task("normals", "normals"),
        Task("box", "box", num_classes=n),
    ]


def _check_num_objects(num_objects):
    pair = num_objects
    if not isinstance(pair, (tuple, list)):
        pair = (pair, pair)
    ok = len(pair) == 2 and all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool)
        for p in pair
    )
    if not ok or not 1 <= pair[0] <= pair[1] <= 8:
        raise ValueError(
            "`num_objects` must be an integer 1..8 or a pair (low, high) "
            f"with 1 <= low <= high <= 8. Received: num_objects={num_objects!r}"
        )
    return int(pair[0]), int(pair[1])


@register_dataset("shapes")
def shapes(
    split="train",
    num_samples=1024,
    size=64,
    num_objects=(1, 3),
    channels=3,
    tasks=None,
    seed=0,
    batch_size=None,
    shuffle=None,
):
    """Procedural scenes of shapes with per-image and per-pixel tasks.

    Objects are squares, ellipses, triangles and hearts (`SHAPE_NAMES`) of
    random scale, orientation, position, colour and depth. Per-image tasks
    describe the object with the largest visible area ("main object");
    dense tasks cover every pixel. Scenes are rendered lazily (in chunks of
    64, inside the `tf.data` pipeline), identical for the same `seed`,
    `split` and arguments, and different across splits.

    Tasks:
    - `shape` (classification, 4): class of the main object.
    - `scale` (regression, 1): its scale, the half-size of its outline as a
      fraction of the image side (0.12..0.3).
    - `orientation` (regression, 2): `(sin k*a, cos k*a)` of its angle `a`
      (clockwise on screen) times its order of rotational symmetry `k`
      (square 4, ellipse 2, triangle 3, heart 1), so equal-looking poses
      get equal targets.
    - `position` (regression, 2): its centre `(x, y)` in 0..1 (x to the
      right, y down).
    - `segmentation` (segmentation, 5): 0 background, `1 + shape class`
      for the object in front.
    - `depth` (depth): distance of the nearest surface (objects 0.15..0.8,
      background 1.0), shape `(size, size, 1)`.
    - `normals` (normals): unit surface normals `(x right, y down, z toward
      the camera)` of the visible surface, `(0, 0, 1)` on the background.
    - `box` (box, 4 classes; only when requested): `[y1, x1, y2, x2, class]`
      of the main object's visible pixels, coordinates in 0..1.

    Args:
        split: str. `"train"`, `"validation"` or `"test"`; each split has
            its own seeds. Defaults to `"train"`.
        num_samples: int. Number of scenes. Defaults to 1024.
        size: int. Image height and width (>= 16). Defaults to 64.
        num_objects: int or `(low, high)`. Objects per scene, uniform in
            `low..high`, at most 8. Defaults to `(1, 3)`.
        channels: int. 3 (colour) or 1 (luminance). Defaults to 3.
        tasks: list of str. A subset of `TASK_NAMES`. Defaults to None:
            every task except `box`.
        seed: int. Seeds the scenes (alone) and the shuffle order
            (with TF's global seed, like any `tf.data` shuffle).
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (seeded, every epoch). Defaults to None:
            True for `"train"`.

    Returns:
        `(dataset, tasks)`: a `tf.data.Dataset` of `(image, labels)` with
        float32 images in [0, 255] shaped `(size, size, channels)`, and the
        list of `Task`s in `TASK_NAMES` order.

    Example:

    >>> ds, tasks = mtlzoo.datasets.shapes(
    ...     num_samples=256, size=32, tasks=["shape", "depth"], batch_size=8)
    >>> image, labels = next(iter(ds))
    >>> labels["depth"].shape
    TensorShape([8, 32, 32, 1])
    """
    _utils.check_choice("split", split, SPLITS)
    num_samples = _utils.check_int("num_samples", num_samples, minimum=1)
    size = _utils.check_int("size", size, minimum=16)
    num_objects = _check_num_objects(num_objects)
    _utils.check_channels(channels)
    seed = _utils.check_seed(seed)
    batch_size = _utils.check_batch_size(batch_size)
    shuffle = _utils.resolve_shuffle(shuffle, split)
    selected = _utils.select_tasks(_all_tasks(), tasks, DEFAULT_TASKS)
    names = [t.name for t in selected]
    split_id = SPLITS.index(split)
    keys = ("image",) + TASK_NAMES
    probe = render_scenes(np.random.default_rng(0), 1, size, num_objects)
    dtypes = [tf.as_dtype(probe[k].dtype) for k in keys]
    shapes_ = [(None,) + probe[k].shape[1:] for k in keys]

    def render_chunk(chunk):
        chunk = int(chunk)
        count = min(CHUNK, num_samples - chunk * CHUNK)
        rng = np.random.default_rng([seed, split_id, chunk])
        out = render_scenes(rng, count, size, num_objects)
        return [out[k] for k in keys]

    def load_chunk(chunk):
        arrays = tf.numpy_function(render_chunk, [chunk], dtypes)
        return {
            k: tf.ensure_shape(a, s) for k, a, s in zip(keys, arrays, shapes_)
        }

    def to_example(example):
        image = example["image"]
        if channels == 1:
            image = _utils.to_float_image(image, 1)
        return image, {k: example[k] for k in names}

    num_chunks = -(-num_samples // CHUNK)
    ds = tf.data.Dataset.range(num_chunks).map(load_chunk).unbatch()
    ds = ds.apply(tf.data.experimental.assert_cardinality(num_samples))
    ds = _utils.finish(
        ds, shuffle, seed, batch_size, to_example, buffer_size=num_samples
    )
    return ds, selected
