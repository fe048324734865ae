"""The Source protocol: every built-in source satisfies it, and a data set registered from
outside the package (as docs/adding_a_dataset.md does) is built by name like a built-in one."""

import numpy as np
import pytest

from contrastive_jax.data import ArraySource, Source, SourceInfo, build_source
from contrastive_jax.registry import DATASETS, Registry


@pytest.mark.parametrize("name", ["digits", "captions:digits"])
def test_builtin_sources_satisfy_the_protocol(name):
    source = build_source(name, "train")
    assert isinstance(source, Source)
    record = source[0]
    assert record["image"].dtype == np.uint8
    assert record["image"].shape == tuple(source.info.image_shape)


def _two_squares(split, *, data_dir=None, seed=0):
    images = np.zeros((4, 6, 6, 1), np.uint8)
    images[2:, 1:5, 1:5] = 255
    return ArraySource(images, np.array([0, 0, 1, 1]), SourceInfo("squares", (6, 6, 1), 2))


def test_a_registered_source_is_built_by_name():
    registry = Registry("dataset", {"digits": "contrastive_jax.data.sources:digits"})
    registry.register("squares", _two_squares)
    registry.register("squares", _two_squares)  # the same constructor again: a config reloaded
    assert "squares" in registry.names()
    source = registry.build("squares", "train")
    assert len(source) == 4 and int(source[3]["label"]) == 1


def test_register_refuses_a_taken_name():
    with pytest.raises(ValueError, match="already registered as contrastive_jax.data.sources:digits"):
        DATASETS.register("digits", _two_squares)
    with pytest.raises(ValueError, match="tfds:<name>"):
        DATASETS.register("tfds:mine", _two_squares)


def test_build_source_rejects_what_is_not_a_source(monkeypatch):
    monkeypatch.setitem(DATASETS._entries, "not_a_source", lambda split, **kwargs: [1, 2, 3])
    with pytest.raises(ValueError, match="not a data.Source: it needs __len__, __getitem__"):
        build_source("not_a_source", "train")
