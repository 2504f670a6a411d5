"""NumPy helpers of the `heatmap` kind: keypoints <-> heatmaps, colours,
argument checks.

Map cell `(i, j)` of an `h x w` map covers the image fractions
`[j / w, (j + 1) / w) x [i / h, (i + 1) / h)`; its centre is at
`x = (j + 0.5) / w`, `y = (i + 0.5) / h` (half-pixel centres, as
`keras.ops.image.resize` and TFLite's `RESIZE_BILINEAR` use them).
"""

import numbers

import numpy as np

#: Most map cells `render` makes (a larger request is a mistake).
_MAX_CELLS = 10**8


def numeric_array(value, name):
    """`value` as a float64 array, or a clear error."""
    if isinstance(value, (str, bytes)):
        value = None
    try:
        return np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be an array of numbers. "
            f"Received: {name} of type {type(value).__name__}"
        ) from None


def check_threshold(name, value):
    """`pck_threshold` as a positive finite float, or a ValueError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value > 0):
        raise ValueError(
            f"Task '{name}': pck_threshold must be a positive number. "
            f"Received: pck_threshold={value!r}"
        )
    return float(value)


def render(points, height, width, sigma=1.0):
    """Gaussian heatmaps `(..., height, width, K)` of keypoints.

    Args:
        points: array `(..., K, 2+)`: `x, y` as fractions of the image
            width and height; further columns (a `z`, a visibility in the
            layout of the `keypoints` kind) are read as a visibility when
            there are 3 or 4 columns: the last one, 0 (not visible) giving
            an all-zero map and NaN an all-NaN (unlabelled) map. NaN
            coordinates give an all-NaN map.
        height: int. Map height.
        width: int. Map width.
        sigma: float > 0. Blob standard deviation in map cells.

    Returns:
        float32 array; each map peaks at 1 where its point falls on a cell
        centre.
    """
    p = numeric_array(points, "points")
    if p.ndim < 2 or not 2 <= p.shape[-1] <= 4:
        raise ValueError(
            "Keypoints must be shaped (..., K, 2), (..., K, 3) or "
            "(..., K, 4) (x, y [, z][, visibility]). "
            f"Received: points.shape={p.shape}"
        )
    if np.isinf(p).any():
        raise ValueError(
            "Keypoints must be finite (NaN marks a missing one). "
            f"Received: {int(np.isinf(p).sum())} inf value(s) in points"
        )
    if p.shape[-1] in (3, 4):
        vis = p[..., -1]
        bad = (vis < 0) | (vis > 1)
        if bad.any():
            raise ValueError(
                "The last column of keypoints with 3 or 4 columns is the "
                "visibility: in [0, 1], or NaN for a missing point. "
                "Received: visibility values "
                f"{np.unique(vis[bad])[:5].tolist()}"
            )
    ok = isinstance(sigma, numbers.Real) and not isinstance(sigma, bool)
    if not (ok and np.isfinite(sigma) and sigma > 0):
        raise ValueError(
            f"sigma must be a positive number. Received: sigma={sigma!r}"
        )
    sigma = float(sigma)
    if height * width * p[..., 0].size > _MAX_CELLS:
        raise ValueError(
            f"{height}x{width} maps for {p[..., 0].size} keypoints would "
            f"hold more than {_MAX_CELLS:.0e} cells. "
            f"Received: map size=({height}, {width})"
        )
    u = p[..., 0] * width - 0.5  # (..., K) in cell-index units
    v = p[..., 1] * height - 0.5
    cols = np.arange(width, dtype="float64")
    rows = np.arange(height, dtype="float64")
    du = (cols[:, None] - u[..., None, :]) ** 2  # (..., w, K)
    dv = (rows[:, None] - v[..., None, :]) ** 2  # (..., h, K)
    d2 = dv[..., :, None, :] + du[..., None, :, :]  # (..., h, w, K)
    maps = np.exp(-d2 / (2.0 * sigma**2))
    unlabelled = np.isnan(u) | np.isnan(v)
    if p.shape[-1] in (3, 4):
        vis = p[..., -1]
        unlabelled = unlabelled & ~(vis == 0) | np.isnan(vis)
        maps = np.where((vis == 0)[..., None, None, :], 0.0, maps)
    maps = np.where(unlabelled[..., None, None, :], np.nan, maps)
    return maps.astype("float32")


def peaks(values, refine=True):
    """Keypoints `(..., K, 3)` (`x, y, score`) of heatmaps `(..., h, w, K)`.

    `x, y` are the centre of the arg-max cell as fractions of the image,
    moved by up to half a cell towards the true peak when `refine` is set
    (a parabola through the log values of the cell and its two
    neighbours on each axis: exact for a Gaussian blob). `score` is the
    map's maximum. A map without a finite value gives NaN.
    """
    a = numeric_array(values, "values")
    if a.ndim < 3 or 0 in a.shape[-3:]:
        raise ValueError(
            "Heatmaps must be shaped (..., H, W, K), H, W and K >= 1. "
            f"Received: values.shape={a.shape}"
        )
    h, w, k = a.shape[-3:]
    lead = a.shape[:-3]
    flat = np.moveaxis(a.reshape(lead + (h * w, k)), -2, -1)  # (..., K, hw)
    finite = np.isfinite(flat)
    filled = np.where(finite, flat, -np.inf)
    index = np.argmax(filled, axis=-1)  # (..., K)
    score = np.take_along_axis(filled, index[..., None], -1)[..., 0]
    row, col = np.divmod(index, w)
    x = col.astype("float64")
    y = row.astype("float64")
    if refine:
        x = x + _offset(flat, index, w, 1, col, w)
        y = y + _offset(flat, index, w, w, row, h)
    out = np.stack([(x + 0.5) / w, (y + 0.5) / h, score], -1)
    return np.where(finite.any(-1)[..., None], out, np.nan)


def _offset(flat, index, w, step, pos, size):
    """Sub-cell offset along one axis (`step` 1: columns, `w`: rows)."""
    centre = _at(flat, index)
    before = np.where(pos > 0, _at(flat, index - step), np.nan)
    after = np.where(pos < size - 1, _at(flat, index + step), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = [np.log(np.maximum(v, 1e-12)) for v in (before, centre, after)]
        curve = logs[0] - 2.0 * logs[1] + logs[2]
        shift = 0.5 * (logs[0] - logs[2]) / curve
    ok = np.isfinite(shift) & (curve < 0)
    return np.where(ok, np.clip(shift, -0.5, 0.5), 0.0)


def _at(flat, index):
    safe = np.clip(index, 0, flat.shape[-1] - 1)
    return np.take_along_axis(flat, safe[..., None], -1)[..., 0]


def colorize(values, value_range=None):
    """Heatmaps `(N, H, W, K)` as uint8 RGB: the maximum over keypoints in
    magma (`value_range` defaults to `(0, 1)`); all-NaN cells white."""
    a = np.asarray(values, dtype="float64")
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        raise ValueError(
            "Heatmaps must be (N, H, W, K) or (N, H, W). "
            f"Received: values.shape={a.shape}"
        )
    finite = np.isfinite(a).any(-1)
    top = np.max(np.where(np.isfinite(a), a, -np.inf), axis=-1)
    low, high = (0.0, 1.0) if value_range is None else value_range
    low, high = float(low), float(high)
    scaled = (np.where(finite, top, low) - low) / max(high - low, 1e-12)
    from matplotlib import colormaps

    rgb = colormaps["magma"](np.clip(scaled, 0.0, 1.0))[..., :3]
    rgb = (rgb * 255).round().astype("uint8")
    rgb[~finite] = 255
    return rgb


def check_count(name, value):
    """`num_keypoints` as an int >= 1, or a ValueError."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < 1:
        raise ValueError(
            f"Task '{name}' needs an integer num_keypoints >= 1. "
            f"Received: num_keypoints={value!r}"
        )
    return int(value)


def check_names(name, names, count):
    """`keypoint_names` as a list of `count` str (or None)."""
    if names is None:
        return None
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(n, str) for n in names
    ):
        raise TypeError(
            f"Task '{name}': keypoint_names must be a list of str. "
            f"Received: keypoint_names={names!r}"
        )
    if len(names) != count:
        raise ValueError(
            f"Task '{name}' has {count} keypoints but {len(names)} names. "
            f"Received: keypoint_names={list(names)!r}"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"Task '{name}': keypoint_names must be distinct; {repeated} "
            f"repeat. Received: keypoint_names={list(names)!r}"
        )
    return list(names)


def number(value):
    """A float, or None for NaN / inf (JSON-able)."""
    value = float(value)
    return value if np.isfinite(value) else None
