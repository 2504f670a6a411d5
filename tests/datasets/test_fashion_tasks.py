"""fashion_tasks: labels, subsets, the validation split."""

import re

import numpy as np
import pytest
from dataset_helpers import check_specs
from dataset_helpers import collect
from dataset_helpers import first
from dataset_helpers import item_numbers
from dataset_helpers import numbered_npz

from mtlzoo import datasets


def test_fashion_tasks_labels_and_resize():
    ds, tasks = datasets.fashion_tasks(
        split="test", path="sample", shuffle=False, batch_size=200
    )
    assert [(t.name, t.kind) for t in tasks] == [
        ("garment", "classification"),
        ("group", "classification"),
        ("mask", "segmentation"),
        ("ink", "regression"),
    ]
    check_specs(ds, tasks)
    images, labels = first(ds)
    with np.load(datasets.sample_path("fashion_mnist")) as data:
        x, y = data["x_test"], data["y_test"]
    np.testing.assert_array_equal(images[..., 0], x.astype(np.float32))
    np.testing.assert_array_equal(labels["garment"], y)
    group = {0: 0, 2: 0, 4: 0, 6: 0, 1: 1, 3: 1, 5: 2, 7: 2, 9: 2, 8: 3}
    np.testing.assert_array_equal(labels["group"], [group[c] for c in y])
    np.testing.assert_array_equal(labels["mask"], (x > 32).astype(np.int32))
    np.testing.assert_allclose(labels["ink"][:, 0], (x > 32).mean((1, 2)))

    ds, tasks = datasets.fashion_tasks(
        split="test", path="sample", size=(40, 56), channels=3,
        tasks=["mask", "garment"], mask_threshold=0, batch_size=4,
    )  # fmt: skip
    assert [t.name for t in tasks] == ["garment", "mask"]
    images, labels = first(ds)
    assert images.shape == (4, 40, 56, 3) and labels["mask"].shape == (
        4,
        40,
        56,
    )
    assert set(np.unique(labels["mask"])) == {0, 1}


def test_fashion_tasks_subset_is_deterministic_and_checked():
    def load(seed):
        ds, _ = datasets.fashion_tasks(
            path="sample", num_samples=50, seed=seed, shuffle=False
        )
        return collect(ds)[1]["garment"]

    np.testing.assert_array_equal(load(3), load(3))
    assert not np.array_equal(load(3), load(4))
    with pytest.raises(ValueError, match="Received: num_samples=500"):
        datasets.fashion_tasks(path="sample", num_samples=500)
    with pytest.raises(ValueError, match="Received: tasks="):
        datasets.fashion_tasks(path="sample", tasks=["colour"])
    with pytest.raises(ValueError, match="Received: mask_threshold="):
        datasets.fashion_tasks(path="sample", mask_threshold=255)


def test_fashion_tasks_validation_split_is_disjoint_and_seed_free(tmp_path):
    npz = numbered_npz(tmp_path / "f.npz")

    def numbers(split, **kwargs):
        ds, _ = datasets.fashion_tasks(
            split=split, path=npz, shuffle=False, **kwargs
        )
        return item_numbers(ds)

    train = numbers("train", validation_split=0.25)
    held = numbers("validation", validation_split=0.25)
    assert len(held) == 10 and len(train) == 30
    assert train.isdisjoint(held) and train | held == set(range(1, 41))
    # the same items for every seed; the subset is drawn from its own split
    assert numbers("validation", validation_split=0.25, seed=7) == held
    sub = numbers("train", validation_split=0.25, num_samples=12, seed=3)
    assert len(sub) == 12 and sub <= train
    assert numbers("train") == set(range(1, 41))  # no split: the whole file
    assert numbers("test") == set(range(41, 51))
    # validation is not shuffled by default
    ds, _ = datasets.fashion_tasks(
        split="validation", path=npz, validation_split=0.25
    )
    images, _ = collect(ds)
    order = images[:, 0, 0, 0].tolist()
    assert order == sorted(order)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "validation"}, "Received: validation_split=None"),
        (
            {"split": "test", "validation_split": 0.1},
            "Received: split='test', validation_split=0.1",
        ),
        ({"validation_split": 1.0}, "Received: validation_split=1.0"),
        ({"validation_split": "10%"}, "Received: validation_split='10%'"),
        ({"validation_split": True}, "Received: validation_split=True"),
        ({"validation_split": 0.001}, "leaves 0 validation"),
    ],
)
def test_validation_split_bad_arguments(kwargs, message):
    for loader in (datasets.fashion_tasks, datasets.multi_fashion):
        with pytest.raises(ValueError, match=re.escape(message)):
            loader(path="sample", **kwargs)
