"""The dual encoder's pieces: hard-negative mining (vs a brute-force NumPy reference, the true
document excluded), options, and the loss's use of mined negatives from the method state."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from contrastive_jax.methods.dual_encoder import DualEncoder, mine_hard_negatives
from contrastive_jax.methods.options import options_from_config


def mining_reference(queries, documents, k):
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    d = documents / np.linalg.norm(documents, axis=1, keepdims=True)
    out = []
    for i in range(len(q)):
        scored = sorted((-(q[i] @ d[j]), j) for j in range(len(d)) if j != i)
        out.append([j for _, j in scored[:k]])
    return np.array(out)


def test_mining_matches_reference_and_excludes_the_true_document():
    rng = np.random.default_rng(0)
    documents = rng.standard_normal((40, 6))
    queries = documents + 0.1 * rng.standard_normal((40, 6))  # own document the most similar
    mined = mine_hard_negatives(queries, documents, 3, chunk=7)  # several chunks
    np.testing.assert_array_equal(mined, mining_reference(queries, documents, 3))
    assert not np.any(mined == np.arange(40)[:, None])
    with pytest.raises(ValueError, match="hard_negatives=40"):
        mine_hard_negatives(queries, documents, 40)


def make_method(**options):
    config = ml_collections.ConfigDict(dict(name="dual_encoder", **options))
    encoder = ml_collections.ConfigDict(dict(name="text_transformer", vocab_size=20, width=8,
                                             depth=1, num_heads=2, causal=False, pool="mean",
                                             dropout=0.0))
    return DualEncoder(options_from_config(DualEncoder.options_type, config, "dual_encoder"),
                       encoder=encoder, image_shape=(4,), make_views=None, num_views=1,
                       batch_size=4, total_steps=10, num_examples=6)


def test_options_are_checked():
    with pytest.raises(ValueError, match="hard_negatives >= 1"):
        make_method(star=True)
    with pytest.raises(ValueError, match="loss must be one of"):
        make_method(loss="triplet")


@pytest.mark.slow
def test_refresh_fills_the_state_and_the_loss_reads_it():
    method = make_method(hard_negatives=2, mine_every=3)
    rng = np.random.default_rng(1)
    queries = rng.integers(3, 20, (6, 4)).astype(np.int32)
    documents = rng.integers(3, 20, (6, 5)).astype(np.int32)
    model, state = method.init(jax.random.key(0), {"query": queries[:2],
                                                   "document": documents[:2]})
    assert state["negatives"].shape == (6, 2) and int(state["negatives"].min()) == -1
    assert [method.refresh_due(s) for s in (0, 1, 3, 6)] == [False, False, True, True]

    class Source:
        tokens = {"document": documents}

        def __len__(self):
            return 6

    embed = {"query": method.embed_query(model, queries),
             "document": method.embed_document(model, documents)}
    state = method.refresh_state(state, lambda fn, key: np.asarray(embed[key]), Source())
    np.testing.assert_array_equal(state["negatives"], mine_hard_negatives(
        np.asarray(embed["query"]), np.asarray(embed["document"]), 2))
    np.testing.assert_array_equal(state["documents"], documents)
    batch = {"query": jnp.asarray(queries[:4]), "document": jnp.asarray(documents[:4]),
             "index": jnp.arange(4, dtype=jnp.int32)}
    for star in (False, True):
        method = make_method(hard_negatives=2, star=star)
        loss, (metrics, new_state) = method.loss(model, state, batch, jax.random.key(2))
        assert np.isfinite(float(loss)) and float(metrics["mined_fraction"]) == 1.0
        assert new_state is state
