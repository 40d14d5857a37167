"""sepconv.study._config: the study's configuration, its checks and its cache key."""

from __future__ import annotations

import pytest

from sepconv.study import FAMILIES, StudyConfig, parse_ints
from sepconv.study._config import config_key


def test_presets():
    quick, full = StudyConfig.quick(), StudyConfig.full()
    assert quick.families == full.families == FAMILIES
    assert full.widths == (2, 4, 8, 16, 32, 64) and len(full.seeds) == 3
    assert quick.steps < full.steps and len(quick.widths) < len(full.widths)
    assert full.conversion_width == 16 and quick.conversion_width == 8


def test_options_override_and_keep_the_conversion_width_valid():
    config = StudyConfig.quick().with_options(widths="4, 16", seeds=[3], steps=7)
    assert (config.widths, config.seeds, config.steps) == ((4, 16), (3,), 7)
    assert config.convert_width is None and config.conversion_width == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"families": ("standard", "grouped")}, "families must be a non-empty subset"),
        ({"families": ("standard", "standard")}, "must not repeat"),
        ({"widths": ()}, "widths must not be empty"),
        ({"widths": (0, 2)}, "widths must be >= 1"),
        ({"seeds": (1, 1)}, "seeds must not repeat"),
        ({"steps": 0}, "steps must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"val_fraction": 0.6}, "val_fraction must be between"),
        ({"convert_width": 5}, "convert_width must be one of widths"),
        ({"finetune_temperature": 0.0}, "finetune_temperature must be a number > 0"),
        ({"finetune_temperature": "4"}, "finetune_temperature must be a number > 0"),
        ({"finetune_temperature": float("inf")}, "finetune_temperature must be a number > 0"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StudyConfig(**kwargs)


def test_widths_must_be_integers():
    with pytest.raises(TypeError, match="widths must be an integer"):
        StudyConfig(widths=(2.5,))


def test_parse_ints():
    assert parse_ints("2,4,8", "widths") == (2, 4, 8)
    assert parse_ints("2 4", "widths") == (2, 4)
    with pytest.raises(ValueError, match="widths must be whole numbers.*'2,x'"):
        parse_ints("2,x", "widths")


def test_cache_key_is_stable_and_sensitive():
    parts = {"steps": 10, "family": "standard", "lr": 0.01}
    assert config_key(parts) == config_key(dict(reversed(list(parts.items()))))
    assert config_key(parts) != config_key({**parts, "lr": 0.02})
    assert len(config_key(parts)) == 16


def test_to_dict_is_plain_json():
    import json

    data = StudyConfig.quick().to_dict()
    assert json.loads(json.dumps(data)) == data and data["widths"] == [2, 8, 32]


def test_fine_tune_distils_by_default_and_labels_stay_available():
    assert StudyConfig().finetune_temperature == 4.0
    assert StudyConfig(finetune_temperature=None).finetune_temperature is None
