"""Option checks and graph pieces shared by the non-tree architectures."""

import math

from keras import layers

from mtlzoo.heads.base import Resize


def check_unknown(architecture, unknown, allowed):
    """Raise on options an architecture does not take."""
    if unknown:
        received = ", ".join(f"{k}={v!r}" for k, v in sorted(unknown.items()))
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)} for architecture "
            f"'{architecture}'; it accepts {list(allowed)}. "
            f"Received: {received}"
        )


def check_level(architecture, option, level, available):
    """A single level name the backbone has."""
    if not isinstance(level, str) or level not in available:
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be a "
            f"level of the backbone, one of {list(available)}. "
            f"Received: {option}={level!r}"
        )
    return level


def check_levels(architecture, option, levels, available):
    """A non-empty list of distinct backbone levels, shallow to deep.

    `None` means every level of the backbone.
    """
    if levels is None:
        return list(available)
    if isinstance(levels, str):
        levels = [levels]
    ok = isinstance(levels, (list, tuple)) and len(levels) > 0
    ok = ok and all(isinstance(lv, str) for lv in levels)
    if not ok or len(set(levels)) != len(levels):
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be a "
            f"non-empty list of distinct level names. "
            f"Received: {option}={levels!r}"
        )
    missing = [lv for lv in levels if lv not in available]
    if missing:
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' names "
            f"level(s) {missing} this backbone does not have; it has "
            f"{list(available)}. Received: {option}={levels!r}"
        )
    return [lv for lv in available if lv in levels]


def check_int(architecture, option, value, minimum=1):
    """An int (not bool) >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be an "
            f"int >= {minimum}. Received: {option}={value!r}"
        )
    return value


def check_float(architecture, option, value, low, high=math.inf):
    """A finite number in `[low, high]`."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if not ok or not (low <= value <= high) or math.isnan(value):
        bounds = f"in [{low}, {high}]" if high < math.inf else f">= {low}"
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be a "
            f"number {bounds}. Received: {option}={value!r}"
        )
    return float(value)


def check_bool(architecture, option, value):
    if not isinstance(value, bool):
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be "
            f"True or False. Received: {option}={value!r}"
        )
    return value


def check_units(architecture, option, units):
    """An int or a non-empty list of positive ints, as a list."""
    if isinstance(units, int) and not isinstance(units, bool):
        units = [units]
    ok = isinstance(units, (list, tuple)) and len(units) > 0
    ok = ok and all(
        isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in units
    )
    if not ok:
        raise ValueError(
            f"Option `{option}` of architecture '{architecture}' must be a "
            f"positive int or a non-empty list of them. "
            f"Received: {option}={units!r}"
        )
    return list(units)


def run_stages(x, models, levels):
    """Run stage models in order; returns dict level -> tensor."""
    feats = {}
    for level in levels:
        x = models[level](x)
        if isinstance(x, (list, tuple)):
            (x,) = x
        feats[level] = x
    return feats


def add_shared(shared, tensor):
    """Append `tensor` to `shared` unless it is already there."""
    if not any(tensor is s for s in shared):
        shared.append(tensor)


def build_heads(tasks, features, heads, input_shape):
    """One head per task on its features dict (level -> tensor)."""
    from mtlzoo.heads import build_head

    outputs = {}
    for task in tasks:
        head = build_head(task, (heads or {}).get(task.name))
        outputs[task.name] = head(features[task.name], input_shape)
    return outputs


def resize_to(x, shape, name):
    """Bring a feature map to spatial `shape` (max pool or bilinear)."""
    h, w = x.shape[1], x.shape[2]
    th, tw = shape[0], shape[1]
    if (h, w) == (th, tw):
        return x
    factor = max(1, round(h / th))
    if th < h and math.ceil(h / factor) == th and math.ceil(w / factor) == tw:
        return layers.MaxPooling2D(factor, padding="same", name=name)(x)
    return Resize(th, tw, interpolation="bilinear", name=name)(x)
