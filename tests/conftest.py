"""Test-wide settings: 8 simulated CPU devices so sharded code paths run without hardware.

The flag must be set before JAX initializes its backend, hence at conftest import time.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
