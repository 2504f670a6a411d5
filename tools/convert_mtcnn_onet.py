"""Convert MTCNN's output network (O-Net) into the preset `faces_mtcnn_onet`.

Source: `mtcnn/assets/weights/onet.lz4` of the PyPI wheel `mtcnn==1.0.0`
(MIT), already a list of Keras 3 weight arrays (joblib + lz4). Target: a
`MultiTaskModel` of the registered backbone `mtcnn_onet` (the shared trunk,
conv1 .. prelu5) with three heads: `face` (2-way softmax, fc6-3), `box`
(4 box offsets, fc6-1) and `landmarks` (5 keypoints, fc6-2, x's then y's).

The original Keras model (the package's subclassed `ONet`) is the
reference runtime; `lz4` and `mtcnn` are tooling only, never dependencies
of mtlzoo. From the repository root:

  pip download --no-deps -d /tmp/mtcnn mtcnn==1.0.0
  pip install --target /tmp/mtcnn/site --no-deps \\
      /tmp/mtcnn/mtcnn-1.0.0-py3-none-any.whl lz4
  .venv/bin/python tools/convert_mtcnn_onet.py \\
      --wheel /tmp/mtcnn/mtcnn-1.0.0-py3-none-any.whl \\
      --site /tmp/mtcnn/site

writes `pretrained/faces_mtcnn_onet/faces_mtcnn_onet.weights.h5` and
`zoo_configs/faces_mtcnn_onet/` (config.json with the agreement, latency
and conversion record, README.md card, LICENSE; no recipe.json: nothing is
trained, this command is the recipe).

Agreement is measured on real face crops: the full MTCNN cascade of the
package finds the face in scikit-image's `astronaut()` (public domain);
the crops are that box and jittered copies of it (shifted by up to 15 %,
scaled 0.85-1.2), plus non-face crops of `coffee()`, `chelsea()` and the
astronaut's background, all 48x48 by bilinear crop-and-resize of the raw
0..255 image, as the cascade crops them.
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import zipfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NAME = "faces_mtcnn_onet"
PACKAGE = "pypi:mtcnn"
VERSION = "1.0.0"
MEMBER = "mtcnn/assets/weights/onet.lz4"
LICENSE = "MIT (Copyright (c) 2019-2024 Iván de Paz Centeno; mtcnn 1.0.0)"
KEYPOINTS = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
# original layer -> layer of the preset
HEAD_LAYERS = {"fc6-1": "box", "fc6-2": "landmarks_coords", "fc6-3": "face"}


def tasks():
    import mtlzoo

    return [
        mtlzoo.Task(
            "face",
            "classification",
            num_classes=2,
            class_names=["not_face", "face"],
            head={"units": []},
        ),
        mtlzoo.Task("box", "regression", units=4, head={"units": []}),
        mtlzoo.Task(
            "landmarks",
            "keypoints",
            num_keypoints=5,
            coords=2,
            visibility=False,
            keypoint_names=KEYPOINTS,
            head={"units": [], "order": "axis"},
        ),
    ]


def build_model():
    import mtlzoo

    return mtlzoo.build("mtcnn_onet", tasks(), (48, 48, 3), name=NAME)


def all_layers(model):
    """Every leaf layer of a model, nested models included, by name."""
    import keras

    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.update(all_layers(layer))
        else:
            out[layer.name] = layer
    return out


def original_onet(site, weights_path):
    """The package's own O-Net with its weights (the reference)."""
    sys.path.insert(0, str(site))
    from mtcnn.network.onet import ONet
    from mtcnn.utils.tensorflow import load_weights

    onet = ONet()
    onet.build()
    onet.set_weights(load_weights(str(weights_path)))
    return onet


def copy_weights(onet, model):
    layers = all_layers(model)
    copied = 0
    for layer in onet.layers:
        if not layer.weights:
            continue
        target = layers[HEAD_LAYERS.get(layer.name, layer.name)]
        target.set_weights(layer.get_weights())
        copied += 1
    return copied


def face_crops(site):
    """48x48 raw crops: around the detected astronaut face, and not."""
    import tensorflow as tf
    from skimage import data

    sys.path.insert(0, str(site))
    from mtcnn import MTCNN

    astronaut = data.astronaut()
    faces = MTCNN().detect_faces(astronaut)
    x, y, w, h = max(faces, key=lambda f: f["confidence"])["box"]
    boxes, images = [], []
    rng = np.random.default_rng(0)
    jitter = [(0.0, 0.0, 1.0)] + [
        (rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), s)
        for s in rng.uniform(0.85, 1.2, 11)
    ]
    height, width = astronaut.shape[:2]
    for dx, dy, s in jitter:
        cx, cy = x + w / 2 + dx * w, y + h / 2 + dy * h
        half = max(w, h) * s / 2
        boxes.append(
            [
                (cy - half) / height,
                (cx - half) / width,
                (cy + half) / height,
                (cx + half) / width,
            ]
        )
        images.append(0)
    others = [data.coffee(), data.chelsea(), astronaut]
    non_face = [
        (1, [0.1, 0.1, 0.5, 0.5]),
        (2, [0.5, 0.1, 0.9, 0.5]),
        (3, [0.6, 0.6, 0.95, 0.95]),
        (3, [0.05, 0.7, 0.3, 0.95]),
    ]
    pictures = [astronaut] + others
    specs = list(zip(images, boxes)) + non_face
    crops = [_crop(tf, pictures[i], box) for i, box in specs]
    names = [PICTURES[i] for i, _ in specs]
    boxes = np.array([box for _, box in specs], "float32")
    crops = np.stack(crops).astype("float32")
    return crops, (x, y, w, h), len(images), names, boxes


# skimage.data functions of the crops' pictures, by index
PICTURES = ["astronaut", "coffee", "chelsea", "astronaut"]
REFERENCE = "tests/data/faces_mtcnn_onet_reference.npz"


def write_reference(path, names, boxes, expected, keep):
    """The original's outputs on a few crops, for the offline test."""
    np.savez_compressed(
        path,
        pictures=np.array([names[i] for i in keep]),
        boxes=boxes[keep],
        **{task: values[keep] for task, values in expected.items()},
    )


def _crop(tf, image, box):
    image = tf.convert_to_tensor(image[None].astype("float32"))
    out = tf.image.crop_and_resize(image, [box], [0], (48, 48))
    return out.numpy()[0]


def reference_outputs(onet, crops):
    box, landmarks, face = onet((crops - 127.5) / 128.0)
    landmarks = np.asarray(landmarks).reshape(-1, 2, 5).transpose(0, 2, 1)
    return {
        "face": np.asarray(face),
        "box": np.asarray(box),
        "landmarks": landmarks,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", required=True, help="mtcnn-1.0.0 wheel")
    parser.add_argument("--site", required=True, help="mtcnn + lz4 target")
    parser.add_argument("--out", default=str(REPO), help="repository root")
    args = parser.parse_args(argv)
    # Before joblib is imported (by mtlzoo's dependencies): it looks for
    # lz4 once, at import.
    sys.path.insert(0, str(args.site))

    import keras
    import tensorflow as tf

    import mtlzoo
    from mtlzoo import _files
    from mtlzoo import convert
    from mtlzoo.convert import agreement
    from mtlzoo.presets import card as card_lib
    from mtlzoo.presets.weights import weights_block

    work = pathlib.Path(args.site) / "_onet"
    work.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.wheel) as wheel:
        source = work / "onet.lz4"
        source.write_bytes(wheel.read(MEMBER))
        license_text = wheel.read(f"mtcnn-{VERSION}.dist-info/LICENSE")
    record = convert.conversion_record(
        source, package=PACKAGE, version=VERSION, license="MIT", file=MEMBER
    )
    record["wheel_sha256"] = _files.sha256(args.wheel)

    keras.utils.set_random_seed(0)
    onet = original_onet(args.site, source)
    model = build_model()
    copied = copy_weights(onet, model)

    out = pathlib.Path(args.out)
    weights_dir = out / "pretrained" / NAME
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights_path = weights_dir / f"{NAME}.weights.h5"
    model.save_weights(weights_path)
    again = mtlzoo.MultiTaskModel.from_config(model.get_config())
    again.load_weights(weights_path)

    crops, face_box, n_faces, names, boxes = face_crops(args.site)
    expected = reference_outputs(onet, crops)
    keep = [0, 1, n_faces, n_faces + 1]  # two face crops, two others
    write_reference(out / REFERENCE, names, boxes, expected, keep)
    got = again.predict(crops, verbose=0)
    agree = agreement.differences_by_output(expected, got)
    scores = expected["face"][:, 1]
    ours_ms = agreement.latency_ms(again.predict_on_batch, crops)
    original_ms = agreement.latency_ms(
        lambda x: onet.predict_on_batch((x - 127.5) / 128.0), crops
    )

    config = {
        "name": NAME,
        "description": (
            "MTCNN's output network (O-Net) as a three-task model: on a "
            "48x48 RGB face crop it scores face vs not face, refines the "
            "crop's box and places five landmarks (eyes, nose, mouth "
            "corners), all from one shared 256-unit trunk. Weights "
            "converted unchanged from the PyPI package mtcnn 1.0.0 (MIT); "
            "not trained by mtlzoo."
        ),
        "architecture": json.loads(json.dumps(again.get_config())),
        "weights": weights_block(weights_path, again.count_params()),
        "source": {
            "converted_from": record,
            "command": "python tools/convert_mtcnn_onet.py --wheel "
            "mtcnn-1.0.0-py3-none-any.whl --site SITE",
            "reference": "the package's own Keras 3 ONet "
            "(mtcnn/network/onet.py) with the same weights file",
            "input": "48x48 RGB face crop, raw pixels 0..255 (the trunk "
            "scales them to (x - 127.5) / 128 itself); crop the face box "
            "square and resize it bilinearly, as the MTCNN cascade does",
            "outputs": {
                "face": "probabilities [not_face, face]",
                "box": "offsets [dx1, dy1, dx2, dy2] of the crop's corners, "
                "in crop widths/heights: x1' = x1 + dx1 * w, ...",
                "landmarks": "5 x (x, y) in fractions of the crop: "
                "x_image = x1 + x * w",
            },
            "training_data": "Upstream's account: the MTCNN paper trains "
            "face/non-face and boxes on WIDER FACE and the landmarks on "
            "CelebA; the package does not document the provenance of its "
            "weights further. Those sets are web and celebrity photos: the "
            "weights inherit their biases, so check the model on your own "
            "population, poses and image types before relying on it.",
            "upstream": {
                "figures": "WIDER FACE validation AP easy 0.85 / medium "
                "0.82 / hard 0.61 for the full three-network cascade",
                "source": "Zhang, Zhang, Li, Qiao, 'Joint Face Detection "
                "and Alignment using Multi-task Cascaded Convolutional "
                "Networks', IEEE Signal Processing Letters 23(10), 2016, "
                "arXiv:1604.02878 (as listed by Papers with Code)",
            },
            "license_text": license_text.decode("utf-8"),
        },
        "metrics": {
            "agreement": {
                "reference": "original Keras ONet of mtcnn 1.0.0",
                "samples": int(len(crops)),
                "images": f"{n_faces} crops around the face MTCNN finds in "
                f"skimage.data.astronaut() (box {list(face_box)}, jittered "
                "by up to 15 % and scaled 0.85-1.2) and "
                f"{len(crops) - n_faces} non-face crops of coffee(), "
                "chelsea() and astronaut()",
                "outputs": agree,
                "face_score_on_face_crops": [
                    float(f"{s:.4f}") for s in scores[:n_faces]
                ],
                "face_score_on_other_crops": [
                    float(f"{s:.4f}") for s in scores[n_faces:]
                ],
            },
            "latency_ms_per_image": {
                "mtlzoo": ours_ms,
                "original": original_ms,
                "how": "one 48x48 crop per call, median of 3 runs over the "
                "agreement crops, predict_on_batch for both (the original "
                "gets the crop scaled to (x - 127.5) / 128 first)",
            },
            "machine": f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, CPU only, shared with other jobs; "
            f"tensorflow {tf.__version__}, keras {keras.__version__}, "
            f"python {platform.python_version()}",
        },
        "license": LICENSE,
    }
    folder = out / "zoo_configs" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(
        card_lib.render_markdown(card_lib.card_from_config(config))
    )
    (folder / "LICENSE").write_text(card_lib.render_license(config))
    print(json.dumps({"copied_layers": copied, **config["metrics"]}, indent=1))


if __name__ == "__main__":
    main()
