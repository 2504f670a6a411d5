"""Architecture search vs the default all-at-P5 tree on Fashion-MNIST tasks.

One real case: `mtlzoo.datasets.fashion_tasks` (garment, group, ink by
default) on the tiny backbone. Steps, all with the same training budget
(`--epochs`, `--batch`, Adam 1e-3):

1. single-task baselines on the validation set (`measure_baselines`);
2. a RandomSearch over branch levels and head sizes scored by
   `val_delta_m` (best epoch of each trial, as keras-tuner scores);
3. held-out check: the default tree, the best found tree and the
   single-task models are retrained from scratch (`--seeds` seeds) and
   scored at the last epoch on a test set the search never saw;
4. task affinity (TAG lookahead) of the default model and the 2-group
   split it suggests.

Prints a markdown table: delta_m (percent, Maninis definition, one primary
metric per task) on validation (search scoring) and on test, parameters,
step time and the search time.

    python benchmarks/search_vs_default.py [--trials 10] [--epochs 3]
        [--train 3000] [--val 1000] [--test 1000] [--batch 16] [--data DIR]

Batch 16 rather than 64: with a few hundred steps, the backbones'
BatchNormalization moving statistics (momentum 0.99) lag far behind the
weights, and validation metrics in inference mode become noise (train
accuracy 0.86 vs 0.2 on the same data in inference mode after 94 steps).
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

import mtlzoo  # noqa: E402
from mtlzoo import datasets  # noqa: E402
from mtlzoo import tuning  # noqa: E402
from mtlzoo.app import plots  # noqa: E402
from mtlzoo.metrics import delta_m  # noqa: E402


def default_data_path():
    for root in (os.environ.get("MTLZOO_DATA_DIR"), "/work/shared/data"):
        if root and os.path.isdir(os.path.join(root, "fashion-mnist")):
            return os.path.join(root, "fashion-mnist")
    return "sample"


def load(args):
    common = dict(size=args.size, tasks=args.tasks, path=args.data)
    train, tasks = datasets.fashion_tasks(
        "train", num_samples=args.train, seed=args.seed, **common
    )
    held, _ = datasets.fashion_tasks(
        "test", num_samples=args.val + args.test, shuffle=False, **common
    )
    train = train.batch(args.batch).cache()
    val = held.take(args.val).batch(64).cache()
    test = held.skip(args.val).batch(64).cache()
    return train, val, test, tasks


def train_and_score(model, train, val, test, epochs, objective):
    """Fit; return (best-epoch val score, last-epoch test metrics, times)."""
    logger = tuning.TrialLogger(objective)
    history = model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        verbose=0,
        callbacks=[logger],
    ).history
    val_score = max(history[objective.name]) if objective else None
    test_logs = model.evaluate(test, verbose=0, return_dict=True)
    return val_score, test_logs, logger.step_time()


def single_task_test(args, tasks, train, val, test, seed):
    out = {}
    for task in tasks:
        keras.utils.set_random_seed(seed)
        model = mtlzoo.build(args.backbone, [task], input_shape(args))
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        keep = [task.name]
        _, logs, _ = train_and_score(
            model,
            train.map(lambda x, y: (x, {n: y[n] for n in keep})),
            val.map(lambda x, y: (x, {n: y[n] for n in keep})),
            test.map(lambda x, y: (x, {n: y[n] for n in keep})),
            args.epochs,
            None,
        )
        out[task.primary_metric] = logs[task.primary_metric]
    return out


def input_shape(args):
    return (args.size, args.size, 1)


def test_delta_m(tasks, logs, baselines):
    mtl = {t.primary_metric: logs[t.primary_metric] for t in tasks}
    stl = {t.primary_metric: baselines[t.primary_metric] for t in tasks}
    hib = {t.primary_metric: t.higher_is_better for t in tasks}
    return delta_m(mtl, stl, hib)


def describe(hypermodel, model):
    tree = hypermodel.branch_points_of(model)
    heads = model.get_config()["heads"]
    levels = ", ".join(f"{k}:{v}" for k, v in sorted(tree.items()))
    widths = ", ".join(
        f"{k}:{'x'.join(map(str, v.get('units', []))) or 'linear'}"
        for k, v in sorted(heads.items())
    )
    return levels, widths


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument(
        "--tasks", nargs="+", default=["garment", "group", "ink"]
    )
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--val", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=default_data_path())
    parser.add_argument("--affinity-steps", type=int, default=60)
    parser.add_argument("--out", default=tempfile.mkdtemp(prefix="search_"))
    args = parser.parse_args()
    start = time.perf_counter()
    train, val, test, tasks = load(args)
    shape = input_shape(args)
    print(
        f"fashion_tasks {args.tasks} {args.size}px from {args.data}: train "
        f"{args.train}, val {args.val}, test {args.test}; backbone "
        f"{args.backbone}; {args.epochs} epochs, batch {args.batch}"
    )

    t0 = time.perf_counter()
    baselines = tuning.measure_baselines(
        args.backbone,
        tasks,
        shape,
        train,
        val,
        epochs=args.epochs,
        batch_size=args.batch,
        path=os.path.join(args.out, "baselines.json"),
    )
    baseline_time = time.perf_counter() - t0
    print(f"val baselines ({baseline_time:.0f} s): {baselines}")

    objective = tuning.objective("val_delta_m", baselines=baselines)
    hypermodel = tuning.MultiTaskHyperModel(
        args.backbone, tasks, shape, objective=objective
    )
    tuner = kt.RandomSearch(
        hypermodel,
        objective=objective,
        max_trials=args.trials,
        seed=args.seed,
        directory=args.out,
        project_name="search",
    )
    t0 = time.perf_counter()
    tuner.search(train, validation_data=val, epochs=args.epochs, verbose=0)
    search_time = time.perf_counter() - t0
    scores = sorted(
        t.score for t in tuner.oracle.trials.values() if t.score is not None
    )
    print(
        f"search: {len(scores)} trials in {search_time:.0f} s; val delta_m "
        f"of trials: min {scores[0]:.2f}, median "
        f"{np.median(scores):.2f}, max {scores[-1]:.2f}"
    )
    best_hp = tuner.get_best_hyperparameters(1)[0]

    rows = {"default (all at P5)": kt.HyperParameters(), "searched": best_hp}
    results = {name: [] for name in rows}
    stl_runs = []
    for i in range(args.seeds):
        seed = args.seed + 100 + i
        stl_runs.append(single_task_test(args, tasks, train, val, test, seed))
        for name, hp in rows.items():
            keras.utils.set_random_seed(seed)
            model = hypermodel.build(hp.copy())
            val_score, logs, step = train_and_score(
                model, train, val, test, args.epochs, objective
            )
            results[name].append(
                {
                    "val": val_score,
                    "test": test_delta_m(tasks, logs, stl_runs[-1]),
                    "params": model.count_params(),
                    "step": step,
                    "desc": describe(hypermodel, model),
                    "logs": {
                        t.primary_metric: logs[t.primary_metric] for t in tasks
                    },
                }
            )

    print()
    print(
        "| tree | branch levels | head units | params | step ms | "
        "val Δm % (search scoring) | test Δm % (retrained, mean ± sd) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        tests = np.array([r["test"] for r in runs])
        vals = np.array([r["val"] for r in runs])
        levels, widths = runs[0]["desc"]
        print(
            f"| {name} | {levels} | {widths} | {runs[0]['params']:,} | "
            f"{1000 * np.median([r['step'] for r in runs]):.1f} | "
            f"{vals.mean():+.2f} | {tests.mean():+.2f} ± "
            f"{tests.std(ddof=1) if len(tests) > 1 else 0:.2f} |"
        )
    print()
    for name, runs in results.items():
        for i, r in enumerate(runs):
            print(f"{name} seed {i}: test {r['logs']}")
    for i, stl in enumerate(stl_runs):
        print(f"single-task seed {i}: test {stl}")
    print(
        f"search time {search_time:.0f} s ({args.trials} trials), "
        f"baselines {baseline_time:.0f} s"
    )

    keras.utils.set_random_seed(args.seed)
    model = hypermodel.build(kt.HyperParameters())
    t0 = time.perf_counter()
    affinity, names = tuning.task_affinity(
        model, train.repeat(), steps=args.affinity_steps, lr=0.01
    )
    groups = tuning.suggest_groups((affinity, names), 2)
    png = plots.plot_affinity(
        affinity, names, os.path.join(args.out, "affinity.png")
    )
    print(
        f"task affinity ({args.affinity_steps} steps, "
        f"{time.perf_counter() - t0:.0f} s), rows = lookahead task:"
    )
    for name, row in zip(names, affinity):
        print(f"  {name:>8}: " + " ".join(f"{v:+.4f}" for v in row))
    print(f"suggested 2 groups: {groups}; heatmap {png}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
