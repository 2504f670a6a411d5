"""The head registry: one head block per file, registered by name."""

import pytest

import mtlzoo
from mtlzoo import heads


def test_list_and_get():
    names = ["box", "classification", "dense", "regression"]
    assert set(names) <= set(heads.list_heads())
    assert heads.get("dense") is heads.DenseHead
    assert heads.get("classification") is heads.ClassificationHead
    with pytest.raises(ValueError, match="Received: head='nope'"):
        heads.get("nope")


@pytest.mark.parametrize("kind", mtlzoo.tasks.list_kinds())
def test_every_kind_names_a_registered_head(kind):
    assert mtlzoo.tasks.get_kind(kind).default_head in heads.list_heads()


def test_build_head_checks_options():
    task = mtlzoo.Task("a", "classification", num_classes=2, head={"x": 1})
    with pytest.raises(ValueError, match="Unknown head option") as info:
        heads.build_head(task)
    assert "Received" in str(info.value)
    task = mtlzoo.Task("a", "depth", head={"width": 8})
    assert heads.build_head(task, {"convs": 2}).convs == 2


def test_register_a_head():
    @heads.register_head("tiny_vector")
    class TinyVector(heads.RegressionHead):
        pass

    try:
        assert "tiny_vector" in heads.list_heads()
        assert heads.get("tiny_vector") is TinyVector
    finally:
        heads.base.HEADS.unregister("tiny_vector")
    assert "tiny_vector" not in heads.list_heads()
