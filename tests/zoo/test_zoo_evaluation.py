"""`mtlzoo.zoo.evaluate` and the preset's data (the demo and the command
line: tests/app/)."""

import pytest

from mtlzoo import zoo
from mtlzoo.zoo import evaluation

TINY = "fashion_tiny_test"


def test_evaluate_on_shipped_sample():
    result = zoo.evaluate(TINY, sample=True)
    assert result["num_samples"] == 200
    assert sorted(result["metrics"]) == sorted(result["card"])
    assert 0.0 <= result["metrics"]["garment_accuracy"] <= 1.0


def test_validation_split_of_a_preset_loads():
    config = zoo.get_config(TINY)
    kwargs = evaluation.dataset_arguments(config, "validation", sample=True)
    assert kwargs["split"] == "validation" and kwargs["path"] == "sample"
    ds = evaluation.load_dataset(config, "validation", sample=True)
    assert sum(int(x.shape[0]) for x, _ in ds) == 20  # 10 % of 200 items
    del config["dataset"]["validation"]
    with pytest.raises(ValueError, match="Received: split='validation'"):
        evaluation.dataset_arguments(config, "validation")


def test_missing_full_data_says_so():
    config = zoo.get_config(TINY)
    config["dataset"]["paths"] = {"path": "/nonexistent/fashion"}
    config["dataset"]["search"] = False
    with pytest.raises(evaluation.DataNotFoundError, match="--sample"):
        evaluation.dataset_arguments(config)
    kwargs = evaluation.dataset_arguments(config, sample=True)
    assert kwargs["path"] == "sample"
    with pytest.raises(evaluation.DataNotFoundError, match="not found"):
        evaluation.dataset_arguments(config, data="/nonexistent/elsewhere")
    assert zoo.DataNotFoundError is evaluation.DataNotFoundError
