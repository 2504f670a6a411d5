"""MTAN attention masks (mtlzoo/architectures/mtan.py)."""

import keras
from architecture_helpers import SHAPE
from architecture_helpers import batch
from architecture_helpers import build
from architecture_helpers import make_tasks

import mtlzoo


def test_mtan_masks_in_unit_interval_with_level_shapes():
    model = mtlzoo.build("tiny", make_tasks(), SHAPE, architecture="mtan")
    names = [t.name for t in model.tasks]
    levels = ["P1", "P2", "P3", "P4", "P5"]
    layers = [
        model.get_layer(f"{n}_mtan_{lv}_mask") for n in names for lv in levels
    ]
    probe = keras.Model(model.input, [layer.output for layer in layers])
    x, _ = batch(model.tasks)
    masks = probe(x, training=False)
    for layer, mask in zip(layers, masks):
        level = layer.name.split("_")[-2]
        size = SHAPE[0] // 2 ** int(level[1:])
        channels = (4, 4, 8, 8, 16)[int(level[1:]) - 1]
        assert tuple(mask.shape) == (2, size, size, channels), layer.name
        mask = mask.numpy()
        assert mask.min() >= 0.0 and mask.max() <= 1.0, layer.name
    model = build("mtan", levels=["P2", "P5"])
    existing = {layer.name for layer in model.layers}
    assert {"digit_mtan_P2_mask", "mask_mtan_P5_mask"} <= existing
    assert "digit_mtan_P3_mask" not in existing
