"""`mtlzoo demo`: a preset on real sample images, written as a PNG panel."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="run a preset on real sample images and write a PNG",
        description="Load a pretrained preset (offline), run it on the real "
        "Fashion-MNIST / MNIST sample shipped with mtlzoo, print per-task "
        "predictions and accuracy, and write a PNG panel. A converted "
        "preset (faces_mtcnn_onet, ...) runs on a real photo shipped with "
        "mtlzoo instead: its outputs are printed in the photo's pixels and "
        "drawn on it (keypoints, masks, boxes, text).",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="preset name (default: fashion_mobilenetv2_multitask)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="PNG path (default: mtlzoo_demo.png, or mtlzoo_demo_NAME.png "
        "for a converted preset)",
    )
    parser.add_argument(
        "--num-images",
        type=int,
        default=6,
        help="images in the panel (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args):
    import os

    from mtlzoo.app.cli._common import CommandError

    out = args.out
    if out is not None and (
        os.path.isdir(out)
        or os.path.splitext(out)[1].lower() not in (".png", ".jpg", ".jpeg")
    ):
        raise CommandError(
            "--out is the picture to write: a file name ending .png (or "
            f".jpg), not a directory. Received: --out {out}"
        )
    from mtlzoo.app import demo

    demo.run_demo(args.name, out=args.out, num_images=args.num_images)
    return 0
