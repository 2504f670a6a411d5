"""Model cards: what a preset predicts and how well, from its config."""

from mtlzoo.presets import converted as converted_lib
from mtlzoo.presets import registry
from mtlzoo.presets._card_text import header_lines


def info(name):
    """The model card of a preset, as a dict.

    Args:
        name: str. A preset name from `mtlzoo.zoo.list_models()`.

    Returns:
        dict with `name`, `description`, `backbone`, `input_shape`,
        `architecture` and `architecture_options` (sharing scheme),
        `branch_points` (hard sharing),
        `tasks` (one entry per task: name, kind, classes/units, primary
        metric, multi-task and single-task values of every metric),
        `delta_m`, `delta_m_all_metrics`, `delta_m_definition`, `params`,
        `weights_file`, `weights_bytes`, `training_minutes`, `training`
        (command, epochs, samples, weighting), `dataset`, `license`,
        `variants`, `seeds` (spread of delta_m over seeds, or None).

    Example:

    >>> card = mtlzoo.zoo.info("fashion_tiny_test")
    >>> card["delta_m"]
    """
    return card_from_config(registry.get_config(name))


def card_from_config(config):
    """The card dict of a zoo config (see `info`)."""
    if converted_lib.is_converted(config):
        return converted_lib.card_from_config(config)
    arch = config["architecture"]
    metrics = config["metrics"]
    training = config["training"]
    tasks = []
    for task in arch["tasks"]:
        n = task["name"]
        keys = [k for k in metrics["multi_task"] if k.startswith(n + "_")]
        tasks.append(
            {
                "name": n,
                "kind": task["kind"],
                "num_classes": task.get("num_classes"),
                "units": task.get("units"),
                "primary_metric": metrics["primary"][n],
                "multi_task": {k: metrics["multi_task"][k] for k in keys},
                "single_task": {k: metrics["single_task"][k] for k in keys},
            }
        )
    return {
        "name": config["name"],
        "description": config["description"],
        "backbone": arch["backbone"],
        "input_shape": list(arch["input_shape"]),
        "architecture": arch.get("architecture", "hard_sharing"),
        "architecture_options": dict(arch.get("architecture_options") or {}),
        "branch_points": arch["branch_points"],
        "tasks": tasks,
        "split": metrics["split"],
        "test_samples": metrics["test_samples"],
        "delta_m": metrics["delta_m"],
        "delta_m_all_metrics": metrics["delta_m_all_metrics"],
        "delta_m_definition": metrics["delta_m_definition"],
        "params": config["weights"]["params"],
        "weights_file": config["weights"]["file"],
        "weights_bytes": config["weights"]["size_bytes"],
        "sha256": config["weights"]["sha256"],
        "training_minutes": training["minutes"],
        "training": {
            "command": training["command"],
            "epochs": training["epochs"],
            "batch_size": training["batch_size"],
            "train_samples": training["train_samples"],
            "weighting": training["weighting"],
            "budget": training["budget"],
            "machine": training["machine"],
        },
        "dataset": {
            "name": config["dataset"]["name"],
            "source": config["dataset"]["source"],
            "license": config["dataset"]["license"],
        },
        "license": config["license"],
        "variants": metrics.get("variants", []),
        "seeds": metrics.get("seeds"),
        "validation": metrics.get("validation"),
    }


def _sharing_line(card):
    if card["architecture"] != "hard_sharing":
        options = card["architecture_options"]
        extra = f" with options `{options}`" if options else ""
        return f"- Architecture: `{card['architecture']}`{extra}"
    tree = card["branch_points"] or "all tasks at the end"
    return f"- Branch points: `{tree}`"


def _fmt(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_markdown(card):
    """A model card dict as Markdown: a preset folder's `README.md`, which
    the documentation shows as `zoo/<name>.md`."""
    if card.get("converted"):
        return converted_lib.render_markdown(card)
    minutes = card["training_minutes"]
    lines = header_lines(card, " (raw pixels 0..255)", _sharing_line(card))
    lines += [
        f"- Training: {card['training']['epochs']} epochs on "
        f"{card['training']['train_samples']:,} samples, batch "
        f"{card['training']['batch_size']}, weighting "
        f"`{card['training']['weighting']}`; {minutes['multi_task']:.1f} min "
        f"multi-task + {sum(minutes['single_task'].values()):.1f} min "
        f"single-task baselines = {minutes['total']:.1f} min on "
        f"{card['training']['machine']}",
        f"- Budget: {card['training']['budget']}",
        f"- Reproduce: `{card['training']['command']}`",
        f"- Data: {card['dataset']['source']} ({card['dataset']['license']})",
        f"- Weights licence: {card['license']}",
        "",
        f"## Test metrics ({card['split']} split, "
        f"{card['test_samples']:,} samples)",
        "",
        "| task | kind | metric | multi-task | single-task | primary |",
        "|---|---|---|---|---|---|",
    ]
    for task in card["tasks"]:
        for key, value in task["multi_task"].items():
            primary = "yes" if key == task["primary_metric"] else ""
            lines.append(
                f"| {task['name']} | {task['kind']} | {key} | {_fmt(value)} "
                f"| {_fmt(task['single_task'][key])} | {primary} |"
            )
    lines += [
        "",
        f"**delta_m = {card['delta_m']:+.2f} %** "
        f"({card['delta_m_definition']}); over every metric: "
        f"{card['delta_m_all_metrics']:+.2f} %.",
    ]
    seeds = card["seeds"]
    if seeds:
        values = ", ".join(
            f"{r['delta_m']:+.2f} % (seed {r['seed']})" for r in seeds["runs"]
        )
        lines += [
            "",
            f"Seed spread: `{seeds['run']}` and the single-task baselines "
            "retrained with other seeds (initialisation and batch order; "
            f"same data and budget): delta_m {values}; mean "
            f"{seeds['delta_m_mean']:+.2f} %, standard deviation "
            f"{seeds['delta_m_std']:.2f}.",
        ]
    if card["variants"]:
        lines += ["", "## Other multi-task runs (same budget)", ""]
        lines += _variant_table(card["variants"], card["validation"])
        lines += ["", _selection_sentence(card)]
    return "\n".join(lines) + "\n"


def render_license(config):
    """The `LICENSE` notice of a preset folder, from its zoo config.

    Args:
        config: dict. A zoo config.

    Returns:
        str: the licences of the preset's weights and of its data.
    """
    if converted_lib.is_converted(config):
        return converted_lib.render_license(config)
    dataset = config["dataset"]
    lines = [
        f"Licence notice of the mtlzoo preset `{config['name']}`",
        "",
        f"Weights (pretrained/{config['name']}/{config['weights']['file']}):",
        f"    {config['license']}",
        "",
        f"Data the weights were trained and measured on: {dataset['source']}",
        f"    {dataset['license']}",
        "",
        "The config, card and recipe in this folder are part of mtlzoo "
        "(Apache-2.0).",
        "Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0",
    ]
    return "\n".join(lines) + "\n"


def _variant_table(variants, validation):
    if validation:
        lines = [
            "| variant | delta_m (validation) | delta_m (test) "
            "| test metrics |",
            "|---|---|---|---|",
        ]
    else:
        lines = ["| variant | delta_m | metrics |", "|---|---|---|"]
    for v in variants:
        values = ", ".join(f"{k} {_fmt(x)}" for k, x in v["multi_task"].items())
        label = v["label"] + (" (shipped)" if v.get("shipped") else "")
        scores = f"{v['delta_m']:+.2f} %"
        if validation:
            scores = f"{v['validation_delta_m']:+.2f} % | {scores}"
        lines.append(f"| {label} | {scores} | {values} |")
    return lines


def _selection_sentence(card):
    count = len(card["variants"])
    if card["validation"]:
        return (
            f"The shipped run is the one of these {count} with the highest "
            f"delta_m on the validation split ({card['validation']['samples']}"
            " samples held out of the training data, disjoint from the "
            "training and test items; the single-task baselines measured on "
            "it too), not on the test split it is scored on."
        )
    return (
        f"The shipped run is the one of these {count} with the highest "
        "delta_m on the test split: chosen on the data it is scored on, its "
        "delta_m is biased upwards by that choice (the seed spread above "
        "retrains only the shipped run)."
    )
