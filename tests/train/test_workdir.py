import json

import pytest

from configs import simclr
from contrastive_jax.train.workdir import check_or_write_config, config_differences


def test_same_config_resumes_and_run_length_may_change(tmp_path):
    config = simclr.get_config("scale=tiny")
    check_or_write_config(config, str(tmp_path))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["method"]["name"] == "simclr"
    config.total_steps = 99  # exempt: continuing a run
    check_or_write_config(config, str(tmp_path))


def test_different_config_is_refused_unless_forced(tmp_path):
    config = simclr.get_config("scale=tiny")
    check_or_write_config(config, str(tmp_path))
    config.method.temperature = 0.9
    with pytest.raises(ValueError, match=r"(?s)method.temperature: 0.2 -> 0.9.*resume=force"):
        check_or_write_config(config, str(tmp_path))
    config.resume = "force"
    check_or_write_config(config, str(tmp_path))


def test_config_differences_lists_added_and_removed_keys():
    diffs = config_differences({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"d": 3}})
    assert diffs == ["b.c: 2 -> '<absent>'", "b.d: '<absent>' -> 3"]
