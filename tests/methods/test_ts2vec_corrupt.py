"""TS2Vec's ``corrupt_fraction`` (the DBPM robustness study): a fixed seeded subset of the
training series whose second view is another series' view of the batch."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from contrastive_jax.data.augment_series import SeriesCrops
from contrastive_jax.methods.ts2vec import corrupt_second_views, corrupted_examples, dbpm_report
from contrastive_jax.train import build


def test_corrupted_examples_is_an_exact_seeded_subset():
    for n, fraction in [(50, 0.2), (67, 0.4), (10, 0.0), (7, 1.0)]:
        chosen = corrupted_examples(n, fraction, seed=3)
        assert chosen.shape == (n,) and chosen.dtype == bool
        assert chosen.sum() == round(fraction * n)
        np.testing.assert_array_equal(chosen, corrupted_examples(n, fraction, seed=3))
    assert not np.array_equal(corrupted_examples(50, 0.2, seed=0),
                              corrupted_examples(50, 0.2, seed=1))


def test_second_views_of_corrupted_rows_come_from_the_next_row():
    rng = np.random.default_rng(0)
    b, t, c = 5, 7, 2
    normal = lambda: rng.normal(size=(b, t, c)).astype(np.float32)
    arrays = dict(x1=normal(), mask1=rng.random((b, t)) < 0.8, keep1=rng.random((b, t)) < 0.5,
                  x2=normal(), mask2=rng.random((b, t)) < 0.8, keep2=rng.random((b, t)) < 0.5)
    crops = SeriesCrops(**{k: jnp.asarray(v) for k, v in arrays.items()},
                        shift=jnp.asarray(2), overlap=jnp.asarray(4))
    corrupt = np.array([True, False, False, True, True])
    out = corrupt_second_views(crops, jnp.asarray(corrupt))
    for key in ("x2", "mask2", "keep2"):
        expected = arrays[key].copy()
        for i in range(b):  # the last row takes the first one's view
            if corrupt[i]:
                expected[i] = arrays[key][(i + 1) % b]
        np.testing.assert_array_equal(np.asarray(getattr(out, key)), expected)
    for key in ("x1", "mask1", "keep1"):  # the first views are untouched
        np.testing.assert_array_equal(np.asarray(getattr(out, key)), arrays[key])
    assert int(out.shift) == 2 and int(out.overlap) == 4


def test_dbpm_report_flags_a_few_bad_series_but_not_many():
    """DBPM's 3-sigma rule on a memory of clean losses near 1 and bad ones at 2: two bad
    series of 50 are flagged (z = sqrt(48 / 2) ~ 4.9 for two equal outliers); twenty are not
    (z = sqrt(30 / 20) ~ 1.22, the bound sqrt((1 - p) / p) at p = 0.4)."""
    rng = np.random.default_rng(0)
    clean = 1.0 + 0.01 * rng.standard_normal(50)
    for bad_count, flagged in ((2, 1.0), (20, 0.0)):
        corrupted = np.zeros(50, bool)
        corrupted[:bad_count] = True
        memory = np.where(corrupted, 2.0, clean)
        counts = np.full(50, 7)
        counts[-1] = 0  # an unseen series enters neither the statistics nor the fractions
        report = dbpm_report(memory * counts, counts, corrupted, cut_np=2.0, cut_fp=3.0)
        seen = memory[:-1]
        assert report["dbpm_memory_mu"] == pytest.approx(seen.mean(), rel=1e-5)
        assert report["dbpm_memory_sigma"] == pytest.approx(seen.std(), rel=1e-4)
        assert report["corrupted_flagged_fraction"] == flagged
        assert report["clean_flagged_fraction"] == 0.0
        p = bad_count / 49
        assert report["corrupted_mean_z"] == pytest.approx(np.sqrt((1 - p) / p), rel=0.02)
        assert report["dbpm_faulty_fraction"] == pytest.approx(bad_count * flagged / 49)
    # A clean series far below the others is flagged noisy; no corrupted mask: no study keys.
    memory = np.r_[0.0, clean[1:]]
    report = dbpm_report(memory, np.ones(50), None, cut_np=2.0, cut_fp=3.0)
    assert report["dbpm_noisy_fraction"] == pytest.approx(1 / 50)
    assert report["dbpm_faulty_fraction"] == 0.0 and "corrupted_flagged_fraction" not in report


def _method(fraction):
    config = importlib.import_module("configs.ts2vec").get_config("scale=tiny")
    config.method.corrupt_fraction = fraction
    return build.build_parts(config)


@pytest.mark.slow  # two TS2Vec compiles (minutes on the loaded shared machine)
def test_the_method_corrupts_exactly_the_chosen_series():
    clean, corrupted = _method(0.0), _method(0.5)
    method, source = corrupted.method, corrupted.train_source
    chosen = corrupted_examples(len(source), 0.5, seed=0)
    records = [source[i] for i in range(len(source))]
    stack = lambda idx: {k: np.stack([records[i][k] for i in idx]) for k in records[0]}
    model, state = method.init(jax.random.key(0), records[0])
    clean_model, _ = clean.method.init(jax.random.key(0), records[0])
    bad, good = np.flatnonzero(chosen)[:4], np.flatnonzero(~chosen)[:4]
    rng = jax.random.key(1)

    @nnx.jit
    def losses(model, clean_model, batch):  # one compile for both batches
        loss, (metrics, _) = method.loss(model, state, batch, rng)
        clean_loss, _ = clean.method.loss(clean_model, {}, batch, rng)
        return loss, clean_loss, metrics["corrupted_pairs"]

    # A batch with no chosen series: the same loss as without corruption.
    loss, clean_loss, fraction = losses(model, clean_model, stack(good))
    assert float(fraction) == 0.0
    np.testing.assert_allclose(float(loss), float(clean_loss), rtol=1e-6)
    # Half of the batch chosen: the metric counts them and the loss changes.
    loss, clean_loss, fraction = losses(model, clean_model, stack(np.r_[bad[:2], good[:2]]))
    assert float(fraction) == 0.5
    assert abs(float(loss) - float(clean_loss)) > 1e-4


def test_corrupt_fraction_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="corrupt_fraction"):
        _method(1.5)
