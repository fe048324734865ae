"""JAX's persistent compilation cache for ``main`` runs: a repeated or resumed command loads
the compiled train step and evaluation functions from disk instead of compiling them again.

``config.compilation_cache_dir`` (run control, not part of the experiment's identity):

* ``"auto"`` (default): ``$CONTRASTIVE_JAX_COMPILATION_CACHE`` if set, else JAX's own
  ``JAX_COMPILATION_CACHE_DIR`` / ``jax_compilation_cache_dir`` if set, else
  ``$XDG_CACHE_HOME/contrastive_jax/jax_cache`` (``~/.cache/contrastive_jax/jax_cache``);
* a path: that directory (local, or any path JAX's cache takes, e.g. ``gs://...``);
* ``""``: off.

The cache key is XLA's fingerprint of the program, the compile options, the devices, the XLA
flags and the jax/jaxlib versions, so a changed model, config or library never loads a stale
executable. Only process 0 writes entries (JAX's rule). The cache is limited to
``MAX_SIZE_BYTES`` (least recently used entries are evicted), which also makes JAX lock the
directory (``filelock``) around every read and write, so runs started side by side (a sweep, or
the processes of a multi-process job on one machine) never read a half-written entry; without
``filelock`` installed the cache is unbounded and unlocked (a reader that meets a half-written
entry gets a warning and compiles). The cache is trusted code: do not point it at a directory
others can write to.
"""

from __future__ import annotations

import os

ENV_VAR = "CONTRASTIVE_JAX_COMPILATION_CACHE"
# Programs that compile faster than this are not written (JAX's default is 1 s, which would
# skip most of a small model's evaluation functions); reading is always on.
MIN_COMPILE_TIME_SECS = 0.1
MAX_SIZE_BYTES = 4 * 2**30


def default_dir() -> str:
    """The user cache directory: ``$XDG_CACHE_HOME/contrastive_jax/jax_cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "contrastive_jax", "jax_cache")


def resolve_dir(setting: str | None) -> str:
    """The directory ``config.compilation_cache_dir`` names ('' for off); see the module."""
    if setting is None or setting == "auto":
        if os.environ.get(ENV_VAR) is not None:
            return os.environ[ENV_VAR]
        import jax

        return jax.config.jax_compilation_cache_dir or default_dir()
    return str(setting)


def enable(setting: str | None = "auto") -> str:
    """Turn JAX's persistent cache on at ``resolve_dir(setting)`` (or leave it off for '');
    call before the first compilation. Returns the directory ('' when off)."""
    import jax

    path = resolve_dir(setting)
    if not path:
        jax.config.update("jax_enable_compilation_cache", False)
        return ""
    if "://" not in path:
        path = os.path.abspath(os.path.expanduser(path))
        os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_SECS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    try:
        import filelock  # noqa: F401  (JAX locks a size-limited cache with it)
    except ImportError:
        pass
    else:
        jax.config.update("jax_compilation_cache_max_size", MAX_SIZE_BYTES)
    return path
