"""`mtlzoo search CONFIG.json`: architecture search with keras-tuner."""

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import print_json
from mtlzoo.app.cli._common import read_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "search",
        help="search branch points, heads and weighting (keras-tuner)",
        description="Run an architecture search from a JSON config "
        "(mtlzoo.tuning.run_search: backbone, dataset, tasks, search "
        "space, objective, tuner) and print the best config.",
    )
    parser.add_argument("config", help="JSON search config")
    parser.add_argument(
        "--output", default=None, help="write the best config here (JSON)"
    )
    parser.set_defaults(func=run)


def run(args):
    config = read_json(args.config, "config")
    try:
        from mtlzoo.tuning import run_search
    except ImportError as error:
        raise CommandError(
            f"mtlzoo.tuning.run_search is not available ({error}). "
            f"Received: config={args.config!r}"
        ) from error
    if args.output:
        config["output"] = args.output
    best = run_search(config)
    if best is not None:
        print_json(best, sort_keys=True)
    return 0
