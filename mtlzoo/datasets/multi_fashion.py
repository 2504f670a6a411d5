"""MultiFashion: two overlapped Fashion-MNIST items, `left` and `right`."""

from mtlzoo.datasets import _composite
from mtlzoo.datasets.registry import register_dataset

multi_fashion = _composite.loader(
    "multi_fashion",
    __name__,
    left="fashion_mnist",
    right="fashion_mnist",
    doc="MultiFashion: two overlapped Fashion-MNIST items, `left` and `right`.",
    example="""
    >>> ds, tasks = mtlzoo.datasets.multi_fashion(
    ...     split="test", path="sample", size=64, channels=3)
    """,
)
register_dataset("multi_fashion", multi_fashion)
