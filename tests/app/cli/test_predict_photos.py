"""`mtlzoo predict NAME photo.jpg` for converted presets: post-processed
values printed in the photo's pixels, the drawing written as a PNG."""

import json

import numpy as np
import pytest

from mtlzoo.app import cli
from mtlzoo.app import drawing
from mtlzoo.app import photo_demo

MTCNN = "faces_mtcnn_onet"
FACE = ["170", "64", "277", "171"]  # the astronaut's face, made square


@pytest.fixture(scope="module")
def astronaut():
    return photo_demo.photo_path("astronaut")


def test_predict_prints_and_draws(tmp_path, capsys, astronaut):
    from PIL import Image

    argv = ["predict", MTCNN, astronaut, "--crop-box", *FACE]
    argv += ["--output-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "(crop box [170, 64, 277, 171]):" in printed
    assert "landmarks: 5 points, in pixels of the photo: left_eye (" in printed
    png = tmp_path / f"photo_astronaut_{MTCNN}.png"
    assert f"drawing: {png}" in printed
    image = np.asarray(Image.open(png).convert("RGB"))
    assert (image == drawing.POINT).all(-1).sum() >= 5 * 9  # 5 dots
    # JSON: the same numbers, in the photo's pixels
    assert cli.main(argv + ["--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    points = np.array(entry["outputs"]["landmarks"]["points"])
    left, top, right, bottom = entry["outputs"]["box"]["box"]
    assert points.shape == (5, 2)
    assert (points[:, 0] > left).all() and (points[:, 0] < right).all()
    assert (points[:, 1] > top).all() and (points[:, 1] < bottom).all()
    assert entry["outputs"]["face"]["probability"] > 0.99
    assert entry["png"] == str(png)


def test_predict_whole_photo_by_default(tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "face.png"
    source = photo_demo.read_photo(photo_demo.photo_path("astronaut"))
    Image.fromarray(source[64:171, 170:277]).save(photo)  # the face only
    argv = ["predict", MTCNN, str(photo), "--output-dir", str(tmp_path)]
    assert cli.main(argv + ["--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["crop_box"] == [0, 0, 107, 107]
    assert entry["outputs"]["face"]["probability"] > 0.99
    assert (tmp_path / f"face_{MTCNN}.png").stat().st_size > 0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--crop-box", "10", "10", "5", "20"], "RIGHT > LEFT"),
        (["--crop-box", "1", "2"], "expected 4 arguments"),
    ],
)
def test_predict_bad_crop_box(capsys, astronaut, extra, message):
    code = cli.main(["predict", MTCNN, astronaut, *extra])
    err = capsys.readouterr().err
    assert code in (1, 2) and message in err
    assert len(err.strip().splitlines()) == 1, err


def test_predict_pose_writes_the_mask_at_the_photo_size(tmp_path, capsys):
    from PIL import Image

    from mtlzoo.presets import registry

    if "pose_mediapipe_lite" not in registry.list_models():
        pytest.skip("the preset pose_mediapipe_lite is not in this tree")
    photo = tmp_path / "wide.png"  # not square: the mask follows the photo
    source = photo_demo.read_photo(photo_demo.photo_path("astronaut"))
    Image.fromarray(source[:, 64:448]).save(photo)  # 384 x 512
    argv = ["predict", "pose_mediapipe_lite", str(photo)]
    argv += ["--crop-box", "-192", "0", "576", "768"]
    assert cli.main(argv + ["--output-dir", str(tmp_path), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    mask = Image.open(entry["masks"]["segmentation"])
    assert mask.size == (384, 512)
    pixels = np.asarray(mask)
    assert set(np.unique(pixels)) <= {0, 255} and pixels.mean() > 0
    assert entry["outputs"]["world"]["unit"] == "metres"
    assert entry["outputs"]["presence"]["probability"] > 0.5
