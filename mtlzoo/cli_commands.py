"""`mtlzoo train | export | predict | search`: the model-handling commands.

`register(subparsers)` adds the four subcommands to an argparse
subparsers object (the `mtlzoo` command line calls it); `main(argv)` runs
them alone (`python -m mtlzoo.cli_commands ...`). A failed command prints
one line `mtlzoo <command>: error: ...` on stderr and exits 1 (2 for bad
usage).

Example:

    mtlzoo train run.json --output runs/shapes
    mtlzoo export runs/shapes/shapes_tiny.json --format tflite --quantize int8
    mtlzoo predict fashion_tiny_test shirt.png --output-dir out/
    mtlzoo search search.json
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROG = "mtlzoo"


class CommandError(ValueError):
    """A failed command; its message is printed as one line."""


def register(subparsers):
    """Add `train`, `export`, `predict` and `search` to `subparsers`.

    Args:
        subparsers: the object `ArgumentParser.add_subparsers()` returns.
            Each subcommand sets `func` (a function `args -> exit code`).
    """
    for add in (add_train_parser, add_export_parser, add_predict_parser):
        add(subparsers)
    add_search_parser(subparsers)


# ----------------------------------------------------------------------
# train
def add_train_parser(subparsers):
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
    parser.set_defaults(func=run_train)


def run_train(args):
    from mtlzoo import train_config

    config = _read_json(args.config, "config")
    if args.epochs is not None and args.epochs < 1:
        raise CommandError(
            f"--epochs must be >= 1. Received: --epochs {args.epochs}"
        )
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


# ----------------------------------------------------------------------
# export
def add_export_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a model to SavedModel or TFLite and check it",
        description="Export a preset, a .keras file or a config written by "
        "`mtlzoo train` to SavedModel or TFLite (float32, float16 or "
        "full-integer int8 with float inputs/outputs), then run the "
        "exported model next to the Keras model and report per-task "
        "agreement, accuracy drop, size and latency.",
    )
    parser.add_argument(
        "name", help="preset name, .keras file or train output .json"
    )
    parser.add_argument(
        "--format", choices=("savedmodel", "tflite"), default="savedmodel"
    )
    parser.add_argument("--quantize", choices=("float16", "int8"))
    parser.add_argument(
        "--output",
        default=None,
        help="output file (.tflite) or directory (SavedModel); default "
        "<name>[_<quantize>].tflite or <name>_savedmodel",
    )
    parser.add_argument(
        "--data",
        default=None,
        help=".npz with `images` (N, H, W, C) and optional labels per "
        "task, for calibration and the check (default: the model's "
        "dataset: the preset's shipped sample or the train config's "
        "dataset)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=128,
        help="calibration and check images (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="JSON report")
    parser.set_defaults(func=run_export)


def run_export(args):
    from mtlzoo import export as export_lib
    from mtlzoo import model_source

    if args.quantize and args.format != "tflite":
        raise CommandError(
            "--quantize needs --format tflite. "
            f"Received: --format {args.format} --quantize {args.quantize}"
        )
    if args.samples < 1:
        raise CommandError(
            f"--samples must be >= 1. Received: --samples {args.samples}"
        )
    model, config, stem = model_source.load(args.name)
    calib, check = model_source.sample_data(
        model, config, args.data, args.samples
    )
    if args.quantize == "int8" and calib is None:
        raise CommandError(
            "int8 needs calibration images: pass --data FILE.npz. "
            f"Received: name={args.name!r}"
        )
    output = args.output
    if output is None:
        suffix = f"_{args.quantize}" if args.quantize else ""
        output = (
            f"{stem}{suffix}.tflite"
            if args.format == "tflite"
            else f"{stem}_savedmodel"
        )
    try:
        report = export_lib.export(
            model,
            output,
            format=args.format,
            quantize=args.quantize,
            representative_data=calib,
            sample_inputs=check,
            max_check_samples=args.samples,
            verbose=not args.json,
        )
    except RuntimeError as error:
        raise CommandError(str(error)) from error
    report_path = os.path.splitext(output.rstrip("/"))[0] + ".report.json"
    with open(report_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(_format_report(report))
    print(f"Report: {report_path}")
    return 0


def _format_report(report):
    lines = [
        f"{report['format']} ({report['quantize'] or 'float32'}): "
        f"{report['path']}",
        f"size {report['size_bytes'] / 1e6:.3f} MB, float32 "
        f"{report['float32_size_bytes'] / 1e6:.3f} MB, ratio "
        f"{report['size_ratio']:.2f}x; batch-1 latency "
        f"{report['latency_ms']:.2f} ms; checked on {report['samples']} "
        f"{report['inputs']} images",
    ]
    keys = (
        "top1_agreement",
        "class_agreement",
        "label_agreement",
        "accuracy_drop",
        "max_abs_error",
        "mean_abs_error",
    )
    for task, numbers in report["tasks"].items():
        parts = [
            f"{k}={numbers[k]:.4g}" + (" pts" if k == "accuracy_drop" else "")
            for k in keys
            if k in numbers
        ]
        lines.append(f"  {task}: " + ", ".join(parts))
    targets = report.get("targets")
    if targets:
        lines.append(
            f"int8 targets: size ratio >= {targets['size_ratio_min']}: "
            f"{targets['size_ratio_met']}; accuracy drop <= "
            f"{targets['accuracy_drop_max']} pt: "
            f"{targets['accuracy_drop_met']}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------
# predict
def add_predict_parser(subparsers):
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
    parser.set_defaults(func=run_predict)


def run_predict(args):
    from mtlzoo import model_source

    missing = [p for p in args.images if not os.path.isfile(p)]
    if missing:
        raise CommandError(
            f"No such image file(s): {', '.join(missing)}. "
            f"Received: images={args.images}"
        )
    if args.top_k < 1:
        raise CommandError(f"--top-k must be >= 1. Received: {args.top_k}")
    model, config, _ = model_source.load(args.name)
    images = model_source.read_images(args.images, model)
    results = model_source.predict(
        model, config, images, args.images, args.output_dir, args.top_k
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        print(result["image"])
        for task, value in result["outputs"].items():
            print(f"  {task}: {model_source.describe(value)}")
    return 0


# ----------------------------------------------------------------------
# search
def add_search_parser(subparsers):
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
    parser.set_defaults(func=run_search)


def run_search(args):
    config = _read_json(args.config, "config")
    try:
        from mtlzoo.tuning import run_search as search
    except ImportError as error:
        raise CommandError(
            f"mtlzoo.tuning.run_search is not available ({error}). "
            f"Received: config={args.config!r}"
        ) from error
    if args.output:
        config["output"] = args.output
    best = search(config)
    if best is not None:
        print(json.dumps(best, indent=2, sort_keys=True))
    return 0


# ----------------------------------------------------------------------
def _read_json(path, what):
    if not os.path.isfile(path):
        raise CommandError(f"No such {what} file. Received: {what}={path!r}")
    with open(path, encoding="utf-8") as f:
        try:
            value = json.load(f)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not valid JSON ({error}). Received: {what}={path!r}"
            ) from None
    if not isinstance(value, dict):
        raise CommandError(
            f"A {what} must be a JSON object. Received: {what}={path!r}"
        )
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv=None):
    """Run `train`, `export`, `predict` or `search`; returns the exit code."""
    parser = _Parser(prog=PROG, description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    subparsers.required = True
    register(subparsers)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, KeyError) as error:
        message = " ".join(str(error).split())
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
