"""Colour dense predictions (segmentation, depth, normals) as RGB images.

The colouring itself belongs to each task kind (`Task.colorize`); this
module only looks the kind up by name, for `mtlzoo.app.plots.dense_to_rgb`.
"""

from mtlzoo.tasks import get_kind
from mtlzoo.tasks import list_kinds
from mtlzoo.tasks.segmentation import PALETTE

__all__ = ["PALETTE", "dense_to_rgb"]


def dense_to_rgb(kind, values, value_range=None):
    """Colour a batch of dense maps as uint8 RGB images.

    Calls the `colorize` hook of the task kind `kind` (see
    `mtlzoo.tasks.Task.colorize`).

    Args:
        kind: str. A dense task kind: `"segmentation"` (class
            probabilities `(N, H, W, C)` or class ids `(N, H, W)`;
            coloured by class with `PALETTE`, id 0 black, missing `-1`
            white), `"depth"` (`(N, H, W[, 1])`; viridis, near = dark,
            NaN = white), `"normals"` (`(N, H, W, 3)` unit vectors mapped
            `(n + 1) / 2` to RGB) or a registered kind with a `colorize`
            hook.
        values: array-like batch of maps.
        value_range: optional `(low, high)` for depth. Defaults to the
            finite min and max of `values`.

    Returns:
        A uint8 array `(N, H, W, 3)`.

    Example:

    >>> dense_to_rgb("segmentation", np.zeros((1, 4, 4), "int32")).shape
    (1, 4, 4, 3)
    """
    rgb = None
    if isinstance(kind, str) and kind in list_kinds():
        rgb = get_kind(kind).colorize(values, value_range)
    if rgb is None:
        dense = [k for k in list_kinds() if get_kind(k).is_dense]
        raise ValueError(
            f"`kind` must be a dense task kind, one of {dense}. "
            f"Received: kind={kind!r}"
        )
    return rgb
