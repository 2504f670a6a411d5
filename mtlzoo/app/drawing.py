"""Draw post-processed outputs on the photo: keypoints and their skeleton,
masks, boxes, and class / value text (`mtlzoo demo` and `mtlzoo predict` of
converted presets).

`render(photo, result, tasks)` takes the dict of one image that
`mtlzoo.postprocess` returns (points and masks already in the photo's
pixels) and returns a PIL image of a view of the photo (the whole photo, or
`view_box`, scaled to `size`) with the outputs drawn. Needs Pillow only.
"""

import numpy as np

#: RGB colours: keypoints, skeleton edges, boxes, the crop, masks, text.
POINT = (255, 40, 40)
HIDDEN_POINT = (255, 200, 0)
EDGE = (60, 220, 255)
BOX = (40, 255, 80)
CROP = (255, 255, 255)
MASK = (0, 120, 255)
TEXT_BACKGROUND = (0, 0, 0)


def view_transform(view_box, size):
    """`(origin, scale)`: a photo pixel `p` is at `(p - origin) * scale` in
    the rendered view of `view_box` whose longer side is `size`."""
    left, top, right, bottom = (float(v) for v in view_box)
    scale = float(size) / max(right - left, bottom - top)
    return np.array([left, top]), scale


def _view(photo, view_box, size):
    """The photo's `view_box` (black outside the photo), resized."""
    from PIL import Image

    left, top, right, bottom = (int(round(v)) for v in view_box)
    h, w = photo.shape[:2]
    canvas = np.zeros((bottom - top, right - left, 3), "uint8")
    y0, y1 = max(top, 0), min(bottom, h)
    x0, x1 = max(left, 0), min(right, w)
    if y1 > y0 and x1 > x0:
        canvas[y0 - top : y1 - top, x0 - left : x1 - left] = photo[y0:y1, x0:x1]
    _, scale = view_transform(view_box, size)
    shape = (
        max(1, int(round(canvas.shape[1] * scale))),
        max(1, int(round(canvas.shape[0] * scale))),
    )
    return Image.fromarray(canvas).resize(shape, Image.BILINEAR)


def _rgb(photo):
    photo = np.asarray(photo)
    if photo.ndim == 2:
        photo = photo[..., None]
    if photo.shape[-1] == 1:
        photo = np.repeat(photo, 3, -1)
    if photo.dtype != np.uint8:
        photo = np.clip(photo, 0, 255).astype("uint8")
    return photo[..., :3]


def _overlay_masks(image, masks, view_box, alpha=0.45):
    from PIL import Image

    from mtlzoo.tasks.segmentation import PALETTE

    pixels = np.asarray(image, "float32")
    for mask in masks:
        left, top, right, bottom = (int(round(v)) for v in view_box)
        h, w = mask.shape
        region = np.zeros((bottom - top, right - left), "int32")
        y0, y1 = max(top, 0), min(bottom, h)
        x0, x1 = max(left, 0), min(right, w)
        if y1 > y0 and x1 > x0:
            region[y0 - top : y1 - top, x0 - left : x1 - left] = mask[
                y0:y1, x0:x1
            ]
        region = np.asarray(
            Image.fromarray(region.astype("uint8")).resize(
                image.size, Image.NEAREST
            )
        )
        on = region > 0
        colours = np.where(
            (region == 1)[..., None],
            np.array(MASK, "float32"),
            PALETTE[np.mod(region, len(PALETTE))].astype("float32"),
        )
        pixels[on] = (1 - alpha) * pixels[on] + alpha * colours[on]
    return Image.fromarray(pixels.astype("uint8"))


def text_lines(result, tasks):
    """One line per non-dense, non-keypoint output: `face: face 1.00`,
    `age: 31.2 years`, `box: [178, 59, 268, 173]`."""
    lines = []
    for task in tasks:
        out = result.get(task.name) or {}
        if "box" in out:
            box = ", ".join(f"{v:.0f}" for v in out["box"])
            lines.append(f"{task.name}: [{box}]")
        elif "class" in out:
            lines.append(f"{task.name}: {out['class']} {out['score']:.2f}")
        elif "value" in out:
            unit = out.get("unit")
            unit = f" {unit}" if unit else ""
            lines.append(f"{task.name}: {out['value']:.3g}{unit}")
        elif "labels" in out:
            lines.append(f"{task.name}: {', '.join(map(str, out['labels']))}")
    return lines


def render(photo, result, tasks, crop_box=None, view_box=None, size=512):
    """Draw one image's post-processed outputs on (a view of) its photo.

    Args:
        photo: array `(H, W)` or `(H, W, C)`, 0..255: the photo.
        result: dict task -> dict, one image of what `mtlzoo.postprocess`
            returns.
        tasks: list of `mtlzoo.Task`: the model's tasks.
        crop_box: `(left, top, right, bottom)`. The model's input crop,
            outlined when given. Defaults to None.
        view_box: `(left, top, right, bottom)`. The part of the photo
            shown. Defaults to None (the whole photo).
        size: int. Longer side of the drawing in pixels. Defaults to 512.

    Returns:
        A PIL RGB image; a photo pixel `p` is at
        `(p - origin) * scale` with `view_transform(view_box, size)`.
    """
    from PIL import ImageDraw

    photo = _rgb(photo)
    h, w = photo.shape[:2]
    view_box = (0, 0, w, h) if view_box is None else tuple(view_box)
    image = _view(photo, view_box, size)
    origin, scale = view_transform(view_box, size)
    masks = [
        result[t.name]["mask"]
        for t in tasks
        if t.is_dense and "mask" in result.get(t.name, {})
    ]
    if masks:
        image = _overlay_masks(image, masks, view_box)
    draw = ImageDraw.Draw(image)

    def at(p):
        q = (np.asarray(p[:2], "float64") - origin) * scale
        return float(q[0]), float(q[1])

    if crop_box is not None:
        (x0, y0), (x1, y1) = at(crop_box[:2]), at(crop_box[2:])
        draw.rectangle([x0, y0, x1, y1], outline=CROP, width=1)
    radius = max(2.0, size / 160.0)
    for task in tasks:
        out = result.get(task.name) or {}
        if "box" in out:
            (x0, y0), (x1, y1) = at(out["box"][:2]), at(out["box"][2:])
            draw.rectangle([x0, y0, x1, y1], outline=BOX, width=2)
        if task.is_dense or "points" not in out or out.get("world"):
            continue  # heatmap peaks repeat the keypoints; world: not 2-D
        points = [at(p) for p in out["points"]]
        for i, j in out.get("edges") or []:
            if i < len(points) and j < len(points):
                draw.line([points[i], points[j]], fill=EDGE, width=2)
        vis = out.get("visibility")
        r = radius if len(points) <= 50 else max(1.0, radius / 2)
        for k, (x, y) in enumerate(points):
            colour = POINT
            if vis is not None and vis[k] < 0.5:
                colour = HIDDEN_POINT
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    lines = text_lines(result, tasks)
    if lines:
        text = "\n".join(lines)
        font = _font(max(11, int(size) // 32))
        box = draw.multiline_textbbox((4, 4), text, font=font)
        draw.rectangle(
            [box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2],
            fill=TEXT_BACKGROUND,
        )
        draw.multiline_text((4, 4), text, fill=(255, 255, 255), font=font)
    return image


def _font(size):
    """Pillow's own font at `size` pixels (Pillow >= 10.1), else its
    bitmap font."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # older Pillow, no FreeType
        return ImageFont.load_default()
