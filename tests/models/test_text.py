"""Text Transformer: shapes, padding invariance, causality and the pooling position."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.models import TextTransformer
from contrastive_jax.models.text import attention_mask, last_token_index
from tests.models.helpers import fast_build

TOKENS = np.array([[5, 6, 7, 0, 0, 0], [3, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4]], np.int32)


def tiny_text(**kwargs):
    options = dict(vocab_size=12, max_len=10, width=16, depth=2, num_heads=2)
    options.update(kwargs)
    return fast_build(lambda: TextTransformer(rngs=nnx.Rngs(0), **options))


def test_last_token_index_matches_a_loop():
    expected = [max([i for i, t in enumerate(row) if t != 0], default=0) for row in TOKENS]
    np.testing.assert_array_equal(last_token_index(jnp.asarray(TOKENS), pad_id=0), expected)


def test_attention_mask_matches_its_definition():
    mask = np.asarray(attention_mask(jnp.asarray(TOKENS), pad_id=0, causal=True))[:, 0]
    for b, row in enumerate(TOKENS):
        for i in range(len(row)):
            for j in range(len(row)):
                assert mask[b, i, j] == ((row[j] != 0 and j <= i) or i == j)


@pytest.mark.parametrize("pool", ["last", "mean"])
@pytest.mark.parametrize("causal", [True, False])
def test_trailing_padding_does_not_change_features(pool, causal):
    model = tiny_text(pool=pool, causal=causal)
    features = model(jnp.asarray(TOKENS))
    padded = np.concatenate([TOKENS, np.zeros((3, 4), np.int32)], axis=1)
    assert features.shape == (3, model.feature_dim) == (3, 16)
    np.testing.assert_allclose(model(jnp.asarray(padded)), features, rtol=1e-5, atol=1e-5)


def test_causal_states_ignore_later_tokens_and_bidirectional_ones_do_not():
    changed = TOKENS.copy()
    changed[2, -1] = 1
    for causal in (True, False):
        model = tiny_text(causal=causal)

        def states(tokens):
            x = model.token_embedding(tokens) + model.position_embedding[:, :tokens.shape[1]]
            return model.transformer(x, attention_mask(tokens, pad_id=0, causal=causal))

        before, after = states(jnp.asarray(TOKENS))[2, :-1], states(jnp.asarray(changed))[2, :-1]
        assert np.allclose(before, after, atol=1e-6) == causal


def test_last_pool_reads_the_last_real_token_and_rejects_long_input():
    model = tiny_text(pool="last")
    one = model(jnp.asarray(TOKENS[:1, :3]))           # [5, 6, 7], no padding
    np.testing.assert_allclose(model(jnp.asarray(TOKENS[:1])), one, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="exceed max_len 10"):
        model(jnp.zeros((1, 11), jnp.int32))
