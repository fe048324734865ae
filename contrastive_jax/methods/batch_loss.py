"""Batch-coupled losses computed as ``config.method.loss_block_size`` / ``cross_device`` ask.

A contrastive loss couples every example of the global batch (in-batch negatives), so how it is
computed decides its memory, not its value:

* ``cross_device="global"`` (default): the loss sees the global batch under ``jax.jit``; XLA
  partitions it over the devices. With ``loss_block_size=k > 0`` the logits are never
  materialized: keys stream in blocks of k (``losses.softmax_statistics``' blockwise form).
* ``"all_gather"`` / ``"ring"``: the loss runs inside ``jax.shard_map`` over every axis of the
  mesh (the batch is sharded over all of them, see ``train.mesh``), each device holding its
  shard of the embeddings, and gets ``axis_name=<the mesh axes>``: the other devices' keys are
  all-gathered, or (``"ring"``, blockwise only) passed around a ring of ``ppermute`` steps.

The mesh reaches the loss through JAX's context: ``train.step.make_train_step`` traces the step
under ``jax.sharding.use_abstract_mesh(mesh.abstract_mesh)``, and ``batch_loss`` reads it with
``jax.sharding.get_abstract_mesh()``. Methods never hold the mesh.

Every loss of ``contrastive_jax.losses`` ends with a global mean over ``axis_name`` (each shard's
mean, averaged over equal shards), so the value inside ``shard_map`` is the global-batch mean,
replicated, and the gradient is the naive one.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from contrastive_jax.methods.options import CROSS_DEVICE, BatchLossOptions

ALL_FORMS = (CROSS_DEVICE, True)  # every cross_device value, with a blockwise form
DENSE_FORMS = (("global", "all_gather"), False)  # a loss written on all-gathered keys only


def loss_kwargs(options: BatchLossOptions) -> dict:
    """The keyword arguments a loss takes for the blockwise form (empty for the naive one)."""
    if not options.loss_block_size:
        return {}
    kwargs = {"block_size": options.loss_block_size}
    if options.cross_device != "global":
        kwargs["cross_device"] = options.cross_device
    return kwargs


def batch_axes() -> tuple[str, ...]:
    """The axes of the mesh the step is traced under (the batch is split over all of them)."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty:
        raise ValueError(
            "config.method.cross_device 'all_gather'/'ring' runs the loss inside jax.shard_map "
            "over the mesh, but the step is not traced under one: call the loss inside "
            "`with jax.sharding.use_abstract_mesh(mesh.abstract_mesh):` (train.step."
            "make_train_step does), or use cross_device='global'.")
    return tuple(mesh.axis_names)


def batch_loss(loss_fn: Callable[..., jax.Array], sharded: Sequence[jax.Array],
               replicated: Sequence[jax.Array] = (), *, options: BatchLossOptions,
               batch_dim: int = 0) -> jax.Array:
    """``loss_fn(*sharded, *replicated, axis_name=..., [block_size, cross_device])`` as asked.

    Args:
      loss_fn: a loss of ``contrastive_jax.losses`` (other arguments bound), returning the
        scalar global-batch mean when given ``axis_name`` inside ``shard_map``.
      sharded: per-example arrays, split over the devices along ``batch_dim``.
      replicated: arrays every device sees whole (e.g. CLIP's logit scale).
      options: the method's options (``loss_block_size``, ``cross_device``).
      batch_dim: the example axis of every ``sharded`` array (default 0; 1 for [V, B, D]).

    Returns:
      The scalar loss of the global batch.
    """
    kwargs = loss_kwargs(options)
    if options.cross_device == "global":
        return loss_fn(*sharded, *replicated, axis_name=None, **kwargs)
    axes = batch_axes()
    spec = P(*([None] * batch_dim), axes)

    def local(*arrays):
        return loss_fn(*arrays, axis_name=axes, **kwargs)

    in_specs = (spec,) * len(sharded) + (P(),) * len(replicated)
    return jax.shard_map(local, in_specs=in_specs, out_specs=P())(*sharded, *replicated)


def check_loss_form(method_name: str, options, forms: tuple[tuple[str, ...], bool]) -> None:
    """Raise ``ValueError`` naming the valid values if ``options`` ask for a form the method's
    loss does not have; ``forms = (cross_device values, has a blockwise form)``."""
    if not isinstance(options, BatchLossOptions):
        return
    cross_device, blockwise = forms
    if options.cross_device not in cross_device:
        raise ValueError(f"method {method_name!r} runs its loss with config.method.cross_device "
                         f"in {cross_device}, got {options.cross_device!r}.")
    if options.loss_block_size and not blockwise:
        raise ValueError(f"method {method_name!r}'s loss has no blockwise form: set "
                         f"config.method.loss_block_size=0 (got {options.loss_block_size}).")


def retrieval_accuracy(image: jax.Array, text: jax.Array, block_size: int = 0) -> jax.Array:
    """Fraction of images whose most similar text (``image @ text^T``) is their own.

    ``block_size > 0`` scores the images in blocks of that many rows (memory O(block_size B)
    instead of O(B^2)); the value is the same.
    """
    count = image.shape[0]
    if not block_size or block_size >= count:
        return jnp.mean(jnp.argmax(image @ text.T, axis=1) == jnp.arange(count))
    num_blocks = -(-count // block_size)
    padded = jnp.pad(image, ((0, num_blocks * block_size - count), (0, 0)))
    best = jax.lax.map(lambda rows: jnp.argmax(rows @ text.T, axis=1),
                       padded.reshape(num_blocks, block_size, -1))
    return jnp.mean(best.reshape(-1)[:count] == jnp.arange(count))
