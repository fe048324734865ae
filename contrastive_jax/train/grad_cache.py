"""GradCache: the exact full-batch gradient of a contrastive loss with encoder activations for
only one chunk alive at a time.

Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup (Gao et al., 2021).
With embeddings z = f(x; theta) of all N inputs and a loss L(z) that couples them,
dL/dtheta = sum_chunks (dL/dz_chunk)^T dz_chunk/dtheta. So: (1) embed every chunk without
keeping activations, (2) take dL/dz for the whole batch (cheap: z is [N, D]), (3) re-run each
chunk's forward pass under ``jax.vjp`` with its slice of dL/dz and sum the parameter gradients.
Augmentation happens once, before chunking, and each chunk sees the same key in both passes,
so views and dropout match. Exact when the encoder has no batch-coupled layers (BatchNorm
statistics would be per chunk): use ``norm="none"`` encoders/heads or accept the approximation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.train.state import merge_model, split_model
from contrastive_jax.train.rng import step_rng


def check_grad_cache(method, chunk_size: int, global_batch_size: int) -> None:
    """Config-time checks: the method supports it, and the chunk divides the inputs."""
    if not getattr(method, "supports_grad_cache", False):
        raise ValueError(f"grad_cache is not available for method {type(method).__name__}: it "
                         "needs encoder_inputs / embed_for_loss / loss_from_embeddings.")
    if chunk_size < 1 or global_batch_size % chunk_size:
        raise ValueError(f"grad_cache.chunk_size={chunk_size} must be a positive divisor of "
                         f"batch_size={global_batch_size}.")


def grad_cache_loss_and_grads(state, batch, *, graphdef, method, seed: int, chunk_size: int):
    """Same contract as ``train.step.loss_and_grads``, computed chunk by chunk."""
    rng = step_rng(seed, state.step)
    inputs = method.encoder_inputs(batch, rng)
    chunks = inputs.reshape(-1, chunk_size, *inputs.shape[1:])

    def embed_chunk(params, model_state, chunk):
        model = merge_model(graphdef, params, model_state)
        z = method.embed_for_loss(model, chunk)
        return z, split_model(model)[2]

    # (1) all embeddings, no activations kept across chunks.
    def forward(model_state, chunk):
        z, model_state = embed_chunk(state.params, model_state, chunk)
        return model_state, jax.lax.stop_gradient(z)

    model_state, z = jax.lax.scan(forward, state.model_state, chunks)
    z = z.reshape(-1, z.shape[-1])
    # (2) the loss and its gradient with respect to the embeddings.
    loss, dz = jax.value_and_grad(method.loss_from_embeddings)(z)
    dz = dz.reshape(chunks.shape[0], chunk_size, -1)

    # (3) re-forward each chunk and pull its slice of dL/dz back to the parameters.
    def backward(grads, chunk_and_dz):
        chunk, dz_chunk = chunk_and_dz
        _, pullback = jax.vjp(lambda p: embed_chunk(p, state.model_state, chunk)[0], state.params)
        (chunk_grads,) = pullback(dz_chunk)
        return jax.tree.map(jnp.add, grads, chunk_grads), None

    zeros = jax.tree.map(jnp.zeros_like, state.params)
    grads, _ = jax.lax.scan(backward, zeros, (chunks, dz))
    metrics = {"loss": loss}
    return (loss, (metrics, state.method_state, model_state)), grads
