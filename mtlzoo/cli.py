"""The `mtlzoo` command line.

One function adds each subcommand's parser (`add_<name>_parser`) and one
runs it (`run_<name>(args) -> exit code`); `SUBCOMMANDS` lists the parser
functions, so a new subcommand is a pair of functions and one list entry.
Errors are reported as one line on stderr with a non-zero exit code:
1 for a failed command, 2 for bad usage.

Example:

    mtlzoo list
    mtlzoo info fashion_tiny_test
    mtlzoo demo --name fashion_tiny_test --out demo.png
    mtlzoo eval multi_mnist_lenet --sample
"""

import argparse
import json
import os
import sys

from mtlzoo import cli_commands

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROG = "mtlzoo"


class CommandError(Exception):
    """A failed command; its message is printed as one line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _one_line(text):
    return " ".join(str(text).split())


def _print_json(value):
    print(json.dumps(value, indent=2, sort_keys=False))


# ----------------------------------------------------------------------
# list
def add_list_parser(subparsers):
    parser = subparsers.add_parser(
        "list",
        help="list the pretrained presets",
        description="List the pretrained presets with their tasks and "
        "delta_m (multi-task vs single-task baselines, percent).",
    )
    parser.add_argument(
        "pattern",
        nargs="?",
        default=None,
        help="fnmatch pattern, e.g. '*mnist*'",
    )
    parser.add_argument(
        "--names", action="store_true", help="print the names only"
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(func=run_list)


def run_list(args):
    from mtlzoo import zoo

    names = zoo.list_models(args.pattern)
    if args.names:
        print("\n".join(names))
        return 0
    cards = [zoo.info(name) for name in names]
    if args.json:
        _print_json(
            [
                {
                    "name": c["name"],
                    "tasks": [t["name"] for t in c["tasks"]],
                    "delta_m": c["delta_m"],
                    "params": c["params"],
                    "weights_bytes": c["weights_bytes"],
                }
                for c in cards
            ]
        )
        return 0
    if not cards:
        print(f"No preset matches {args.pattern!r}.")
        return 0
    width = max(len(c["name"]) for c in cards)
    print(f"{'name':<{width}}  {'delta_m':>8}  {'params':>10}  tasks")
    for c in cards:
        tasks = ", ".join(t["name"] for t in c["tasks"])
        print(
            f"{c['name']:<{width}}  {c['delta_m']:>+7.2f}%  "
            f"{c['params']:>10,}  {tasks}"
        )
    return 0


# ----------------------------------------------------------------------
# info
def add_info_parser(subparsers):
    parser = subparsers.add_parser(
        "info",
        help="show a preset's model card",
        description="Show a preset's model card: tasks, test metrics next "
        "to the single-task baselines, delta_m, size and training time.",
    )
    parser.add_argument("name", help="preset name (see `mtlzoo list`)")
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(func=run_info)


def run_info(args):
    from mtlzoo.zoo import card

    info = card.info(args.name)
    if args.json:
        _print_json(info)
    else:
        print(card.render_markdown(info), end="")
    return 0


# ----------------------------------------------------------------------
# demo
def add_demo_parser(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="run a preset on real sample images and write a PNG",
        description="Load a pretrained preset (offline), run it on the real "
        "Fashion-MNIST / MNIST sample shipped with mtlzoo, print per-task "
        "predictions and accuracy, and write a PNG panel.",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="preset name (default: fashion_mobilenetv2_multitask)",
    )
    parser.add_argument(
        "--out",
        default="mtlzoo_demo.png",
        help="PNG path (default: %(default)s)",
    )
    parser.add_argument(
        "--num-images",
        type=int,
        default=6,
        help="images in the panel (default: %(default)s)",
    )
    parser.set_defaults(func=run_demo)


def run_demo(args):
    from mtlzoo.zoo import demo

    demo.run_demo(args.name, out=args.out, num_images=args.num_images)
    return 0


# ----------------------------------------------------------------------
# eval
def add_eval_parser(subparsers):
    parser = subparsers.add_parser(
        "eval",
        help="re-measure a preset's card metrics",
        description="Evaluate a preset's shipped weights on its test split "
        "and compare with its card. Without the full data here, pass "
        "--data or use --sample (the real sample shipped with mtlzoo; its "
        "numbers are not the card's).",
    )
    parser.add_argument("name", help="preset name (see `mtlzoo list`)")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="evaluate on the real test sample shipped with mtlzoo",
    )
    parser.add_argument(
        "--data",
        action="append",
        default=None,
        metavar="[ARG=]PATH",
        help="where the full data is (e.g. --data /data/fashion-mnist, or "
        "--data mnist_path=/data/mnist.npz); repeatable",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="exit 1 if a metric differs from the card by more than this "
        "(full test split only)",
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(func=run_eval)


def _parse_data(values):
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    out = {}
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key:
            raise CommandError(
                f"--data takes PATH or ARG=PATH. Received: --data {value}"
            )
        out[key] = path
    return out


def run_eval(args):
    from mtlzoo import zoo

    if args.sample and args.data:
        raise CommandError(
            "--sample and --data exclude each other. "
            f"Received: --sample --data {' '.join(args.data)}"
        )
    if args.batch_size < 1:
        raise CommandError(
            f"--batch-size must be >= 1. Received: --batch-size "
            f"{args.batch_size}"
        )
    result = zoo.evaluate(
        args.name,
        sample=args.sample,
        data=_parse_data(args.data),
        batch_size=args.batch_size,
    )
    where = "shipped sample" if args.sample else "full test split"
    if args.json:
        _print_json(dict(result, name=args.name, data=where))
    else:
        print(
            f"{args.name}: {result['num_samples']} samples ({where})"
            + ("; the card is measured on the full test split" * args.sample)
        )
        print(f"{'metric':<28} {'measured':>10} {'card':>10} {'diff':>10}")
        for key, value in result["metrics"].items():
            card = result["card"].get(key)
            diff = "" if card is None else f"{value - card:>+10.4f}"
            card = "" if card is None else f"{card:>10.4f}"
            print(f"{key:<28} {value:>10.4f} {card:>10} {diff}")
    if args.tolerance is not None and not args.sample:
        worst = max(
            abs(v - result["card"][k])
            for k, v in result["metrics"].items()
            if k in result["card"]
        )
        if worst > args.tolerance:
            raise CommandError(
                f"Metrics differ from the card by up to {worst:.6f}, more "
                f"than the tolerance. Received: --tolerance {args.tolerance}"
            )
    return 0


# ----------------------------------------------------------------------
SUBCOMMANDS = [
    add_list_parser,
    add_info_parser,
    add_demo_parser,
    add_eval_parser,
]


def build_parser():
    """The top-level parser with every subcommand of `SUBCOMMANDS`."""
    parser = _Parser(
        prog=PROG,
        description="mtlzoo: pretrained multi-task models for Keras 3.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    subparsers.required = True
    for add in SUBCOMMANDS:
        add(subparsers)
    cli_commands.register(subparsers)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code.

    Args:
        argv: list of str. Arguments without the program name. Defaults to
            None (`sys.argv[1:]`).

    Returns:
        int. 0 on success, 1 when the command failed, 2 on bad usage.
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
            f"{PROG} {args.command}: error: {_one_line(error)}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
