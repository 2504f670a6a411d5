"""PNG plots of multi-task training: curves, task weights, affinity, delta_m.

Every function draws on a matplotlib Agg canvas (no pyplot, no change of
the global backend, no display needed), writes a PNG of exactly
`figsize * dpi` pixels and returns the path. `dense_to_rgb` colours dense
predictions (segmentation, depth, normals) as uint8 RGB arrays through the
task kinds' `colorize` hooks.
"""

import os

import numpy as np

from mtlzoo import metrics as metrics_lib
from mtlzoo.tasks import get_kind
from mtlzoo.tasks import list_kinds
from mtlzoo.tasks.segmentation import PALETTE

__all__ = [
    "PALETTE",
    "affinity_heatmap",
    "delta_m_chart",
    "dense_to_rgb",
    "plot_affinity",
    "task_weights",
    "training_curves",
]

_NON_TASK_LOSSES = ("loss", "regularization_loss")


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


def training_curves(history, path, figsize=None, dpi=100):
    """Per-task loss and metric curves, training and validation.

    One row per task (plus a first row for the total loss): the task's
    unweighted loss on the left, its metrics on the right; validation
    values (`val_...`) dashed.

    Args:
        history: a `keras.callbacks.History` (what `fit` returns) or a dict
            log name -> list of per-epoch values.
        path: str. Output PNG file.
        figsize: `(width, height)` in inches. Defaults to `(10, 2.5 * rows)`.
        dpi: int. Pixels per inch. Defaults to 100.

    Returns:
        str, the path written.

    Example:

    >>> history = model.fit(x, y, validation_split=0.2, epochs=5)
    >>> mtlzoo.app.plots.training_curves(history, "curves.png")
    'curves.png'
    """
    logs = _history_dict(history)
    tasks = _task_names(logs)
    if not tasks:
        raise ValueError(
            "The history has no per-task losses (`<task>_loss` entries). "
            f"Received: history keys={sorted(logs)}"
        )
    rows = len(tasks) + (1 if "loss" in logs else 0)
    fig, axes = _figure(path, figsize or (10, 2.5 * rows), dpi, rows, 2)
    row = 0
    if "loss" in logs:
        _curves(axes[0][0], logs, ["loss"], "total loss")
        axes[0][1].axis("off")
        row = 1
    for task in tasks:
        _curves(axes[row][0], logs, [f"{task}_loss"], f"{task}: loss")
        metrics = [
            k
            for k in sorted(logs)
            if k.startswith(f"{task}_")
            and k not in (f"{task}_loss", f"{task}_weight")
        ]
        if metrics:
            _curves(axes[row][1], logs, metrics, f"{task}: metrics")
        else:
            axes[row][1].axis("off")
        row += 1
    return _save(fig, path, dpi)


def task_weights(history, path, figsize=(8, 4), dpi=100):
    """Task weights over training, from the `<task>_weight` log entries.

    Args:
        history: a `keras.callbacks.History` or a dict log name -> list.
        path: str. Output PNG file.
        figsize: `(width, height)` in inches. Defaults to `(8, 4)`.
        dpi: int. Pixels per inch. Defaults to 100.

    Returns:
        str, the path written.

    Example:

    >>> history = model.fit(x, y, epochs=10, callbacks=[
    ...     mtlzoo.callbacks.DynamicWeightAveraging()])
    >>> mtlzoo.app.plots.task_weights(history, "weights.png")
    'weights.png'
    """
    logs = _history_dict(history)
    keys = sorted(
        k for k in logs if k.endswith("_weight") and not k.startswith("val_")
    )
    if not keys:
        raise ValueError(
            "The history has no task weights (`<task>_weight` entries). "
            f"Received: history keys={sorted(logs)}"
        )
    fig, axes = _figure(path, figsize, dpi, 1, 1)
    ax = axes[0][0]
    for key in keys:
        values = logs[key]
        ax.plot(range(1, len(values) + 1), values, marker="o", label=key[:-7])
    ax.set_xlabel("epoch")
    ax.set_ylabel("task weight")
    ax.set_title("Task weights")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def affinity_heatmap(matrix, names, path, title="Inter-task affinity"):
    """Heatmap of an inter-task affinity matrix (checked `plot_affinity`).

    Rows are the task whose (lookahead) step is taken, columns the task
    whose loss changes; the colour scale is symmetric around 0 (red: the
    row task helps the column task, blue: it hurts) and every cell is
    annotated. This is `plot_affinity` with a checked path.

    Args:
        matrix: `(T, T)` array; `matrix[i, j]` is the effect of a step on
            task `i` on the loss of task `j` (e.g. from
            `mtlzoo.tuning.task_affinity`).
        names: list of str. Task names, `T` of them.
        path: str. Output PNG file.
        title: str. Figure title. Defaults to `"Inter-task affinity"`.

    Returns:
        str, the path written.

    Example:

    >>> mtlzoo.app.plots.affinity_heatmap(
    ...     [[0.0, 0.1], [-0.2, 0.0]], ["a", "b"], "affinity.png")
    'affinity.png'
    """
    _check_path(path)
    return plot_affinity(matrix, names, os.fspath(path), title=title)


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
    >>> mtlzoo.app.plots.plot_affinity(affinity, names, "affinity.png")
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


def delta_m_chart(mtl, stl, higher_is_better, path, figsize=None, dpi=100):
    """Multi-task vs single-task per metric, with delta_m in the title.

    Each metric gets a pair of bars, the single-task baseline (1.0) and the
    multi-task value relative to it, annotated with the raw values and the
    signed relative gain (green when the multi-task model is better).
    delta_m is `mtlzoo.metrics.delta_m` (Maninis et al. 2019: mean signed
    relative gain over the given metrics, percent).

    Args:
        mtl: dict. Metric name -> multi-task value.
        stl: dict. Metric name -> single-task baseline value.
        higher_is_better: dict. Metric name -> bool.
        path: str. Output PNG file.
        figsize: `(width, height)` in inches. Defaults to
            `(1.6 * metrics + 2, 4)`.
        dpi: int. Pixels per inch. Defaults to 100.

    Returns:
        str, the path written.

    Example:

    >>> mtlzoo.app.plots.delta_m_chart(
    ...     {"a_accuracy": 0.9, "b_mae": 0.2},
    ...     {"a_accuracy": 0.88, "b_mae": 0.25},
    ...     {"a_accuracy": True, "b_mae": False}, "delta_m.png")
    'delta_m.png'
    """
    _check_path(path)
    delta = metrics_lib.delta_m(mtl, stl, higher_is_better)
    names = list(stl)
    for name in names:
        if not np.isfinite(float(mtl[name])):
            raise ValueError(
                f"Metric '{name}' is not finite. "
                f"Received: mtl[{name!r}]={mtl[name]!r}"
            )
    width = figsize or (1.6 * len(names) + 2.0, 4.0)
    fig, axes = _figure(path, width, dpi, 1, 1)
    ax = axes[0][0]
    x = np.arange(len(names))
    rel = [float(mtl[n]) / float(stl[n]) for n in names]
    ax.bar(x - 0.2, np.ones(len(names)), 0.4, label="single-task", color="0.7")
    gains = []
    for n in names:
        sign = 1.0 if higher_is_better[n] else -1.0
        gains.append(sign * (float(mtl[n]) - float(stl[n])) / abs(stl[n]))
    colors = ["tab:green" if g >= 0 else "tab:red" for g in gains]
    ax.bar(x + 0.2, rel, 0.4, label="multi-task", color=colors)
    for i, n in enumerate(names):
        ax.annotate(
            f"{float(stl[n]):.3g}",
            (x[i] - 0.2, 1.0),
            ha="center",
            va="bottom",
            fontsize=7,
        )
        ax.annotate(
            f"{float(mtl[n]):.3g}\n{100 * gains[i]:+.1f}%",
            (x[i] + 0.2, rel[i]),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    arrows = ["↑" if higher_is_better[n] else "↓" for n in names]
    ax.set_xticks(x, [f"{n} {a}" for n, a in zip(names, arrows)])
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.set_ylabel("value / single-task value")
    ax.set_ylim(0, max(rel + [1.0]) * 1.3)
    ax.set_title(f"Multi-task vs single-task: Δm = {delta:+.2f}%")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return _save(fig, path, dpi)


# ----------------------------------------------------------------------
def _history_dict(history):
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(
            "`history` must be a keras History or a non-empty dict log "
            f"name -> list of values. Received: history={history!r}"
        )
    out = {}
    for key, values in logs.items():
        try:
            values = [float(v) for v in np.ravel(np.asarray(values))]
        except (TypeError, ValueError):
            raise ValueError(
                f"History entry '{key}' must be a list of numbers. "
                f"Received: history[{key!r}]={values!r}"
            ) from None
        out[str(key)] = values
    return out


def _task_names(logs):
    names = []
    for key in logs:
        if key.startswith("val_") or not key.endswith("_loss"):
            continue
        if key in _NON_TASK_LOSSES:
            continue
        names.append(key[: -len("_loss")])
    return sorted(names)


def _curves(ax, logs, keys, title):
    for key in keys:
        values = logs[key]
        epochs = range(1, len(values) + 1)
        (line,) = ax.plot(epochs, values, marker=".", label=key)
        if f"val_{key}" in logs:
            val = logs[f"val_{key}"]
            ax.plot(
                range(1, len(val) + 1),
                val,
                linestyle="--",
                color=line.get_color(),
                label=f"val_{key}",
            )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"`path` must be a file path. Received: path={path!r}")


def _figure(path, figsize, dpi, rows, cols):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _check_path(path)
    try:
        size = tuple(float(v) for v in figsize)
    except (TypeError, ValueError):
        size = ()
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(
            "`figsize` must be (width, height) in inches, both positive. "
            f"Received: figsize={figsize!r}"
        )
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"`dpi` must be positive. Received: dpi={dpi!r}")
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _save(fig, path, dpi):
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return os.fspath(path)
