"""`mtlzoo predict NAME IMAGE...`: per-task outputs, dense ones as PNG.

A converted preset (or any model given `--crop-box`) runs on the photo or
its crop through `mtlzoo.postprocess`: outputs are printed in the photo's
pixels (keypoints, boxes), masks are written at the photo's size, and the
photo is written with the outputs drawn (`<image>_<name>.png`).
"""

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
    parser.add_argument(
        "--crop-box",
        type=int,
        nargs=4,
        metavar=("LEFT", "TOP", "RIGHT", "BOTTOM"),
        default=None,
        help="the region of each photo the model sees, in its pixels "
        "(e.g. a face box made square); outputs are mapped back to the "
        "photo (default: the whole photo, stretched)",
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
    box = args.crop_box
    if box is not None and (box[2] <= box[0] or box[3] <= box[1]):
        raise CommandError(
            "--crop-box needs RIGHT > LEFT and BOTTOM > TOP. "
            f"Received: --crop-box {' '.join(map(str, box))}"
        )
    from mtlzoo.app import model_source

    model, config, stem = model_source.load(args.name)
    from mtlzoo.presets import converted

    if args.crop_box is not None or (
        config is not None and converted.is_converted(config)
    ):
        return _run_on_photos(args, model, stem)
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


def _run_on_photos(args, model, stem):
    """Crop, predict, post-process and draw each photo."""
    from mtlzoo.app import drawing
    from mtlzoo.app import photo_demo

    if not hasattr(model, "tasks"):
        raise CommandError(
            "--crop-box needs a mtlzoo model (a preset or a .json "
            f"config), not a plain Keras file. Received: name={args.name}"
        )
    box = args.crop_box
    os.makedirs(args.output_dir, exist_ok=True)
    results = []
    for path in args.images:
        photo = photo_demo.read_photo(path)
        result, crop_box = photo_demo.run_on_photo(model, photo, box)
        image_stem = os.path.splitext(os.path.basename(path))[0]
        png = os.path.join(args.output_dir, f"{image_stem}_{stem}.png")
        view = photo_demo.view_box(photo, crop_box)
        drawing.render(photo, result, model.tasks, crop_box, view).save(png)
        masks = photo_demo.save_masks(
            result, model.tasks, image_stem, args.output_dir
        )
        results.append(
            {
                "image": path,
                "crop_box": list(crop_box),
                "outputs": photo_demo.to_json(result),
                "masks": masks,
                "png": png,
                "lines": photo_demo.describe(result, model.tasks),
            }
        )
    if args.json:
        print_json(results)
        return 0
    for entry in results:
        print(f"{entry['image']} (crop box {entry['crop_box']}):")
        for line in entry["lines"]:
            print(f"  {line}")
        for task, mask in entry["masks"].items():
            print(f"  {task} mask: {mask}")
        print(f"  drawing: {entry['png']}")
    return 0
