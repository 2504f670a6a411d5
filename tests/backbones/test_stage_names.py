"""`mtlzoo.backbones.stage_names`: the one writer and reader of stage
model names."""

import pytest

from mtlzoo.backbones.stage_names import parse_stage_name
from mtlzoo.backbones.stage_names import stage_name


def test_stage_names_round_trip():
    assert stage_name("tiny", "P3") == "tiny_P3"
    assert stage_name(("mask", "ink"), "P4") == "mask_ink_P4"
    assert parse_stage_name("mask_ink_P4") == ("mask_ink", "P4")
    assert parse_stage_name(stage_name("resnet_small", "P1")) == (
        "resnet_small",
        "P1",
    )


@pytest.mark.parametrize(
    "name", ["garment_head_dense_1", "P3", "_P3", "mask_P6", "tiny_P0"]
)
def test_other_layer_names_are_not_stages(name):
    assert parse_stage_name(name) is None


def test_bad_stage_is_refused():
    with pytest.raises(ValueError, match="Received: owner='', level='P3'"):
        stage_name("", "P3")
    with pytest.raises(ValueError, match="level='P9'"):
        stage_name("tiny", "P9")
