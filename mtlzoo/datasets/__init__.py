"""Datasets as `tf.data.Dataset`s of `(image, {task_name: label})`.

Every loader returns `(dataset, tasks)`: the dataset (unbatched unless
`batch_size=` is given; float32 images with raw pixel values in [0, 255],
shape `(H, W, C)`; int32 class labels, float32 continuous labels) and the
list of `mtlzoo.Task`s it is labelled for. Missing labels are `-1` (class
ids) or `NaN` (continuous), see `merge_partial`.

One loader per module, file name = loader name, registered there:
`list_datasets()` names them and `get(name)` returns one
(`register_dataset` adds your own). The other public modules are helpers:
`sources` (MNIST-like files and the shipped samples), `partial_labels`
(`merge_partial`), `registry`, and `tfds_features` (the TFDS feature
mappings under their old names).

Example:

>>> loader = mtlzoo.datasets.get("multi_mnist")
>>> ds, tasks = loader(split="test", path="sample", batch_size=32)
"""

from mtlzoo.datasets.celeb_a import celeb_a
from mtlzoo.datasets.cityscapes import cityscapes
from mtlzoo.datasets.dsprites import dsprites
from mtlzoo.datasets.fashion_tasks import fashion_tasks
from mtlzoo.datasets.multi_fashion import multi_fashion
from mtlzoo.datasets.multi_fashion_mnist import multi_fashion_mnist
from mtlzoo.datasets.multi_mnist import multi_mnist
from mtlzoo.datasets.nyu_depth_v2 import nyu_depth_v2
from mtlzoo.datasets.oxford_iiit_pet import oxford_iiit_pet
from mtlzoo.datasets.partial_labels import merge_partial
from mtlzoo.datasets.registry import get
from mtlzoo.datasets.registry import list_datasets
from mtlzoo.datasets.registry import register_dataset
from mtlzoo.datasets.shapes import shapes
from mtlzoo.datasets.shapes3d import shapes3d
from mtlzoo.datasets.smallnorb import smallnorb
from mtlzoo.datasets.sources import sample_path

__all__ = [
    "celeb_a",
    "cityscapes",
    "dsprites",
    "fashion_tasks",
    "get",
    "list_datasets",
    "merge_partial",
    "multi_fashion",
    "multi_fashion_mnist",
    "multi_mnist",
    "nyu_depth_v2",
    "oxford_iiit_pet",
    "register_dataset",
    "sample_path",
    "shapes",
    "shapes3d",
    "smallnorb",
]
