import json

import pytest

from configs import simclr
from contrastive_jax.train.workdir import (check_config, check_or_write_config, config_differences,
                                           write_config)


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


def test_check_config_writes_nothing_and_dataset_download_is_exempt(tmp_path):
    config = simclr.get_config("scale=tiny")
    assert check_config(config, str(tmp_path)) is None
    assert not (tmp_path / "config.json").exists()
    write_config(config, str(tmp_path))
    # A workdir recorded before dataset.download existed still resumes, with it on or off.
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["dataset"]["download"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config.dataset.download = True
    assert check_config(config, str(tmp_path))["method"]["name"] == "simclr"
