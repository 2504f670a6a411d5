"""The lines every preset card starts with, trained or converted."""


def header_lines(card, input_note, *extra):
    """Title, description, the load snippet, backbone and weights lines.

    Args:
        card: dict. A card (`mtlzoo.presets.card.card_from_config`).
        input_note: str. Written right after the input shape on the
            backbone line (e.g. `" (raw pixels 0..255)"`).
        *extra: str. Lines between the backbone and the parameters line.
    """
    return [
        f"# `{card['name']}`",
        "",
        card["description"],
        "",
        "```python",
        "import mtlzoo",
        f'model = mtlzoo.load("{card["name"]}")',
        "```",
        "",
        f"- Backbone: `{card['backbone']}`, input "
        f"{tuple(card['input_shape'])}{input_note}",
        *extra,
        f"- Parameters: {card['params']:,}; weights "
        f"`{card['weights_file']}` ({card['weights_bytes'] / 1024:.1f} KiB, "
        f"sha256 `{card['sha256'][:16]}...`)",
    ]
