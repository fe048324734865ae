"""Dynamic Bad Pair Mining (DBPM): find and down-weight bad positive pairs from each pair's
loss history.

Lan et al., "Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair Mining
Approach", ICLR 2024 (Sec. 4, Algorithm 1) and the released ``models/dbpm_model.py``:

* memory: every training example ``n`` keeps the losses ``l_n^(e)`` of its positive pair at
  each epoch ``e`` it was seen; its summary is the epoch-weighted mean
  ``m_n = mean_e [ l_n^(e) (e + 1) / E ]`` (``E`` the number of epochs; later epochs weigh
  more);
* identification, at each epoch from the memory: ``mu, sigma`` the mean and std of ``m`` over
  the examples; a *noisy* positive pair (the views share mostly noise, so it is fit too easily)
  has ``m_n <= mu - cut_np sigma``, a *faulty* one (the augmentation broke its pattern)
  ``m_n >= mu + cut_fp sigma`` (``cut_np = 2``, ``cut_fp = 3`` in the released config);
* down-weighting: a bad pair's current loss ``l`` is multiplied by the Gaussian density
  ``w = N(l; mu, sigma^2)`` (stop-gradient); other pairs keep weight 1; the loss is the mean of
  the weighted per-pair losses. DBPM is off during the first ``warm_epochs`` (50 of 80).

The memory is two arrays over the training set (``sums``, ``counts``), updated in the jitted
step from the batch's example indices (``update_memory``). Pure functions of jax / jnp.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def update_memory(sums: jax.Array, counts: jax.Array, indices: jax.Array, pair_loss: jax.Array,
                  *, epoch: jax.Array | int, num_epochs: int) -> tuple[jax.Array, jax.Array]:
    """Record the positive pairs' losses at ``epoch`` in the memory.

    ``sums[n] += l_n (epoch + 1) / num_epochs`` and ``counts[n] += 1`` for each example ``n``
    of the batch (stop-gradient).

    Args:
      sums: [N] float, the epoch-weighted loss sums of the N training examples.
      counts: [N] int, how many losses each example has recorded.
      indices: [B] int, the batch's example indices into the training set.
      pair_loss: [B] the batch's per-pair losses.
      epoch: the current epoch, 0-based (scalar, may be traced).
      num_epochs: the run's number of epochs ``E``.

    Returns:
      ``(sums, counts)`` updated.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> sums, counts = losses.update_memory(jnp.zeros(3), jnp.zeros(3, int), jnp.array([2, 0]),
      ...                                     jnp.array([1.0, 4.0]), epoch=1, num_epochs=4)
      >>> print(sums, counts)
      [2.  0.  0.5] [1 0 1]
    """
    weight = (jnp.asarray(epoch, sums.dtype) + 1) / num_epochs
    loss = jax.lax.stop_gradient(pair_loss).astype(sums.dtype)
    return sums.at[indices].add(loss * weight), counts.at[indices].add(1)


def memory_statistics(sums: jax.Array, counts: jax.Array
                      ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Each example's epoch-weighted mean loss and their mean and (population) std over the
    examples seen so far (``counts > 0``).

    Args:
      sums: [N] the memory's epoch-weighted loss sums.
      counts: [N] the memory's counts.

    Returns:
      ``(m [N], mu, sigma)``; unseen examples have ``m = 0`` and do not enter ``mu, sigma``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> m, mu, sigma = losses.memory_statistics(jnp.array([2.0, 0.0, 3.0]), jnp.array([1, 0, 3]))
      >>> print(m, float(mu), float(sigma))
      [2. 0. 1.] 1.5 0.5
    """
    seen = counts > 0
    means = jnp.where(seen, sums / jnp.maximum(counts, 1), 0.0)
    n = jnp.maximum(seen.sum(), 1)
    mu = means.sum() / n
    sigma = jnp.sqrt(jnp.where(seen, (means - mu) ** 2, 0.0).sum() / n)
    return means, mu, sigma


def bad_pairs(history: jax.Array, mu: jax.Array | float, sigma: jax.Array | float, *,
              cut_np: float = 2.0, cut_fp: float = 3.0) -> tuple[jax.Array, jax.Array]:
    """Identify the bad positive pairs from their loss history.

    Args:
      history: [B] the pairs' epoch-weighted mean losses ``m``.
      mu: the memory's mean of ``m``.
      sigma: the memory's std of ``m``.
      cut_np: noisy pairs have ``m <= mu - cut_np sigma`` (2, the released config).
      cut_fp: faulty pairs have ``m >= mu + cut_fp sigma`` (3, the released config).

    Returns:
      ``(noisy, faulty)``, two [B] boolean masks.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> noisy, faulty = losses.bad_pairs(jnp.array([0.0, 1.0, 5.0]), 1.0, 0.4)
      >>> print(noisy, faulty)
      [ True False False] [False False  True]
    """
    return history <= mu - cut_np * sigma, history >= mu + cut_fp * sigma


def dbpm_weights(pair_loss: jax.Array, history: jax.Array, mu: jax.Array | float,
                 sigma: jax.Array | float, *, cut_np: float = 2.0, cut_fp: float = 3.0,
                 active: jax.Array | bool = True) -> jax.Array:
    """Per-pair weights (stop-gradient): the Gaussian density ``N(l; mu, sigma^2)`` of the
    current loss for the bad pairs (``bad_pairs`` of their ``history``), 1 otherwise.

    Args:
      pair_loss: [B] the pairs' current losses ``l``.
      history: [B] the pairs' epoch-weighted mean losses from the memory.
      mu: the memory's mean (``memory_statistics``).
      sigma: the memory's std.
      cut_np: noisy threshold in standard deviations below ``mu`` (2).
      cut_fp: faulty threshold in standard deviations above ``mu`` (3).
      active: bool scalar; False (the warm-up epochs) gives every pair weight 1.

    Returns:
      [B] float weights.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> w = losses.dbpm_weights(jnp.array([1.0, 1.0, 1.0]), jnp.array([0.0, 1.0, 9.0]),
      ...                         1.0, 0.5, cut_np=1.0, cut_fp=1.0)
      >>> print([round(float(x), 4) for x in w])
      [0.7979, 1.0, 0.7979]
    """
    noisy, faulty = bad_pairs(history, mu, sigma, cut_np=cut_np, cut_fp=cut_fp)
    sigma = jnp.maximum(sigma, 1e-12)
    density = jnp.exp(-0.5 * ((pair_loss - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    weights = jnp.where((noisy | faulty) & active, density, 1.0)
    return jax.lax.stop_gradient(weights)


def dbpm_loss(pair_loss: jax.Array, weights: jax.Array, *,
              axis_name: str | None = None) -> jax.Array:
    """DBPM's reweighted loss ``L = mean_i w_i l_i`` over the global batch.

    Paper: Lan et al., "Towards Enhancing Time Series Contrastive Learning: A Dynamic Bad Pair
    Mining Approach", ICLR 2024.

    Args:
      pair_loss: [B] per-pair losses (e.g. ``hierarchical_contrastive_loss(...,
        per_example=True)`` or a per-pair NT-Xent).
      weights: [B] ``dbpm_weights``.
      axis_name: mesh axis the batch is sharded over inside ``jax.shard_map``, or None.

    Returns:
      Scalar loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> print(float(losses.dbpm_loss(jnp.array([1.0, 3.0]), jnp.array([1.0, 0.5]))))
      1.25
    """
    value = jnp.mean(weights * pair_loss)
    return value if axis_name is None else jax.lax.pmean(value, axis_name)
