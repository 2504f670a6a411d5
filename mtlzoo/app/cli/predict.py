"""`mtlzoo predict NAME IMAGE...`: per-task outputs, dense ones as PNG."""

import os

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import print_json


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict",
        help="run a model on image files",
        description="Run a preset, a .keras file or a train output .json "
        "on image files (resized to the model's input), print per-task "
        "outputs and write dense outputs (segmentation, depth, normals) "
        "as PNG files.",
    )
    parser.add_argument(
        "name", help="preset name, .keras file or train output .json"
    )
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG)")
    parser.add_argument(
        "--output-dir",
        default=".",
        help="where dense outputs go (default: current directory)",
    )
    parser.add_argument(
        "--top-k", type=int, default=3, help="classes shown per task"
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(func=run)


def run(args):
    missing = [p for p in args.images if not os.path.isfile(p)]
    if missing:
        raise CommandError(
            f"No such image file(s): {', '.join(missing)}. "
            f"Received: images={args.images}"
        )
    if args.top_k < 1:
        raise CommandError(f"--top-k must be >= 1. Received: {args.top_k}")
    from mtlzoo.app import model_source

    model, config, _ = model_source.load(args.name)
    images = model_source.read_images(args.images, model)
    results = model_source.predict(
        model, config, images, args.images, args.output_dir, args.top_k
    )
    if args.json:
        print_json(results)
        return 0
    for result in results:
        print(result["image"])
        for task, value in result["outputs"].items():
            print(f"  {task}: {model_source.describe(value)}")
    return 0
