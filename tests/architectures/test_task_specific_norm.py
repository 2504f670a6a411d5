"""Task-specific normalisation (mtlzoo/architectures/task_specific_norm.py)."""

import keras
from architecture_helpers import build


def test_task_norm_shares_kernels_but_not_normalisation():
    model = build("task_specific_norm")
    for level in ("P1", "P3", "P5"):
        a = model.get_layer(f"digit_{level}")
        b = model.get_layer(f"mask_{level}")
        a_layers = [lyr for lyr in a.layers if lyr.weights]
        b_layers = [lyr for lyr in b.layers if lyr.weights]
        assert len(a_layers) == len(b_layers) == 2
        conv_a, bn_a = a_layers
        conv_b, bn_b = b_layers
        assert conv_a is conv_b
        assert conv_a.kernel is conv_b.kernel
        assert isinstance(bn_a, keras.layers.BatchNormalization)
        assert bn_a is not bn_b and bn_a.name.startswith("digit_")
        assert not {id(w) for w in bn_a.weights} & {id(w) for w in bn_b.weights}
    # The shared conv kernels are counted once.
    ids = [id(v) for v in model.weights]
    assert len(ids) == len(set(ids))


def test_task_norm_levels_keep_a_plain_shared_trunk():
    model = build("task_specific_norm", levels=["P4", "P5"])
    names = {layer.name for layer in model.layers}
    assert {"tiny_P1", "tiny_P2", "tiny_P3"} <= names
    assert {"digit_P4", "ink_P5", "mask_P4"} <= names
    assert "digit_P3" not in names
