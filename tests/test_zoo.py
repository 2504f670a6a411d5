import copy
import importlib.util
import json
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo import testing
from mtlzoo import zoo
from mtlzoo.model import MultiTaskModel
from mtlzoo.zoo import card as card_lib
from mtlzoo.zoo import evaluation
from mtlzoo.zoo import registry
from mtlzoo.zoo import schema
from mtlzoo.zoo import weights as weights_lib

TINY = "fashion_tiny_test"
NAMES = zoo.list_models()
# Presets whose weights are small enough to load in the fast suite.
SMALL_BYTES = 3_000_000
REPO = pathlib.Path(__file__).resolve().parent.parent


def _size_marks(name):
    size = zoo.get_config(name)["weights"]["size_bytes"]
    return [pytest.mark.large] if size > SMALL_BYTES else []


BY_SIZE = [pytest.param(n, marks=_size_marks(n), id=n) for n in NAMES]


# ----------------------------------------------------------------------
# every config
def test_registry_has_the_tiny_preset():
    assert TINY in NAMES
    assert zoo.list_models("fashion_tiny*") == [TINY]
    assert zoo.list_models("no_such_*") == []


@pytest.mark.parametrize("name", NAMES)
def test_config_schema(name):
    config = zoo.get_config(name)
    schema.validate_config(config, name)
    assert registry.config_path(name).stem == name == config["name"]
    assert config["architecture"]["name"] == name
    assert config["training"]["command"] == (
        f"python tools/train_preset.py {name}"
    )


@pytest.mark.parametrize("name", NAMES)
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
    model = zoo.load(name, weights=False, compile=False)
    assert model.task_names == [t["name"] for t in arch["tasks"]]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_weights_match_sha256(name):
    config = zoo.get_config(name)
    path = weights_lib.locate(config)
    assert weights_lib.sha256(path) == config["weights"]["sha256"]
    assert os.path.getsize(path) == config["weights"]["size_bytes"]


@pytest.mark.parametrize("name", BY_SIZE)
def test_load_pretrained(name):
    config = zoo.get_config(name)
    model = zoo.load(name)
    assert model.compiled
    assert model.preset_name == name and model.preset_not_loaded == []
    shape = tuple(config["architecture"]["input_shape"])
    x = testing.random_images(shape, 2)
    out = model.predict(x, verbose=0)
    assert sorted(out) == sorted(model.task_names)
    for task in model.tasks:
        assert out[task.name].shape == (2,) + task.output_shape(shape)
        assert np.all(np.isfinite(out[task.name]))


def test_pretrained_directory_is_small():
    # every preset plus the converted MobileNetV2: under 40 MiB in the wheel
    total = sum(
        zoo.get_config(n)["weights"]["size_bytes"] for n in zoo.list_models()
    )
    backbone = REPO / "pretrained" / "mobilenet_v2_imagenet_no_top.weights.h5"
    if backbone.is_file():
        total += backbone.stat().st_size
    assert total < 40 * 2**20


def test_model_cards_in_docs_are_current():
    for name in NAMES:
        path = REPO / "docs" / "zoo" / f"{name}.md"
        assert path.read_text() == card_lib.render_markdown(zoo.info(name))


# ----------------------------------------------------------------------
# lookup, hashes and errors
def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown preset") as info:
        zoo.load("no_such_model")
    message = str(info.value)
    assert all(name in message for name in NAMES)
    assert message.endswith("Received: name='no_such_model'")


def _corrupt_copy(tmp_path):
    source = weights_lib.locate(zoo.get_config(TINY))
    directory = tmp_path / "pretrained"
    directory.mkdir()
    target = directory / pathlib.Path(source).name
    data = bytearray(pathlib.Path(source).read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def test_corrupted_copy_is_refused(tmp_path, monkeypatch):
    bad = _corrupt_copy(tmp_path)
    monkeypatch.setattr(weights_lib, "WEIGHTS_DIRS", [bad.parent])
    expected = zoo.get_config(TINY)["weights"]["sha256"]
    actual = weights_lib.sha256(bad)
    with pytest.raises(ValueError) as info:
        zoo.load(TINY)
    message = str(info.value)
    assert str(bad) in message and expected in message and actual in message
    # an explicit path is checked too
    with pytest.raises(ValueError, match=actual):
        zoo.load(TINY, weights=str(bad), compile=False)


def test_missing_weights_without_url(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_lib, "WEIGHTS_DIRS", [tmp_path / "empty"])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match="no download url"):
        zoo.load(TINY)


def test_download_to_keras_cache_checks_hash(tmp_path, monkeypatch):
    config = zoo.get_config(TINY)
    served = tmp_path / "server" / config["weights"]["file"]
    served.parent.mkdir()
    shutil.copy(weights_lib.locate(config), served)
    config["weights"]["url"] = served.as_uri()
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / f"{TINY}.json").write_text(json.dumps(config))
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


def test_schema_rejects_bad_configs():
    config = zoo.get_config(TINY)
    schema.validate_config(config, TINY)
    bad = copy.deepcopy(config)
    del bad["weights"]["sha256"]
    with pytest.raises(ValueError, match="weights.sha256 is missing"):
        schema.validate_config(bad)
    bad = copy.deepcopy(config)
    bad["metrics"]["single_task"].popitem()
    bad["weights"]["sha256"] = "abc"
    with pytest.raises(ValueError, match="2 problem"):
        schema.validate_config(bad)
    with pytest.raises(ValueError, match="differs from the file stem"):
        schema.validate_config(config, "other_name")


def test_seed_spread_is_checked_and_shown():
    config = zoo.get_config(TINY)
    metrics = config["metrics"]
    first = {
        "seed": 0,
        "multi_task": metrics["multi_task"],
        "single_task": metrics["single_task"],
        "delta_m": metrics["delta_m"],
    }
    second = dict(first, seed=1, delta_m=metrics["delta_m"] - 1.0)
    metrics["seeds"] = {
        "run": "main",
        "runs": [first, second],
        "delta_m_mean": round(metrics["delta_m"] - 0.5, 3),
        "delta_m_std": 0.707,
    }
    schema.validate_config(config, TINY)
    card = card_lib.card_from_config(config)
    text = card_lib.render_markdown(card)
    assert "Seed spread: `main`" in text
    assert f"{second['delta_m']:+.2f} % (seed 1)" in text
    bad = copy.deepcopy(config)
    bad["metrics"]["seeds"]["delta_m_mean"] = 5.0
    with pytest.raises(ValueError, match="is not the mean"):
        schema.validate_config(bad, TINY)
    bad = copy.deepcopy(config)
    bad["metrics"]["seeds"]["runs"].reverse()
    with pytest.raises(ValueError, match="must be the card's own run"):
        schema.validate_config(bad, TINY)
    bad = copy.deepcopy(config)
    del bad["metrics"]["seeds"]["runs"][1]["single_task"]
    with pytest.raises(ValueError, match=r"runs\[1\] needs seed"):
        schema.validate_config(bad, TINY)


def test_card_names_a_soft_sharing_architecture():
    config = zoo.get_config(TINY)
    text = card_lib.render_markdown(card_lib.card_from_config(config))
    assert "- Branch points: `[{" in text
    config["architecture"]["architecture"] = "cross_stitch"
    config["architecture"]["architecture_options"] = {"self_weight": 0.8}
    text = card_lib.render_markdown(card_lib.card_from_config(config))
    assert "- Branch points" not in text
    assert (
        "- Architecture: `cross_stitch` with options `{'self_weight': 0.8}`"
        in text
    )


def test_card_marks_the_shipped_run_and_how_it_was_chosen():
    config = zoo.get_config(TINY)
    variants = config["metrics"]["variants"]
    assert len(variants) > 1
    text = card_lib.render_markdown(card_lib.card_from_config(config))
    (shipped,) = [v for v in variants if v["shipped"]]
    assert f"| {shipped['label']} (shipped) |" in text
    assert text.count("(shipped) |") == 1
    assert f"The shipped run is the one of these {len(variants)}" in text
    bad = copy.deepcopy(config)
    for variant in bad["metrics"]["variants"]:
        variant["shipped"] = True
    with pytest.raises(ValueError, match="exactly one run shipped=true"):
        schema.validate_config(bad, TINY)


def test_shipped_run_chosen_on_validation_is_checked_and_said():
    config = zoo.get_config(TINY)  # trained with a validation split
    metrics = config["metrics"]
    samples = metrics["validation"]["samples"]
    assert config["dataset"]["validation"]["split"] == "validation"
    assert samples == config["dataset"]["validation"]["num_samples"]
    scores = [v["validation_delta_m"] for v in metrics["variants"]]
    (shipped,) = [v for v in metrics["variants"] if v["shipped"]]
    assert shipped["validation_delta_m"] == max(scores)
    text = card_lib.render_markdown(card_lib.card_from_config(config))
    assert "| variant | delta_m (validation) | delta_m (test) |" in text
    assert f"delta_m on the validation split ({samples} samples" in text
    assert "biased upwards" not in text
    # the shipped run must be the validation winner
    bad = copy.deepcopy(config)
    for variant in bad["metrics"]["variants"]:
        variant["shipped"] = not variant["shipped"]
    with pytest.raises(ValueError, match="highest validation_delta_m"):
        schema.validate_config(bad, TINY)
    bad = copy.deepcopy(config)
    del bad["dataset"]["validation"]
    with pytest.raises(ValueError, match="needs dataset.validation"):
        schema.validate_config(bad, TINY)
    bad = copy.deepcopy(config)
    del bad["metrics"]["variants"][0]["validation_delta_m"]
    with pytest.raises(ValueError, match="numeric validation_delta_m"):
        schema.validate_config(bad, TINY)
    # without a validation split the card says the test split chose
    old = copy.deepcopy(config)
    del old["metrics"]["validation"], old["dataset"]["validation"]
    for variant in old["metrics"]["variants"]:
        del variant["validation_delta_m"]
    schema.validate_config(old, TINY)
    text = card_lib.render_markdown(card_lib.card_from_config(old))
    assert "| variant | delta_m | metrics |" in text
    assert "highest delta_m on the test split" in text


def test_validation_split_of_a_preset_loads():
    config = zoo.get_config(TINY)
    kwargs = evaluation.dataset_arguments(config, "validation", sample=True)
    assert kwargs["split"] == "validation" and kwargs["path"] == "sample"
    ds = evaluation.load_dataset(config, "validation", sample=True)
    assert sum(int(x.shape[0]) for x, _ in ds) == 20  # 10 % of 200 items
    del config["dataset"]["validation"]
    with pytest.raises(ValueError, match="Received: split='validation'"):
        evaluation.dataset_arguments(config, "validation")


def test_recipes_reproduce_the_shipped_configs():
    spec = importlib.util.spec_from_file_location(
        "train_preset", REPO / "tools" / "train_preset.py"
    )
    train_preset = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_preset)
    assert sorted(train_preset.RECIPES) == sorted(NAMES)
    for name in NAMES:
        recipe, config = train_preset.RECIPES[name], zoo.get_config(name)
        assert json.loads(json.dumps(recipe["dataset"])) == config["dataset"]
        for key in ("epochs", "batch_size"):
            assert recipe[key] == config["training"][key], (name, key)
        labels = [run["label"] for run in train_preset._runs(recipe)]
        shipped = [
            v["label"] for v in config["metrics"].get("variants", [])
        ] or labels[:1]
        assert set(shipped) <= set(labels), name


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="Unknown override"):
        zoo.load(TINY, weights=False, backbone="resnet50")


# ----------------------------------------------------------------------
# overrides and fine-tuning
def _trunk_kernel(model):
    return model.get_layer("tiny_P2").get_layer("p2_conv").kernel.numpy()


def test_override_replaces_heads_and_keeps_trunk():
    base = zoo.load(TINY, compile=False)
    tasks = [
        mtlzoo.Task(
            "garment", "classification", num_classes=5, head={"units": 16}
        ),
        mtlzoo.Task("mask", "segmentation", num_classes=2),
    ]
    with pytest.warns(UserWarning, match="fresh initialisation"):
        model = zoo.load(TINY, tasks=tasks, heads={"mask": {"width": 4}})
    assert model.task_names == ["garment", "mask"]
    np.testing.assert_array_equal(_trunk_kernel(model), _trunk_kernel(base))
    assert "garment" in model.preset_not_loaded
    assert "mask_head_P2_conv_1" in model.preset_not_loaded
    assert "tiny_P2" not in model.preset_not_loaded
    # the hidden garment layer keeps its shape, so it is loaded
    np.testing.assert_array_equal(
        model.get_layer("garment_head_dense_1").kernel.numpy(),
        base.get_layer("garment_head_dense_1").kernel.numpy(),
    )
    out = model.predict(np.zeros((1, 28, 28, 1), "float32"), verbose=0)
    assert out["garment"].shape == (1, 5)


def test_new_branch_starts_from_the_trunk_stage():
    base = zoo.load(TINY, compile=False)
    tree = {
        t["tasks"][0]: t["level"] for t in base.get_config()["branch_points"]
    }
    assert "garment" not in tree
    tree["garment"] = "P4"
    model = zoo.load(TINY, compile=False, branch_points=tree)
    assert model.preset_not_loaded == []
    branch = model.get_layer("garment_P5")
    trunk = base.get_layer("tiny_P5")
    for a, b in zip(branch.weights, trunk.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_loaded_preset_fine_tunes_with_fit():
    model = zoo.load(TINY)
    before = _trunk_kernel(model)
    ds, _ = mtlzoo.datasets.fashion_tasks(
        split="train", path="sample", batch_size=32
    )
    history = model.fit(ds.take(3), epochs=1, verbose=0).history
    for name in model.task_names:
        assert np.isfinite(history[f"{name}_loss"][0])
    assert not np.array_equal(before, _trunk_kernel(model))


def test_fine_tune_a_new_task():
    with pytest.warns(UserWarning):
        model = zoo.load(
            TINY,
            tasks=[mtlzoo.Task("top", "classification", num_classes=2)],
        )
    ds, _ = mtlzoo.datasets.fashion_tasks(
        split="train", path="sample", tasks=["group"], batch_size=32
    )
    ds = ds.map(lambda x, y: (x, {"top": tf.cast(y["group"] == 0, "int32")}))
    history = model.fit(ds.take(2), epochs=1, verbose=0).history
    assert np.isfinite(history["top_loss"][0])


# ----------------------------------------------------------------------
# evaluation (the demo and the command line: tests/app/)
def test_evaluate_on_shipped_sample():
    result = zoo.evaluate(TINY, sample=True)
    assert result["num_samples"] == 200
    assert sorted(result["metrics"]) == sorted(result["card"])
    assert 0.0 <= result["metrics"]["garment_accuracy"] <= 1.0


def test_missing_full_data_says_so():
    config = zoo.get_config(TINY)
    config["dataset"]["paths"] = {"path": "/nonexistent/fashion"}
    config["dataset"]["search"] = False
    with pytest.raises(evaluation.DataNotFoundError, match="--sample"):
        evaluation.dataset_arguments(config)
    kwargs = evaluation.dataset_arguments(config, sample=True)
    assert kwargs["path"] == "sample"
    with pytest.raises(evaluation.DataNotFoundError, match="not found"):
        evaluation.dataset_arguments(config, data="/nonexistent/elsewhere")
