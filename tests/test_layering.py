"""The direction of imports of DESIGN.md, read from the source with ``ast`` (nothing imported):
no import cycle among the package's modules, losses import only jax and the standard library,
data never imports models/methods/train, evaluate never imports train, and the package never
imports ``experiments`` or ``configs``."""

import ast
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "contrastive_jax"


def module_files() -> dict[str, str]:
    """``{"contrastive_jax.methods.base": path, "contrastive_jax.methods": .../__init__.py}``."""
    modules = {}
    for root, _, files in os.walk(os.path.join(REPO, PACKAGE)):
        for file in files:
            if file.endswith(".py"):
                parts = os.path.relpath(os.path.join(root, file), REPO)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join(parts)] = os.path.join(root, file)
    return modules


MODULES = module_files()


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if not MODULES[module].endswith("__init__.py"):
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(module: str, *, module_level_only: bool) -> set[str]:
    """Every module ``module`` imports (``from a import b`` gives ``a.b`` when that is a
    module of the package, else ``a``); with ``module_level_only``, not those inside
    functions (lazy imports, which cannot form an import-time cycle)."""
    tree = ast.parse(open(MODULES[module]).read())
    nodes = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and not (
                    module_level_only and inside):
                nodes.append(child)
            visit(child, inside)

    visit(tree, False)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = _absolute(module, node)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            names.add(candidate if candidate in MODULES else base)
    return names


def test_the_module_index_sees_the_package():
    assert {"contrastive_jax.losses", "contrastive_jax.methods.base",
            "contrastive_jax.train.step", "contrastive_jax.registry"} <= set(MODULES)
    assert "contrastive_jax.methods.base" in imported_names(
        "contrastive_jax.methods.common", module_level_only=True)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_finds_one_and_only_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("module_level_only", [True, False])
def test_no_import_cycle_among_package_modules(module_level_only):
    """No cycle at import time, nor through imports inside functions (which hide a cycle of
    the design, e.g. train.step and train.grad_cache importing each other)."""
    graph = {module: {name for name in imported_names(module, module_level_only=module_level_only)
                      if name in MODULES and name != module}
             for module in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def _under(module: str, layer: str) -> bool:
    return module == f"{PACKAGE}.{layer}" or module.startswith(f"{PACKAGE}.{layer}.")


def _modules_of(layer: str) -> list[str]:
    return sorted(m for m in MODULES if _under(m, layer))


@pytest.mark.parametrize("module", _modules_of("losses"))
def test_losses_import_only_jax_and_the_standard_library(module):
    allowed_roots = {"jax", "__future__"} | set(sys.stdlib_module_names)
    bad = sorted(name for name in imported_names(module, module_level_only=False)
                 if not _under(name, "losses") and name.split(".")[0] not in allowed_roots)
    assert not bad, f"{module} imports {bad}; losses may import only jax and the stdlib"


@pytest.mark.parametrize("layer, forbidden", [
    ("data", ("models", "methods", "train")),
    ("evaluate", ("train",)),
    ("models", ("methods", "train", "evaluate")),
    ("methods", ("train", "evaluate")),
])
def test_lower_layers_never_import_upper_ones(layer, forbidden):
    bad = sorted((module, name) for module in _modules_of(layer)
                 for name in imported_names(module, module_level_only=False)
                 if any(_under(name, upper) for upper in forbidden))
    assert not bad, f"{layer} must not import {forbidden}: {bad}"


def test_the_package_never_imports_experiments_or_configs():
    bad = sorted((module, name) for module in MODULES
                 for name in imported_names(module, module_level_only=False)
                 if name.split(".")[0] in ("experiments", "configs"))
    assert not bad, f"the package imports experiments/configs: {bad}"
