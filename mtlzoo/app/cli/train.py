"""`mtlzoo train`: train from a config, or fine-tune a preset on an .npz.

`mtlzoo train CONFIG.json` runs `mtlzoo.app.train_config.train`;
`mtlzoo train --preset NAME --data my.npz` runs
`mtlzoo.app.fine_tune.fine_tune`. Both write the same outputs.
"""

import os
import sys

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import read_json

# Options of the fine-tune form only (`--preset`), with their defaults.
_FINE_TUNE_ONLY = {
    "data": None,
    "tasks": None,
    "task": None,
    "validation_split": None,
    "weighting": None,
    "batch_size": None,
    "learning_rate": None,
    "freeze_until": None,
    "batch_norm": None,
}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a model from a JSON config, or fine-tune a preset",
        description="Either build a MultiTaskModel from a config's "
        "`architecture` block (MultiTaskModel.get_config()) and train it as "
        "its `training` block says (dataset loader and arguments, epochs, "
        "batch size, optimizer, weighting, callbacks), evaluating it on the "
        "test split; or (--preset NAME --data my.npz) fine-tune a preset on "
        "an .npz file holding `images` (any size, converted to the "
        "preset's input) and one label array per task, named after the "
        "task. Preset tasks found in the file keep their trained heads; "
        "other arrays are new tasks, declared with --task NAME:KIND[:N]. "
        "The last --validation-split of the samples is held out and scored. "
        "Both write weights, the config with the measured metrics (a model "
        "config `mtlzoo predict` and `export` read), TensorBoard logs "
        "(scalars, task weights/losses/gradient conflict, dense prediction "
        "images) and PNG curves.",
    )
    parser.add_argument(
        "config", nargs="?", default=None, help="JSON config file"
    )
    parser.add_argument(
        "--preset",
        default=None,
        help="fine-tune this preset (name or folder) instead of a config",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="with --preset: .npz with `images` and one array per task",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        metavar="NAME",
        help="with --preset: label arrays to train on (default: all)",
    )
    parser.add_argument(
        "--task",
        action="append",
        default=None,
        metavar="NAME:KIND[:N]",
        help="with --preset: declare a new task (N: classes or units), "
        "e.g. digit:classification:10; repeat for several",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=None,
        help="with --preset: fraction held out, the last samples "
        "(default 0.1; 0 scores the training samples)",
    )
    parser.add_argument(
        "--weighting",
        default=None,
        help="with --preset: a mtlzoo.weighting name (default: the preset's)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="with --preset: batch size (default 32)",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="with --preset: learning rate (default: the preset's "
        "optimizer as configured)",
    )
    parser.add_argument(
        "--freeze-until",
        default=None,
        metavar="LEVEL",
        help="with --preset: freeze the backbone up to this level (P1..P5) "
        "or `backbone` (only the heads train)",
    )
    parser.add_argument(
        "--batch-norm",
        default=None,
        choices=("frozen", "recalibrate", "train"),
        help="with --preset: BatchNormalization while fine-tuning (default "
        "recalibrate: they train and their statistics are re-estimated "
        "exactly after fit, so training and inference agree; frozen: the "
        "preset's run in inference mode, best with a low learning rate)",
    )
    parser.add_argument(
        "--output",
        "--out",
        default=None,
        help="output directory (default: runs/<name>)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override training.epochs (with --preset: default 5)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="Keras progress: 1 bar, 2 one line per epoch (default: 1 on "
        "a terminal, else 2)",
    )
    parser.set_defaults(func=run)


def run(args):
    if args.epochs is not None and args.epochs < 1:
        raise CommandError(
            f"--epochs must be >= 1. Received: --epochs {args.epochs}"
        )
    verbose = args.verbose
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if args.preset is not None:
        result = _fine_tune(args, verbose)
    else:
        result = _train(args, verbose)
    print(f"Weights: {result['weights']}")
    print(f"Config:  {result['config']}")
    print(f"Logs:    {result['log_dir']}  (tensorboard --logdir ...)")
    print(f"{result['split'] + ' metric':<32} {'value':>10}")
    for key, value in result["metrics"].items():
        print(f"{key:<32} {value:>10.4f}")
    return 0


def _train(args, verbose):
    if args.config is None:
        raise CommandError(
            "Give a JSON config, or --preset NAME --data FILE.npz to "
            "fine-tune a preset. Received: no config, no --preset"
        )
    given = [
        "--" + key.replace("_", "-")
        for key, default in _FINE_TUNE_ONLY.items()
        if getattr(args, key) != default
    ]
    if given:
        raise CommandError(
            f"{', '.join(given)} go(es) with --preset only. "
            f"Received: config={args.config!r}"
        )
    config = read_json(args.config, "config")
    from mtlzoo.app import train_config

    name = (
        config.get("name") or os.path.splitext(os.path.basename(args.config))[0]
    )
    output = args.output or os.path.join("runs", name)
    result = train_config.train(
        config, output, name=name, epochs=args.epochs, verbose=verbose
    )
    return dict(result, split="test")


def _fine_tune(args, verbose):
    if args.config is not None:
        raise CommandError(
            "Give a config or --preset, not both. "
            f"Received: config={args.config!r}, --preset {args.preset}"
        )
    if args.data is None:
        raise CommandError(
            "--preset needs --data FILE.npz (`images` and one label array "
            f"per task). Received: --preset {args.preset}"
        )
    if not os.path.isfile(args.data):
        raise CommandError(f"No such .npz file. Received: --data {args.data}")
    split = 0.1 if args.validation_split is None else args.validation_split
    if not 0.0 <= split < 1.0:
        raise CommandError(
            f"--validation-split must be in [0, 1). Received: "
            f"--validation-split {split}"
        )
    if args.batch_size is not None and args.batch_size < 1:
        raise CommandError(
            f"--batch-size must be >= 1. Received: --batch-size "
            f"{args.batch_size}"
        )
    from mtlzoo.app import fine_tune

    stem = os.path.splitext(os.path.basename(args.data))[0]
    name = f"{os.path.basename(args.preset.rstrip('/'))}_{stem}"
    output = args.output or os.path.join("runs", name)
    result = fine_tune.fine_tune(
        args.preset,
        args.data,
        output,
        tasks=args.tasks,
        new_tasks=args.task,
        epochs=args.epochs or 5,
        batch_size=args.batch_size or 32,
        validation_split=split,
        weighting=args.weighting,
        learning_rate=args.learning_rate,
        freeze_until=args.freeze_until,
        batch_norm=args.batch_norm or "recalibrate",
        name=name,
        verbose=verbose,
    )
    held = "validation" if split > 0 else "train"
    return dict(result, split=held)
