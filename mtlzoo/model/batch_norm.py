"""BatchNormalization while fine-tuning: the policy, and exact statistics.

A BatchNormalization layer normalises with the statistics of the batch
while training and with its moving statistics at inference. Fine-tuning a
pretrained model on data from another domain for a few epochs moves the
weights to the new domain while the moving statistics (momentum 0.9 to
0.999) still describe the old one: `fit` reports high accuracy and
`evaluate` on the same images a much lower one.

The `batch_norm` policy of `MultiTaskModel` chooses the remedy:

- `"recalibrate"` (the default of `MultiTaskModel.from_preset` and
  `mtlzoo.load`): BatchNormalization trains as usual, with batch
  statistics (which a deep backbone needs to learn a new domain at a usual
  learning rate), and `fit` re-estimates the moving statistics on
  training batches (`recalibrate_batch_norm`, "precise BN") before each
  validation and at its end (`RecalibrateBatchNorm`).
- `"frozen"`: pretrained BatchNormalization layers get `trainable=False`,
  which in Keras 3 also makes them run in inference mode, with their
  moving statistics, in `fit` too (the Keras transfer-learning guide).
  Training and inference then compute the same function. Layers that
  start from a fresh initialisation (a new head) keep training. Without
  batch statistics a deep backbone needs a low learning rate (about
  1e-4): at 1e-3 MobileNetV2 does not learn a new domain so.
- `"train"`: plain Keras. After training, `recalibrate_batch_norm(model,
  data)` re-estimates the statistics; the shipped presets were made so.
"""

import warnings

import keras
import numpy as np

POLICIES = ("train", "frozen", "recalibrate")


def check_batch_norm(batch_norm):
    """`(policy, train_layers)` of a `batch_norm` argument.

    Args:
        batch_norm: str or dict. `"train"`, `"frozen"`, or the dict form
            `{"policy": ..., "train_layers": [...]}` that `get_config()`
            returns when some layers are exempt.

    Returns:
        `(policy, train_layers)`: a str of `POLICIES` and a sorted list.
    """
    train_layers = []
    policy = batch_norm
    if isinstance(batch_norm, dict):
        if set(batch_norm) - {"policy", "train_layers"}:
            raise ValueError(
                "A `batch_norm` dict has the keys 'policy' and "
                f"'train_layers'. Received: batch_norm={batch_norm!r}"
            )
        policy = batch_norm.get("policy")
        train_layers = batch_norm.get("train_layers") or []
    if policy not in POLICIES:
        raise ValueError(
            f"`batch_norm` must be one of {list(POLICIES)}. "
            f"Received: batch_norm={batch_norm!r}"
        )
    if not isinstance(train_layers, (list, tuple)) or not all(
        isinstance(n, str) for n in train_layers
    ):
        raise TypeError(
            "`train_layers` must be a list of layer names. "
            f"Received: train_layers={train_layers!r}"
        )
    return policy, sorted(set(train_layers))


def batch_norm_config(policy, train_layers):
    """The `get_config()` value: the policy, or the dict with exemptions."""
    if policy == "frozen" and train_layers:
        return {"policy": policy, "train_layers": list(train_layers)}
    return policy


def walk_layers(model, path=""):
    """`(path, layer)` of every layer inside `model`, nested ones as
    `"outer/inner"`; each layer once."""
    seen = set()
    stack = [(path, layer) for layer in reversed(model.layers)]
    out = []
    while stack:
        prefix, layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        here = f"{prefix}/{layer.name}" if prefix else layer.name
        out.append((here, layer))
        inner = getattr(layer, "layers", None)
        if isinstance(layer, keras.Model) and inner:
            stack.extend((here, sub) for sub in reversed(inner))
    return out


def batch_norm_layers(model):
    """`(path, layer)` of the BatchNormalization layers of `model`."""
    return [
        (path, layer)
        for path, layer in walk_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def exempt(path, train_layers):
    """Whether the layer at `path` is, or is inside, one of
    `train_layers`."""
    return any(path == n or path.startswith(f"{n}/") for n in train_layers)


def apply_batch_norm(model, policy, train_layers=(), frozen_paths=()):
    """Set `trainable` of the BatchNormalization layers of `model`.

    Args:
        model: `keras.Model`.
        policy: str. `"train"` or `"frozen"`.
        train_layers: list of str. Under `"frozen"`, paths of layers (or
            of models holding them) that keep training.
        frozen_paths: list of str. Paths of frozen sub-models: their
            BatchNormalization layers stay frozen whatever the policy.
    """
    for path, layer in batch_norm_layers(model):
        if exempt(path, frozen_paths):
            layer.trainable = False
        elif policy == "frozen":
            layer.trainable = exempt(path, train_layers)
        else:
            layer.trainable = True


def fit_batches(args, kwargs, batches=32):
    """The batches of a `fit(*args, **kwargs)` call's `x` to recalibrate
    on: random batches of fit's `batch_size` of an array, or the first
    `batches` of a dataset; `(data, batch_size)`, data None for others."""
    x = kwargs.get("x", args[0] if args else None)
    batch_size = kwargs.get("batch_size", args[2] if len(args) > 2 else None)
    batch_size = batch_size or 32
    if hasattr(x, "take"):
        return x, batch_size
    if isinstance(x, np.ndarray) or hasattr(x, "shape"):
        x = np.asarray(x)
        order = np.random.default_rng(0).permutation(len(x))
        return x[np.sort(order[: batches * batch_size])], batch_size
    return None, batch_size


class RecalibrateBatchNorm(keras.callbacks.Callback):
    """Keeps BatchNorm statistics exact during `fit` (`"recalibrate"`).

    After an epoch of training, the moving statistics are re-estimated
    (`recalibrate_batch_norm`) on training batches before the model is
    evaluated (validation inside `fit`) and at the end of `fit`, so
    validation logs and a later `evaluate` use statistics of the trained
    weights. `MultiTaskModel.fit` adds it under `batch_norm="recalibrate"`.

    Args:
        data: array or dataset. Training images (or batches).
        batch_size: int. Batch size for an array.
        batches: int. Batches averaged. Defaults to 32.
    """

    def __init__(self, data, batch_size=32, batches=32):
        super().__init__()
        if data is None:
            warnings.warn(
                "batch_norm='recalibrate' re-estimates BatchNorm statistics "
                "on fit's `x` when it is an array or a tf.data.Dataset; "
                "call mtlzoo.recalibrate_batch_norm(model, data) yourself.",
                stacklevel=3,
            )
        self.data = data
        self.batch_size = batch_size
        self.batches = batches
        self.stale = False

    def on_epoch_begin(self, epoch, logs=None):
        self.stale = True

    def on_test_begin(self, logs=None):
        self._recalibrate()

    def on_train_end(self, logs=None):
        self._recalibrate()

    def _recalibrate(self):
        if self.stale and self.data is not None:
            recalibrate_batch_norm(
                self.model,
                self.data,
                batches=self.batches,
                batch_size=self.batch_size,
            )
        self.stale = False


def recalibrate_batch_norm(model, data, batches=32, batch_size=32):
    """Re-estimate BatchNorm moving statistics as an exact batch average.

    With Keras' default momentum (0.99) the moving statistics still hold
    much of their initial values after a few hundred steps, so after a
    short training (or fine-tuning with `batch_norm="train"`) inference
    disagrees with training. This runs `batches` batches forward in
    training mode with momentum `i / (i + 1)` for the i-th batch, so each
    moving statistic becomes the mean of the batch statistics ("precise
    BN"). Only layers that train (`trainable=True`; not those frozen by
    `batch_norm="frozen"` or `model.freeze`) are changed; no other weight
    changes. Call it after `fit`, on training data.

    Args:
        model: `keras.Model`. E.g. a `mtlzoo.MultiTaskModel`.
        data: `tf.data.Dataset` or iterable of batches (`x` or `(x, y, ...)`
            tuples), or an array of images (cut into `batch_size` batches).
        batches: int. How many batches to average. Defaults to 32.
        batch_size: int. Batch size when `data` is an array. Defaults
            to 32.

    Returns:
        int. The number of batches used.

    Example:

    >>> model = mtlzoo.load("fashion_tiny_test", batch_norm="train")
    >>> model.fit(images, labels, epochs=2)
    >>> mtlzoo.recalibrate_batch_norm(model, images)
    """
    if (
        isinstance(batches, bool)
        or not isinstance(batches, int)
        or (batches < 1)
    ):
        raise ValueError(
            f"`batches` must be a positive int. Received: batches={batches!r}"
        )
    layers = [layer for _, layer in batch_norm_layers(model) if layer.trainable]
    if not layers:
        return 0
    if isinstance(data, np.ndarray) or hasattr(data, "shape"):
        data = [
            data[i : i + batch_size] for i in range(0, len(data), batch_size)
        ]
    elif hasattr(data, "take"):
        data = data.take(batches)
    saved = [layer.momentum for layer in layers]
    count = 0
    try:
        for batch in data:
            if count >= batches:
                break
            if isinstance(batch, (tuple, list)):
                x, _, _ = keras.utils.unpack_x_y_sample_weight(tuple(batch))
            else:
                x = batch
            for layer in layers:
                layer.momentum = count / (count + 1.0)
            model(x, training=True)
            count += 1
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum
    return count
