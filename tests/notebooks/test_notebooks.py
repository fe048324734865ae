"""The notebooks run top to bottom at ``CJ_NOTEBOOK_SCALE=tiny`` and are committed without outputs.

Each notebook is executed with nbclient on a kernel that runs this interpreter
(``sys.executable``, so the kernel sees the same environment as the tests), from the
``notebooks/`` directory as Jupyter would, with one simulated CPU device. The executed copy is
written to the test's tmp dir (kept there for inspection on failure); the committed file is never
touched. Any cell error fails the test with the cell's traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ("01_objectives_tour.ipynb", "02_simclr_mnist5k.ipynb", "03_clip_captions.ipynb")
CELL_TIMEOUT_S = 300
KERNEL_NAME = "contrastive-jax-test"


def _kernel_manager(tmp_path: Path) -> AsyncKernelManager:
    """A kernel manager whose only kernel spec starts ipykernel with this very interpreter."""
    spec_dir = tmp_path / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def _kernel_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["CJ_NOTEBOOK_SCALE"] = "tiny"
    env["JAX_PLATFORMS"] = "cpu"
    # tests/conftest.py simulates 8 CPU devices for the sharding tests; a notebook is a user's
    # session on one device (and 8 simulated devices on 2 cores only slow it down).
    env.pop("XLA_FLAGS", None)
    env["MPLCONFIGDIR"] = str(tmp_path / "matplotlib")
    env["TMPDIR"] = str(tmp_path)  # the notebooks' temporary workdirs go with the test's tmp dir
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, f"{name} has no code cells"
    dirty = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{name}: cells {dirty} have outputs or an execution count; clear them "
                       f"before committing (jupyter nbconvert --clear-output --inplace {name})")
    assert "CJ_NOTEBOOK_SCALE" in code_cells[0].source, (
        f"{name}: the first code cell must read the scale from CJ_NOTEBOOK_SCALE")


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, tmp_path):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook, km=_kernel_manager(tmp_path), timeout=CELL_TIMEOUT_S, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    executed = tmp_path / name
    try:
        client.execute(env=_kernel_env(tmp_path))
    finally:
        nbformat.write(notebook, executed)  # the executed copy, outputs and all, for inspection
    streams = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs if output.output_type == "stream")
    assert "scale=tiny" in streams, f"{name} did not run at the tiny scale (see {executed})"
