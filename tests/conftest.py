"""Test-wide settings: 8 simulated CPU devices so sharded code paths run without hardware.

The flag must be set before JAX initializes its backend, hence at conftest import time.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# `main` commands run by the tests keep compiled programs in a cache of this test process (one
# per xdist worker, so no two workers write one directory), never in the user's home; the
# CLI tests of one worker share it.
if "CONTRASTIVE_JAX_COMPILATION_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _cache_dir = tempfile.mkdtemp(prefix="contrastive_jax_test_jax_cache_")
    os.environ["CONTRASTIVE_JAX_COMPILATION_CACHE"] = _cache_dir
    atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
