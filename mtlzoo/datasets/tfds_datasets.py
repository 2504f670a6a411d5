"""TensorFlow Datasets wrappers: TFDS features mapped to mtlzoo tasks.

Each wrapper loads a TFDS dataset with `tfds.load(name, split=split,
data_dir=data_dir, download=download)`, maps its features to
`(image, {task: label})` with float32 images in [0, 255] resized to `size`
(label maps resized by nearest neighbour) and returns `(dataset, tasks)`.

`download` defaults to False: an unprepared dataset then fails at once with
a FileNotFoundError that says how to prepare it, instead of starting a
multi-gigabyte download (offline, `tfds.load(download=True)` retries for
minutes). The `*_example` functions hold the feature mapping and work on a
plain dict of tensors.
"""

import functools

import tensorflow as tf

from mtlzoo.datasets import _utils
from mtlzoo.datasets import tfds_features as features
from mtlzoo.tasks import Task

TFDS_SHUFFLE_BUFFER = 2048


def _load(name, split, data_dir, download, manual_dir=None):
    import tensorflow_datasets as tfds

    kwargs = {}
    if manual_dir is not None:
        config = tfds.download.DownloadConfig(manual_dir=manual_dir)
        kwargs["download_and_prepare_kwargs"] = {"download_config": config}
    try:
        return tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            shuffle_files=False,
            **kwargs,
        )
    except AssertionError as error:  # tfds: "could not find data in ..."
        if download:
            raise
        raise FileNotFoundError(
            f"TFDS dataset '{name}' is not prepared in "
            f"{data_dir or tfds.core.constants.DATA_DIR} ({error}). Pass "
            f"download=True (needs the network; some datasets need a "
            f"manual download first, see the TFDS catalog), or prepare it "
            f"with `tfds build {name} --data_dir=DIR` and pass data_dir=DIR. "
            f"Received: data_dir={data_dir!r}, download=False"
        ) from error


def _wrap(
    name,
    example_fn,
    all_tasks,
    tasks,
    split,
    num_samples,
    seed,
    batch_size,
    shuffle,
    data_dir,
    download,
    manual_dir=None,
    size=None,
    channels=None,
):
    _utils.size_hw(size)
    if channels is not None:
        _utils.check_channels(channels)
    num_samples = _utils.check_int(
        "num_samples", num_samples, minimum=1, allow_none=True
    )
    seed = _utils.check_seed(seed)
    batch_size = _utils.check_batch_size(batch_size)
    base_split = str(split).split("[")[0]
    shuffle = _utils.resolve_shuffle(shuffle, base_split)
    selected = _utils.select_tasks(all_tasks, tasks)
    names = [t.name for t in selected]
    if not isinstance(download, bool):
        raise ValueError(
            f"`download` must be True or False. Received: download={download!r}"
        )
    ds = _load(name, split, data_dir, download, manual_dir)
    if num_samples is not None:
        ds = ds.take(num_samples)

    def to_example(features):
        image, labels = example_fn(features)
        return image, {k: labels[k] for k in names}

    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    ds = _utils.finish(
        ds, shuffle, seed, batch_size, buffer_size=TFDS_SHUFFLE_BUFFER
    )
    return ds, selected


# --------------------------------------------------------------- CelebA
def celeb_a(
    split="train",
    size=64,
    channels=None,
    tasks=None,
    per_attribute=False,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """CelebA faces: 40 binary attributes and 5 landmarks (TFDS `celeb_a`).

    Tasks: `attributes` (multilabel, 40, float32 0/1, in the order of
    `tfds_features.CELEB_A_ATTRIBUTES`) or, with `per_attribute=True`, one
    binary classification task per attribute (the 40-task setup of Sener &
    Koltun 2018; names lower-cased, `5_o_Clock_Shadow` ->
    `five_o_clock_shadow`); and `landmarks` (regression, 10: the
    `tfds_features.CELEB_A_LANDMARKS` coordinates divided by the image width
    (x) or height (y), so in 0..1 whatever `size`).

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `64`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.
        per_attribute: bool. One task per attribute. Defaults to False.

    Returns:
        `(dataset, tasks)`.

    Example:

    >>> ds, tasks = mtlzoo.datasets.celeb_a(split="validation", size=64)
    """
    names = (
        [features.attribute_task_name(a) for a in features.CELEB_A_ATTRIBUTES]
        if per_attribute
        else ["attributes"]
    )
    all_tasks = [Task(n, "classification", num_classes=2) for n in names] + [
        Task("landmarks", "regression", units=len(features.CELEB_A_LANDMARKS))
    ]
    if not per_attribute:
        all_tasks[0] = Task("attributes", "multilabel", num_classes=40)

    example = functools.partial(
        features.celeb_a_example,
        size=size,
        channels=channels,
        per_attribute=per_attribute,
    )

    return _wrap(
        "celeb_a",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )


# ------------------------------------------------------------- dSprites
def dsprites(
    split="train",
    size=64,
    channels=None,
    tasks=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """dSprites: 2D shapes with scale, orientation, position (TFDS).

    Tasks: `shape` (classification, 3: square, ellipse, heart), `scale`
    (regression, 1: 0.5..1), `orientation` (regression, 2: `(sin k*a,
    cos k*a)` with `k` the shape's rotational symmetry, 4, 2, 1, as in
    `mtlzoo.datasets.shapes`), `position` (regression, 2: `(x, y)` in
    0..1). TFDS has a single "train" split: slice it, e.g.
    `split="train[:90%]"`. Pixels (0/1 in TFDS) become 0/255.

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `64`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.

    Returns:
        `(dataset, tasks)`.
    """
    all_tasks = [
        Task("shape", "classification", num_classes=3),
        Task("scale", "regression", units=1),
        Task("orientation", "regression", units=2),
        Task("position", "regression", units=2),
    ]

    example = functools.partial(
        features.dsprites_example, size=size, channels=channels
    )

    return _wrap(
        "dsprites",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )


# ------------------------------------------------------------- Shapes3D
def shapes3d(
    split="train",
    size=64,
    channels=None,
    tasks=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """3D Shapes: six factors of variation as tasks (TFDS `shapes3d`).

    Tasks: `floor_hue`, `wall_hue`, `object_hue` (classification, 10
    each), `shape` (classification, 4), `scale` (regression, 1: 0.75..1.25)
    and `orientation` (regression, 1: degrees / 30, so -1..1). TFDS has a
    single "train" split: slice it.

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `64`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.

    Returns:
        `(dataset, tasks)`.
    """
    all_tasks = [
        Task("floor_hue", "classification", num_classes=10),
        Task("wall_hue", "classification", num_classes=10),
        Task("object_hue", "classification", num_classes=10),
        Task("shape", "classification", num_classes=4),
        Task("scale", "regression", units=1),
        Task("orientation", "regression", units=1),
    ]

    example = functools.partial(
        features.shapes3d_example, size=size, channels=channels
    )

    return _wrap(
        "shapes3d",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )


# ------------------------------------------------------------ smallNORB
def smallnorb(
    split="train",
    size=64,
    channels=None,
    tasks=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """smallNORB toys (left camera image) with five classification tasks.

    Tasks: `category` (5), `instance` (10), `elevation` (9), `azimuth`
    (18) and `lighting` (6), all classification. Splits "train", "test".

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `64`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.

    Returns:
        `(dataset, tasks)`.
    """
    all_tasks = [
        Task(name, "classification", num_classes=n)
        for name, (_, n) in features.SMALLNORB_TASKS.items()
    ]

    example = functools.partial(
        features.smallnorb_example, size=size, channels=channels
    )

    return _wrap(
        "smallnorb",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )


# ------------------------------------------------------ Oxford-IIIT Pet
def oxford_iiit_pet(
    split="train",
    size=64,
    channels=None,
    tasks=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """Oxford-IIIT Pet: breed, species, pet mask and head box (TFDS).

    Tasks: `breed` (classification, 37), `species` (classification, 2:
    cat, dog), `mask` (segmentation, 3: 0 background, 1 pet, 2 border, from
    the trimap; other values -1) and `head` (box, 2 classes:
    `[y1, x1, y2, x2, species]` in 0..1; the box coordinates are NaN,
    i.e. missing, where TFDS has no head annotation). Images of any size are
    resized to `size` without keeping the aspect ratio (box coordinates are
    relative, so they stay valid). Splits "train", "test".

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `64`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.

    Returns:
        `(dataset, tasks)`.
    """
    all_tasks = [
        Task("breed", "classification", num_classes=37),
        Task("species", "classification", num_classes=2),
        Task("mask", "segmentation", num_classes=3),
        Task("head", "box", num_classes=2),
    ]

    example = functools.partial(
        features.oxford_iiit_pet_example, size=size, channels=channels
    )

    return _wrap(
        "oxford_iiit_pet",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )


# ----------------------------------------------------------- Cityscapes
def cityscapes(
    split="train",
    size=(128, 256),
    channels=None,
    tasks=None,
    config="semantic_segmentation",
    num_classes=19,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
    manual_dir=None,
):
    """Cityscapes street scenes: semantic segmentation or disparity (TFDS).

    With `config="semantic_segmentation"` the task is `segmentation`
    (segmentation, 19 train classes, or 7 categories with
    `num_classes=7`: flat, construction, object, nature, sky, human,
    vehicle; ignored label ids become -1). With
    `config="stereo_disparity"` it is `disparity` (depth kind: TFDS's
    disparity value as float, 0 = invalid -> NaN), shape `(H, W, 1)`.
    Cityscapes needs a manual download (login): put the zips in
    `manual_dir` and pass `download=True` once to prepare.

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `(128, 256)`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.
        config: str. `"semantic_segmentation"` or `"stereo_disparity"`.
            Defaults to `"semantic_segmentation"`.
        num_classes: int. 19 or 7. Defaults to 19.
        manual_dir: str. Where the downloaded zips are. Defaults to None.

    Returns:
        `(dataset, tasks)`.
    """
    _utils.check_choice(
        "config", config, ("semantic_segmentation", "stereo_disparity")
    )
    _utils.check_choice("num_classes", num_classes, (19, 7))
    if config == "semantic_segmentation":
        all_tasks = [Task("segmentation", "segmentation", num_classes)]
    else:
        all_tasks = [Task("disparity", "depth")]

    example = functools.partial(
        features.cityscapes_example,
        size=size,
        channels=channels,
        num_classes=num_classes,
    )

    return _wrap(
        f"cityscapes/{config}",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        manual_dir,
        size=size,
        channels=channels,
    )


# ---------------------------------------------------------- NYU Depth V2
def nyu_depth_v2(
    split="train",
    size=(96, 128),
    channels=None,
    tasks=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    shuffle=None,
    data_dir=None,
    download=False,
):
    """NYU Depth V2 indoor scenes with metric depth (TFDS `nyu_depth_v2`).

    Task: `depth` (depth, metres, shape `(H, W, 1)`; zeros = no reading ->
    NaN). The TFDS build (FastDepth's 47k train / 654 validation frames)
    has no segmentation or normals; the labelled 1,449-image NYUv2 of MTL
    papers is not in TFDS. Splits "train", "validation".

    Args:
        split: str. A TFDS split; slicing such as `"train[:10%]"` works.
            Defaults to `"train"`.
        size: int or `(height, width)`. Output size of images and label
            maps. Defaults to `(96, 128)`.
        channels: int. 1 or 3. Defaults to None (the dataset's own).
        tasks: list of str. A subset of the task names. Defaults to None
            (all).
        num_samples: int. Keep the first examples only. Defaults to None.
        seed: int. Seeds the shuffle order, with TF's global seed.
            Defaults to 0.
        batch_size: int. Batch the dataset. Defaults to None (unbatched).
        shuffle: bool. Shuffle (2,048-example buffer, seeded). Defaults
            to None: True for training splits.
        data_dir: str. TFDS data directory. Defaults to None (TFDS's
            default, `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Let TFDS download and prepare the data (online).
            Defaults to False: fail at once if it is not prepared.

    Returns:
        `(dataset, tasks)`.
    """
    all_tasks = [Task("depth", "depth")]

    example = functools.partial(
        features.nyu_depth_v2_example, size=size, channels=channels
    )

    return _wrap(
        "nyu_depth_v2",
        example,
        all_tasks,
        tasks,
        split,
        num_samples,
        seed,
        batch_size,
        shuffle,
        data_dir,
        download,
        size=size,
        channels=channels,
    )
