"""merge_partial: datasets labelled for different tasks, merged."""

import numpy as np
import pytest
import tensorflow as tf
from dataset_helpers import check_specs
from dataset_helpers import collect

from mtlzoo import datasets


def _labelled(n, labels, value=0.0, hw=(8, 8)):
    images = tf.fill((n,) + hw + (1,), value)
    return tf.data.Dataset.from_tensor_slices((images, labels))


def _partial_sources(n_a=200, n_b=50):
    from mtlzoo.tasks import Task

    cls = Task("cls", "classification", num_classes=3)
    seg = Task("seg", "segmentation", num_classes=2)
    reg = Task("reg", "regression", units=2)
    dep = Task("dep", "depth")
    a = _labelled(n_a, {"cls": np.ones(n_a, np.int32)}, 1.0)
    b = _labelled(
        n_b,
        {
            "seg": np.ones((n_b, 8, 8), np.int32),
            "reg": np.ones((n_b, 2), np.float32),
            "dep": np.ones((n_b, 8, 8, 1), np.float32),
        },
        2.0,
    )
    return (a, [cls]), (b, [seg, reg, dep])


def test_merge_partial_fills_missing_labels():
    a, b = _partial_sources()
    ds, tasks = datasets.merge_partial([a, b], seed=0)
    assert [t.name for t in tasks] == ["cls", "seg", "reg", "dep"]
    check_specs(ds, tasks, batched=False)
    images, labels = collect(ds)
    assert len(images) == 250  # every example of both sources
    from_a = images[:, 0, 0, 0] == 1.0
    assert from_a.sum() == 200
    assert labels["cls"].dtype == np.int32 and labels["seg"].dtype == np.int32
    assert np.all(labels["cls"][from_a] == 1) and np.all(
        labels["cls"][~from_a] == -1
    )
    assert np.all(labels["seg"][from_a] == -1) and np.all(
        labels["seg"][~from_a] == 1
    )
    for name, shape in (("reg", (2,)), ("dep", (8, 8, 1))):
        assert labels[name].shape[1:] == shape
        assert np.all(np.isnan(labels[name][from_a]))
        assert np.all(labels[name][~from_a] == 1.0)


def test_merge_partial_sampling_ratio_and_masks():
    (a, ta), (b, tb) = _partial_sources(2000, 2000)
    ds, tasks = datasets.merge_partial(
        [(a, ta), (b, tb)], weights=[4, 1], seed=0
    )
    _, labels = collect(ds.take(1000))
    share = np.mean(labels["cls"] >= 0)
    assert 0.75 < share < 0.85, share
    for task in tasks:  # each example is labelled for one source's tasks
        mask = task.label_mask(labels[task.name]).numpy()
        mask = mask.reshape(1000, -1).max(axis=1)
        expected = (
            labels["cls"] >= 0 if task.name == "cls" else labels["cls"] < 0
        )
        np.testing.assert_array_equal(mask.astype(bool), expected)


def test_merge_partial_batched_sources_and_loader_outputs():
    seg = datasets.shapes(
        num_samples=8, size=16, tasks=["segmentation"], batch_size=4
    )
    cls = datasets.shapes(
        num_samples=8, size=16, tasks=["shape"], batch_size=4, seed=1
    )
    ds, tasks = datasets.merge_partial([seg, cls], weights=[0.5, 0.5], seed=1)
    check_specs(ds, tasks)
    batches = list(ds)
    assert len(batches) == 4
    for _, labels in batches:
        present_seg = np.all(labels["segmentation"].numpy() >= 0)
        present_cls = np.all(labels["shape"].numpy() >= 0)
        assert present_seg != present_cls


def test_merge_partial_errors():
    (a, ta), (b, tb) = _partial_sources(4, 4)
    with pytest.raises(ValueError, match="Received: tasks=None"):
        datasets.merge_partial([a, b])
    with pytest.raises(ValueError, match="Received: weights="):
        datasets.merge_partial([(a, ta), (b, tb)], weights=[1, -1])
    with pytest.raises(ValueError, match="Received: weights="):
        datasets.merge_partial([(a, ta), (b, tb)], weights=[1])
    with pytest.raises(ValueError, match="not in `tasks`"):
        datasets.merge_partial([(a, ta), b], tasks=ta)
    small = _labelled(4, {"cls": np.ones(4, np.int32)}, hw=(4, 4))
    with pytest.raises(ValueError, match="Received: image shapes="):
        datasets.merge_partial([(a, ta), (small, ta)])
    with pytest.raises(ValueError, match="Received: datasets="):
        datasets.merge_partial(a)
    wrong = _labelled(4, {"cls": np.ones((4, 2), np.int32)})
    with pytest.raises(ValueError, match="Received: shape="):
        datasets.merge_partial([(wrong, ta)])
