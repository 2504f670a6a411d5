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
    size = zoo.get_config(name)["weights"]["size_bytes"]
    return [pytest.mark.large] if size > SMALL_BYTES else []


BY_SIZE = [pytest.param(n, marks=size_marks(n), id=n) for n in NAMES]
