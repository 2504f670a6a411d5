"""The catalog: names, aliases, presets, one file per entry."""

import pathlib
import sys

import keras
import pytest
from weighting_helpers import GRADIENT_NAMES
from weighting_helpers import NAMES

from mtlzoo import weighting


def test_get_unknown_lists_valid_names():
    with pytest.raises(ValueError) as info:
        weighting.get("unknown")
    message = str(info.value)
    for name in ("pcgrad", "mgda_ub", "nash_mtl", "famo", "uncertainty"):
        assert name in message
    assert message.endswith("Received: weighting='unknown'")


def test_aliases():
    assert isinstance(weighting.get("NashMTL"), weighting.NashMTL)
    assert isinstance(weighting.get("nash-mtl"), weighting.NashMTL)
    assert isinstance(weighting.get("PCGrad"), weighting.PCGrad)
    ub = weighting.get("mgda_ub", normalization="l2")
    assert isinstance(ub, weighting.MGDA)
    assert ub.representation_gradients and ub.normalization == "l2"
    assert not weighting.get("mgda").representation_gradients
    for name in GRADIENT_NAMES:
        assert name in NAMES
    assert set(GRADIENT_NAMES) >= {
        "gradnorm",
        "mgda",
        "pcgrad",
        "graddrop",
        "cagrad",
        "imtl",
        "nash_mtl",
        "aligned_mtl",
    }


# Modules of mtlzoo/weighting/ that are not catalog entries.
NOT_ENTRIES = {"base", "checks"}


def test_every_entry_lives_in_a_file_named_after_it():
    for name, cls in weighting.WEIGHTINGS.items():
        module = sys.modules[cls.__module__]
        assert pathlib.Path(module.__file__).stem == name, (name, cls)
        assert cls.__module__ == f"mtlzoo.weighting.{name}"


def test_every_module_is_an_entry():
    folder = pathlib.Path(weighting.__file__).parent
    stems = {
        path.stem
        for path in folder.glob("*.py")
        if not path.stem.startswith("_") and path.stem not in NOT_ENTRIES
    }
    assert stems == set(weighting.WEIGHTINGS.names())


def test_list_weightings_has_names_aliases_and_presets():
    names = set(weighting.list_weightings())
    assert set(weighting.WEIGHTINGS.names()) <= names
    assert set(weighting.WEIGHTINGS.aliases()) <= names
    assert "mgda_ub" in names
    assert {
        "equal",
        "fixed",
        "uncertainty",
        "uncertainty_weighting",
        "grad_norm",
        "gradnorm",
        "grad_drop",
        "graddrop",
        "nash_mtl",
        "nashmtl",
        "aligned_mtl",
        "alignedmtl",
        "dwa",
        "dtp",
        "rlw",
    } <= names
    for name in names:
        assert isinstance(weighting.get(name), weighting.Weighting), name


def test_loss_weighting_methods_by_name():
    assert isinstance(weighting.get("dwa"), weighting.DynamicWeightAveraging)
    dtp = weighting.get("dynamic-task-prioritization", gamma=1.0)
    assert isinstance(dtp, weighting.DynamicTaskPrioritization)
    assert dtp.gamma == 1.0
    assert isinstance(weighting.get("RLW"), weighting.RandomLossWeighting)
    # Their Keras names differ from the callbacks' of the same class name.
    for name in ("dwa", "dtp", "rlw"):
        method = weighting.get(name)
        registered = keras.saving.get_registered_name(type(method))
        assert registered == f"mtlzoo>{type(method).__name__}Method"


def test_equal_weighting_is_the_default_and_lives_in_equal_py():
    from mtlzoo.weighting.equal import EqualWeighting

    assert EqualWeighting is weighting.EqualWeighting
    assert weighting.get(None).__class__ is EqualWeighting
