"""`mtlzoo.app.train_config`: the dataset block of a training config."""

import mtlzoo
from mtlzoo.app import train_config


def test_train_config_loader_without_tasks_argument():
    tasks = [mtlzoo.Task("left", "classification", num_classes=10)]
    config = {
        "training": {
            "dataset": {
                "loader": "multi_mnist",
                "args": {"path": "sample", "num_samples": 4},
            }
        }
    }
    train, val, test = train_config.load_datasets(config, tasks)
    image, labels = next(iter(test))
    assert sorted(labels) == ["left"] and image.shape == (36, 36, 1)


def test_search_output_is_a_training_config():
    best = {"dataset": {"name": "shapes", "args": {"size": 32}}}
    loader, splits = train_config.dataset_block(best)
    assert loader == "shapes"
    assert splits["validation"] == {"size": 32, "split": "test"}
