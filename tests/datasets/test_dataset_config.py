"""`mtlzoo.datasets.config`: the one reader of dataset blocks."""

import pytest

import mtlzoo
from mtlzoo.datasets import config as dataset_config

ZOO_BLOCK = {
    "name": "fashion_tasks",
    "loader": "fashion_tasks",
    "train": {"split": "train", "num_samples": 64, "seed": 0},
    "test": {"split": "test"},
    "paths": {"path": "/nonexistent/fashion"},
    "sample": {"path": "sample"},
    "search": False,
    "source": "Fashion-MNIST",
    "license": "MIT",
}


def test_search_style_block_uses_name_and_defaults():
    block = {"name": "shapes", "args": {"size": 32}}
    assert dataset_config.read_block(block)["loader"] == "shapes"
    args = dataset_config.split_arguments(block, "validation")
    assert args == {"size": 32, "split": "test"}
    assert dataset_config.split_arguments(block, "train") == {
        "size": 32,
        "split": "train",
    }
    with pytest.raises(ValueError, match="split='validation'"):
        dataset_config.split_arguments(block, "validation", strict=True)


def test_bad_blocks_are_refused():
    with pytest.raises(ValueError, match="needs a `loader`"):
        dataset_config.read_block({"args": {}})
    with pytest.raises(ValueError, match="no_such_loader"):
        dataset_config.read_block({"loader": "no_such_loader"})
    with pytest.raises(ValueError, match=r"Unknown dataset block key\(s\)"):
        dataset_config.read_block({"loader": "shapes", "batch": 3})
    with pytest.raises(ValueError, match="must be a dict"):
        dataset_config.read_block({"loader": "shapes", "train": [1]})


def test_zoo_block_missing_data_policies():
    with pytest.raises(dataset_config.DataNotFoundError, match="--sample"):
        dataset_config.split_arguments(ZOO_BLOCK, "test")
    args = dataset_config.split_arguments(ZOO_BLOCK, "train", missing="sample")
    assert args == {"split": "train", "seed": 0, "path": "sample"}
    search = dict(ZOO_BLOCK, search=True)
    args = dataset_config.split_arguments(search, "test")
    assert args == {"split": "test", "path": None, "download": False}
    with pytest.raises(ValueError, match="has no shipped sample"):
        dataset_config.split_arguments(
            dict(ZOO_BLOCK, sample=None), "test", sample=True
        )


def test_load_split_selects_and_checks_tasks():
    block = {"loader": "fashion_tasks", "args": {"path": "sample"}}
    ink = mtlzoo.Task("ink", "regression", units=1)
    ds, loaded = dataset_config.load_split(
        block, "test", tasks=[ink], batch_size=8
    )
    x, y = next(iter(ds))
    assert sorted(y) == ["ink"] and x.shape[0] == 8
    wrong = mtlzoo.Task("ink", "classification", num_classes=3)
    with pytest.raises(ValueError, match="Task 'ink' does not match"):
        dataset_config.load_split(block, "test", tasks=[wrong])
    (train, test), _ = dataset_config.load_splits(
        block, tasks=["garment"], splits=("train", "test")
    )
    assert sorted(next(iter(train))[1]) == ["garment"]
