"""ProtoCLIP: prototype-level discrimination between the image and text spaces, on top of CLIP.

Three pieces, each a pure function: ``kmeans`` (the episodic clustering of one modality),
``back_translate`` (Prototypical Back Translation: a cluster of one modality becomes a
prototype in the other modality's space, the mean of its members' other-modality features) and
``prototype_loss`` (the released code's ``ProtoLoss``); ``protoclip`` puts them together with
the CLIP loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from contrastive_jax.losses import _common
from contrastive_jax.losses.clip import clip


def kmeans(features: jax.Array, *, num_clusters: int,
           iterations: int = 20) -> tuple[jax.Array, jax.Array]:
    """Lloyd's k-means with squared Euclidean distances: ``(centroids [K, D], labels [N])``.

    Deterministic: the initial centroids are the rows ``floor(k N / K)``, k = 0..K-1 (the
    batch order is random, so this is a random initialization); a cluster that loses all its
    members keeps its centroid. ``iterations`` assignment/update rounds (20, the released
    code's ``--kmeans-max-iter``), then a final assignment. Not differentiated (wrap the input
    in ``stop_gradient``).

    Args:
      features: [N, D] float, N >= num_clusters.
      num_clusters: K.
      iterations: Lloyd rounds (default 20).

    Returns:
      ``(centroids [K, D] float32, labels [N] int32)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> x = jnp.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
      >>> centroids, labels = losses.kmeans(x, num_clusters=2)
      >>> print(labels)
      [0 0 1 1]
    """
    x = _common.upcast(features)
    n = x.shape[0]
    if not 1 <= num_clusters <= n:
        raise ValueError(f"kmeans: num_clusters={num_clusters} must be in [1, {n}] (the "
                         f"number of points).")
    start = x[(jnp.arange(num_clusters) * n) // num_clusters]

    def assign(centroids):
        distances = (jnp.sum(centroids * centroids, axis=1)[None, :]
                     - 2.0 * x @ centroids.T)  # + |x|^2, the same for every centroid
        return jnp.argmin(distances, axis=1).astype(jnp.int32)

    def update(_, centroids):
        return back_translate(assign(centroids), x, num_clusters=num_clusters,
                              empty=centroids)

    centroids = jax.lax.fori_loop(0, iterations, update, start)
    return centroids, assign(centroids)


def back_translate(labels: jax.Array, features: jax.Array, *, num_clusters: int,
                   empty: jax.Array | None = None) -> jax.Array:
    """Prototypical Back Translation: ``c_k = mean_{i: labels_i = k} features_i``, [K, D].

    With ``labels`` from clustering modality A and ``features`` of modality B, the clusters
    found in A become prototypes in B's space. A cluster without members gets the row of
    ``empty`` (default zeros, as in the released code).

    Args:
      labels: [N] int cluster of each example, in [0, num_clusters).
      features: [N, D] features of the examples.
      num_clusters: K.
      empty: [K, D] rows for clusters without members (default zeros).

    Returns:
      [K, D] float32 (or wider) prototypes.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> features = jnp.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
      >>> print(losses.back_translate(jnp.array([1, 1, 0]), features, num_clusters=3))
      [[0. 2.]
       [2. 0.]
       [0. 0.]]
    """
    x = _common.upcast(features)
    one_hot = jax.nn.one_hot(labels, num_clusters, dtype=x.dtype)  # [N, K]
    counts = jnp.sum(one_hot, axis=0)[:, None]
    sums = one_hot.T @ x
    fallback = jnp.zeros_like(sums) if empty is None else _common.upcast(empty)
    return jnp.where(counts > 0, sums / jnp.maximum(counts, 1.0), fallback)


def prototype_loss(student: jax.Array, labels: jax.Array, student_prototypes: jax.Array,
                   teacher_prototypes: jax.Array, *, logit_scale: jax.Array | float,
                   target_temperature: float = 0.01, normalize: bool = True,
                   axis_name: str | None = None) -> jax.Array:
    """Prototype-level discrimination: cross-entropy of the student's softmax over prototypes
    against the teacher's (soft) cluster assignment.

    ``L = mean_i sum_k -q_ik log softmax_k(s <z_i, c_k>)`` with ``c`` the student-space
    prototypes, and ``q_i = softmax_k(<t_{l_i}, t_k> / T)`` (``t``: the teacher prototypes,
    ``l_i``: example i's teacher cluster), or the one-hot ``q_i = e_{l_i}`` when ``T <= 0``.
    The released code's ``ProtoLoss``; its default recipe uses ``T = 0.01``.

    Args:
      student: [B, D] student features (L2-normalized first when ``normalize``).
      labels: [B] int teacher cluster of each example.
      student_prototypes: [K, D] prototypes in the student's space (used as given).
      teacher_prototypes: [K, D'] the teacher's centroids (used as given).
      logit_scale: scalar multiplying the student's scores as given.
      target_temperature: ``T`` of the soft target (default 0.01); <= 0: one-hot target.
      normalize: L2-normalize ``student`` first (default True).
      axis_name: mesh axis inside ``jax.shard_map``: the mean is over the global batch.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> z = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> loss = losses.prototype_loss(z, jnp.array([0, 1]), z, z, logit_scale=10.0)
      >>> print(f"{float(loss):.5f}")
      0.00005

    Paper: "Prototypical Contrastive Language Image Pretraining" (ProtoCLIP), Chen et al., 2022.
    """
    z = _common.prepare(student, normalize)
    scores = _common.upcast(logit_scale) * z @ _common.upcast(student_prototypes).T  # [B, K]
    log_p = jax.nn.log_softmax(scores, axis=1)
    if target_temperature > 0:
        t = _common.upcast(teacher_prototypes)
        target = jax.nn.softmax(t[labels] @ t.T / target_temperature, axis=1)
    else:
        target = jax.nn.one_hot(labels, scores.shape[1], dtype=scores.dtype)
    return _common.global_mean(jnp.mean(-jnp.sum(target * log_p, axis=1)), axis_name)


def protoclip(image: jax.Array, text: jax.Array, image_projected: jax.Array,
              text_projected: jax.Array, *, logit_scale: jax.Array | float,
              proto_logit_scale: jax.Array | float, num_prototypes: int,
              target_temperature: float = 0.01, kmeans_iterations: int = 20,
              clip_weight: float = 1.0, proto_weight: float = 1.0, normalize: bool = True,
              axis_name: str | None = None, block_size: int | None = None,
              cross_device: str = "ring") -> jax.Array:
    """ProtoCLIP loss: ``clip_weight * L_CLIP + proto_weight * (L_I->T + L_T->I) / 2``.

    The episode's projected features of each modality are clustered (``kmeans``, K =
    ``num_prototypes``): text clusters ``l^T`` with centroids ``C^T``, image clusters ``l^I``
    with ``C^I``. Prototypical Back Translation turns the text clusters into image-space
    prototypes ``P^I_k = mean_{l^T_i = k} z^I_i`` (and the image clusters into text-space
    ``P^T``). Then ``L_I->T = prototype_loss(z^I, l^T, P^I, C^T)``: each image must find the
    prototype of its caption's cluster, with the soft target ``softmax(<C^T_{l_i}, C^T_k> /
    T)``; ``L_T->I`` likewise with the roles swapped. Prototypes and assignments carry no
    gradient (the released code computes them once per episode, before training on it).

    Simplifications (compact, stated): the episode is the (global) batch, clustered afresh at
    every step, instead of an episode of e.g. 200k examples re-clustered once per epoch of it
    (so choose ``num_prototypes`` about B / 10, the released recipe's ratio 20k / 200k); no
    external (RoBERTa) teacher; no InfoNCE-only warm-up epoch or LiT phase. The projected
    features are L2-normalized before clustering and scoring (``normalize``), as CLIP's
    embeddings are; where the release attaches its projection heads and whether it normalizes
    their output we did not reproduce exactly (see ``methods.image_text.ProtoCLIP``).

    Args:
      image: [B, D] image embeddings (CLIP's joint space).
      text: [B, D] text embeddings; text ``i`` matches image ``i``.
      image_projected: [B, P] the image projection head's features (clustered, and the
        student of L_I->T).
      text_projected: [B, P] the text projection head's features.
      logit_scale: CLIP's scale, as given (pass ``exp(t)``).
      proto_logit_scale: the prototype scores' scale, as given (learned in ProtoCLIP).
      num_prototypes: K, at most the global batch size.
      target_temperature: ``T`` of the soft targets (default 0.01, the released recipe's);
        <= 0: one-hot targets.
      kmeans_iterations: Lloyd rounds (default 20, the released code's).
      clip_weight: weight of the CLIP loss (default 1, ``--w-clip``).
      proto_weight: weight of the prototype loss (default 1, the recipe's ``--w-proto``).
      normalize: L2-normalize the embeddings and projected features first (default True).
      axis_name: mesh axis inside ``jax.shard_map``: the projected features of every device
        are gathered and every device runs the same clustering of the global batch.
      block_size: None (default): dense CLIP logits; an int: the blockwise CLIP loss (the
        prototype terms take O(B (K + P)) memory, never a [B, B] matrix).
      cross_device: with ``block_size`` and ``axis_name``, ``"ring"`` (default) or
        ``"all_gather"`` for the CLIP term.

    Returns:
      Scalar float32 loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from contrastive_jax import losses
      >>> image = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]])
      >>> text = image + 0.05
      >>> loss = losses.protoclip(image, text, image, text, logit_scale=10.0,
      ...                         proto_logit_scale=10.0, num_prototypes=2)
      >>> print(f"{float(loss):.4f}")
      0.6707

    Paper: "Prototypical Contrastive Language Image Pretraining" (ProtoCLIP), Chen et al., 2022
    (IEEE TNNLS 2023).
    """
    kwargs = dict(axis_name=axis_name, block_size=block_size)
    if block_size is not None:
        kwargs["cross_device"] = cross_device
    crossmodal = clip(image, text, logit_scale=logit_scale, normalize=normalize, **kwargs)
    z_image = _common.prepare(image_projected, normalize)
    z_text = _common.prepare(text_projected, normalize)
    # The episode: every device's projected features, fixed (no gradient through clustering).
    all_image = jax.lax.stop_gradient(_common.gather_rows(z_image, axis_name))
    all_text = jax.lax.stop_gradient(_common.gather_rows(z_text, axis_name))
    image_centroids, image_labels = kmeans(all_image, num_clusters=num_prototypes,
                                           iterations=kmeans_iterations)
    text_centroids, text_labels = kmeans(all_text, num_clusters=num_prototypes,
                                         iterations=kmeans_iterations)
    image_prototypes = back_translate(text_labels, all_image, num_clusters=num_prototypes)
    text_prototypes = back_translate(image_labels, all_text, num_clusters=num_prototypes)
    rows = _common.row_offset(z_image.shape[0], axis_name) + jnp.arange(z_image.shape[0])
    proto = dict(logit_scale=proto_logit_scale, target_temperature=target_temperature,
                 normalize=False, axis_name=axis_name)
    image_to_text = prototype_loss(z_image, text_labels[rows], image_prototypes,
                                   text_centroids, **proto)
    text_to_image = prototype_loss(z_text, image_labels[rows], text_prototypes,
                                   image_centroids, **proto)
    return clip_weight * crossmodal + proto_weight * 0.5 * (image_to_text + text_to_image)
