"""Feature levels of a functional model: clean cuts, strides, taps.

Level `Pn` is the feature map at stride `2**n` relative to the input. A
level is tapped at a *clean cut*: a layer after which no layer reads a
tensor from before it (so never inside a residual block), which lets the
model be cut into one stage per level. `find_levels` picks the last clean
cut at each stride; `level_taps` checks a user's `{level: layer}` map
against the same rules.
"""

import math

import keras

from mtlzoo.backbones.stage_names import STAGE_LEVELS as LEVELS


def find_levels(model):
    """The layers a functional model's levels are tapped at, found from
    its feature strides.

    For each level `Pn` (stride `2**n`, `n` from 1 to 5) the last clean cut
    whose output has that stride (rounded on a log scale, so `"valid"`
    padding counts) before any deeper level. Strides are read from static
    shapes, so the model needs a fixed input size (at least 32 pixels to
    tell P5 from P4); levels without a clean cut are absent. Layers after
    the deepest level (a pooling top, a classifier) are not part of it.

    Args:
        model: `keras.Model`. A functional model with one image input
            `(batch, H, W, C)` of static height and width.

    Returns:
        A dict level -> layer name (its output is the tap), shallow to
        deep; it is a valid `levels` map of `mtlzoo.backbones.ModelBackbone`.

    Example:

    >>> inputs = keras.Input((32, 32, 3))
    >>> x = keras.layers.Conv2D(4, 3, strides=2, name="down_1")(inputs)
    >>> x = keras.layers.Conv2D(4, 3, strides=2, name="down_2")(x)
    >>> find_levels(keras.Model(inputs, x))
    {'P1': 'down_1', 'P2': 'down_2'}
    """
    graph = _Graph(model)
    return {
        level: graph.operations[index].name
        for level, index in graph.auto_taps().items()
    }


def level_taps(model, taps=None, argument="levels"):
    """The tensors of `model` to cut it at, one per level.

    Args:
        model: `keras.Model`. A functional model with static input size.
        taps: dict or `None`. Level -> tap: a layer name (its output),
            `"name.input"` (that layer's input) or `None` (the model
            output). Checked: the layer exists, is a clean cut, has the
            level's stride, and levels are in graph order. `None` finds
            the taps from the strides (`find_levels`).
        argument: str. The argument name for errors. Defaults to
            `"levels"`.

    Returns:
        A dict level -> `KerasTensor`, shallow to deep.
    """
    graph = _Graph(model)
    if taps is None:
        indices = graph.auto_taps()
        if not indices:
            raise ValueError(
                f"Found no feature level in model '{model.name}': no clean "
                "cut has a stride of 2, 4, 8, 16 or 32 for input size "
                f"{graph.size}. Pass an explicit {{level: layer_name}} map. "
                f"Received: {argument}=None"
            )
        return {lvl: graph.operations[i].output for lvl, i in indices.items()}
    out = {}
    previous = -1
    for level in LEVELS:
        if level not in taps:
            continue
        received = f"Received: {argument}={taps!r}"
        tensor = graph.tensor(taps[level], received)
        index = graph.producer(tensor)
        graph.check_clean(index, level, taps[level], received)
        got = graph.level_of(tensor)
        if got != level:
            raise ValueError(
                f"{level} needs stride {2 ** int(level[1:])}, but "
                f"{taps[level]!r} of model '{model.name}' gives a "
                f"{_spatial(tensor)} map for {graph.size} images "
                f"({got or 'no level'}). {received}"
            )
        if index <= previous:
            raise ValueError(
                f"{level} is tapped at {taps[level]!r}, before the tap of "
                f"a shallower level; levels must follow the graph. {received}"
            )
        out[level] = tensor
        previous = index
    return out


class _Graph:
    """The operations of a functional model, their parents and strides.

    Each operation's stride exponent is its parents' plus the rounded
    `log2` of how much it shrinks the feature map (a parent of the same
    size passes its stride on), so padding and `"valid"` convolutions do
    not change a level; only striding, pooling and upsampling do.
    """

    def __init__(self, model):
        self.model = model
        self.operations = list(model.operations)
        self.size = tuple(model.inputs[0].shape[1:3])
        self.index = {id(op): i for i, op in enumerate(self.operations)}
        inputs = [keras.tree.flatten(op.input) for op in self.operations]
        self.parents = [[self.producer(t) for t in ts] for ts in inputs]
        # A later operation that reads a tensor from before op i, or None.
        self.crossing = [None] * len(self.operations)
        reader, earliest = None, math.inf
        for i in range(len(self.operations) - 1, -1, -1):
            if earliest < i:
                self.crossing[i] = reader
            low = min(self.parents[i], default=i)
            if low < earliest:
                reader, earliest = i, low
        self.stride = []  # log2 of the stride of op i's output, or None
        for i, op in enumerate(self.operations):
            self.stride.append(self._stride(op, inputs[i]))

    def producer(self, tensor):
        """Index of the operation that outputs `tensor`."""
        return self.index[id(tensor._keras_history.operation)]

    def _stride(self, op, inputs):
        size = _spatial_size(keras.tree.flatten(op.output))
        if size is None:
            return None
        if not inputs:
            return 0 if size == self.size else None
        same, shrunk = [], []
        for tensor in inputs:
            before = self.stride[self.producer(tensor)]
            parent = _spatial_size([tensor])
            if before is None or parent is None:
                continue
            if parent == size:
                same.append(before)
                continue
            steps = {round(math.log2(p / s)) for p, s in zip(parent, size)}
            if len(steps) == 1:
                shrunk.append(before + steps.pop())
        if same or shrunk:
            return max(same or shrunk)
        return None

    def level_of(self, tensor):
        """`"Pn"` of a tensor at stride `2**n` (n in 1..5), or None."""
        n = self.stride[self.producer(tensor)]
        if _spatial_size([tensor]) is None or n is None:
            return None
        return f"P{n}" if 1 <= n <= len(LEVELS) else None

    def exact(self, tensor, n):
        """Whether a tensor is exactly the input size over `2**n`."""
        return all(
            part in (math.ceil(full / 2**n), full // 2**n)
            for full, part in zip(self.size, tensor.shape[1:3])
        )

    def auto_taps(self):
        """Level -> operation index: the last clean cut of each stride
        before the tap of any deeper level, preferring maps of exactly
        the level's size (so a padding before a strided layer is not it).
        """
        levels = [None] * len(self.operations)
        for i, op in enumerate(self.operations):
            outputs = keras.tree.flatten(op.output)
            if self.crossing[i] is None and len(outputs) == 1:
                levels[i] = self.level_of(outputs[0])
        taps = {}
        limit = len(self.operations)
        # Walk from the deepest level back: a shallower stride again after a
        # deeper one (a decoder) is not a level.
        for level in reversed(LEVELS):
            candidates = [i for i in range(limit) if levels[i] == level]
            exact = [
                i
                for i in candidates
                if self.exact(self.operations[i].output, int(level[1:]))
            ]
            if candidates:
                taps[level] = limit = (exact or candidates)[-1]
        return {level: taps[level] for level in LEVELS if level in taps}

    def tensor(self, tap, received):
        """The tensor a tap names."""
        if tap is None:
            outputs = keras.tree.flatten(self.model.outputs)
            if len(outputs) != 1:
                raise ValueError(
                    f"Model '{self.model.name}' has {len(outputs)} outputs; "
                    f"name a layer instead of None. {received}"
                )
            return outputs[0]
        if not isinstance(tap, str):
            raise TypeError(
                f"A tap must be a layer name, 'name.input' or None. {received}"
            )
        name = tap.removesuffix(".input")
        ops = [op for op in self.operations if op.name == name]
        if not ops:
            raise ValueError(
                f"Model '{self.model.name}' has no layer {name!r}; see "
                f"`model.summary()` for its layer names. {received}"
            )
        tensors = ops[0].input if name != tap else ops[0].output
        tensors = keras.tree.flatten(tensors)
        if len(tensors) != 1:
            raise ValueError(
                f"Layer {tap!r} of model '{self.model.name}' has "
                f"{len(tensors)} tensors there; a tap needs exactly one. "
                f"{received}"
            )
        return tensors[0]

    def check_clean(self, index, level, tap, received):
        """Raise when a later layer reads a tensor from before `index`."""
        reader = self.crossing[index]
        if reader is not None:
            raise ValueError(
                f"{level} cannot be tapped at {tap!r}: it is not a clean "
                f"cut of model '{self.model.name}', layer "
                f"'{self.operations[reader].name}' after it reads a tensor "
                "from before it (inside a residual block?). Tap the block "
                f"output instead, or see `find_levels(model)`. {received}"
            )


def _spatial_size(tensors):
    """`(H, W)` of a single static 4D tensor, else None."""
    if len(tensors) != 1 or len(tensors[0].shape) != 4:
        return None
    size = tuple(tensors[0].shape[1:3])
    return None if None in size else size


def _spatial(tensor):
    shape = tuple(tensor.shape)
    if len(shape) != 4:
        return f"rank-{len(shape)}"
    return f"{shape[1]}x{shape[2]}"
