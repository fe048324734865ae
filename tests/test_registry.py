import pytest

from contrastive_jax.registry import DATASETS, ENCODERS, METHODS, Registry


def test_unknown_name_lists_valid_names():
    with pytest.raises(KeyError, match=r"Unknown method 'nope'.*simclr"):
        METHODS.check("nope")


def test_prefix_family_binds_argument():
    registry = Registry("thing", {}, prefixes={"join": "posixpath:join"})
    assert registry.build("join:a", "b") == "a/b"  # the prefix argument comes first
    assert "join:<name>" in registry.names()
    with pytest.raises(KeyError):
        registry.check("join:")  # a prefix with nothing after it is not a name


def test_core_components_resolve():
    assert "mnist5k" in DATASETS and "convnet" in ENCODERS
    assert callable(METHODS.get("simclr"))
