"""Image-text TFDS sets (``dataset.text_key``): the BPE tokenizer, caption picking, label-less
sources, and what the evaluation and the build make of them. The sources here wrap plain
lists of TFDS-style records (no TensorFlow needed); the mocked LAION run is in
tests/test_image_text_paper_configs.py."""

import inspect
import json as json_module

import ml_collections
import numpy as np
import pytest

from contrastive_jax.data.sources import SourceInfo
from contrastive_jax.data.tfds_source import TfdsSource, pick_caption
from contrastive_jax.data.text_tokenizer import BpeTokenizer
from contrastive_jax.train import build, final_eval, optim

CORPUS = [line.strip() for line in inspect.getsource(json_module).splitlines() if line.strip()]


def test_bpe_round_trip_layout_and_determinism():
    tokenizer = BpeTokenizer.train(CORPUS, vocab_size=400, max_len=10)
    again = BpeTokenizer.train(CORPUS, vocab_size=400, max_len=10)
    assert tokenizer.json == again.json and tokenizer.vocab_size == 400
    ids = tokenizer.encode(["Return the JSON object", "", "x " * 50])
    assert ids.shape == (3, 10) and ids.dtype == np.int32
    assert tokenizer.decode(ids[0]) == "return the json object"  # lower-cased, specials dropped
    first_pad = int(np.argmax(ids[0] == 0))
    assert ids[0, first_pad - 1] == 2 and not ids[0, first_pad:].any()  # end-of-text, then pad
    np.testing.assert_array_equal(ids[1], [2] + [0] * 9)  # empty text: end-of-text only
    assert ids[2, -1] == 2 and (ids[2] != 0).all()  # truncated, end-of-text kept
    restored = BpeTokenizer.from_json(tokenizer.json, max_len=10)
    np.testing.assert_array_equal(restored.encode(["Return the JSON object"]), ids[:1])


def test_pick_caption_reads_nested_keys_and_picks_one_per_seed_and_index():
    record = {"captions": {"text": np.array([b"a dog", b"a cat", b"a cow"], dtype=object)},
              "caption": "a bird"}
    assert pick_caption(record, "caption", seed=0, index=5, name="x") == "a bird"
    picks = {pick_caption(record, "captions/text", seed=0, index=i, name="x") for i in range(30)}
    assert picks == {"a dog", "a cat", "a cow"}
    assert pick_caption(record, "captions/text", seed=3, index=7, name="x") == pick_caption(
        record, "captions/text", seed=3, index=7, name="x")
    with pytest.raises(ValueError, match="no caption"):
        pick_caption({"captions": {"text": np.array([], dtype=object)}}, "captions/text",
                     seed=0, index=0, name="x")


def unlabelled_source(n=6):
    rng = np.random.default_rng(0)
    data = [{"image": rng.integers(0, 255, (8 + i, 9, 3), dtype=np.uint8),
             "caption": CORPUS[i]} for i in range(n)]
    info = SourceInfo("tfds:fake_laion", (8, 8, 3), 0, variable_size=True)
    tokenizer = BpeTokenizer.train(CORPUS, vocab_size=300, max_len=12)
    return TfdsSource(data, info, text_key="caption", tokenizer=tokenizer)


def test_unlabelled_image_text_records_carry_tokens_and_label_minus_one():
    source = unlabelled_source()
    record = source[2]
    assert record["label"] == -1 and record["label"].dtype == np.int32
    np.testing.assert_array_equal(record["text"], source.tokenizer.encode([CORPUS[2]])[0])
    assert record["image"].shape == (10, 9, 3)


def test_a_tokenizer_larger_than_the_text_encoder_table_fails_at_build_time():
    config = ml_collections.ConfigDict(dict(method=dict(
        text_encoder=dict(name="text_transformer", vocab_size=64))))
    with pytest.raises(ValueError, match="text_encoder.vocab_size=64.*>= 300"):
        build.check_text_vocabulary(config, unlabelled_source())
    config.method.text_encoder.vocab_size = 300
    build.check_text_vocabulary(config, unlabelled_source())


def test_retrieval_table_and_random_init_check_for_unlabelled_rows():
    results = {"learned": {"i2t_recall@1": 0.30, "i2t_recall@5": 0.6, "t2i_recall@1": 0.25,
                           "feature_dim": 32},
               "random_init": {"i2t_recall@1": 0.40, "i2t_recall@5": 0.5, "t2i_recall@1": 0.1,
                               "feature_dim": 32}}
    flagged = final_eval.rows_not_above_random_init(results)
    assert set(flagged) == {"learned"} and "i2t recall@1" in flagged["learned"]
    table = final_eval.format_table({"results": results, "warnings": []})
    assert table.splitlines()[0].startswith("held-out retrieval")
    assert "30.00%" in table and "not above random_init" in table


def test_adamw_reads_b2_and_eps():
    import jax.numpy as jnp
    import optax

    config = ml_collections.ConfigDict(dict(name="adamw", learning_rate=0.1, weight_decay=0.0,
                                            warmup_steps=0, final_lr_fraction=1.0,
                                            b2=0.5, eps=1e-3))
    tx, _ = optim.make_optimizer(config, total_steps=10)
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.array([1.0, -2.0, 0.5])}
    updates, _ = tx.update(grads, tx.init(params), params)
    # Adam's first step is -lr * g / (|g| + eps) after bias correction: b2 does not enter it,
    # eps does.
    expected = -0.1 * np.array([1.0, -2.0, 0.5]) / (np.abs([1.0, -2.0, 0.5]) + 1e-3)
    np.testing.assert_allclose(updates["w"], expected, rtol=1e-6)
    reference = optax.adamw(0.1, b2=0.5, eps=1e-3, weight_decay=0.0)
    second, _ = tx.update(grads, tx.update(grads, tx.init(params), params)[1], params)
    ref_second, _ = reference.update(grads, reference.update(
        grads, reference.init(params), params)[1], params)
    np.testing.assert_allclose(second["w"], ref_second["w"], rtol=1e-6)
