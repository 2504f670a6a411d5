"""Converted presets on a real photo: crop, predict, post-process, draw.

`mtlzoo demo NAME` for a preset converted from another runtime (it has no
dataset sample: its config's `source.converted_from` says so) runs it on a
photo shipped in `mtlzoo/assets` (`photo_<name>.jpg`, see
`mtlzoo/assets/PHOTOS.md`) and writes the photo with the outputs drawn;
`mtlzoo predict NAME photo.jpg` runs `run_on_photo` on the user's photo.
The photo and crop of a preset come from its config's
`source.postprocess.demo` block, else from `DEMOS` (by name pattern).
"""

import fnmatch
import os
import time

import numpy as np

from mtlzoo import _files
from mtlzoo.app import drawing

# Preset name pattern -> demo photo and crop box on it (left, top, right,
# bottom), for presets whose config has no `source.postprocess.demo`.
# The astronaut's face, as MTCNN finds it: (182, 64, 265, 171).
DEMOS = (
    ("*pose*", {"photo": "astronaut", "crop_box": [-128, 0, 640, 768]}),
    ("*mesh*", {"photo": "astronaut", "crop_box": [143, 37, 303, 197]}),
    ("*hand*", {"photo": "hand", "crop_box": [-15, 20, 255, 290]}),
    ("*face*", {"photo": "astronaut", "crop_box": [165, 59, 283, 177]}),
    ("*", {"photo": "astronaut"}),
)
# Two-class tasks that say whether the crop holds what the model expects.
_PRESENCE = ("presence", "face")
# A crop smaller than this fraction of the photo's side is shown zoomed.
_ZOOM_BELOW = 0.6


def photo_path(photo):
    """The path of a shipped photo (`"astronaut"`, `"hand"`)."""
    path = _files.package_path("assets", f"photo_{photo}.jpg", must_exist=False)
    if not path.is_file():
        shipped = sorted(
            p.stem.removeprefix("photo_")
            for p in path.parent.glob("photo_*.jpg")
        )
        raise ValueError(
            f"No shipped photo named {photo!r}; shipped: {shipped}. "
            f"Received: photo={photo!r}"
        )
    return str(path)


def read_photo(path):
    """A photo file as a uint8 RGB array `(H, W, 3)`."""
    from mtlzoo import images

    photo = images.prepare(path, (None, None, 3))[0]
    return np.clip(np.round(photo), 0, 255).astype("uint8")


def demo_setup(name, config):
    """`{"photo": name, "crop_box": list or None}` for a preset's demo."""
    spec = (config.get("source") or {}).get("postprocess") or {}
    if spec.get("demo"):
        return dict(spec["demo"])
    for pattern, setup in DEMOS:
        if fnmatch.fnmatch(name, pattern):
            return dict(setup)
    return {"photo": "astronaut"}


def run_on_photo(model, photo, crop_box=None):
    """Predict one photo (or its crop) and post-process the outputs.

    Args:
        model: a `MultiTaskModel`.
        photo: uint8 array `(H, W, 3)`.
        crop_box: `(left, top, right, bottom)` whole pixels, or None for the
            whole photo (stretched to the input).

    Returns:
        `(result, crop_box)`: one image's dict of `mtlzoo.postprocess` and
        the crop box used.
    """
    from mtlzoo.zoo import post_processing

    h, w = photo.shape[:2]
    crop_box = (0, 0, w, h) if crop_box is None else tuple(crop_box)
    batch = post_processing.crop_input(photo, crop_box, model)
    outputs = model.predict(batch, verbose=0)
    (result,) = post_processing.postprocess(
        model, outputs, image_size=(h, w), crop_box=crop_box
    )
    return result, crop_box


def view_box(photo, crop_box):
    """The part of the photo to draw: the whole photo, or around a small
    crop."""
    from mtlzoo.zoo import post_processing

    h, w = photo.shape[:2]
    cw, ch = crop_box[2] - crop_box[0], crop_box[3] - crop_box[1]
    if max(cw / w, ch / h) >= _ZOOM_BELOW:
        return (0, 0, w, h)
    return post_processing.square_box(crop_box, 1.3)


def describe(result, tasks, shown=5):
    """Lines of text: one per task, values in the photo's pixels."""
    lines = []
    for task in tasks:
        out = result[task.name]
        if "points" in out:
            names = out.get("names")
            unit = out.get("unit") or "pixels of the photo"
            digits = ".3f" if out.get("world") else ".1f"
            parts = []
            for k, p in enumerate(out["points"][:shown]):
                label = names[k] if names else str(k)
                xyz = ", ".join(f"{v:{digits}}" for v in p)
                parts.append(f"{label} ({xyz})")
            more = ", ..." if len(out["points"]) > shown else ""
            vis = out.get("visibility")
            seen = (
                ""
                if vis is None
                else f", {int(np.sum(np.asarray(vis) >= 0.5))} visible"
            )
            lines.append(
                f"{task.name}: {len(out['points'])} points{seen}, in {unit}: "
                + ", ".join(parts)
                + more
            )
        elif "mask" in out:
            h, w = out["mask"].shape
            fg = 1.0 - out["fractions"][0]
            lines.append(
                f"{task.name}: mask {w}x{h} (the photo's size), "
                f"{fg:.1%} of pixels not class 0"
            )
        elif "class" in out:
            probs = ", ".join(
                f"{k} {v:.3f}" for k, v in out["probabilities"].items()
            )
            lines.append(f"{task.name}: {out['class']} ({probs})")
            if task.name in _PRESENCE and out.get("probability", 1.0) < 0.5:
                present = list(out["probabilities"])[1]
                lines.append(
                    f"  note: P({present}) < 0.5: the network finds no "
                    f"{present} in this crop, so its other outputs mean "
                    "little here"
                )
        else:
            text = drawing.text_lines({task.name: out}, [task])
            if text:
                lines.extend(text)
            else:
                values = np.ravel(out.get("values", []))
                shown_values = ", ".join(f"{v:.3g}" for v in values[:8])
                more = ", ..." if values.size > 8 else ""
                lines.append(f"{task.name}: [{shown_values}{more}]")
    return lines


def to_json(result):
    """A post-processed result as JSON-able values; dense maps dropped
    (they go to PNG files)."""
    out = {}
    for task, values in result.items():
        entry = {}
        for key, value in values.items():
            if key == "probabilities" and isinstance(value, np.ndarray):
                continue
            if key == "mask":
                continue
            if isinstance(value, np.ndarray):
                value = value.tolist()
            entry[key] = value
        out[task] = entry
    return out


def save_masks(result, tasks, stem, output_dir):
    """Write each segmentation mask at the photo's size as a PNG (class
    ids x 255 for two classes); returns task -> path."""
    from PIL import Image

    paths = {}
    for task in tasks:
        mask = result[task.name].get("mask")
        if mask is None:
            continue
        scale = 255 if task.num_classes == 2 else 1
        path = os.path.join(output_dir, f"{stem}_{task.name}_mask.png")
        Image.fromarray((mask * scale).astype("uint8")).save(path)
        paths[task.name] = path
    return paths


def run_photo_demo(name, config, out, verbose=True):
    """The demo of a converted preset: its photo, outputs drawn, a PNG.

    Returns:
        dict with `name`, `photo`, `crop_box`, `result` (the
        post-processed outputs), `lines` (printed), `png` and `seconds`.
    """
    from mtlzoo.zoo.loading import load

    start = time.time()
    setup = demo_setup(name, config)
    photo = read_photo(photo_path(setup["photo"]))
    model = load(name, compile=False)
    result, crop_box = run_on_photo(model, photo, setup.get("crop_box"))
    lines = describe(result, model.tasks)
    image = drawing.render(
        photo, result, model.tasks, crop_box, view_box(photo, crop_box)
    )
    image.save(out)
    seconds = time.time() - start
    if verbose:
        print(f"Preset {name}: {config['description']}")
        print(
            f"On the shipped photo {setup['photo']!r} "
            f"({photo.shape[1]}x{photo.shape[0]}), crop box {list(crop_box)}:"
        )
        for line in lines:
            print(f"  {line}")
        print(f"Wrote {out} ({seconds:.1f} s)")
    return {
        "name": name,
        "photo": setup["photo"],
        "crop_box": list(crop_box),
        "result": result,
        "lines": lines,
        "png": out,
        "seconds": seconds,
    }
