"""Convert on first use: presets whose weights are made from a source file.

Some presets do not ship their weights (too large for the wheel): their
config's `weights` block carries, beside the usual `file`, `sha256`,
`size_bytes` and `params`, a `convert_from` block saying how to make them
from a file the user installs:

- `format`: `"tflite"` (the converter: `mtlzoo.convert.from_tflite`, its
  layers mapped by name onto the preset built from its config, see
  `mtlzoo.convert.preset_weights`);
- `sha256`, `size_bytes`, `license`: of the source file;
- `outputs`: task name -> index of the converted graph's output;
- `weights_digest`: `mtlzoo.convert.preset_weights.weights_digest` of the
  converted weights (checked after each conversion: exact, and
  independent of the bytes h5py writes around the values);
- `sources`: where the file is, each with `package` (`"pypi:mediapipe"`),
  `version`, `file` (path inside the installed package or the unpacked
  archive), `install` (the command) and, for a Python package, `module`
  (the importable name found by `importlib.util.find_spec`).

`weights_path(config, ...)` returns the hash-checked weights: a shipped
copy if any, else the cache `$KERAS_HOME/mtlzoo/<name>/<file>` (its
sha256 is `weights.sha256`, or, where this machine's h5py writes other
bytes, the one recorded beside it as `<file>.sha256` by the conversion
that checked the digest), else it finds the source (`source=`, then the
folder in `$MTLZOO_SOURCES`, then the installed package), checks its
sha256, converts and writes the cache atomically (a temporary file renamed
into place: a failed conversion leaves no cache file). Without a source,
one `ValueError` says what to install.
"""

import copy
import importlib.util
import os
import pathlib
import re
import warnings

from mtlzoo import _files
from mtlzoo.presets import weights as weights_lib

ENV_SOURCES = "MTLZOO_SOURCES"
FORMATS = ("tflite",)
_SPEC_KEYS = ("format", "sha256", "outputs", "weights_digest", "sources")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def conversion_spec(config):
    """The `weights.convert_from` block of a config, or None."""
    spec = (config.get("weights") or {}).get("convert_from")
    return spec if isinstance(spec, dict) else None


def spec_problems(spec):
    """The problems of a `convert_from` block, as a list of str."""
    if not isinstance(spec, dict):
        return ["weights.convert_from must be an object"]
    problems = [
        f"weights.convert_from.{k} is missing"
        for k in _SPEC_KEYS
        if not spec.get(k)
    ]
    if spec.get("format") not in FORMATS:
        problems.append(f"weights.convert_from.format must be one of {FORMATS}")
    for key in ("sha256", "weights_digest"):
        if not _HEX64.match(str(spec.get(key, ""))):
            problems.append(
                f"weights.convert_from.{key} must be 64 lowercase hex digits"
            )
    sources = spec.get("sources")
    if not isinstance(sources, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("file"), str)
        and isinstance(s.get("install"), str)
        for s in sources
    ):
        problems.append(
            "weights.convert_from.sources must be a list of objects with "
            "`file` and `install`"
        )
    outputs = spec.get("outputs")
    if not isinstance(outputs, dict) or not all(
        isinstance(i, int) for i in outputs.values()
    ):
        problems.append(
            "weights.convert_from.outputs must map tasks to output indices"
        )
    return problems


def check_spec(spec, name=None):
    """Raise a `ValueError` listing what a `convert_from` block lacks."""
    problems = spec_problems(spec)
    if problems:
        raise ValueError(
            f"Preset '{name}' has an invalid `weights.convert_from` block: "
            + "; ".join(problems)
            + f". Received: convert_from={spec!r}"
        )
    return spec


def cache_path(config):
    """`$KERAS_HOME/mtlzoo/<name>/<weights file>`."""
    file, _, _ = weights_lib.weights_spec(config)
    return weights_lib._cache_dir() / config["name"] / file


def _sidecar(path):
    return path.with_name(path.name + ".sha256")


def _cache_ok(path, expected):
    """Whether the cached file's sha256 is the config's or the one its
    (digest-checked) conversion recorded beside it."""
    actual = _files.sha256(path)
    if actual == expected:
        return True
    sidecar = _sidecar(path)
    return sidecar.is_file() and sidecar.read_text().strip() == actual


def weights_path(config, model_class, folder=None, source=None):
    """Path of a convert-on-first-use preset's weights, converting once.

    Args:
        config: dict. The zoo config (with `weights.convert_from`).
        model_class: the `MultiTaskModel` class, to build the preset.
        folder: str or path. The preset's folder (a copy there wins).
            Defaults to None.
        source: str or path. The source file, or a folder holding it (as
            unpacked: `file` of a source relative to it, or its base
            name). Defaults to None (`$MTLZOO_SOURCES`, then the
            installed package).

    Returns:
        str. A hash-checked weights file.

    Raises:
        ValueError: when no source is found (saying what to install), a
            source or cached file has the wrong sha256, or the converted
            weights differ from the recorded digest.
    """
    name = config["name"]
    check_spec(conversion_spec(config), name)
    file, expected, _ = weights_lib.weights_spec(config)
    shipped = weights_lib.candidate_paths(file, name, folder)[:-1]
    for path in shipped:
        if path.is_file():
            return weights_lib.check_sha256(path, expected, name)
    cached = cache_path(config)
    corrupt = cached.is_file() and not _cache_ok(cached, expected)
    if cached.is_file() and not corrupt:
        return str(cached)
    path = find_source(config, source, corrupt=corrupt)
    if corrupt:
        warnings.warn(
            f"Preset '{name}': the cached weights {cached} do not match "
            f"their sha256 {expected}; converting them again from {path}.",
            stacklevel=4,
        )
    return str(convert_to_cache(config, path, model_class))


def find_source(config, source=None, corrupt=False):
    """The checked source file of a convert-on-first-use preset.

    Looks at `source` (a file or a folder), else the folder named by
    `$MTLZOO_SOURCES`, else each source's installed Python package.

    Returns:
        `pathlib.Path` of a file whose sha256 is the recorded one.

    Raises:
        ValueError: the install message when none is found; naming both
            hashes when the file found differs.
    """
    name = config["name"]
    spec = check_spec(conversion_spec(config), name)
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "`source` is the path of the source file or of a folder "
            f"holding it. Received: source={source!r}"
        )
    looked = []
    if source is not None:
        roots = [pathlib.Path(source)]
    elif os.environ.get(ENV_SOURCES):
        roots = [pathlib.Path(os.environ[ENV_SOURCES])]
    else:
        roots = []
    for root in roots:
        for path in _paths_in(root, spec):
            looked.append(str(path))
            if path.is_file():
                return _checked(path, spec, name)
    if source is None:
        for entry in spec["sources"]:
            path = _installed(entry)
            if path is not None:
                looked.append(str(path))
                if path.is_file():
                    return _checked(path, spec, name)
    raise ValueError(missing_source_message(config, looked, source, corrupt))


def available(config, source=None):
    """Whether a convert-on-first-use preset's weights load without error
    here: cached and intact, or a source with the right sha256 is found
    (tests skip on False)."""
    file, expected, _ = weights_lib.weights_spec(config)
    cached = cache_path(config)
    if cached.is_file() and _cache_ok(cached, expected):
        return True
    try:
        find_source(config, source)
    except ValueError:
        return False
    return True


def _paths_in(root, spec):
    if (
        root.is_file()
        or root.suffix == pathlib.Path(spec["sources"][0]["file"]).suffix
    ):
        return [root]
    paths = []
    for entry in spec["sources"]:
        rel = pathlib.PurePosixPath(entry["file"])
        for candidate in (root / rel, root / rel.name):
            if candidate not in paths:
                paths.append(candidate)
    return paths


def _installed(entry):
    """The source's file inside its installed Python package, or None."""
    module = entry.get("module")
    if not module:
        return None
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    package_dir = pathlib.Path(list(found.submodule_search_locations)[0])
    rel = pathlib.PurePosixPath(entry["file"])
    parts = rel.parts[1:] if rel.parts[0] == module else rel.parts
    return package_dir.joinpath(*parts)


def _checked(path, spec, name):
    actual = _files.sha256(path)
    if actual != spec["sha256"]:
        raise ValueError(
            f"Refusing source file {path} of preset '{name}': its sha256 "
            f"is {actual}, the preset was converted from a file with sha256 "
            f"{spec['sha256']} ({_versions(spec)}). Install that version. "
            f"Received: source={str(path)!r}"
        )
    return path


def _versions(spec):
    return " or ".join(
        f"{s.get('package')} {s.get('version')}" for s in spec["sources"]
    )


def missing_source_message(config, looked=(), source=None, corrupt=False):
    """The one-paragraph message when a preset's source is not found."""
    name = config["name"]
    spec = conversion_spec(config)
    ways = "; or ".join(
        f"`{s['install']}` (gives {s['file']})" for s in spec["sources"]
    )
    cache = cache_path(config)
    state = (
        f"its cached copy {cache} is corrupt"
        if corrupt
        else f"they are not cached yet ({cache})"
    )
    files = sorted(
        {pathlib.PurePosixPath(s["file"]).name for s in spec["sources"]}
    )
    return (
        f"Preset '{name}' does not ship its weights: they are converted on "
        f"first use from {' / '.join(files)} (sha256 {spec['sha256']}, "
        f"licence {spec.get('license')}), and {state}. The source file was "
        f"not found (looked at: {list(looked) or 'nothing'}). Get it with "
        f"{ways}; then pass source=PATH (the file or the folder holding "
        f"it) to mtlzoo.load / from_preset, or set {ENV_SOURCES} to that "
        f"folder (an installed Python package is found by itself). "
        f"load_weights=False builds the model untrained without it. "
        f"Received: source={None if source is None else os.fspath(source)!r}"
    )


def convert_to_cache(config, source_path, model_class):
    """Convert the source, check the weights digest, write the cache.

    The weights are written to a temporary file in the cache folder and
    renamed into place only once checked, so a failure leaves no cache.

    Returns:
        `pathlib.Path` of the cached weights.
    """
    from mtlzoo.convert import from_tflite
    from mtlzoo.convert import preset_weights

    name = config["name"]
    spec = conversion_spec(config)
    _, expected, _ = weights_lib.weights_spec(config)
    arch = copy.deepcopy(config["architecture"])
    for key in ("batch_norm", "freeze_until"):
        arch.pop(key, None)
    original = from_tflite(source_path)
    model = model_class.from_config(arch)
    weights = preset_weights.preset_weights(
        original, model.tasks, spec["outputs"], int(arch["input_shape"][0])
    )
    preset_weights.assign_weights(model, weights)
    digest = preset_weights.weights_digest(model)
    if digest != spec["weights_digest"]:
        raise ValueError(
            f"Converting {source_path} for preset '{name}' gave weights "
            f"with digest {digest}, not the recorded "
            f"{spec['weights_digest']}; nothing was cached. "
            f"Received: source={str(source_path)!r}"
        )
    target = cache_path(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{os.getpid()}.{target.name}")
    try:
        model.save_weights(str(temp))
        actual = _files.sha256(temp)
        sidecar = _sidecar(target)
        if actual == expected:
            sidecar.unlink(missing_ok=True)
        else:  # other h5py bytes around the same (digest-checked) values
            _atomic_text(sidecar, actual + "\n")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _atomic_text(path, text):
    temp = path.with_name(f".{os.getpid()}.{path.name}")
    try:
        temp.write_text(text)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
