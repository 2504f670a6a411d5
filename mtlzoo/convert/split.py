"""`split_model`: a converted graph cut into a shared trunk and heads.

A converted multi-output model (`from_tflite`) is one graph; a multi-task
model is a trunk with feature levels `"P1"`..`"P5"` and one head per task.
`split_model` finds that structure in the graph:

- the *trunk* is every layer that feeds two or more of the chosen outputs;
- its *cut tensors* (trunk tensors that a non-trunk layer reads) become
  the trunk's levels, named by stride: a map at stride `2**n` is `"Pn"`;
  a cut deeper than stride 32 (or a vector, after pooling) is the
  trunk's deepest level `"P5"` (as `mtcnn_onet`'s `P5` is its feature
  vector), so only the deepest cut may be that deep;
- the levels must form a chain, each computable from the one before
  (that is how `mtlzoo.backbones` cuts a trunk into stages). When the
  cut tensors of the two-or-more-outputs trunk do not (a U-Net decoder
  reading the encoder's skips beside a regression branch), the trunk is
  the layers feeding *every* output instead, and layers feeding some of
  the outputs become shared *blocks*, built once and read by several heads;
- levels the cuts leave free are filled with the trunk's own clean cuts
  (`mtlzoo.backbones.find_levels`), so users get branch points there too.

Each head and block is a small functional model whose inputs are named
*sources*: a level (`"P3"`) or a block's output (`"block_name"` or
`"block_name:1"` for its second output). Running the trunk, then the
blocks in order, then the heads, gives exactly the original outputs.
"""

import math

import keras

from mtlzoo.backbones.levels import find_levels
from mtlzoo.backbones.stages import LEVELS


class SplitGraph:
    """A graph split into a trunk, shared blocks and heads.

    Attributes:
        trunk: `keras.Model`. Input to the deepest level (one output); its
            level tensors are the outputs of the layers in `levels`.
        levels: dict. Level -> layer name of `trunk` (its output is the
            level), shallow to deep.
        cut_levels: tuple of str. The levels some block or head reads.
        blocks: dict. Block name -> `(keras.Model, sources)`, in build
            order; `sources` name the model's inputs, in order.
        heads: dict. Output name -> `(keras.Model, sources)`.
    """

    def __init__(self, trunk, levels, cut_levels, blocks, heads):
        self.trunk = trunk
        self.levels = levels
        self.cut_levels = cut_levels
        self.blocks = blocks
        self.heads = heads

    def __repr__(self):
        return (
            f"SplitGraph(levels={self.levels}, blocks={list(self.blocks)}, "
            f"heads={list(self.heads)})"
        )

    def level_model(self):
        """The trunk with one output per level (a dict level -> tensor)."""
        return keras.Model(
            self.trunk.inputs[0],
            {
                lvl: self.trunk.get_layer(n).output
                for lvl, n in self.levels.items()
            },
            name=f"{self.trunk.name}_levels",
        )

    def __call__(self, images):
        """Runs trunk, blocks and heads on `images`: a dict output name ->
        array, equal to the original model's outputs."""
        values = dict(self.level_model()(images))
        for name, (model, sources) in self.blocks.items():
            out = model([values[s] for s in sources])
            out = out if isinstance(out, (list, tuple)) else [out]
            for i, tensor in enumerate(out):
                values[name if i == 0 else f"{name}:{i}"] = tensor
        return {
            name: model([values[s] for s in sources])
            for name, (model, sources) in self.heads.items()
        }


def split_model(model, outputs=None, name=None):
    """Splits a functional model into a trunk, shared blocks and heads.

    Args:
        model: `keras.Model`. A functional model with one image input of
            static height and width (e.g. what `from_tflite` returns).
        outputs: dict or `None`. Output name -> index of the model output
            to keep (at least two). Defaults to `None` (every output,
            named `output_0`, `output_1`, ...).
        name: str. Prefix of the trunk and block names. Defaults to the
            model's name.

    Returns:
        A `SplitGraph`. The sub-models share their layers (and weights)
        with `model`.

    Example:

    >>> split = split_model(model, {"points": 0, "mask": 2})
    >>> split.levels
    {'P1': 'conv_1', 'P5': 'pool'}
    >>> outs = split(images)  # == model(images) for outputs 0 and 2
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "operations"):
        raise TypeError(
            "`model` must be a functional keras.Model. "
            f"Received: model={model!r}"
        )
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise ValueError(
            "`split_model` needs a model with one image input (B, H, W, C). "
            f"Received: model inputs {[tuple(t.shape) for t in model.inputs]}"
        )
    every = keras.tree.flatten(model.outputs)
    if outputs is None:
        outputs = {f"output_{i}": i for i in range(len(every))}
    if (
        not isinstance(outputs, dict)
        or len(outputs) < 2
        or not all(isinstance(n, str) and n for n in outputs)
        or not all(
            isinstance(i, int)
            and not isinstance(i, bool)
            and 0 <= i < len(every)
            for i in outputs.values()
        )
        or len(set(outputs.values())) != len(outputs)
    ):
        raise ValueError(
            "`outputs` must map at least two names (str) to distinct output "
            f"indices in [0, {len(every)}). Received: outputs={outputs!r}"
        )
    if name is not None and not (isinstance(name, str) and name):
        raise TypeError(f"`name` must be a str. Received: name={name!r}")
    name = name or model.name
    graph = _Graph(model, {n: every[i] for n, i in outputs.items()})
    shared = {op for op, users in graph.users.items() if len(users) >= 2}
    plan = _try_trunk(graph, shared, name)
    if plan is None:
        common = {
            op
            for op, users in graph.users.items()
            if len(users) == len(outputs)
        }
        plan = _try_trunk(graph, common, name)
    if plan is None:
        raise ValueError(
            "The layers shared by the outputs do not end in a chain of cuts "
            "(each level computable from the one before), so the graph "
            "cannot be split into a trunk of levels and heads. "
            f"Received: outputs={outputs!r}"
        )
    return plan


class _Graph:
    """Calls (nodes) of a functional model and the chosen outputs they
    feed. A call is keyed `(id(layer), node index)`; parents are read once,
    before any sub-model adds nodes to the layers."""

    def __init__(self, model, outputs):
        self.model = model
        self.outputs = outputs
        self.size = tuple(model.inputs[0].shape[1:3])
        self.ops = {}
        self._parents = {}
        stack = [self.producer(t) for t in outputs.values()]
        histories = {self.producer(t): t for t in outputs.values()}
        while stack:
            key = stack.pop()
            if key in self.ops:
                continue
            layer = histories[key]._keras_history.operation
            self.ops[key] = layer
            node = layer._inbound_nodes[key[1]]
            parents = list(keras.tree.flatten(node.input_tensors))
            self._parents[key] = parents
            for tensor in parents:
                histories.setdefault(self.producer(tensor), tensor)
                stack.append(self.producer(tensor))
        rank = {id(op): i for i, op in enumerate(model.operations)}
        self.order = {key: (rank.get(key[0], -1), key[1]) for key in self.ops}
        self.users = {}
        for out_name, tensor in outputs.items():
            for op in self.ancestors(tensor):
                self.users.setdefault(op, set()).add(out_name)

    def producer(self, tensor):
        history = tensor._keras_history
        return (id(history.operation), history.node_index)

    def parents(self, op):
        return self._parents[op]

    def ancestors(self, tensor):
        seen, stack = set(), [self.producer(tensor)]
        while stack:
            op = stack.pop()
            if op in seen or isinstance(self.ops[op], keras.layers.InputLayer):
                continue
            seen.add(op)
            stack.extend(self.producer(t) for t in self.parents(op))
        return seen

    def level_of(self, tensor):
        """`"Pn"` for a map at stride `2**n` (1 <= n <= 5), `"deep"` for a
        deeper map or a vector, None for other tensors."""
        if len(tensor.shape) == 4:
            size = tuple(tensor.shape[1:3])
            if None in size:
                return None
            steps = {round(math.log2(a / b)) for a, b in zip(self.size, size)}
            if len(steps) != 1:
                return None
            n = steps.pop()
            if 1 <= n <= 5:
                return f"P{n}"
            return "deep" if n > 5 else None
        return "deep" if len(tensor.shape) == 2 else None


def _try_trunk(graph, trunk, name):
    """The split with `trunk` as the trunk ops, or None if its cut tensors
    do not form a chain of levels."""
    if not trunk:
        return None
    cuts = {}  # id(tensor) -> tensor, trunk tensors read outside it
    for op in graph.users:
        if op in trunk:
            continue
        for tensor in graph.parents(op):
            if graph.producer(tensor) in trunk:
                cuts[id(tensor)] = tensor
    for tensor in graph.outputs.values():
        if graph.producer(tensor) in trunk:
            return None  # an output computed inside the trunk
    tensors = sorted(
        cuts.values(), key=lambda t: graph.order[graph.producer(t)]
    )
    levels = {}
    for i, tensor in enumerate(tensors):
        level = graph.level_of(tensor)
        if level == "deep" and i == len(tensors) - 1:
            level = "P5"
        if level not in LEVELS or level in levels:
            return None
        if levels and LEVELS.index(level) < LEVELS.index(max(levels)):
            return None
        levels[level] = tensor
    previous = graph.model.inputs[0]
    for tensor in levels.values():
        try:
            keras.Model(previous, tensor)
        except ValueError:
            return None
        previous = tensor
    trunk_model = keras.Model(
        graph.model.inputs[0], previous, name=f"{name}_trunk"
    )
    cut_levels = tuple(levels)
    names = {lvl: t._keras_history.operation.name for lvl, t in levels.items()}
    names = _fill_levels(trunk_model, names)
    sources = {id(t): lvl for lvl, t in levels.items()}
    groups = {}
    for op, users in graph.users.items():
        if op not in trunk:
            groups.setdefault(frozenset(users), set()).add(op)
    blocks, heads = {}, {}
    ordered = sorted(
        groups.items(),
        key=lambda item: (-len(item[0]), min(graph.order[o] for o in item[1])),
    )
    for users, ops in ordered:
        if len(users) == 1:
            continue
        block = f"{name}_{'_'.join(sorted(users))}"
        model, inputs, outs = _sub_model(graph, ops, sources, block, None)
        blocks[block] = (model, inputs)
        for i, tensor in enumerate(outs):
            sources[id(tensor)] = block if i == 0 else f"{block}:{i}"
    for users, ops in groups.items():
        if len(users) != 1:
            continue
        (out_name,) = users
        target = graph.outputs[out_name]
        model, inputs, _ = _sub_model(
            graph, ops, sources, f"{name}_{out_name}", target
        )
        heads[out_name] = (model, inputs)
    heads = {n: heads[n] for n in graph.outputs if n in heads}
    for out_name in graph.outputs:
        if out_name not in heads:
            return None
    return SplitGraph(trunk_model, names, cut_levels, blocks, heads)


def _sub_model(graph, ops, sources, name, target):
    """A model of `ops` from the tensors they read (named by `sources`)."""
    inputs = {}
    for op in sorted(ops, key=graph.order.get):
        for tensor in graph.parents(op):
            if graph.producer(tensor) not in ops:
                if id(tensor) not in sources:
                    raise ValueError(
                        f"Part {name!r} reads tensor "
                        f"{tensor._keras_history.operation.name!r}, which is "
                        "neither a level nor a shared block's output."
                    )
                inputs[id(tensor)] = tensor
    if target is not None:
        outs = [target]
    else:
        outs = {}
        for op in graph.users:
            if op in ops:
                continue
            for tensor in graph.parents(op):
                if graph.producer(tensor) in ops:
                    outs[id(tensor)] = tensor
        outs = sorted(
            outs.values(), key=lambda t: graph.order[graph.producer(t)]
        )
    ins = sorted(inputs.values(), key=lambda t: graph.order[graph.producer(t)])
    model = keras.Model(ins, outs[0] if len(outs) == 1 else outs, name=name)
    return model, [sources[id(t)] for t in ins], outs


def _fill_levels(trunk, names):
    """Adds the trunk's own clean cuts at levels the cuts leave free, when
    they keep the chain (each level computable from the one before)."""
    try:
        found = find_levels(trunk)
    except ValueError:
        return names
    out = dict(names)
    for level, layer in found.items():
        if level in out:
            continue
        trial = dict(out, **{level: layer})
        trial = {lvl: trial[lvl] for lvl in LEVELS if lvl in trial}
        if _is_chain(trunk, trial):
            out = trial
    return {lvl: out[lvl] for lvl in LEVELS if lvl in out}


def _is_chain(trunk, names):
    previous = trunk.inputs[0]
    order = {op.name: i for i, op in enumerate(trunk.operations)}
    last = -1
    for layer in names.values():
        if order[layer] <= last:
            return False
        last = order[layer]
        tensor = trunk.get_layer(layer).output
        try:
            keras.Model(previous, tensor)
        except ValueError:
            return False
        previous = tensor
    return True
