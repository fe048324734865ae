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


def test_unaccepted_options_reads_an_nnx_module_class_through_its_init():
    # NNX modules' metaclass makes the class itself look like (*args, **kwargs).
    from contrastive_jax.models.vit import ViT
    from contrastive_jax.registry import unaccepted_options

    convnet_options = {"widths": (8, 16), "num_pooled": 2, "pool": "mean", "patch_size": 4}
    assert unaccepted_options(ViT, convnet_options) == ["num_pooled", "widths"]
    assert unaccepted_options(lambda **kwargs: None, convnet_options) == []
