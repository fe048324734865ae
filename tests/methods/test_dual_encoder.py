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


# --- unsupervised pretraining, then the supervised loss ------------------------------------


def info_nce_reference(q, k, t):
    """float64 InfoNCE: mean_i -log softmax_j(cos(q_i, k_j) / t)[i]."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = q @ k.T / t
    logits = logits - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)))


def test_pretraining_options_are_checked():
    with pytest.raises(ValueError, match="set both"):
        make_method(pretrain="simcse")
    with pytest.raises(ValueError, match="pretrain must be one of"):
        make_method(pretrain="byol", pretrain_steps=2)
    with pytest.raises(ValueError, match="pretrain_queue_size has no meaning"):
        make_method(pretrain="simcse", pretrain_steps=2, pretrain_queue_size=64)


@pytest.mark.slow
def test_phase_switch_simcse_then_supervised_infonce():
    """Without dropout SimCSE's two views coincide: the loss is InfoNCE of tanh(head(f)) with
    itself over the 2B texts (queries and documents padded to one length) while step <
    pretrain_steps, then CLIP's symmetric InfoNCE of the query and document features."""
    method = make_method(pretrain="simcse", pretrain_steps=2, pretrain_temperature=0.1,
                         temperature=0.05)
    rng = np.random.default_rng(3)
    queries = rng.integers(3, 20, (4, 3)).astype(np.int32)
    documents = rng.integers(3, 20, (4, 4)).astype(np.int32)
    batch = {"query": jnp.asarray(queries), "document": jnp.asarray(documents),
             "index": jnp.arange(4, dtype=jnp.int32)}
    model, state = method.init(jax.random.key(0), batch)
    texts = np.concatenate([np.pad(queries, ((0, 0), (0, 1))), documents])
    features = np.asarray(model.encoder(jnp.asarray(texts), train=False), np.float64)
    head = model.pretrain_model.head
    z = np.tanh(features @ np.asarray(head.kernel[...], np.float64)
                + np.asarray(head.bias[...], np.float64))
    pretrain_reference = info_nce_reference(z, z, 0.1)
    q = np.asarray(model.encoder(batch["query"], train=False), np.float64)
    d = np.asarray(model.encoder(batch["document"], train=False), np.float64)
    supervised_reference = 0.5 * (info_nce_reference(q, d, 0.05)
                                  + info_nce_reference(d, q, 0.05))
    assert abs(pretrain_reference - supervised_reference) > 0.1  # the phases are told apart
    step = jax.jit(lambda s, r: method.loss(model, s, batch, r))
    for expected_step, reference in enumerate([pretrain_reference, pretrain_reference,
                                               supervised_reference, supervised_reference]):
        assert int(state["step"]) == expected_step
        loss, (metrics, state) = step(state, jax.random.key(expected_step))
        np.testing.assert_allclose(float(loss), reference, rtol=1e-4)
        assert float(metrics["pretraining"]) == float(expected_step < 2)


@pytest.mark.slow
def test_contriever_pretraining_keeps_its_queue_in_the_state():
    method = make_method(pretrain="contriever", pretrain_steps=1, pretrain_queue_size=8,
                         pretrain_momentum=0.5)
    rng = np.random.default_rng(4)
    batch = {"query": jnp.asarray(rng.integers(3, 20, (4, 3)), jnp.int32),
             "document": jnp.asarray(rng.integers(3, 20, (4, 5)), jnp.int32),
             "index": jnp.arange(4, dtype=jnp.int32)}
    model, state = method.init(jax.random.key(0), batch)
    assert state["pretrain"]["queue"].shape == (8, 8)
    step = jax.jit(lambda s, r: method.loss(model, s, batch, r))
    _, (_, after_pretraining) = step(state, jax.random.key(1))
    # 2B = 8 unit keys enqueued (the ring wraps to 0), then left alone by the supervised phase.
    assert int(after_pretraining["pretrain"]["pointer"]) == 0
    assert not np.allclose(after_pretraining["pretrain"]["queue"], state["pretrain"]["queue"])
    # Unit keys, or 0 for a crop whose every token was then deleted (possible on 3-token texts).
    norms = np.linalg.norm(after_pretraining["pretrain"]["queue"], axis=1)
    assert np.all((np.abs(norms - 1.0) < 1e-5) | (norms == 0.0)) and np.sum(norms > 0) >= 4
    _, (_, after_supervised) = step(after_pretraining, jax.random.key(2))
    np.testing.assert_array_equal(after_supervised["pretrain"]["queue"],
                                  after_pretraining["pretrain"]["queue"])
    assert int(after_supervised["step"]) == 2
