"""The final table of a regression run: ridge-probe MAE and R^2 per row, and a learned row
whose MAE is not below the random-init encoder's is flagged (lower is better)."""

from contrastive_jax.train.summary_table import (
    NOT_ABOVE_MARK, format_table, rows_not_above_random_init)


def summary(learned_mae):
    row = lambda mae, r2, dim: {"ridge_mae": mae, "ridge_r2": r2, "ridge_rmse": mae * 1.2,
                                "ridge_l2": 1.0, "feature_dim": dim}
    return {"results": {"learned": row(learned_mae, 0.6, 128),
                        "random_init": row(50.0, 0.4, 128), "raw_features": row(45.0, 0.5, 10)},
            "warnings": []}


def test_lower_mae_than_random_init_is_not_flagged():
    good = summary(40.0)
    assert rows_not_above_random_init(good["results"]) == {}
    text = format_table(good)
    assert "MAE" in text and "R^2" in text and NOT_ABOVE_MARK not in text
    learned = next(line for line in text.splitlines() if line.startswith("learned"))
    assert "40" in learned and "0.600" in learned and learned.split()[-1] == "128"


def test_higher_mae_than_random_init_is_flagged():
    bad = summary(55.0)
    flagged = rows_not_above_random_init(bad["results"])
    assert set(flagged) == {"learned"} and "not below" in flagged["learned"]
    assert NOT_ABOVE_MARK in format_table(bad)
