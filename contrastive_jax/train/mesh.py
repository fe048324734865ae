"""The device mesh (axes ``data`` and ``fsdp``) and the shardings of batches and state.

A batch is sharded over every device (both axes), so under ``jax.jit`` it is one global batch:
in-batch negatives and BatchNorm statistics span all devices with no extra code.
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

MESH_AXES = ("data", "fsdp")
BATCH_AXES = ("data", "fsdp")


def mesh_shape(mesh_config: ml_collections.ConfigDict, num_devices: int) -> tuple[int, int]:
    """``(data, fsdp)`` sizes; one of them may be -1 meaning "the remaining devices"."""
    data, fsdp = int(mesh_config.data), int(mesh_config.fsdp)
    if data == -1 and fsdp == -1:
        raise ValueError("mesh: at most one of mesh.data and mesh.fsdp may be -1.")
    if data == -1:
        data = num_devices // fsdp
    if fsdp == -1:
        fsdp = num_devices // data
    if data < 1 or fsdp < 1 or data * fsdp != num_devices:
        raise ValueError(
            f"mesh: data={mesh_config.data} x fsdp={mesh_config.fsdp} does not cover the "
            f"{num_devices} devices; set mesh.data * mesh.fsdp = {num_devices} (or -1 for one)."
        )
    return data, fsdp


def make_mesh(mesh_config: ml_collections.ConfigDict, devices=None) -> Mesh:
    """A ``(data, fsdp)`` mesh over ``devices`` (default: all devices of all processes)."""
    devices = jax.devices() if devices is None else list(devices)
    shape = mesh_shape(mesh_config, len(devices))
    return Mesh(np.asarray(devices).reshape(shape), MESH_AXES)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) dimension split over every mesh axis."""
    return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def check_batch_divisible(global_batch_size: int, mesh: Mesh) -> None:
    """Fail early, with the fix, when the batch cannot be split evenly over the devices."""
    if global_batch_size % mesh.size:
        raise ValueError(
            f"batch_size={global_batch_size} is not divisible by the {mesh.size} devices of the "
            f"mesh; use a multiple of {mesh.size} (e.g. {mesh.size * max(1, global_batch_size // mesh.size)})."
        )


def global_batch(local_batch: dict, sharding: NamedSharding) -> dict:
    """Host-local NumPy batches -> one global ``jax.Array`` per key, sharded over the batch axis."""
    return {key: jax.make_array_from_process_local_data(sharding, value)
            for key, value in local_batch.items()}


def fsdp_partition_spec(shape: tuple[int, ...], fsdp_size: int, min_size: int) -> P:
    """Shard a parameter-like array over ``fsdp`` along its largest evenly divisible dimension.

    Arrays smaller than ``min_size`` elements (biases, norms, scalars) stay replicated: sharding
    them saves no memory and costs a collective. This rule stands in for per-layer annotations
    and covers optimizer moments too, since they share the parameters' shapes.
    """
    if fsdp_size == 1 or int(np.prod(shape, dtype=np.int64)) < max(min_size, 1):
        return P()
    for dim in sorted(range(len(shape)), key=lambda i: -shape[i]):
        if shape[dim] % fsdp_size == 0:
            spec = [None] * len(shape)
            spec[dim] = "fsdp"
            return P(*spec)
    return P()


def state_shardings(abstract_state, mesh: Mesh, *, min_size: int = 2**14):
    """NamedShardings for every leaf of the train state: FSDP over ``fsdp``, else replicated."""
    fsdp_size = mesh.shape["fsdp"]
    return jax.tree.map(
        lambda leaf: NamedSharding(mesh, fsdp_partition_spec(tuple(leaf.shape), fsdp_size, min_size)),
        abstract_state)


def to_host(tree):
    """NumPy copies of a pytree of (replicated) arrays, also when they span other processes:
    a replicated array's local shard is the whole value."""
    def fetch(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(x.addressable_data(0))
        return np.asarray(x)
    return jax.tree.map(fetch, tree)
