"""`mtlzoo info NAME`: a preset's model card."""

from mtlzoo.app.cli._common import print_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "info",
        help="show a preset's model card",
        description="Show a preset's model card: tasks, test metrics next "
        "to the single-task baselines, delta_m, size and training time.",
    )
    parser.add_argument("name", help="preset name (see `mtlzoo list`)")
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(func=run)


def run(args):
    from mtlzoo.presets import card

    info = card.info(args.name)
    if args.json:
        print_json(info)
    else:
        print(card.render_markdown(info), end="")
    return 0
