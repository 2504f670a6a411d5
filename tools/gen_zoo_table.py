"""Generate the model-zoo pages (table + one card per preset) from zoo_configs.

    python tools/gen_zoo_table.py [--out docs]

Writes `zoo/index.md` (one row per preset folder `zoo_configs/<name>/`:
tasks with the multi-task and single-task values of their primary metric,
delta_m, parameters, weight size, training minutes). The card of a preset
is its folder's `README.md` (written by `tools/train_preset.py --cards`
from `mtlzoo.presets.card.render_markdown`); `zoo_pages` serves it as
`zoo/<name>.md`, so the documentation shows that very file.
`mkdocs build` runs `zoo_pages` through `tools/mkdocs_hooks.py`, so the
site always lists the presets of the checkout.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parent.parent
HEADER = [
    "# Model zoo",
    "",
    "Pretrained presets, each one folder `zoo_configs/<name>/` (config, "
    "card, licence, recipe) with its weights in `pretrained/<name>/`; "
    'load one with `mtlzoo.load("<name>")`. A trained preset was trained '
    "by the command in its card, and its single-task baselines by the same "
    "code with the same budget. delta_m: one primary metric per task, "
    "percent, higher is better (Maninis et al. 2019); where a card has a "
    "seed check, the mean and standard deviation over its seeds follow in "
    "brackets. A converted preset (real photos: pose, face mesh, hands, "
    "faces) was converted layer for layer from another runtime by the tool "
    "its card names, not trained by mtlzoo: its row gives the largest "
    "relative difference from that runtime per task on real images "
    "(`docs/howto/real_presets.md`).",
    "",
]


def configs(directory=None):
    """The zoo configs of the preset folders under `directory`."""
    directory = pathlib.Path(directory or REPO / "zoo_configs")
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*/config.json"))
    ]


def zoo_pages(directory=None):
    """Relative path (under docs/) -> Markdown of the zoo pages.

    `zoo/<name>.md` is the preset folder's `README.md` when it exists
    (else the card rendered from its config), `zoo/index.md` the table.
    """
    directory = pathlib.Path(directory or REPO / "zoo_configs")
    pages = {"zoo/index.md": index_page(directory)}
    from mtlzoo.presets import card as card_lib

    for config in configs(directory):
        name = config["name"]
        readme = directory / name / "README.md"
        if readme.is_file():
            text = readme.read_text(encoding="utf-8")
        else:
            text = card_lib.render_markdown(card_lib.card_from_config(config))
        pages[f"zoo/{name}.md"] = text
    return pages


def index_page(directory=None):
    """The Markdown of `zoo/index.md`: one row per preset."""
    rows = list(HEADER)
    presets = configs(directory)
    if not presets:
        rows.append("No presets yet.")
        return "\n".join(rows) + "\n"
    from mtlzoo.presets import card as card_lib

    rows += [
        "| preset | tasks: multi-task / single-task (primary metric) "
        "| delta_m | params | weights | train min |",
        "|---|---|---|---|---|---|",
    ]
    for config in presets:
        card = card_lib.card_from_config(config)
        name = card["name"]
        if card.get("converted"):
            rows.append(_converted_row(card, config))
            continue
        per_task = "; ".join(
            f"{t['name']} {t['multi_task'][t['primary_metric']]:.3f} / "
            f"{t['single_task'][t['primary_metric']]:.3f} "
            f"({t['primary_metric'][len(t['name']) + 1 :]})"
            for t in card["tasks"]
        )
        delta = f"{card['delta_m']:+.2f} %"
        if card["seeds"]:
            seeds = card["seeds"]
            delta += (
                f" ({seeds['delta_m_mean']:+.2f} ± "
                f"{seeds['delta_m_std']:.2f}, {len(seeds['runs'])} seeds)"
            )
        rows.append(
            f"| [`{name}`]({name}.md) | {per_task} "
            f"| {delta} | {card['params']:,} "
            f"| {card['weights_bytes'] / 1e6:.2f} MB "
            f"| {card['training_minutes']['total']:.1f} |"
        )
    return "\n".join(rows) + "\n"


def _converted_row(card, config):
    """A converted preset: its agreement with the original per task."""
    record = card["source"]["converted_from"]
    per_task = "; ".join(
        f"{t['name']} max rel diff {t['agreement']['max_rel']:.2g}"
        for t in card["tasks"]
    )
    size = f"{card['weights_bytes'] / 1e6:.2f} MB"
    if "convert_from" in config["weights"]:
        size += " (not shipped: converted on first use)"
    return (
        f"| [`{card['name']}`]({card['name']}.md) | converted from "
        f"`{record['package']}` {record['version']}: {per_task} "
        f"| n/a | {card['params']:,} "
        f"| {size} | n/a |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs"))
    args = parser.parse_args(argv)
    path = pathlib.Path(args.out) / "zoo" / "index.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(index_page(), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
