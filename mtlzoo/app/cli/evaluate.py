"""`mtlzoo eval NAME`: re-measure a preset's card metrics."""

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import print_json


def add_parser(subparsers):
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
    parser.set_defaults(func=run)


def parse_data(values):
    """`--data` values as one path, a dict argument -> path, or None."""
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


def run(args):
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
        data=parse_data(args.data),
        batch_size=args.batch_size,
    )
    where = "shipped sample" if args.sample else "full test split"
    if args.json:
        print_json(dict(result, name=args.name, data=where))
    else:
        _print_table(args, result, where)
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


def _print_table(args, result, where):
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
