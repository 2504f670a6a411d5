"""Packaging for mtlzoo."""

import os
import pathlib

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
TENSORFLOW = os.environ.get("MTLZOO_TENSORFLOW", "tensorflow-cpu")

setup(
    name="mtlzoo",
    version="0.1.0",
    description="Multi-task learning model zoo for Keras 3 / TensorFlow.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # zoo_configs/ and pretrained/ live at the top of the repo and ship
    # inside the package as mtlzoo/zoo_configs and mtlzoo/pretrained: one
    # folder per preset under each (zoo_configs/<name>/: config.json,
    # README.md, LICENSE, recipe.json; pretrained/<name>/: its weights),
    # plus the shared backbone weights at the top of pretrained/.
    packages=find_packages(include=["mtlzoo", "mtlzoo.*"])
    + ["mtlzoo.pretrained", "mtlzoo.zoo_configs"],
    package_dir={
        "mtlzoo.pretrained": "pretrained",
        "mtlzoo.zoo_configs": "zoo_configs",
    },
    package_data={
        "mtlzoo": [
            "assets/*",
            "backbones/graphs/*.json",
            "heads/graphs/*.json",
        ],
        "mtlzoo.pretrained": ["*", "*/*"],
        "mtlzoo.zoo_configs": ["*/*"],
    },
    install_requires=[
        # CPU build by default; MTLZOO_TENSORFLOW=tensorflow selects the
        # CUDA build (never install both in one environment).
        f"{TENSORFLOW}>=2.19,<2.22",
        "keras>=3.10,<3.16",
        "keras-tuner>=1.4.7,<1.5",
        # keras-tuner's BayesianOptimization needs it.
        "scikit-learn>=1.3",
        "tensorflow-datasets>=4.9.7,<4.10",
        # tfds 4.9.10 imports it without declaring it.
        "importlib_resources>=6",
        "tensorboard>=2.19,<2.22",
        "numpy>=1.26,<3",
        "h5py>=3.10",
        "scipy>=1.11",
        "matplotlib>=3.8",
        "pillow>=10",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "scikit-image>=0.22",
            "tflite>=2.10",
        ],
        # mtlzoo.convert.from_tflite reads .tflite flatbuffers with it.
        "convert": ["tflite>=2.10"],
        "dev": ["ruff>=0.6"],
        "docs": ["mkdocs>=1.6,<2"],
    },
    entry_points={"console_scripts": ["mtlzoo=mtlzoo.app.cli:main"]},
)
