"""Test-wide settings: 8 simulated CPU devices so sharded code paths run without hardware.

The flag must be set before JAX initializes its backend, hence at conftest import time.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# `main` commands run by the tests keep compiled programs in a cache of this test process (one
# per xdist worker: a worker inherits the controller's variables, so a directory this file made
# there is replaced), never in the user's home; the CLI tests of one worker share it. A cache
# the user names in the variable is kept.
if ("CONTRASTIVE_JAX_COMPILATION_CACHE" not in os.environ
        or os.environ.get("_CONTRASTIVE_JAX_TEST_CACHE") == os.environ["CONTRASTIVE_JAX_COMPILATION_CACHE"]):
    import atexit
    import shutil
    import tempfile

    _cache_dir = tempfile.mkdtemp(prefix="contrastive_jax_test_jax_cache_")
    os.environ["CONTRASTIVE_JAX_COMPILATION_CACHE"] = _cache_dir
    os.environ["_CONTRASTIVE_JAX_TEST_CACHE"] = _cache_dir
    atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
