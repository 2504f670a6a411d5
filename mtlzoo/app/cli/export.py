"""`mtlzoo export NAME`: SavedModel or TFLite, checked against Keras."""

import json
import os

from mtlzoo.app.cli._common import CommandError
from mtlzoo.app.cli._common import print_json

_REPORT_KEYS = (
    "top1_agreement",
    "class_agreement",
    "label_agreement",
    "accuracy_drop",
    "max_abs_error",
    "mean_abs_error",
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a model to SavedModel or TFLite and check it",
        description="Export a preset, a .keras file or a config written by "
        "`mtlzoo train` to SavedModel or TFLite (float32, float16 or "
        "full-integer int8 with float inputs/outputs), then run the "
        "exported model next to the Keras model and report per-task "
        "agreement, accuracy drop, size and latency. A missed int8 target "
        "is reported and exits 0; with --fail-on-miss it exits 1.",
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
        default=1000,
        help="check images: the exported model runs next to the Keras "
        "model on at most this many test images; 1000 resolve a 0.1 point "
        "accuracy drop (default: %(default)s)",
    )
    parser.add_argument(
        "--calibration-samples",
        type=int,
        default=1000,
        help="int8 calibration images, from the training data "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--float-layers",
        default="auto",
        help="int8: layers kept in float32, comma-separated names; 'auto' "
        "(fully integer, unless a task then loses more than 1 point: then "
        "the first two backbone stages stay float) or 'none' (fully "
        "integer) (default: %(default)s)",
    )
    parser.add_argument(
        "--fail-on-miss",
        action="store_true",
        help="exit with code 1 when an int8 target is missed (size ratio, "
        "accuracy drop <= 1 point per task); the files are written anyway",
    )
    parser.add_argument("--json", action="store_true", help="JSON report")
    parser.set_defaults(func=run)


def run(args):
    if args.quantize and args.format != "tflite":
        raise CommandError(
            "--quantize needs --format tflite. "
            f"Received: --format {args.format} --quantize {args.quantize}"
        )
    for flag, value in (
        ("--samples", args.samples),
        ("--calibration-samples", args.calibration_samples),
    ):
        if value < 1:
            raise CommandError(f"{flag} must be >= 1. Received: {flag} {value}")
    from mtlzoo import export as export_lib
    from mtlzoo.app import model_source

    model, config, stem = model_source.load(args.name)
    calib, check = model_source.sample_data(
        model, config, args.data, max(args.samples, args.calibration_samples)
    )
    if calib is not None:
        calib = calib[: args.calibration_samples]
    if args.quantize == "int8" and calib is None:
        raise CommandError(
            "int8 needs calibration images: pass --data FILE.npz. "
            f"Received: name={args.name!r}"
        )
    output = args.output or _default_output(args, stem)
    try:
        report = export_lib.export(
            model,
            output,
            format=args.format,
            quantize=args.quantize,
            representative_data=calib,
            sample_inputs=check,
            calibration_samples=args.calibration_samples,
            max_check_samples=args.samples,
            float_layers=_float_layers(args.float_layers),
            verbose=not args.json,
        )
    except RuntimeError as error:
        raise CommandError(str(error)) from error
    report_path = os.path.splitext(output.rstrip("/"))[0] + ".report.json"
    with open(report_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
        print(f"Report: {report_path}")
    missed = report.get("targets", {}).get("missed")
    if args.fail_on_miss and missed:
        raise CommandError(
            f"int8 targets missed: {'; '.join(missed)} (the files are "
            f"written). Received: --fail-on-miss"
        )
    return 0


def _float_layers(value):
    if value in ("auto", "none"):
        return None if value == "none" else value
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise CommandError(
            "--float-layers takes 'auto', 'none' or layer names. "
            f"Received: --float-layers {value!r}"
        )
    return names


def _default_output(args, stem):
    suffix = f"_{args.quantize}" if args.quantize else ""
    if args.format == "tflite":
        return f"{stem}{suffix}.tflite"
    return f"{stem}_savedmodel"


def format_report(report):
    """An export report (`mtlzoo.export.export`'s) as printed lines."""
    lines = [
        f"{report['format']} ({report['quantize'] or 'float32'}): "
        f"{report['path']}",
        f"size {report['size_bytes'] / 1e6:.3f} MB, float32 "
        f"{report['float32_size_bytes'] / 1e6:.3f} MB, ratio "
        f"{report['size_ratio']:.2f}x; batch-1 latency "
        f"{report['latency_ms']:.2f} ms; checked on {report['samples']} "
        f"{report['inputs']} images",
    ]
    if report.get("float_layers"):
        lines.append(
            f"kept in float32: {', '.join(report['float_layers'])} "
            f"({report['float_tensors']} tensors)"
        )
    for task, numbers in report["tasks"].items():
        parts = [
            f"{k}={numbers[k]:.4g}" + (" pts" if k == "accuracy_drop" else "")
            for k in _REPORT_KEYS
            if k in numbers
        ]
        lines.append(f"  {task}: " + ", ".join(parts))
    targets = report.get("targets")
    if targets:
        lines.append(
            f"int8 targets: size ratio >= {targets['size_ratio_min']}x: "
            f"{_met(targets['size_ratio_met'])}; accuracy drop <= "
            f"{targets['accuracy_drop_max']} pt: "
            f"{_met(targets['accuracy_drop_met'])}"
        )
        if targets.get("missed"):
            lines.append("MISSED: " + "; ".join(targets["missed"]))
    return "\n".join(lines)


def _met(value):
    return {True: "met", False: "MISSED", None: "n/a"}[value]
