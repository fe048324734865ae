"""The documented exports of ``contrastive_jax.losses`` exist and follow the loss contract.

Nothing here lists the losses: a new loss added to ``OBJECTIVES`` (or a helper to ``HELPERS``)
is checked by these rules without editing this file.
"""

import inspect
import pathlib
import re

import pytest

from contrastive_jax import losses

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The similarity losses that must offer the blockwise form (a floor, not the full set).
BLOCKWISE_AT_LEAST = {"info_nce", "nt_xent", "dcl", "dclw", "clip", "siglip", "supcon"}


def _functions(names):
    return [n for n in names if not inspect.isclass(getattr(losses, n))]


def test_all_is_objectives_then_helpers_and_each_name_exists():
    assert list(losses.__all__) == [*losses.OBJECTIVES, *losses.HELPERS]
    assert len(set(losses.__all__)) == len(losses.__all__), "a name is exported twice"
    for name in losses.__all__:
        assert callable(getattr(losses, name, None)), f"losses.{name} is missing or not callable"


def test_names_the_readme_and_docs_list_are_exported():
    texts = [p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
             if p.exists()]
    named = set()
    for text in texts:
        # A tutorial that defines a new loss (docs/adding_a_method.md) calls it before export.
        defined = set(re.findall(r"^def ([a-z_][a-z0-9_]*)\(", text, re.M))
        named |= set(re.findall(r"\blosses\.([a-z_][a-z0-9_]*)\s*\(", text)) - defined
        listing = re.search(r"`contrastive_jax\.losses` holds[^:]*:(.*?)\.\s", text, re.S)
        if listing:
            named |= set(re.findall(r"`([a-z_][a-z0-9_]*)`", listing.group(1)))
    assert "nt_xent" in named, "README no longer shows the losses: update this test's reader"
    assert named <= set(losses.__all__), sorted(named - set(losses.__all__))


@pytest.mark.parametrize("name", losses.__all__)
def test_each_export_is_documented_with_args_and_returns(name):
    obj = getattr(losses, name)
    doc = inspect.getdoc(obj)
    assert doc, name
    if inspect.isclass(obj):
        return
    params = inspect.signature(obj).parameters
    assert "Args:" in doc and "Returns:" in doc, name
    args = doc.split("Args:", 1)[1].split("Returns:", 1)[0]
    for param in params:
        assert re.search(rf"^\s+{param}:", args, re.M), f"losses.{name}: no Args: for {param}"


@pytest.mark.parametrize("name", _functions(losses.__all__))
def test_each_export_has_type_hints(name):
    signature = inspect.signature(getattr(losses, name))
    for param in signature.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, (name, param.name)
    assert signature.return_annotation is not inspect.Signature.empty, name


@pytest.mark.parametrize("name", losses.OBJECTIVES)
def test_objectives_name_a_paper_with_its_year_and_give_shapes(name):
    doc = inspect.getdoc(getattr(losses, name))
    assert re.search(r"Papers?:.*\b(19|20)\d\d\b", doc, re.S), name
    assert re.search(r"\[[A-Z]", doc), f"losses.{name}: give the input shapes, e.g. [B, D]"


@pytest.mark.parametrize("name", losses.OBJECTIVES)
def test_hyperparameters_are_keyword_only(name):
    params = inspect.signature(getattr(losses, name)).parameters
    for param in params.values():
        # Optional inputs (labels=None, extra=None) may be positional; hyperparameters not.
        if param.default is not inspect.Parameter.empty and param.default is not None:
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, (name, param.name)
    if "axis_name" in params:
        assert params["axis_name"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["axis_name"].default is None, name


@pytest.mark.parametrize("name", losses.OBJECTIVES)
def test_block_size_comes_with_cross_device_and_docs(name):
    params = inspect.signature(getattr(losses, name)).parameters
    assert name not in BLOCKWISE_AT_LEAST or "block_size" in params, name
    if "block_size" in params:
        assert params["block_size"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["block_size"].default is None, name
        assert params["cross_device"].default == "ring", name
        assert "axis_name" in params, name
