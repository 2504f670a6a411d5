"""`mtlzoo train CONFIG.json`: train from a config, with TensorBoard logs."""

import os
import sys

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import read_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a model from a JSON config",
        description="Build a MultiTaskModel from a config's `architecture` "
        "block (MultiTaskModel.get_config()), train it as its `training` "
        "block says (dataset loader and arguments, epochs, batch size, "
        "optimizer, weighting, callbacks) with TensorBoard logs (scalars, "
        "task weights/losses/gradient conflict, dense prediction images), "
        "evaluate it on the test split and write weights, the config with "
        "the measured metrics, and PNG curves.",
    )
    parser.add_argument("config", help="JSON config file")
    parser.add_argument(
        "--output",
        default=None,
        help="output directory (default: runs/<name>)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override training.epochs"
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
    config = read_json(args.config, "config")
    if args.epochs is not None and args.epochs < 1:
        raise CommandError(
            f"--epochs must be >= 1. Received: --epochs {args.epochs}"
        )
    from mtlzoo.app import train_config

    name = (
        config.get("name") or os.path.splitext(os.path.basename(args.config))[0]
    )
    output = args.output or os.path.join("runs", name)
    verbose = args.verbose
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    result = train_config.train(
        config, output, name=name, epochs=args.epochs, verbose=verbose
    )
    print(f"Weights: {result['weights']}")
    print(f"Config:  {result['config']}")
    print(f"Logs:    {result['log_dir']}  (tensorboard --logdir ...)")
    print(f"{'test metric':<32} {'value':>10}")
    for key, value in result["metrics"].items():
        print(f"{key:<32} {value:>10.4f}")
    return 0
