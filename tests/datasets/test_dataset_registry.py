"""The dataset catalog: one loader per module, `get`, `list_datasets`."""

import importlib
import inspect
import pathlib

import pytest

from mtlzoo import datasets
from mtlzoo.datasets.registry import DATASETS

PACKAGE = pathlib.Path(datasets.__file__).parent
# Public modules that are helpers, not loaders.
HELPERS = {"config", "partial_labels", "registry", "sources", "tfds_features"}
LOADERS = [
    "celeb_a",
    "cityscapes",
    "dsprites",
    "fashion_tasks",
    "multi_fashion",
    "multi_fashion_mnist",
    "multi_mnist",
    "nyu_depth_v2",
    "oxford_iiit_pet",
    "shapes",
    "shapes3d",
    "smallnorb",
]


def test_every_module_is_a_registered_loader_of_its_name():
    stems = {p.stem for p in PACKAGE.glob("*.py") if p.stem[0] != "_"}
    assert stems - HELPERS == set(datasets.list_datasets())
    assert datasets.list_datasets() == LOADERS
    for name in LOADERS:
        module = importlib.import_module(f"mtlzoo.datasets.{name}")
        loader = datasets.get(name)
        assert loader is getattr(module, name)
        assert loader is getattr(datasets, name)
        assert loader.__name__ == name
        assert loader.__module__ == f"mtlzoo.datasets.{name}"
        assert name in datasets.__all__
        parameters = inspect.signature(loader).parameters
        assert list(parameters)[0] == "split"
        assert "batch_size" in parameters and "seed" in parameters
        assert loader.__doc__ and "Args:" in loader.__doc__


def test_list_datasets_pattern():
    assert datasets.list_datasets("multi_*") == [
        "multi_fashion",
        "multi_fashion_mnist",
        "multi_mnist",
    ]
    assert datasets.list_datasets("nothing*") == []


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Received: name='nope'") as info:
        datasets.get("nope")
    for name in LOADERS:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="Received: name=3"):
        datasets.get(3)


def test_get_returns_a_working_loader():
    ds, tasks = datasets.get("multi_mnist")(
        split="test", path="sample", batch_size=4
    )
    assert [t.name for t in tasks] == ["left", "right"]
    image, _ = next(iter(ds))
    assert tuple(image.shape) == (4, 36, 36, 1)


def test_generated_signatures_behave_like_functions():
    # Positional order and defaults are those of the old hand-written
    # loaders; unknown arguments raise TypeError naming the loader.
    signature = inspect.signature(datasets.cityscapes)
    assert list(signature.parameters) == [
        "split",
        "size",
        "channels",
        "tasks",
        "config",
        "num_classes",
        "num_samples",
        "seed",
        "batch_size",
        "shuffle",
        "data_dir",
        "download",
        "manual_dir",
    ]
    assert signature.parameters["size"].default == (128, 256)
    assert list(inspect.signature(datasets.multi_fashion_mnist).parameters)[
        7:9
    ] == ["fashion_path", "mnist_path"]
    with pytest.raises(TypeError, match="multi_mnist.*colour"):
        datasets.multi_mnist(colour=1)
    ds, _ = datasets.multi_mnist("test", 3, 28, path="sample")
    assert int(ds.cardinality()) == 3


def test_register_dataset_as_decorator():
    try:

        @datasets.register_dataset("my_data")
        def my_data(split="train", batch_size=None):
            return split, batch_size

        assert datasets.get("my_data") is my_data
        assert "my_data" in datasets.list_datasets()
        with pytest.raises(ValueError, match="already registered"):
            datasets.register_dataset("my_data", lambda: None)
    finally:
        DATASETS.unregister("my_data")
    assert "my_data" not in datasets.list_datasets()
