"""Converted trunks: backbones rebuilt from a shipped Keras graph config.

A graph converted from another runtime (`mtlzoo.convert.from_tflite`) and
split into trunk and heads (`mtlzoo.convert.split_model`) has a trunk that
is a plain functional model of standard layers. Its Keras config (no
weights) ships as `mtlzoo/backbones/graphs/<name>.json`; the builder is
`keras.Model.from_config` of it, and the weights come with the preset
that uses it (or `build(..., backbone_weights=path)`). Such a trunk takes
exactly one input size: others are refused with a clear error.

The shipped entries (each registered at import):

- `mediapipe_pose_lite`: the encoder of MediaPipe's BlazePose lite
  (`pose_landmark_lite.tflite`), 256x256 RGB, levels P1..P5 (strides
  2..32, the maps its decoder reads);
- `mediapipe_pose_full`: the same for BlazePose full
  (`pose_landmark_full.tflite`; its preset `pose_mediapipe_full` is
  converted on first use), P5 8x8x864;
- `mediapipe_face_mesh`: MediaPipe's face mesh trunk
  (`face_landmark.tflite`), 192x192 RGB, P1..P5 (P5 6x6x128);
- `mediapipe_hand_landmark`: MediaPipe's hand landmark lite trunk
  (`hand_landmark_lite.tflite`), 224x224 RGB, P1..P4 maps and P5 its
  pooled 672-vector (as `mtcnn_onet`'s P5 is its vector).

Each takes raw 0..255 RGB (preprocessing `"unit"`: `x / 255`, the
[0, 1] range MediaPipe expects).
"""

import copy
import pathlib

import keras

from mtlzoo import _files
from mtlzoo.backbones.registry import register_backbone

GRAPHS = pathlib.Path(__file__).parent / "graphs"
_FORMAT = ("name", "input_shape", "taps", "config")


def load_graph(graph):
    """A converted trunk's graph record: a shipped name or a dict.

    Args:
        graph: str or dict. The name of a file in
            `mtlzoo/backbones/graphs/` (without `.json`), a path to such
            a JSON file, or the dict itself: `name`, `input_shape`
            (`[H, W, C]`), `taps` (level -> layer name) and `config` (the
            trunk's `keras.Model.get_config()`), optionally `source`.

    Returns:
        The dict.
    """
    graph = _files.named_json(
        graph,
        GRAPHS,
        "converted trunk graph",
        "a JSON file path or a dict",
    )
    if not isinstance(graph, dict) or not set(_FORMAT) <= set(graph):
        raise ValueError(
            f"A converted trunk graph is a dict with keys {list(_FORMAT)}. "
            f"Received: graph={str(graph)[:200]!r}"
        )
    config = graph["config"]
    if not isinstance(config, dict) or not isinstance(
        config.get("layers"), list
    ):
        raise ValueError(
            "A converted trunk graph's `config` is a functional "
            "keras.Model config (a dict with `layers`). "
            f"Received: config={str(config)[:200]!r}"
        )
    return graph


def register_converted_backbone(
    name,
    graph=None,
    taps=None,
    input_shape=None,
    default_preprocessing="unit",
    aliases=(),
    replace=False,
):
    """Registers a converted trunk (a Keras graph config) as a backbone.

    The builder is `keras.Model.from_config` of the graph's config, with
    random weights (a preset or `backbone_weights=` supplies them). It
    builds only at the graph's own input size and refuses any other with
    a `ValueError`.

    Args:
        name: str. Registry name.
        graph: str or dict. See `load_graph`. Defaults to `name` (the
            shipped graph of that name).
        taps: dict. Level -> layer name of the trunk; each a clean cut,
            the levels a chain. Defaults to the graph's `taps`.
        input_shape: tuple `(H, W, C)`. The one input size. Defaults to
            the graph's `input_shape`.
        default_preprocessing: str. A mode of
            `mtlzoo.backbones.Preprocess`. Defaults to `"unit"` (`x / 255`).
        aliases: tuple of str. Other names. Defaults to ().
        replace: bool. Replace an entry of the same name. Defaults to
            False.

    Returns:
        The `BackboneSpec`.

    Example:

    >>> split = mtlzoo.convert.split_model(converted_model)
    >>> register_converted_backbone(
    ...     "my_trunk",
    ...     {"name": "my_trunk", "input_shape": [192, 192, 3],
    ...      "taps": split.levels, "config": split.trunk.get_config()})
    >>> model = mtlzoo.build("my_trunk", tasks, input_shape=(192, 192, 3))
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a str. Received: name={name!r}")
    if not isinstance(replace, bool):
        raise TypeError(
            f"`replace` must be True or False. Received: replace={replace!r}"
        )
    if isinstance(aliases, str) or not all(isinstance(a, str) for a in aliases):
        raise TypeError(
            f"`aliases` must be a tuple of str. Received: aliases={aliases!r}"
        )
    record = load_graph(name if graph is None else graph)
    taps = record["taps"] if taps is None else taps
    if not isinstance(taps, dict):
        raise TypeError(
            "`taps` must be a dict level -> layer name. "
            f"Received: taps={taps!r}"
        )
    layer_names = {layer.get("name") for layer in record["config"]["layers"]}
    missing = sorted(str(v) for v in taps.values() if v not in layer_names)
    if missing:
        raise ValueError(
            f"`taps` name layers the trunk graph does not have: {missing}. "
            f"Received: taps={taps!r}"
        )
    taps = dict(taps)
    raw = record["input_shape"] if input_shape is None else input_shape
    try:
        shape = tuple(raw)
    except TypeError:
        shape = ()
    if len(shape) != 3 or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
    ):
        raise ValueError(
            "`input_shape` must be (H, W, C) of positive ints. "
            f"Received: input_shape={input_shape!r}"
        )
    if input_shape is not None and list(shape) != list(record["input_shape"]):
        raise ValueError(
            "The trunk graph was converted at input shape "
            f"{tuple(record['input_shape'])} and builds only at it. "
            f"Received: input_shape={input_shape!r}"
        )
    config = record["config"]

    def builder(input_shape, weights=None):
        if tuple(input_shape) != shape:
            raise ValueError(
                f"The converted backbone '{name}' takes only "
                f"{shape[0]}x{shape[1]}x{shape[2]} images (its graph was "
                "converted at that size). "
                f"Received: input_shape={tuple(input_shape)!r}"
            )
        # from_config consumes parts of the dict it is given.
        return keras.Model.from_config(copy.deepcopy(config))

    builder.__name__ = name
    return register_backbone(
        name,
        builder,
        taps=taps,
        default_preprocessing=default_preprocessing,
        min_input_size=min(shape[:2]),
        native=True,
        aliases=aliases,
        replace=replace,
    )


def _register_shipped():
    for path in sorted(GRAPHS.glob("*.json")):
        register_converted_backbone(path.stem)


_register_shipped()
