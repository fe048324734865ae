"""GroCo's ``method.sorting_network``: an unknown network fails before compiling with the valid
names, and the main command trains with the bitonic network."""

import importlib
import json

import pytest

from contrastive_jax.train.build import build_method
from tests.cli import read_rows, run_main


def test_an_unknown_sorting_network_names_the_valid_ones():
    config = importlib.import_module("configs.groco").get_config("dataset=digits,scale=tiny")
    config.method.sorting_network = "bubble"
    with pytest.raises(ValueError, match="sorting_network.*odd_even.*bitonic"):
        build_method(config, image_shape=(8, 8, 1), make_views=lambda rng, x: (x, x),
                     num_classes=10, num_examples=100)


@pytest.mark.slow
def test_main_trains_with_the_bitonic_network(tmp_path):
    result = run_main(tmp_path / "run", "--config.method.sorting_network=bitonic",
                      "--config.eval.final_baselines=False", "--config.eval.plot_embedding=False",
                      config="configs/groco.py:scale=tiny,dataset=digits")
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["method"]["sorting_network"] == "bitonic"
    rows = read_rows(tmp_path / "run" / "metrics.jsonl")
    assert len(rows) == 4 and all(row["skipped_steps"] == 0 for row in rows)
    assert all(row["grad_norm"] > 0 for row in rows)  # the sorted order sends gradients back
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["results"]["learned"]["linear_probe"] > 0.2
