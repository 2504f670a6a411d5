"""Heatmap of an inter-task affinity matrix."""

import os

import numpy as np


def plot_affinity(affinity, names, path, title="Inter-task affinity"):
    """Write a heatmap PNG of `affinity[i, j]` (effect of `i` on `j`).

    Rows are the task whose lookahead step is taken, columns the task whose
    loss changes; the colour scale is symmetric around 0 (red helps, blue
    hurts; scaled to the off-diagonal entries) and every cell is annotated
    with its value.

    Args:
        affinity: `(T, T)` array, e.g. from `task_affinity`.
        names: list of str. Task names.
        path: str. Output file (`.png`).
        title: str. Figure title.

    Returns:
        str, the path written.

    Example:

    >>> affinity, names = mtlzoo.tuning.task_affinity(model, ds, steps=50)
    >>> mtlzoo.tuning.plot_affinity(affinity, names, "affinity.png")
    'affinity.png'
    """
    # The Agg canvas directly: no pyplot, no change of the global backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    a = np.asarray(affinity, dtype=float)
    names = list(names)
    if a.ndim != 2 or a.shape != (len(names), len(names)):
        raise ValueError(
            f"`affinity` must be (T, T) with T = len(names) = {len(names)}. "
            f"Received: affinity.shape={a.shape}"
        )
    # Scale colours to the off-diagonal entries (a task's effect on itself
    # is usually far larger); the diagonal saturates but stays annotated.
    off = a[~np.eye(len(names), dtype=bool)]
    values = off[np.isfinite(off)] if len(names) > 1 else a[np.isfinite(a)]
    limit = float(np.max(np.abs(values))) if values.size else 1.0
    limit = limit or 1.0
    size = 1.2 + 0.7 * len(names)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("loss of task j")
    ax.set_ylabel("lookahead step on task i")
    ax.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            value = a[i, j]
            text = "nan" if not np.isfinite(value) else f"{value:.2g}"
            dark = np.isfinite(value) and abs(value) > 0.6 * limit
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
