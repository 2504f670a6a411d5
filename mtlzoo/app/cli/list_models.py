"""`mtlzoo list [PATTERN]`: the pretrained presets with their delta_m."""

from mtlzoo.app.cli._common import print_json


def add_parser(subparsers):
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
    parser.set_defaults(func=run)


def run(args):
    from mtlzoo import zoo

    names = zoo.list_models(args.pattern)
    if args.names:
        print("\n".join(names))
        return 0
    cards = [zoo.info(name) for name in names]
    if args.json:
        print_json(
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
        delta = "n/a" if c["delta_m"] is None else f"{c['delta_m']:+.2f}%"
        print(f"{c['name']:<{width}}  {delta:>8}  {c['params']:>10,}  {tasks}")
    return 0
