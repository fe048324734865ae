"""Every module of ``contrastive_jax.losses`` passes its doctests, and every public function has
an ``Examples:`` block that the doctest finder collects (so the suite runs it)."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

from contrastive_jax import losses

MODULES = sorted(m.name for m in pkgutil.iter_modules(losses.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name):
    module = importlib.import_module(f"contrastive_jax.losses.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"


def _doctest_examples(obj):
    module = importlib.import_module(obj.__module__)
    tests = doctest.DocTestFinder().find(obj, module=module)
    return sum(len(t.examples) for t in tests if t.name.endswith(obj.__qualname__))


@pytest.mark.parametrize("name", losses.__all__)
def test_every_public_function_has_a_runnable_examples_block(name):
    obj = getattr(losses, name)
    if inspect.isclass(obj):
        return  # a result type: documented, no computation to show
    doc = inspect.getdoc(obj) or ""
    assert "Examples:" in doc, f"losses.{name} has no Examples: block; add a small doctest"
    assert _doctest_examples(obj) >= 2, f"losses.{name}: its Examples: block has no >>> lines"
