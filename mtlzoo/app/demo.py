"""`mtlzoo demo`: a pretrained preset on real images shipped with mtlzoo."""

import os
import time

import numpy as np

from mtlzoo.presets import converted
from mtlzoo.presets import registry
from mtlzoo.zoo import evaluation

DEFAULT_PRESET = "fashion_mobilenetv2_multitask"
# Scenes drawn for presets on procedural data (no shipped sample).
_GENERATED_SAMPLES = 64


def _demo_dataset(config, batch_size):
    if config["dataset"]["sample"] is not None:
        return evaluation.load_dataset(config, "test", True, None, batch_size)
    from mtlzoo import datasets

    kwargs = dict(config["dataset"]["test"], num_samples=_GENERATED_SAMPLES)
    loader = datasets.get(config["dataset"]["loader"])
    ds, _ = loader(batch_size=batch_size, shuffle=False, **kwargs)
    return ds


def _prediction_text(task, value, names):
    """One line for a prediction of a non-dense task."""
    return task.describe(task.decode(value), names)


def _label_text(task, value, names):
    """One line for a label of a non-dense task."""
    return task.describe(value, names)


def _sample_score(task, label, pred):
    """`(metric, value)`: the task's primary metric on one sample."""
    metrics = task.build_metrics()
    task.update_metrics(metrics, label[None], pred[None])
    for metric in metrics:
        if metric.name == task.primary_metric:
            return task.primary_metric_name, float(metric.result())
    raise ValueError(
        f"Task '{task.name}' built no metric named {task.primary_metric!r}. "
        f"Received: metrics={[m.name for m in metrics]}"
    )


def _show_image(ax, image):
    image = np.asarray(image, "float32") / 255.0
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(np.clip(image, 0.0, 1.0))
    ax.set_xticks([])
    ax.set_yticks([])


def write_panel(path, model, images, labels, preds, class_names, title):
    """Write a PNG: each column an image, its dense predictions, its labels.

    Args:
        path: str. Output file.
        model: `MultiTaskModel`. Gives the tasks.
        images: array `(n, H, W, C)` of raw pixels 0..255.
        labels: dict task -> true labels of the `n` images.
        preds: dict task -> predictions of the `n` images.
        class_names: dict task -> list of class names.
        title: str. Figure title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dense = [t for t in model.tasks if t.is_dense]
    other = [t for t in model.tasks if not t.is_dense]
    n = len(images)
    rows = 1 + len(dense)
    fig = Figure(figsize=(2.1 * n, 2.1 * rows + 0.35 * len(other) + 0.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, n, squeeze=False)
    for i in range(n):
        _show_image(axes[0, i], images[i])
        lines = []
        for task in other:
            names = class_names.get(task.name)
            pred = _prediction_text(task, preds[task.name][i], names)
            true = _label_text(task, labels[task.name][i], names)
            ok = ""
            if "int" in task.label_dtype:  # class ids: right or wrong
                ok = " ok" if pred == true else " X"
            lines.append(f"{task.name}: {pred}{ok}")
            if pred != true:
                lines.append(f"  (true {true})")
        axes[0, i].set_title("\n".join(lines), fontsize=7, loc="left")
        for r, task in enumerate(dense, start=1):
            axes[r, i].imshow(task.colorize(preds[task.name][i][None])[0])
            axes[r, i].set_xticks([])
            axes[r, i].set_yticks([])
            if i == 0:
                axes[r, i].set_ylabel(f"predicted\n{task.name}", fontsize=8)
    axes[0, 0].set_ylabel("image", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def run_demo(name=None, out=None, num_images=6, verbose=True):
    """Run a pretrained preset on real images shipped with mtlzoo.

    Loads the preset (offline: shipped, hash-checked weights), predicts the
    test items of the real sample shipped in `mtlzoo/assets` (Fashion-MNIST
    or MNIST; presets on procedural scenes draw a few), prints per-task
    predictions for a few images and the metrics on the whole sample next
    to the card's full-test-split values, and writes a PNG panel: each
    image, its predicted masks (or depth / normals), its predicted labels.

    A preset converted from another runtime (no dataset sample) runs
    instead on a real photo shipped with mtlzoo (the astronaut, or a
    crop of it) through `mtlzoo.postprocess`, prints its outputs in the
    photo's pixels and writes the photo with them drawn (keypoints and
    skeleton, mask overlay, box, class and value text); see
    `mtlzoo.app.photo_demo`.

    Args:
        name: str. A preset name. Defaults to `DEFAULT_PRESET`
            (`"fashion_mobilenetv2_multitask"`).
        out: str. Path of the PNG. Defaults to `"mtlzoo_demo.png"` in the
            current directory (`"mtlzoo_demo_<name>.png"` for a converted
            preset).
        num_images: int. Images in the panel and the printout. Defaults
            to 6.
        verbose: bool. Print the report. Defaults to True.

    Returns:
        dict with `name`, `metrics` (on the sample), `card_metrics` (the
        card's full-test-split values), `num_samples`, `png` (path) and
        `seconds`; for a converted preset `name`, `photo`, `crop_box`,
        `result` (post-processed outputs), `lines`, `png` and `seconds`.

    Example:

    >>> result = mtlzoo.app.demo.run_demo("fashion_tiny_test", out="demo.png")
    >>> result["metrics"]["garment_accuracy"]
    """
    from mtlzoo.zoo.loading import load

    start = time.time()
    name = DEFAULT_PRESET if name is None else name
    if not isinstance(num_images, int) or num_images < 1:
        raise ValueError(
            "`num_images` must be a positive int. "
            f"Received: num_images={num_images!r}"
        )
    config = registry.get_config(name)
    if converted.is_converted(config):
        from mtlzoo.app import photo_demo

        out = os.fspath(out) if out is not None else f"mtlzoo_demo_{name}.png"
        return photo_demo.run_photo_demo(name, config, out, verbose)
    out = os.fspath(out) if out is not None else "mtlzoo_demo.png"
    model = load(name)
    ds = _demo_dataset(config, 256)
    metrics = evaluation.measure(model, ds)
    images, labels = next(iter(ds))
    images = images.numpy()[:num_images]
    labels = {k: v.numpy()[:num_images] for k, v in labels.items()}
    preds = model.predict(images, verbose=0)
    class_names = config["dataset"].get("class_names", {})
    count = sum(int(x.shape[0]) for x, _ in ds)
    source = (
        "shipped real sample"
        if config["dataset"]["sample"]
        else ("generated scenes")
    )
    card = config["metrics"]["multi_task"]
    if verbose:
        print(f"Preset {name}: {config['description']}")
        print(f"Predictions on {num_images} test images ({source}):")
        for i in range(len(images)):
            parts = []
            for task in model.tasks:
                pred = preds[task.name][i]
                true = labels[task.name][i]
                if task.is_dense:
                    metric, value = _sample_score(task, true, pred)
                    parts.append(f"{task.name}: {metric} {value:.3f}")
                else:
                    names = class_names.get(task.name)
                    pred = _prediction_text(task, pred, names)
                    true = _label_text(task, true, names)
                    parts.append(f"{task.name}={pred} (true {true})")
            print(f"  #{i}: " + "; ".join(parts))
        print(
            f"Metrics on the {count} {source} items "
            f"(card, full {config['metrics']['split']} split, in brackets):"
        )
        for key, value in metrics.items():
            print(f"  {key}: {value:.4f} [{card.get(key, float('nan')):.4f}]")
    title = f"mtlzoo preset {name} on {source}"
    write_panel(out, model, images, labels, preds, class_names, title)
    seconds = time.time() - start
    if verbose:
        print(f"Wrote {out} ({seconds:.1f} s)")
    return {
        "name": name,
        "metrics": metrics,
        "card_metrics": dict(card),
        "num_samples": count,
        "png": out,
        "seconds": seconds,
    }
