"""The persistent compilation cache: where ``config.compilation_cache_dir`` points it, and that
'' turns it off (``main`` writing the train step into it is checked in tests/test_main.py)."""

import importlib.util
import os
import subprocess
import sys

from contrastive_jax.train import compile_cache

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_resolve_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.default_dir() == str(tmp_path / "xdg" / "contrastive_jax" / "jax_cache")
    assert compile_cache.resolve_dir(str(tmp_path / "mine")) == str(tmp_path / "mine")
    assert compile_cache.resolve_dir("") == ""
    monkeypatch.setenv(compile_cache.ENV_VAR, str(tmp_path / "env"))
    assert compile_cache.resolve_dir("auto") == str(tmp_path / "env")
    assert compile_cache.resolve_dir("") == ""  # an explicit '' wins over the variable


# A program that takes well over MIN_COMPILE_TIME_SECS to compile: 40 unrolled dense layers
# and their gradient.
_PROGRAM = """
import sys, jax, jax.numpy as jnp
from contrastive_jax.train import compile_cache
print(compile_cache.enable(sys.argv[1]))
def f(ws, x):
    for w in ws:
        x = jnp.tanh(x @ w) + jnp.sin(x)
    return jnp.sum(x ** 2)
ws = [jnp.full((16, 16), 0.01 * i) for i in range(40)]
print(float(jax.jit(jax.grad(f))(ws, jnp.ones((4, 16)))[0].sum()))
"""


def _run(setting, env_cache):
    # JAX's own variables ask for a cache of every program; '' must still turn it off.
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_COMPILATION_CACHE_DIR=str(env_cache),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    env.pop(compile_cache.ENV_VAR, None)
    return subprocess.run([sys.executable, "-c", _PROGRAM, setting], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_entries_are_written_to_the_configured_dir_and_empty_turns_it_off(tmp_path):
    on = _run(str(tmp_path / "cache"), tmp_path / "jax_env_cache")
    assert on.returncode == 0, on.stderr[-2000:]
    assert on.stdout.splitlines()[0] == str(tmp_path / "cache")
    assert any(name.startswith("jit_f") for name in os.listdir(tmp_path / "cache"))
    if importlib.util.find_spec("filelock"):  # size-limited, so JAX locks it (see the module)
        assert (tmp_path / "cache" / ".lockfile").exists()
    assert not (tmp_path / "jax_env_cache").exists()
    # '' turns the cache off even where JAX's own variable names a directory.
    off = _run("", tmp_path / "jax_env_cache")
    assert off.returncode == 0, off.stderr[-2000:]
    assert off.stdout.splitlines() == ["", on.stdout.splitlines()[1]]
    assert not (tmp_path / "jax_env_cache").exists() or not os.listdir(tmp_path / "jax_env_cache")
