"""Convert face-api's AgeGenderNet into the preset `faces_age_gender_faceapi`.

Source: `model/age_gender_model.bin` + `age_gender_model-weights_manifest
.json` of the npm package `@vladmandic/face-api@1.7.15` (MIT; weights from
face-api.js, MIT): tfjs weights, uint8-quantised with a per-tensor `scale`
and `min` (value = min + scale * q, as tfjs's `decodeWeights` does), biases
float32. Architecture: `src/xception/TinyXception.ts` (the trunk, rebuilt
as the registered backbone `tiny_xception`) and
`src/ageGenderNet/AgeGenderNet.ts` (a 7x7 average pool, i.e. global, then
`fc/age` 512 -> 1 and `fc/gender` 512 -> 2 + softmax). Target: a
`MultiTaskModel` of the backbone with two heads of no hidden layer: `age`
(regression, years) and `gender` (classification, [male, female]: index 0
is what face-api reads as the probability of `male`).

Reference runtime: face-api's own JavaScript (tfjs 4.22.0, pure-JS `cpu`
backend), run once by `tools/faceapi_reference.js` on real face crops:
the face in scikit-image's `astronaut()` (public domain) and jittered
copies of it, and the faces face-api's SSD detector finds in the package's
six demo photos. Only the astronaut crops and their reference outputs are
checked in (`tests/data/faces_age_gender_faceapi_reference.npz`); the demo
photos (portraits of people, the package author's) stay in the package.
Node and the npm packages are tooling only, never dependencies of mtlzoo.
From the repository root:

  mkdir -p /tmp/faceapi && cd /tmp/faceapi
  npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-*.tgz
  npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
  cd - && .venv/bin/python tools/convert_faceapi_age_gender.py \\
      --package /tmp/faceapi/package \\
      --node-modules /tmp/faceapi/node_modules

writes `pretrained/faces_age_gender_faceapi/*.weights.h5`,
`zoo_configs/faces_age_gender_faceapi/` (config.json with the agreement,
latency and conversion record, README.md card, LICENSE) and the test
reference. The JavaScript run takes minutes (pure-JS CPU); `--reuse` reads
the crops and outputs of an earlier run from `--work` instead.
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NAME = "faces_age_gender_faceapi"
PACKAGE = "npm:@vladmandic/face-api"
VERSION = "1.7.15"
MEMBER = "model/age_gender_model.bin"
MANIFEST = "model/age_gender_model-weights_manifest.json"
SIZE = 112
CLASS_NAMES = ["male", "female"]
LICENSE = (
    "MIT (Copyright (c) Vladimir Mandic, @vladmandic/face-api 1.7.15; "
    "weights from face-api.js, MIT, Copyright (c) 2018 Vincent Mühler)"
)
ORIGIN_NOTE = (
    "\nThe model weights originate from face-api.js "
    "(https://github.com/justadudewhohacks/face-api.js, credited in the "
    "package's README), under the same MIT License:\n"
    "Copyright (c) 2018 Vincent Mühler\n"
)
REFERENCE = "tests/data/faces_age_gender_faceapi_reference.npz"
# original weight prefix -> layer of the preset (others: '/' -> '_')
HEAD_LAYERS = {"fc/age": "age", "fc/gender": "gender"}
# Which tfjs tensor goes to which Keras weight of a layer, in order.
SLOTS = {
    "filters": 0,
    "depthwise_filter": 0,
    "pointwise_filter": 1,
    "weights": 0,
    "bias": -1,
}


def tasks():
    import mtlzoo

    return [
        mtlzoo.Task("age", "regression", units=1, head={"units": []}),
        mtlzoo.Task(
            "gender",
            "classification",
            num_classes=2,
            class_names=CLASS_NAMES,
            head={"units": []},
        ),
    ]


def build_model():
    import mtlzoo

    return mtlzoo.build("tiny_xception", tasks(), (SIZE, SIZE, 3), name=NAME)


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


def read_weights(manifest_path, bin_path):
    """The tfjs weights by name, dequantised as tfjs does: float64
    `min + scale * q`, stored as float32."""
    manifest = json.loads(pathlib.Path(manifest_path).read_text())
    (group,) = manifest
    data = pathlib.Path(bin_path).read_bytes()
    offset, out = 0, {}
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"]))
        quant = spec.get("quantization")
        if quant:
            if quant["dtype"] != "uint8":
                raise ValueError(f"unexpected quantisation {quant}")
            q = np.frombuffer(data, "uint8", count, offset)
            values = quant["min"] + quant["scale"] * q.astype("float64")
            offset += count
        else:
            values = np.frombuffer(data, "float32", count, offset)
            offset += 4 * count
        out[spec["name"]] = values.astype("float32").reshape(spec["shape"])
    if offset != len(data):
        raise ValueError(f"{len(data) - offset} bytes left in {bin_path}")
    return out


def copy_weights(weights, model):
    """Puts every tfjs tensor into its Keras layer; returns the layers."""
    layers = all_layers(model)
    grouped = {}
    for name, value in weights.items():
        prefix, kind = name.rsplit("/", 1)
        layer = HEAD_LAYERS.get(prefix, prefix.replace("/", "_"))
        grouped.setdefault(layer, {})[SLOTS[kind]] = value
    for layer_name, values in grouped.items():
        layer = layers[layer_name]
        current = layer.get_weights()
        new = [
            values.get(i, values.get(i - len(current)))
            for i in range(len(current))
        ]
        shapes = [getattr(v, "shape", None) for v in new]
        if shapes != [w.shape for w in current]:
            raise ValueError(f"{layer_name}: {shapes} vs Keras {current}")
        layer.set_weights(new)
    unset = [
        name
        for name, layer in layers.items()
        if layer.weights and name not in grouped
    ]
    return sorted(grouped), unset


def write_images(package, work):
    """Raw RGB files of the astronaut and the demo photos for the JS run."""
    from PIL import Image
    from skimage import data

    pictures = [("astronaut", data.astronaut(), 3)]
    for i in range(1, 7):
        path = pathlib.Path(package) / "demo" / f"sample{i}.jpg"
        image = np.asarray(Image.open(path).convert("RGB"))
        pictures.append((path.name, image, 0))
    specs = []
    for name, image, jitter in pictures:
        file = f"{pathlib.Path(name).stem}.rgb"
        (work / file).write_bytes(np.ascontiguousarray(image, "uint8"))
        height, width = image.shape[:2]
        specs.append(
            {
                "name": name,
                "file": file,
                "height": height,
                "width": width,
                "jitter": jitter,
            }
        )
    (work / "images.json").write_text(json.dumps(specs))


def run_reference(package, node_modules, work):
    env = dict(os.environ, NODE_PATH=str(node_modules))
    script = REPO / "tools" / "faceapi_reference.js"
    subprocess.run(
        ["node", str(script), str(package), str(work)], env=env, check=True
    )


def read_reference(work):
    reference = json.loads((work / "reference.json").read_text())
    crops = np.fromfile(work / "crops.bin", "uint8")
    crops = crops.reshape(-1, SIZE, SIZE, 3)
    expected = {
        "age": np.array(reference["age"], "float32")[:, None],
        "gender": np.array(reference["gender"], "float32"),
    }
    return reference, crops, expected


def square_box(box):
    """The square `[left, top, right, bottom]` around an `(x, y, w, h)`
    box, in whole pixels (as `mtlzoo.zoo.square_box` rounds it)."""
    x, y, w, h = box
    side = max(w, h)
    left = int(np.floor(x + w / 2 - side / 2 + 0.5))
    top = int(np.floor(y + h / 2 - side / 2 + 0.5))
    n = max(1, int(round(side)))
    return [left, top, left + n, top + n]


def write_test_reference(path, reference, crops, expected, keep):
    np.savez_compressed(
        path,
        crops=crops[keep],
        boxes=np.array(reference["boxes"], "float32")[keep],
        kinds=np.array(reference["kinds"])[keep],
        **{task: values[keep] for task, values in expected.items()},
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", required=True, help="unpacked package")
    parser.add_argument("--node-modules", help="tfjs 4.22.0 node_modules")
    parser.add_argument("--work", default="/tmp/faceapi_work")
    parser.add_argument("--reuse", action="store_true", help="reuse --work")
    parser.add_argument("--out", default=str(REPO), help="repository root")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    import mtlzoo
    from mtlzoo import _files
    from mtlzoo import convert
    from mtlzoo.convert import agreement
    from mtlzoo.presets import card as card_lib
    from mtlzoo.presets.weights import weights_block

    package = pathlib.Path(args.package)
    meta = json.loads((package / "package.json").read_text())
    if meta["version"] != VERSION:
        raise SystemExit(f"need face-api {VERSION}, got {meta['version']}")
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        if not args.node_modules:
            raise SystemExit("--node-modules is needed to run face-api")
        write_images(package, work)
        run_reference(package, args.node_modules, work)
    reference, crops, expected = read_reference(work)

    record = convert.conversion_record(
        package / MEMBER,
        package=PACKAGE,
        version=VERSION,
        license="MIT",
        file=MEMBER,
    )
    record["manifest_sha256"] = _files.sha256(package / MANIFEST)

    keras.utils.set_random_seed(0)
    model = build_model()
    weights = read_weights(package / MANIFEST, package / MEMBER)
    copied, unset = copy_weights(weights, model)
    if unset:
        raise SystemExit(f"layers left unset: {unset}")

    out = pathlib.Path(args.out)
    weights_dir = out / "pretrained" / NAME
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights_path = weights_dir / f"{NAME}.weights.h5"
    model.save_weights(weights_path)
    again = mtlzoo.MultiTaskModel.from_config(model.get_config())
    again.load_weights(weights_path)

    x = crops.astype("float32")
    got = again.predict(x, verbose=0)
    agree = agreement.differences_by_output(expected, got)
    astronaut = [
        i for i, n in enumerate(reference["names"]) if n == "astronaut"
    ]
    write_test_reference(out / REFERENCE, reference, crops, expected, astronaut)
    ours_ms = agreement.latency_ms(again.predict_on_batch, x)
    n_demo = len(crops) - len(astronaut)
    params = int(sum(w.size for w in weights.values()))

    config = {
        "name": NAME,
        "description": (
            "face-api's age and gender network as a two-task model: on a "
            "112x112 RGB face crop it estimates the age in years "
            "(regression) and a binary gender label (male / female "
            "probabilities) from one shared TinyXception trunk. Weights "
            "converted unchanged (dequantised from uint8) from the npm "
            "package @vladmandic/face-api 1.7.15 (MIT); not trained by "
            "mtlzoo."
        ),
        "architecture": json.loads(json.dumps(again.get_config())),
        "weights": weights_block(weights_path, again.count_params()),
        "source": {
            "converted_from": record,
            "command": "python tools/convert_faceapi_age_gender.py "
            "--package PACKAGE --node-modules NODE_MODULES",
            "reference": "face-api's own JavaScript AgeGenderNet "
            "(dist/face-api.node-wasm.js) on tfjs 4.22.0's pure-JS cpu "
            "backend, run once by tools/faceapi_reference.js; "
            f"{params} original parameters (trunk 420,192 + fc 1,539)",
            "input": "112x112 RGB face crop, raw pixels 0..255 (the trunk "
            "subtracts the mean colour (122.782, 117.001, 104.298) and "
            "divides by 255 itself, as face-api does); crop the face box "
            "(face-api pads it square with black, centred) and resize it "
            "bilinearly to 112x112",
            "outputs": {
                "age": "estimated age in years, one value (face-api's "
                "`age`, unrounded)",
                "gender": "probabilities [male, female] (softmax); "
                "face-api reports `male` when the first is > 0.5",
            },
            "postprocess": {
                "crop": "the face detection box made square (face-api pads "
                "it with black bars, centred; mtlzoo.zoo.square_box takes "
                "the square around it from the photo) and resized "
                "bilinearly to 112x112",
                "tasks": {"age": {"as": "value", "unit": "years"}},
                "demo": {
                    "photo": "astronaut",
                    "crop_box": square_box(reference["boxes"][astronaut[0]]),
                },
            },
            "training_data": "Upstream's account (face-api.js, whose "
            "weights face-api ships): trained and tested with an 80/20 "
            "split on UTK, FGNET, Chalearn, Wiki, IMDB*, CACD*, MegaAge "
            "and MegaAge-Asian (* algorithmically cleaned). These are "
            "research face datasets, largely web and celebrity photos with "
            "apparent or scraped ages: the age and gender estimates carry "
            "those datasets' biases (age ranges, ethnicity, lighting, "
            "make-up, pose), so check them on your own population before "
            "relying on them. Gender as a binary male/female label is "
            "upstream's choice; it estimates appearance, not identity.",
            "upstream": {
                "figures": "total MAE 4.54 years, total gender accuracy "
                "95 % (80/20 test splits; per database MAE UTK 5.25, "
                "FGNET 4.23, Chalearn 6.24, Wiki 6.54, IMDB* 3.63, CACD* "
                "3.20, MegaAge 6.23, MegaAge-Asian 4.21; gender accuracy "
                "UTK 0.93, Chalearn 0.94, Wiki 0.95, CACD* 0.97)",
                "source": "TUTORIAL.md of @vladmandic/face-api 1.7.15, "
                "section 'Age and Gender Recognition Model' (the face-api"
                ".js model documentation; the package README links it)",
            },
            "license_text": (package / "LICENSE").read_text() + ORIGIN_NOTE,
        },
        "metrics": {
            "agreement": {
                "reference": reference["runtime"],
                "samples": int(len(crops)),
                "images": f"{len(astronaut)} crops of the face face-api's "
                "SSD MobileNet v1 finds in skimage.data.astronaut() (box "
                f"{reference['boxes'][astronaut[0]]} x, y, w, h; plus "
                "copies shifted by up to 10 % and scaled 0.9-1.15) and the "
                f"{n_demo} faces it finds in the package's demo photos "
                "demo/sample1-6.jpg; each crop padded square, resized to "
                "112x112 by face-api's tfjs and rounded to uint8, the same "
                "uint8 crop fed to both runtimes",
                "outputs": agree,
                "original_on_astronaut": {
                    "age": [round(reference["age"][i], 2) for i in astronaut],
                    "female": [
                        round(reference["gender"][i][1], 4) for i in astronaut
                    ],
                },
            },
            "latency_ms_per_image": {
                "mtlzoo": ours_ms,
                "original": float(f"{reference['latency_ms_per_image']:.3g}"),
                "how": "one 112x112 crop per call over the agreement "
                "crops, median of 3 runs; mtlzoo: predict_on_batch "
                "(TensorFlow CPU); original: AgeGenderNet.forward on "
                "tfjs's pure-JS cpu backend in node (no native or WASM "
                "kernels), so the gap is mostly the runtime's",
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
    summary = {"copied_layers": len(copied), "params": params}
    print(json.dumps({**summary, **config["metrics"]}, indent=1))


if __name__ == "__main__":
    main()
