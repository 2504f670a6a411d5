"""Freezing by level: `freeze`, `unfreeze`, trainable counts, the tree."""

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo.model.batch_norm import batch_norm_layers
from mtlzoo.model.freezing import stage_models

TINY = "fashion_tiny_test"


def _data(n=64):
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 255, (n, 28, 28, 1)).astype("float32")
    y = {
        "garment": rng.randint(0, 10, n),
        "group": rng.randint(0, 4, n),
        "mask": rng.randint(0, 2, (n, 28, 28)),
        "ink": rng.uniform(0, 1, n).astype("float32"),
    }
    return x, y


def _values(layer):
    return [w.numpy().copy() for w in layer.weights]


def _trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.parametrize("batch_norm", ["train", "frozen"])
def test_frozen_stages_do_not_move_and_the_others_do(batch_norm):
    model = mtlzoo.load(TINY, batch_norm=batch_norm)
    model.freeze(until="P3")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    stages = stage_models(model)
    frozen = [s for lv in ("P1", "P2", "P3") for s in stages.get(lv, [])]
    free = stages["P4"] + stages["P5"]
    before = {s.name: _values(s) for s in frozen + free}
    head = model.get_layer("mask_head_P2_conv_1")
    head_before = _values(head)
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for stage in frozen:  # kernels and BatchNorm statistics, bit-identical
        for a, b in zip(before[stage.name], _values(stage)):
            np.testing.assert_array_equal(a, b)
    for stage in free:
        kernels = [w for w in stage.weights if w.path.endswith("kernel")]
        old = dict(zip((w.path for w in stage.weights), before[stage.name]))
        assert any(not np.array_equal(old[k.path], k.numpy()) for k in kernels)
        stats = [w for w in stage.weights if "moving_mean" in w.path]
        moved = any(not np.array_equal(old[w.path], w.numpy()) for w in stats)
        assert moved == (batch_norm == "train")
    assert not np.array_equal(head_before[0], head.weights[0].numpy())


def test_freeze_counts_unfreeze_and_config():
    model = mtlzoo.load(TINY, batch_norm="frozen")
    everything = _trainable_count(model)
    model.freeze(until="P3")
    partly = _trainable_count(model)
    model.freeze()  # every stage: the heads train
    heads = _trainable_count(model)
    assert everything > partly > heads > 0
    head_params = sum(
        np.prod(w.shape)
        for layer in model.layers
        if layer.name.split("_head_")[0] in model.task_names
        for w in layer.trainable_weights
    )
    assert heads == head_params
    config = model.get_config()
    assert config["freeze_until"] == "backbone"
    again = mtlzoo.MultiTaskModel.from_config(config)
    assert _trainable_count(again) == heads
    model.unfreeze()
    assert _trainable_count(model) == everything
    assert "freeze_until" not in model.get_config()
    # BatchNorm of unfrozen stages follows the policy again
    assert not any(layer.trainable for _, layer in batch_norm_layers(model))


def test_fit_after_freeze_needs_compile():
    model = mtlzoo.load(TINY)
    model.freeze(until="P2")
    x, y = _data(4)
    with pytest.raises(ValueError, match="compile") as info:
        model.fit(x, y, verbose=0)
    assert "Received" in str(info.value)
    model.compile(optimizer="adam")
    model.fit(x, y, verbose=0)


@pytest.mark.parametrize("until", ["P0", "P9", "heads", None])
def test_bad_level_is_refused(until):
    model = mtlzoo.load(TINY, compile=False)
    with pytest.raises(ValueError, match="Received: until="):
        model.freeze(until=until)


def test_summary_shows_counts_and_tree():
    model = mtlzoo.load(TINY)
    model.freeze(until="P3")
    lines = []
    model.summary(print_fn=lambda text, **_: lines.append(text))
    text = "\n".join(lines)
    assert "Trainable params" in text and "Non-trainable params" in text
    assert "freeze_until='P3'" in text
    assert "tiny_P3: 320 params, 0 trainable, frozen" in text
    assert "branch ['ink']:" in text and "ink_P4:" in text
    assert "ink: 289 params, 289 trainable" in text


@pytest.mark.large
def test_mobilenet_preset_counts():
    """The counts of the closing note of issue 15."""
    model = mtlzoo.load("fashion_mobilenetv2_multitask")
    counts = [_trainable_count(model)]
    model.freeze(until="P3")
    counts.append(_trainable_count(model))
    model.freeze()
    counts.append(_trainable_count(model))
    assert counts[0] > counts[1] > counts[2] > 0
