"""Preset weight files: lookup, sha256 checks, download, clear errors."""

import json
import os
import pathlib
import shutil

import pytest
from preset_helpers import NAMES
from preset_helpers import TINY

from mtlzoo import _files
from mtlzoo import zoo
from mtlzoo.presets import registry
from mtlzoo.presets import weights as weights_lib


@pytest.mark.parametrize("name", NAMES)
def test_shipped_weights_match_sha256(name):
    config = zoo.get_config(name)
    if config["weights"].get("convert_from"):
        pytest.skip("converted on first use: tests/presets/test_first_use.py")
    path = weights_lib.locate(config)
    assert pathlib.Path(path).parent.name == name
    assert _files.sha256(path) == config["weights"]["sha256"]
    assert os.path.getsize(path) == config["weights"]["size_bytes"]


def test_one_sha256_helper():
    assert weights_lib.sha256 is _files.sha256


def _corrupt_copy(tmp_path):
    source = weights_lib.locate(zoo.get_config(TINY))
    directory = tmp_path / "pretrained" / TINY
    directory.mkdir(parents=True)
    target = directory / pathlib.Path(source).name
    data = bytearray(pathlib.Path(source).read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def test_corrupted_copy_is_refused(tmp_path, monkeypatch):
    bad = _corrupt_copy(tmp_path)
    monkeypatch.setattr(weights_lib, "WEIGHTS_DIRS", [tmp_path / "pretrained"])
    expected = zoo.get_config(TINY)["weights"]["sha256"]
    actual = _files.sha256(bad)
    with pytest.raises(ValueError) as info:
        zoo.load(TINY)
    message = str(info.value)
    assert str(bad) in message and expected in message and actual in message
    # an explicit path is checked too, under either keyword
    with pytest.raises(ValueError, match=actual):
        zoo.load(TINY, load_weights=str(bad), compile=False)
    with pytest.raises(ValueError, match=actual):
        zoo.load(TINY, weights=str(bad), compile=False)


def test_missing_weights_without_url(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_lib, "WEIGHTS_DIRS", [tmp_path / "empty"])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match="no download url"):
        zoo.load(TINY)


@pytest.mark.parametrize("key", ["file", "sha256"])
def test_config_without_weights_key_names_preset_and_key(tmp_path, key):
    config = zoo.get_config(TINY)
    del config["weights"][key]
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"'{TINY}' lacks `weights.{key}`"):
        zoo.load(str(folder), compile=False)
    del config["weights"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="has no `weights` block"):
        zoo.load(str(folder), compile=False)
    # without weights it still builds
    model = zoo.load(str(folder), load_weights=False, compile=False)
    assert model.preset_name == TINY


def test_download_to_keras_cache_checks_hash(tmp_path, monkeypatch):
    config = zoo.get_config(TINY)
    served = tmp_path / "server" / config["weights"]["file"]
    served.parent.mkdir()
    shutil.copy(weights_lib.locate(config), served)
    config["weights"]["url"] = served.as_uri()
    configs = tmp_path / "configs"
    (configs / TINY).mkdir(parents=True)
    (configs / TINY / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(registry, "CONFIG_DIRS", [configs])
    monkeypatch.setattr(weights_lib, "WEIGHTS_DIRS", [tmp_path / "none"])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    model = zoo.load(TINY, compile=False)
    cached = tmp_path / "keras" / "mtlzoo" / config["weights"]["file"]
    assert cached.is_file()
    assert model.preset_not_loaded == []
    # a corrupted cache file is refused, not silently used
    data = bytearray(cached.read_bytes())
    data[100] ^= 0xFF
    cached.write_bytes(bytes(data))
    served.unlink()
    with pytest.raises((ValueError, FileNotFoundError)):
        zoo.load(TINY, compile=False)


def test_both_weight_keywords_are_refused():
    with pytest.raises(ValueError, match="not both"):
        zoo.load(TINY, load_weights=False, weights=True)
