"""The CLIP-family methods' own pieces: EDA word deletion (CleanCLIP's text view), the
configuration errors of NegCLIP and ProtoCLIP, and the final evaluation's ``order_accuracy`` on
composites, computed by hand."""

import jax
import numpy as np
import pytest

from configs import common, negclip, protoclip, soft_clip
from contrastive_jax.methods.image_text import delete_words
from contrastive_jax.train import build, final_eval, mesh as mesh_lib, optim
from contrastive_jax.train.state import merge_model, plan_train_state

FAST_COMPILE = {"xla_backend_optimization_level": 0}  # tiny programs compile faster on CPU


def test_delete_words_keeps_an_ordered_left_aligned_subsequence():
    rng = np.random.default_rng(0)
    tokens = np.zeros((64, 8), np.int32)
    for row, length in enumerate(rng.integers(1, 9, 64)):
        tokens[row, :length] = rng.integers(2, 20, length)
    same, some, most = jax.jit(lambda t: [delete_words(jax.random.key(s), t, p) for s, p in
                                          ((0, 0.0), (1, 0.3), (2, 0.99))])(tokens)
    np.testing.assert_array_equal(np.asarray(same), tokens)
    dropped = 0
    for original, kept_rows in ((tokens, np.asarray(some)), (tokens, np.asarray(most))):
        for row, kept in zip(original, kept_rows):
            words, left = list(row[row != 0]), list(kept[kept != 0])
            assert 1 <= len(left) <= len(words)
            assert np.all(kept[len(left):] == 0)  # padding only at the end
            it = iter(words)
            assert all(w in it for w in left)  # an ordered subsequence
            dropped += len(words) - len(left)
    assert dropped > 0
    # p = 0.99: almost every caption is down to one word, and never to none.
    assert np.mean(np.sum(np.asarray(most) != 0, axis=1) == 1) > 0.9


def _tiny(module, dataset, **overrides):
    config = module.get_config(f"scale=tiny,dataset={dataset}")
    common.set_dotted(config, overrides)
    return config


def test_negclip_needs_hard_negatives_and_protoclip_at_most_a_batch_of_prototypes():
    parts = build.build_parts(_tiny(negclip, "captions:digits"))
    record = parts.train_source[0]
    batch = {key: np.stack([value] * 2) for key, value in record.items()}
    with pytest.raises(ValueError, match="composites:<source> dataset"):
        parts.method.init(jax.random.key(0), batch)
    with pytest.raises(ValueError, match="num_prototypes=17 must be at most "
                                         "config.batch_size=16"):
        build.build_parts(_tiny(protoclip, "captions:digits", **{"method.num_prototypes": 17}))


def _initial(config, parts):
    mesh = mesh_lib.make_mesh(config.mesh, devices=jax.devices()[:1])
    optimizer, _ = optim.make_optimizer(config.optimizer, config.total_steps)
    graphdef, _, _, create = plan_train_state(parts.method, optimizer, parts.train_source[0],
                                              mesh)
    key = jax.random.key(0)
    return graphdef, create.lower(key).compile(FAST_COMPILE)(key), mesh


def test_summary_rows_report_order_accuracy_on_composites_only(monkeypatch):
    config = _tiny(negclip, "composites:mnist5k")
    parts = build.build_parts(config)
    graphdef, state, mesh = _initial(config, parts)
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh)
    accuracy = evaluation.order_accuracy(state)
    # A summary row carries it (the kNN / probe part of the row is stubbed out: not under test).
    monkeypatch.setattr(final_eval.evaluate, "table_row", lambda evaluators, features: {})
    assert evaluation._row(None, state) == {"order_accuracy": accuracy}
    # By hand: every held-out image against its caption and its swapped caption.
    test = parts.test_source
    records = [test[i] for i in range(len(test))]
    stack = lambda key: np.stack([r[key] for r in records])
    embed = jax.jit(lambda params, model_state, images, texts, negatives: [
        getattr(parts.method, fn)(merge_model(graphdef, params, model_state), x)
        for fn, x in (("embed_image", images), ("embed_text", texts),
                      ("embed_text", negatives))])
    unit = lambda x: np.asarray(x, np.float64) / np.linalg.norm(x, axis=1, keepdims=True)
    image, text, negative = map(unit, embed(state.params, state.model_state, stack("image"),
                                            stack("text"), stack("text_negative")))
    expected = np.mean(np.sum(image * text, 1) > np.sum(image * negative, 1))
    assert 0.0 < expected < 1.0
    assert accuracy == pytest.approx(expected, abs=2e-3)

    config = _tiny(soft_clip, "captions:digits")
    parts = build.build_parts(config)
    evaluation = final_eval.Evaluation(parts, graphdef, config.eval, mesh=mesh)
    assert evaluation.order_accuracy(state=None) is None  # no negatives: decided before embedding


def test_the_printed_table_has_an_order_column_when_a_row_has_order_accuracy():
    rows = {"learned": {"knn": 0.5, "order_accuracy": 0.8125, "feature_dim": 64},
            "raw_pixels": {"knn": 0.25, "feature_dim": 784}}
    header, learned, pixels = final_eval.format_table({"knn_k": 20, "results": rows}).splitlines()
    assert header.split()[-2:] == ["order", "dim"]
    assert learned.split()[-2:] == ["81.25%", "64"] and pixels.split()[-2:] == ["-", "784"]
