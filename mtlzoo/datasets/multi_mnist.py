"""MultiMNIST: two overlapped MNIST digits, tasks `left` and `right`.

The composition (and `compose_pairs`) is shared with `multi_fashion` and
`multi_fashion_mnist`, see `mtlzoo.datasets._composite`.
"""

from mtlzoo.datasets import _composite
from mtlzoo.datasets._composite import CANVAS  # noqa: F401
from mtlzoo.datasets._composite import RIGHT_OFFSET  # noqa: F401
from mtlzoo.datasets._composite import compose_pairs  # noqa: F401
from mtlzoo.datasets.registry import register_dataset

multi_mnist = _composite.loader(
    "multi_mnist",
    __name__,
    left="mnist",
    right="mnist",
    doc="MultiMNIST: two overlapped MNIST digits, tasks `left` and `right`.",
    example="""
    >>> ds, tasks = mtlzoo.datasets.multi_mnist(
    ...     split="test", path="sample", batch_size=32)
    >>> [t.name for t in tasks]
    ['left', 'right']
    """,
)
register_dataset("multi_mnist", multi_mnist)
