"""NumPy geometry for the kinds' `postprocess` hooks: from the model's
input (a crop of an image, resized) back to the image.

A crop box is `(left, top, right, bottom)` in pixels of the image, PIL's
`Image.crop` convention: continuous coordinates, `(0, 0)` the top-left
corner of the top-left pixel, `(width, height)` the bottom-right corner of
the image. A fraction `x` of the crop's width is at
`left + x * (right - left)` in the image.
"""

import numpy as np


def crop_size(crop_box):
    """`(width, height)` of a crop box."""
    left, top, right, bottom = crop_box
    return right - left, bottom - top


def points_to_image(coords, crop_box):
    """Coordinates in fractions of the crop -> pixels of the image.

    Args:
        coords: array `(..., 2 or 3)`: `x, y` (and `z`, on the scale of
            `x`) in fractions of the crop's width and height.
        crop_box: `(left, top, right, bottom)` in image pixels.

    Returns:
        float64 array of the same shape: `x, y` in image pixels, `z` in
        pixels too (scaled by the crop's width).
    """
    coords = np.asarray(coords, "float64")
    left, top, right, bottom = crop_box
    out = coords.copy()
    out[..., 0] = left + coords[..., 0] * (right - left)
    out[..., 1] = top + coords[..., 1] * (bottom - top)
    if coords.shape[-1] > 2:
        out[..., 2] = coords[..., 2] * (right - left)
    return out


def _weights(centres, size):
    """Bilinear source indices and weights of half-pixel `centres` on an
    axis of `size` samples (edge values repeated)."""
    pos = np.clip(centres - 0.5, 0.0, size - 1.0)
    low = np.floor(pos).astype("int64")
    high = np.minimum(low + 1, size - 1)
    return low, high, pos - low


def maps_to_image(maps, crop_box, image_size, fill):
    """Resample per-pixel maps of the crop onto the whole image.

    Bilinear with half-pixel centres (as `keras.ops.image.resize` and
    TFLite's `RESIZE_BILINEAR(half_pixel_centers)`); image pixels whose
    centre falls outside the crop get `fill`.

    Args:
        maps: array `(h, w, C)` over the crop.
        crop_box: `(left, top, right, bottom)` in image pixels.
        image_size: `(height, width)` of the image.
        fill: array `(C,)`: the value outside the crop.

    Returns:
        float32 array `(height, width, C)`.
    """
    maps = np.asarray(maps, "float32")
    h, w = maps.shape[:2]
    height, width = image_size
    left, top, right, bottom = crop_box
    xs = (np.arange(width) + 0.5 - left) / (right - left) * w
    ys = (np.arange(height) + 0.5 - top) / (bottom - top) * h
    x0, x1, fx = _weights(xs, w)
    y0, y1, fy = _weights(ys, h)
    rows = maps[y0] * (1 - fy)[:, None, None] + maps[y1] * fy[:, None, None]
    fx = fx[None, :, None]
    out = rows[:, x0] * (1 - fx) + rows[:, x1] * fx
    inside = ((ys >= 0) & (ys <= h))[:, None] & ((xs >= 0) & (xs <= w))[None]
    out[~inside] = np.asarray(fill, "float32")
    return out.astype("float32")
