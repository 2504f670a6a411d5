"""Model cards (`README.md`), licence notices and the config schema."""

import copy

import pytest
from preset_helpers import NAMES
from preset_helpers import TINY

from mtlzoo import zoo
from mtlzoo.presets import card as card_lib
from mtlzoo.presets import registry
from mtlzoo.presets import schema


@pytest.mark.parametrize("name", NAMES)
def test_card_readme_is_current(name):
    readme = registry.preset_dir(name) / "README.md"
    assert readme.read_text() == card_lib.render_markdown(zoo.info(name))


@pytest.mark.parametrize("name", NAMES)
def test_license_notice_is_current(name):
    config = zoo.get_config(name)
    text = (registry.preset_dir(name) / "LICENSE").read_text()
    assert text == card_lib.render_license(config)
    source = config.get("source", {}).get("converted_from")
    data_license = source["license"] if source else config["dataset"]["license"]
    assert config["license"] in text and data_license in text


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
    with pytest.raises(ValueError, match="differs from the folder name"):
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
