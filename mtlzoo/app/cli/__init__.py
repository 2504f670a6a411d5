"""The `mtlzoo` command line.

One module per subcommand; each defines `add_parser(subparsers)` (which
sets `func`) and `run(args) -> exit code`. `SUBCOMMANDS` lists them, so a
new subcommand is one module and one list entry. Errors are one line on
stderr, `mtlzoo <command>: error: ...`, with exit code 1 for a failed
command and 2 for bad usage.

The modules import nothing heavy at the top: `mtlzoo --help`, `list` and
`info` answer without importing TensorFlow; the other subcommands import
what they need when they run.

Example:

    mtlzoo list
    mtlzoo info fashion_tiny_test
    mtlzoo demo --name fashion_tiny_test --out demo.png
    mtlzoo eval multi_mnist_lenet --sample
    mtlzoo train run.json --output runs/shapes
    mtlzoo train --preset fashion_tiny_test --data my.npz --out runs/mine
    mtlzoo export runs/shapes/shapes_tiny.json --format tflite --quantize int8
    mtlzoo predict fashion_tiny_test shirt.png --output-dir out/
    mtlzoo search search.json
"""

import os
import sys

from mtlzoo.app.cli import demo
from mtlzoo.app.cli import evaluate
from mtlzoo.app.cli import export
from mtlzoo.app.cli import info
from mtlzoo.app.cli import list_models
from mtlzoo.app.cli import predict
from mtlzoo.app.cli import search
from mtlzoo.app.cli import train
from mtlzoo.app.cli._common import PROG
from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import Parser
from mtlzoo.app.cli._common import one_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# In `mtlzoo --help` order.
SUBCOMMANDS = (
    list_models,
    info,
    demo,
    evaluate,
    train,
    export,
    predict,
    search,
)


def build_parser():
    """The top-level parser with every subcommand of `SUBCOMMANDS`."""
    parser = Parser(
        prog=PROG,
        description="mtlzoo: pretrained multi-task models for Keras 3.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser
    )
    subparsers.required = True
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code.

    Args:
        argv: list of str. Arguments without the program name. Defaults to
            None (`sys.argv[1:]`).

    Returns:
        int. 0 on success, 1 when the command failed, 2 on bad usage, 130
        when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, TypeError, OSError, KeyError) as error:
        print(
            f"{PROG} {args.command}: error: {one_line(error)}", file=sys.stderr
        )
        return 1


__all__ = ["CommandError", "SUBCOMMANDS", "build_parser", "main"]
