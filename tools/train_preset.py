"""Train a zoo preset and write its weights, zoo config, card and licence.

The generic trainer of the zoo. Preset NAME's recipe is
`zoo_configs/NAME/recipe.json` (backbone, tasks, heads, branch points or
architecture, data, epochs, batch size, learning rate, weighting, the
variants to compare, notes); for it this script

1. trains the multi-task model of the recipe (and each listed variant:
   another weighting, branch tree or architecture, same budget);
2. trains one single-task baseline per task with the same backbone, head,
   data, epochs, batch size and optimizer, with mtlzoo's single-task
   trainer (`mtlzoo.tuning.baselines.train_single_task`);
3. evaluates everything on the test split with `mtlzoo.zoo.evaluation.measure`
   (the code behind `mtlzoo eval`), the shipped multi-task model after a
   round trip through its weight file;
4. writes the preset's two folders: `pretrained/NAME/NAME.weights.h5` and
   `zoo_configs/NAME/` (`config.json` with the measured metrics, delta_m,
   sha256 and wall times; the card `README.md`; `LICENSE`), and refreshes
   `docs/zoo/index.md`.

The multi-task run that ships is the one with the best delta_m among the
main recipe and its variants. A recipe whose dataset has a `validation`
split (held out of the training data) is chosen on it, the baselines
measured there too; otherwise on the test split, which the card then
says. Every run is recorded under `metrics.variants`.

Usage:

    python tools/train_preset.py NAME            # the command in the config
    python tools/train_preset.py NAME --reuse-baselines
        # keep the single-task results already in zoo_configs/NAME/config.json
    python tools/train_preset.py --cards         # rewrite cards and licences
    python tools/train_preset.py --list

A recipe's dataset block is read by `mtlzoo.datasets.config` (the reader of
`mtlzoo train`, `mtlzoo eval` and `mtlzoo search`); its `paths` are where
the full datasets live on the machine the presets were trained on, and
`mtlzoo eval NAME --data PATH` points elsewhere.
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
from mtlzoo import metrics as metrics_lib  # noqa: E402
from mtlzoo._files import sha256  # noqa: E402
from mtlzoo.architectures import hard_sharing  # noqa: E402
from mtlzoo.datasets import config as dataset_config  # noqa: E402
from mtlzoo.model import MultiTaskModel  # noqa: E402
from mtlzoo.model.batch_norm import recalibrate_batch_norm  # noqa: E402
from mtlzoo.presets import card as card_lib  # noqa: E402
from mtlzoo.presets import registry  # noqa: E402
from mtlzoo.presets import schema  # noqa: E402
from mtlzoo.presets.saving import compile_arguments  # noqa: E402
from mtlzoo.presets.transfer import transfer_weights  # noqa: E402
from mtlzoo.presets.weights import weights_block  # noqa: E402
from mtlzoo.tuning.baselines import train_single_task  # noqa: E402
from mtlzoo.zoo import evaluation  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
BN_BATCHES = 32
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
WEIGHTS_LICENSE = "Apache-2.0 (weights trained by mtlzoo)"
# recipe.json keys: key -> required
RECIPE_KEYS = {
    "description": True,
    "dataset": True,
    "backbone": True,
    "backbone_weights": False,
    "input_shape": True,
    "tasks": True,
    "heads": False,
    "branch_points": True,
    "architecture": False,
    "epochs": True,
    "batch_size": True,
    "learning_rate": True,
    "label": False,
    "weighting": True,
    "weighting_options": False,
    "variants": False,
    "license": False,
    "seed": False,
    "notes": False,
}


def preset_folders(name):
    """`(zoo_configs/NAME, pretrained/NAME)` of the checkout."""
    return (
        REPO / registry.CONFIGS_HOME / name,
        REPO / registry.WEIGHTS_HOME / name,
    )


def recipe_names():
    """Names of the presets with a recipe in the checkout, sorted."""
    home = REPO / registry.CONFIGS_HOME
    return sorted(p.parent.name for p in home.glob(f"*/{registry.RECIPE_FILE}"))


def load_recipe(name):
    """The recipe of preset `name`, its tasks as `mtlzoo.Task`s."""
    path = preset_folders(name)[0] / registry.RECIPE_FILE
    if not path.is_file():
        raise ValueError(
            f"No recipe at {path}; presets with one: {recipe_names()}. "
            f"Received: name={name!r}"
        )
    recipe = json.loads(path.read_text(encoding="utf-8"))
    missing = [
        k for k, required in RECIPE_KEYS.items() if required and k not in recipe
    ]
    unknown = sorted(set(recipe) - set(RECIPE_KEYS))
    if missing or unknown:
        raise ValueError(
            f"Recipe {path}: missing {missing}, unknown {unknown}. "
            f"Received: keys={sorted(recipe)}"
        )
    dataset_config.read_block(recipe["dataset"])
    # Class names come from the dataset block, so the trained model's tasks
    # carry them (model.tasks[i].class_names) without a second copy.
    names = recipe["dataset"].get("class_names") or {}
    recipe["tasks"] = [
        mtlzoo.Task.from_config(
            dict(t, class_names=names[t["name"]])
            if t["name"] in names and "class_names" not in t
            else t
        )
        for t in recipe["tasks"]
    ]
    recipe["input_shape"] = tuple(recipe["input_shape"])
    return recipe


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
    """The recipe's training split, batched and shuffled."""
    ds, _ = dataset_config.load_split(
        recipe["dataset"],
        "train",
        batch_size=recipe["batch_size"],
        shuffle=True,
    )
    if task_names is not None:
        ds = dataset_config.select_tasks(ds, task_names)
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
    """Build, compile and fit one multi-task model; returns
    `(model, minutes)`.

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
        backbone_weights=recipe.get("backbone_weights"),
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
    recalibrate_batch_norm(model, ds, batches=BN_BATCHES)
    minutes = (time.time() - start) / 60.0
    print(f"[{label}] trained in {minutes:.2f} min", flush=True)
    return model, minutes


def _delta(mtl, stl, primary):
    hib = {k: schema.metric_higher_is_better(k) for k in mtl}
    prim = {k: mtl[k] for k in primary.values()}
    base = {k: stl[k] for k in primary.values()}
    return (
        metrics_lib.delta_m(prim, base, hib),
        metrics_lib.delta_m(mtl, stl, hib),
    )


def _single_task_run(recipe, label, task, steps):
    """Train the single-task baseline of `task` with the recipe's budget
    (mtlzoo's single-task trainer); returns `(model, minutes)`."""
    # The data is made under the run's seed, as in `_run` (the trainer
    # seeds again before building the model).
    keras.utils.set_random_seed(recipe.get("seed", 0))
    ds = _train_dataset(recipe, [task.name])
    start = time.time()
    model, _ = train_single_task(
        recipe["backbone"],
        task,
        recipe["input_shape"],
        ds,
        epochs=recipe["epochs"],
        batch_size=recipe["batch_size"],
        optimizer=_optimizer(recipe, steps),
        backbone_weights=recipe.get("backbone_weights"),
        head=(recipe.get("heads") or {}).get(task.name),
        name=label,
        seed=recipe.get("seed", 0),
        verbose=2,
    )
    recalibrate_batch_norm(model, ds, batches=BN_BATCHES)
    minutes = (time.time() - start) / 60.0
    print(f"[{label}] trained in {minutes:.2f} min", flush=True)
    return model, minutes


def _setup(name):
    """`(recipe, n_train, steps, test_ds)` of a preset."""
    recipe = load_recipe(name)
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
        model, minutes = _single_task_run(
            recipe, f"{name}_stl_{task.name}", task, steps
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
    config_dir, weights_dir = preset_folders(name)
    path = config_dir / registry.CONFIG_FILE
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
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights_path = weights_dir / file
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
        "weights": {"file": file, "sha256": sha256(weights_path)},
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
        "weights": weights_block(weights_path, params),
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
    path = preset_folders(name)[0] / registry.CONFIG_FILE
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
    return dataset_config.select_tasks(test_ds, [task.name])


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
    """Every preset folder's card `README.md` and `LICENSE`, and
    `docs/zoo/index.md`.

    The cards come from `mtlzoo.presets.card` and the table from
    `tools/gen_zoo_table.py` (also run by `mkdocs build`, which shows each
    `README.md` as `zoo/<name>.md`), so each page has one generator.
    """
    sys.path.insert(0, str(REPO / "tools"))
    import gen_zoo_table

    for config in gen_zoo_table.configs():
        folder = preset_folders(config["name"])[0]
        card = card_lib.card_from_config(config)
        (folder / registry.CARD_FILE).write_text(
            card_lib.render_markdown(card), encoding="utf-8"
        )
        (folder / registry.LICENSE_FILE).write_text(
            card_lib.render_license(config), encoding="utf-8"
        )
    path = REPO / "docs" / "zoo" / "index.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gen_zoo_table.index_page(), encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", choices=recipe_names())
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
        print("\n".join(recipe_names()))
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
