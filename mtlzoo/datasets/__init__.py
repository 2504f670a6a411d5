"""Datasets as `tf.data.Dataset`s of `(image, {task_name: label})`.

Every loader returns `(dataset, tasks)`: the dataset (unbatched unless
`batch_size=` is given; float32 images with raw pixel values in [0, 255],
shape `(H, W, C)`; int32 class labels, float32 continuous labels) and the
list of `mtlzoo.Task`s it is labelled for. Missing labels are `-1` (class
ids) or `NaN` (continuous), see `merge_partial`.
"""

from mtlzoo.datasets.fashion_tasks import fashion_tasks
from mtlzoo.datasets.multi_mnist import multi_fashion
from mtlzoo.datasets.multi_mnist import multi_fashion_mnist
from mtlzoo.datasets.multi_mnist import multi_mnist
from mtlzoo.datasets.partial_labels import merge_partial
from mtlzoo.datasets.shapes import shapes
from mtlzoo.datasets.sources import sample_path
from mtlzoo.datasets.tfds_datasets import celeb_a
from mtlzoo.datasets.tfds_datasets import cityscapes
from mtlzoo.datasets.tfds_datasets import dsprites
from mtlzoo.datasets.tfds_datasets import nyu_depth_v2
from mtlzoo.datasets.tfds_datasets import oxford_iiit_pet
from mtlzoo.datasets.tfds_datasets import shapes3d
from mtlzoo.datasets.tfds_datasets import smallnorb

__all__ = [
    "celeb_a",
    "cityscapes",
    "dsprites",
    "fashion_tasks",
    "merge_partial",
    "multi_fashion",
    "multi_fashion_mnist",
    "multi_mnist",
    "nyu_depth_v2",
    "oxford_iiit_pet",
    "sample_path",
    "shapes",
    "shapes3d",
    "smallnorb",
]
