"""NumPy helpers shared by the task kinds' export and describe hooks."""

import numpy as np


def class_agreement(expected, got, labels, key, with_accuracy=True):
    """Argmax agreement of two score arrays, and accuracies with labels.

    Returns:
        dict with `key` (fraction of equal argmaxes) and, when `labels`
        are given and `with_accuracy`, `accuracy_keras`, `accuracy_export`
        and `accuracy_drop` (points) over present (>= 0) labels.
    """
    pe, pg = np.argmax(expected, -1), np.argmax(got, -1)
    out = {key: float(np.mean(pe == pg))}
    if labels is not None and with_accuracy:
        y = np.asarray(labels).reshape(pe.shape)
        present = y >= 0
        if present.any():
            acc_k = float(np.mean(pe[present] == y[present]))
            acc_g = float(np.mean(pg[present] == y[present]))
            out["accuracy_keras"] = acc_k
            out["accuracy_export"] = acc_g
            out["accuracy_drop"] = 100.0 * (acc_k - acc_g)
    return out


def label_error(expected, got, labels):
    """Mean absolute error to the finite labels, Keras and exported."""
    if labels is None:
        return {}
    y = np.asarray(labels, dtype="float64").reshape(expected.shape)
    ok = np.isfinite(y)
    if not ok.any():
        return {}
    return {
        "label_error_keras": float(np.abs(expected - y)[ok].mean()),
        "label_error_export": float(np.abs(got - y)[ok].mean()),
    }


def mean_angle(a, b):
    """Mean angle in degrees between vectors along the last axis."""
    dot = np.sum(a * b, -1)
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    ok = np.isfinite(dot) & (norm > 0)
    if not ok.any():
        return float("nan")
    cos = np.clip(dot[ok] / norm[ok], -1.0, 1.0)
    return float(np.degrees(np.arccos(cos)).mean())


def class_name(index, class_names=None):
    """`class_names[index]` when names are given, else the index."""
    index = int(index)
    if class_names and 0 <= index < len(class_names):
        return class_names[index]
    return index


def numbers(values, spec=".3g"):
    """`"[a, b, c]"` with each number formatted by `spec`."""
    return "[" + ", ".join(format(float(v), spec) for v in values) + "]"
