"""Shared names of the zoo tests."""

import pathlib

import pytest

from mtlzoo import zoo

TINY = "fashion_tiny_test"
NAMES = zoo.list_models()
# Presets whose weights are small enough to load in the fast suite.
SMALL_BYTES = 3_000_000
REPO = pathlib.Path(__file__).resolve().parents[2]


def size_marks(name):
    config = zoo.get_config(name)
    size = config["weights"]["size_bytes"]
    marks = [pytest.mark.large] if size > SMALL_BYTES else []
    if config["weights"].get("convert_from"):
        from mtlzoo.presets import first_use

        marks.append(
            pytest.mark.skipif(
                not first_use.available(config),
                reason="converted on first use; no source (MTLZOO_SOURCES)",
            )
        )
    return marks


BY_SIZE = [pytest.param(n, marks=size_marks(n), id=n) for n in NAMES]
