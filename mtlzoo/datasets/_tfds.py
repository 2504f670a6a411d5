"""What the TensorFlow Datasets wrappers share: loading, arguments, docs.

Each wrapper loads a TFDS dataset with `tfds.load(name, split=split,
data_dir=data_dir, download=download)`, maps its features to
`(image, {task: label})` with float32 images in [0, 255] resized to `size`
(label maps resized by nearest neighbour) and returns `(dataset, tasks)`.

`download` defaults to False: an unprepared dataset then fails at once with
a FileNotFoundError that says how to prepare it, instead of starting a
multi-gigabyte download (offline, `tfds.load(download=True)` retries for
minutes). A wrapper's `<name>_example` function holds its feature mapping
and works on a plain dict of tensors.

A wrapper module declares its dataset with `loader(...)`: the TFDS name,
the tasks, the feature mapping, the default size and any options of its
own; the parameters every wrapper takes, their checks and their docs are
here.
"""

import copy
import functools

import numpy as np
import tensorflow as tf

from mtlzoo.datasets import _loader
from mtlzoo.datasets import _utils

TFDS_SHUFFLE_BUFFER = 2048

# `{size}` is the wrapper's default size.
COMMON_ARGS = """
    split: str. A TFDS split; slicing such as `"train[:10%]"` works.
        Defaults to `"train"`.
    size: int or `(height, width)`. Output size of images and label
        maps. Defaults to `{size}`.
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
"""
MANUAL_DIR_ARG = """
    manual_dir: str. Where the manually downloaded files are. Defaults
        to None.
"""


def loader(
    name,
    module,
    *,
    tasks,
    mapping,
    size,
    doc,
    tfds_name=None,
    options=None,
    options_doc="",
    mapping_options=None,
    manual_dir=False,
    example="",
):
    """Declares a TFDS wrapper; returns the loader function `name(...)`.

    Its parameters are `split, size, channels, tasks`, then `options`,
    then `num_samples, seed, batch_size, shuffle, data_dir, download` (and
    `manual_dir` with `manual_dir=True`).

    Args:
        name: str. The loader's name (its module's and registry name).
        module: str. The `__name__` of the defining module.
        tasks: list of `Task`, or a callable `tasks(**options)` returning
            one (it may check the options).
        mapping: callable. `mapping(features, size=, channels=,
            **options)` maps one TFDS example to `(image, labels)`.
        size: int or `(height, width)`. Default output size.
        doc: str. Summary and description (the `Tasks:` of the dataset).
        tfds_name: str. TFDS dataset name; `{option}` fields are filled
            from the options. Defaults to `name`.
        options: dict. The wrapper's own parameters and their defaults.
        options_doc: str. `Args:` lines of the options.
        mapping_options: tuple of str. The options `mapping` takes.
            Defaults to all of them.
        manual_dir: bool. Add a `manual_dir` parameter (data that TFDS
            cannot download itself). Defaults to False.
        example: str. The `Example:` lines. Defaults to none.
    """
    options = dict(options or {})
    if mapping_options is None:
        mapping_options = tuple(options)
    parameters = [("split", "train"), ("size", size), ("channels", None)]
    parameters += [("tasks", None), *options.items()]
    parameters += [("num_samples", None), ("seed", 0), ("batch_size", None)]
    parameters += [("shuffle", None), ("data_dir", None), ("download", False)]
    args_doc = [COMMON_ARGS.format(size=repr(size)), options_doc]
    if manual_dir:
        parameters.append(("manual_dir", None))
        args_doc.append(MANUAL_DIR_ARG)

    def load(size, channels, **arguments):
        chosen = {key: arguments.pop(key) for key in options}
        all_tasks = tasks(**chosen) if callable(tasks) else copy.deepcopy(tasks)
        example_fn = functools.partial(
            mapping,
            size=size,
            channels=channels,
            **{key: chosen[key] for key in mapping_options},
        )
        dataset = (tfds_name or name).format(**chosen)
        arguments.update(size=size, channels=channels)
        return wrap(dataset, example_fn, all_tasks, **arguments)

    sections = [
        ("Args", args_doc),
        ("Returns", "`(dataset, tasks)`."),
        ("Example", example),
    ]
    return _loader.make_loader(
        name, module, parameters, load, _loader.docstring(doc, sections)
    )


def load_tfds(name, split, data_dir, download, manual_dir=None):
    """`tfds.load(name, ...)`; a FileNotFoundError if not prepared."""
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


def wrap(
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
    """Check the arguments, load, map `example_fn`, select the tasks."""
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
    ds = load_tfds(name, split, data_dir, download, manual_dir)
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


def lookup(mapping):
    """A 256-entry int32 table of `mapping` (id -> value), -1 elsewhere."""
    table = np.full(256, -1, np.int32)
    for key, value in mapping.items():
        table[key] = value
    return tf.constant(table)


def image(features, key, hw, channels):
    """`features[key]` as a float32 image of `channels`, resized to `hw`."""
    image = _utils.to_float_image(features[key], channels)
    return _utils.resize_image(image, hw)
