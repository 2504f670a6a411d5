"""The preset registry: one folder per preset under each home."""

import copy
import importlib.util
import json

import pytest
from preset_helpers import NAMES
from preset_helpers import REPO
from preset_helpers import TINY

import mtlzoo
from mtlzoo import zoo
from mtlzoo.model import MultiTaskModel
from mtlzoo.presets import converted
from mtlzoo.presets import registry
from mtlzoo.presets import schema

TRAINED = [n for n in NAMES if not converted.is_converted(zoo.get_config(n))]


def test_registry_lists_the_presets():
    assert NAMES == [
        "face_mesh_mediapipe",
        "faces_age_gender_faceapi",
        "faces_mtcnn_onet",
        "fashion_mobilenetv2_multitask",
        "fashion_tiny_test",
        "hands_mediapipe",
        "multi_fashion_mnist_lenet",
        "multi_fashion_resnet_small",
        "multi_mnist_lenet",
        "pose_mediapipe_full",
        "pose_mediapipe_lite",
        "shapes_resnet_small_dense",
    ]
    assert zoo.list_models("fashion_tiny*") == [TINY]
    assert zoo.list_models("no_such_*") == []


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_one_folder_under_each_home(name):
    folder = registry.preset_dir(name)
    assert folder.name == name
    files = ["config.json", "README.md", "LICENSE"]
    if not converted.is_converted(zoo.get_config(name)):
        files.append("recipe.json")  # a converted preset trains nothing
    for file in files:
        assert (folder / file).is_file(), file
    config = zoo.get_config(name)
    weights = REPO / "pretrained" / name / config["weights"]["file"]
    # a preset converted on first use ships no weights file
    assert weights.is_file() != bool(config["weights"].get("convert_from"))
    assert registry.find_preset(name) == folder
    assert registry.find_preset(str(folder)) == folder
    assert registry.find_preset(folder / "config.json") == folder


@pytest.mark.parametrize("name", NAMES)
def test_config_schema(name):
    config = zoo.get_config(name)
    schema.validate_config(config, name)
    assert registry.config_path(name).parent.name == name == config["name"]
    assert config["architecture"]["name"] == name
    if converted.is_converted(config):
        assert config["source"]["command"].startswith("python tools/")
        return
    assert config["training"]["command"] == (
        f"python tools/train_preset.py {name}"
    )


@pytest.mark.parametrize("name", TRAINED)
def test_delta_m_matches_metrics(name):
    m = zoo.get_config(name)["metrics"]
    primary = list(m["primary"].values())
    hib = m["higher_is_better"]
    dm = mtlzoo.metrics.delta_m(
        {k: m["multi_task"][k] for k in primary},
        {k: m["single_task"][k] for k in primary},
        hib,
    )
    assert dm == pytest.approx(m["delta_m"], abs=2e-3)
    dm_all = mtlzoo.metrics.delta_m(m["multi_task"], m["single_task"], hib)
    assert dm_all == pytest.approx(m["delta_m_all_metrics"], abs=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_architecture_round_trip_and_build_without_weights(name):
    arch = zoo.get_config(name)["architecture"]
    model = MultiTaskModel.from_config(copy.deepcopy(arch))
    assert json.loads(json.dumps(model.get_config())) == arch
    assert model.count_params() == zoo.get_config(name)["weights"]["params"]
    model = zoo.load(name, load_weights=False, compile=False)
    assert model.task_names == [t["name"] for t in arch["tasks"]]


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown preset") as info:
        zoo.load("no_such_model")
    message = str(info.value)
    assert all(name in message for name in NAMES)
    assert message.endswith("Received: name='no_such_model'")


def test_a_folder_without_config_is_not_a_preset(tmp_path):
    with pytest.raises(ValueError, match="holds a config.json"):
        registry.find_preset(tmp_path)


def test_pretrained_directory_is_small():
    # every preset plus the converted MobileNetV2: under 60 MiB in the wheel
    # (PyPI's limit is 100 MB per file; 55 MB with the converted real-photo
    # presets)
    total = sum(
        zoo.get_config(n)["weights"]["size_bytes"]
        for n in zoo.list_models()
        if not zoo.get_config(n)["weights"].get("convert_from")
    )
    backbone = REPO / "pretrained" / "mobilenet_v2_imagenet_no_top.weights.h5"
    if backbone.is_file():
        total += backbone.stat().st_size
    assert total < 60 * 2**20


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        name, REPO / "tools" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipes_reproduce_the_shipped_configs():
    train_preset = _tool("train_preset")
    assert train_preset.recipe_names() == TRAINED
    for name in TRAINED:
        recipe = train_preset.load_recipe(name)
        config = zoo.get_config(name)
        assert recipe["dataset"] == config["dataset"]
        for key in ("epochs", "batch_size"):
            assert recipe[key] == config["training"][key], (name, key)
        assert [t.get_config() for t in recipe["tasks"]] == (
            config["architecture"]["tasks"]
        )
        assert recipe["backbone"] == config["architecture"]["backbone"]
        labels = [run["label"] for run in train_preset._runs(recipe)]
        shipped = [
            v["label"] for v in config["metrics"].get("variants", [])
        ] or labels[:1]
        assert set(shipped) <= set(labels), name


def test_docs_show_each_card_readme_itself():
    pages = _tool("gen_zoo_table").zoo_pages()
    assert sorted(pages) == sorted(
        ["zoo/index.md"] + [f"zoo/{n}.md" for n in NAMES]
    )
    for name in NAMES:
        readme = registry.preset_dir(name) / "README.md"
        assert pages[f"zoo/{name}.md"] == readme.read_text()
        assert f"[`{name}`]({name}.md)" in pages["zoo/index.md"]
    on_disk = (REPO / "docs" / "zoo" / "index.md").read_text()
    assert on_disk == pages["zoo/index.md"]
