"""Generate the model-zoo pages (table + one card per preset) from zoo_configs.

    python tools/gen_zoo_table.py [--out docs]

Writes `zoo/index.md` (one row per `zoo_configs/*.json`: tasks with the
multi-task and single-task values of their primary metric, delta_m,
parameters, weight size, training minutes) and `zoo/<name>.md` (the card
of `mtlzoo.zoo.card.render_markdown`). `mkdocs build` runs it itself
through `tools/mkdocs_hooks.py` for every page that is not on disk, so the
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
    "Pretrained presets, one per `zoo_configs/<name>.json`; load one with "
    '`mtlzoo.zoo.load("<name>")`. Each was trained by the command in its '
    "card, and its single-task baselines by the same code with the same "
    "budget. delta_m: one primary metric per task, percent, higher is "
    "better (Maninis et al. 2019); where a card has a seed check, the "
    "mean and standard deviation over its seeds follow in brackets.",
    "",
]


def configs(directory=None):
    directory = pathlib.Path(directory or REPO / "zoo_configs")
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    ]


def zoo_pages(directory=None):
    """Relative path (under docs/) -> Markdown of the zoo pages."""
    rows = list(HEADER)
    presets = configs(directory)
    pages = {}
    if not presets:
        rows.append("No presets yet.")
        pages["zoo/index.md"] = "\n".join(rows) + "\n"
        return pages
    from mtlzoo.zoo import card as card_lib

    rows += [
        "| preset | tasks: multi-task / single-task (primary metric) "
        "| delta_m | params | weights | train min |",
        "|---|---|---|---|---|---|",
    ]
    for config in presets:
        card = card_lib.card_from_config(config)
        name = card["name"]
        pages[f"zoo/{name}.md"] = card_lib.render_markdown(card)
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
    pages["zoo/index.md"] = "\n".join(rows) + "\n"
    return pages


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs"))
    args = parser.parse_args(argv)
    for rel, text in zoo_pages().items():
        path = pathlib.Path(args.out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
