"""Multi-(Fashion+MNIST): a Fashion-MNIST item and an MNIST digit."""

from mtlzoo.datasets import _composite
from mtlzoo.datasets.registry import register_dataset

multi_fashion_mnist = _composite.loader(
    "multi_fashion_mnist",
    __name__,
    left="fashion_mnist",
    right="mnist",
    doc="""Multi-(Fashion+MNIST): a Fashion-MNIST item and an MNIST digit.

    The left (top-left) item is a Fashion-MNIST item, the right
    (bottom-right) one an MNIST digit, both from the same split.
    """,
    paths_doc="""
    fashion_path: str or path. The Fashion-MNIST source, like `path`
        of `multi_fashion`. Defaults to None.
    mnist_path: str or path. The MNIST source, like `path` of
        `multi_mnist`. Defaults to None.
    """,
    example="""
    >>> ds, tasks = mtlzoo.datasets.multi_fashion_mnist(
    ...     split="test", fashion_path="sample", mnist_path="sample")
    """,
)
register_dataset("multi_fashion_mnist", multi_fashion_mnist)
