import inspect
import re

from contrastive_jax import losses

REQUIRED = {
    "info_nce", "nt_xent", "dcl", "dclw", "supcon", "clip", "siglip", "debiased_info_nce",
    "hard_negative_info_nce", "mochi_negatives", "multiview_info_nce", "mv_dhel",
    "negative_cosine", "barlow_twins", "vicreg", "wmse", "sinkhorn", "swav", "triplet_margin",
    "mw_auc", "alignment", "uniformity",
}
DISTRIBUTED = {
    "info_nce", "nt_xent", "dcl", "dclw", "supcon", "clip", "siglip", "debiased_info_nce",
    "hard_negative_info_nce", "multiview_info_nce", "mv_dhel", "sinkhorn", "swav",
    "barlow_twins", "vicreg", "wmse", "uniformity",
}


def test_exports_exactly_the_objectives():
    assert set(losses.__all__) == REQUIRED
    assert len(losses.__all__) == len(REQUIRED)
    for name in REQUIRED:
        assert callable(getattr(losses, name))


def test_docstrings_name_a_paper_with_its_year_and_give_shapes():
    for name in REQUIRED:
        doc = inspect.getdoc(getattr(losses, name))
        assert doc, name
        assert re.search(r"Papers?:.*\b(19|20)\d\d\b", doc, re.S), name
        assert re.search(r"Shapes?:|\[[A-Z]", doc), name


BLOCKWISE = {"info_nce", "nt_xent", "dcl", "dclw", "clip", "siglip", "supcon"}


def test_hyperparameters_are_keyword_only():
    for name in REQUIRED:
        params = inspect.signature(getattr(losses, name)).parameters
        for param in params.values():
            if param.default is not inspect.Parameter.empty and param.name != "labels":
                assert param.kind is inspect.Parameter.KEYWORD_ONLY, (name, param.name)
        if name in DISTRIBUTED:
            assert params["axis_name"].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert params["axis_name"].default is None, name


def test_similarity_losses_accept_block_size_and_cross_device():
    for name in REQUIRED:
        params = inspect.signature(getattr(losses, name)).parameters
        assert ("block_size" in params) == (name in BLOCKWISE), name
        if name in BLOCKWISE:
            assert params["block_size"].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert params["block_size"].default is None, name
            assert params["cross_device"].default == "ring", name
            assert "block_size" in inspect.getdoc(getattr(losses, name)), name
