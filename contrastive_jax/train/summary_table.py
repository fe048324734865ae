"""The final table's text and its warnings, from a run's ``summary.json`` dict: learned rows
not above the random-init encoder, probes at the edge of their L2 grid, and the printed
table (accuracy columns, or retrieval recalls for an unlabelled image-text run)."""

from __future__ import annotations


def rows_not_above_random_init(results: dict) -> dict[str, str]:
    """``{row: warning}`` for each learned row (``learned``, ``learned_projection``) whose linear
    probe (kNN when there is no probe) is not above the ``random_init`` row's: training did not
    beat the untrained encoder. Empty without a ``random_init`` row."""
    baseline = results.get("random_init")
    if baseline is None:
        return {}
    if "ridge_mae" in baseline:  # a regression source: a lower error is better
        return regression_rows_not_below_random_init(results)
    metric = next((m for m in ("linear_probe", "knn", "i2t_recall@1", "mrr@10")
                   if m in baseline), None)
    if metric is None:
        return {}
    flagged = {}
    for name in ("learned", "learned_projection"):
        value = results.get(name, {}).get(metric)
        if value is not None and not value > baseline[metric]:
            flagged[name] = (
                f"{name}'s {metric.replace('_', ' ')} ({100 * value:.2f}%) is not above the "
                f"random-init encoder's ({100 * baseline[metric]:.2f}%): training did not "
                f"improve on the untrained encoder.")
    return flagged


def regression_rows_not_below_random_init(results: dict) -> dict[str, str]:
    """``{row: warning}`` for each learned row whose ridge-probe MAE is not below the
    ``random_init`` row's."""
    baseline = results["random_init"]["ridge_mae"]
    flagged = {}
    for name in ("learned", "learned_projection"):
        value = results.get(name, {}).get("ridge_mae")
        if value is not None and not value < baseline:
            flagged[name] = (f"{name}'s ridge-probe MAE ({value:.4g}) is not below the "
                             f"random-init encoder's ({baseline:.4g}): training did not "
                             f"improve on the untrained encoder.")
    return flagged


def probe_l2_at_grid_edge(results: dict, l2_grid) -> list[str]:
    """A warning per row whose probe chose the smallest or largest ``l2`` of a grid of several:
    the best value may lie outside the grid."""
    grid = sorted(float(l2) for l2 in l2_grid)
    if len(grid) < 2:
        return []
    return [f"{name}'s linear probe chose l2={row['linear_probe_l2']:g}, the "
            f"{'smallest' if row['linear_probe_l2'] == grid[0] else 'largest'} value of "
            f"eval.probe_l2_grid {tuple(grid)}: the best l2 may lie outside it; widen the grid."
            for name, row in results.items()
            if row.get("linear_probe_l2") in (grid[0], grid[-1])]


def summary_warnings(results: dict, l2_grid) -> list[str]:
    """Every warning the final table prints: learned rows not above random init, then probes
    whose ``l2`` is at the edge of the grid."""
    return list(rows_not_above_random_init(results).values()) + probe_l2_at_grid_edge(
        results, l2_grid)


NOT_ABOVE_MARK = "  <- not above random_init"


def format_table(summary: dict) -> str:
    """The printed final table: one row per baseline (kNN with the run's k, zero-shot for
    image-text methods, order accuracy on composites, the RBF SVM when
    ``eval.svm``); a row whose probe is not above random init is marked, and the
    summary's ``warnings`` follow the table."""
    if any("ridge_mae" in row for row in summary["results"].values()):
        return format_regression_table(summary)
    if any("nmi" in row for row in summary["results"].values()):
        return format_node_table(summary)
    if not any("knn" in row for row in summary["results"].values()):
        return format_retrieval_table(summary)
    k = summary.get("knn_k", 20)
    zero_shot = any("zero_shot" in row for row in summary["results"].values())
    order = any("order_accuracy" in row for row in summary["results"].values())
    svm = any("svm_accuracy" in row for row in summary["results"].values())
    flagged = rows_not_above_random_init(summary["results"])
    header = f"{'held-out accuracy':<18}{'linear probe':>14}{f'kNN (k={k})':>12}"
    lines = [header + (f"{'zero-shot':>11}" if zero_shot else "")
             + (f"{'order':>9}" if order else "")
             + (f"{'RBF SVM':>11}" if svm else "") + f"{'dim':>7}"]
    for name, row in summary["results"].items():
        probe = f"{100 * row['linear_probe']:.2f}%" if "linear_probe" in row else "-"
        line = f"{name:<18}{probe:>14}{100 * row['knn']:>11.2f}%"
        if zero_shot:
            line += f"{100 * row['zero_shot']:>10.2f}%" if "zero_shot" in row else f"{'-':>11}"
        if order:
            line += (f"{100 * row['order_accuracy']:>8.2f}%" if "order_accuracy" in row
                     else f"{'-':>9}")
        if svm:
            line += (f"{100 * row['svm_accuracy']:>10.2f}%" if "svm_accuracy" in row
                     else f"{'-':>11}")
        line += f"{row['feature_dim']:>7}" + (NOT_ABOVE_MARK if name in flagged else "")
        lines.append(line)
    lines += [f"warning: {warning}" for warning in summary.get("warnings", [])]
    return "\n".join(lines)


RETRIEVAL_COLUMNS = ("i2t_recall@1", "i2t_recall@5", "t2i_recall@1", "t2i_recall@5")
# Query -> document retrieval (a run on query/document pairs); alignment / uniformity as is.
PAIR_RETRIEVAL_COLUMNS = ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")
PAIR_GEOMETRY_COLUMNS = ("alignment", "uniformity")


def format_retrieval_table(summary: dict) -> str:
    """The printed final table of an unlabelled image-text run (held-out retrieval recalls) or
    of a query/document run (MRR@10, Recall@1/5/10, nDCG@10 in %, alignment, uniformity)."""
    flagged = rows_not_above_random_init(summary["results"])
    pairs = any("mrr@10" in row for row in summary["results"].values())
    columns = PAIR_RETRIEVAL_COLUMNS if pairs else RETRIEVAL_COLUMNS
    geometry = PAIR_GEOMETRY_COLUMNS if pairs else ()
    lines = [f"{'held-out retrieval':<18}" + "".join(f"{c:>14}" for c in columns + geometry)
             + f"{'dim':>7}"]
    for name, row in summary["results"].items():
        cells = "".join(f"{100 * row[c]:>13.2f}%" if c in row else f"{'-':>14}"
                        for c in columns)
        cells += "".join(f"{row[c]:>14.3f}" if c in row else f"{'-':>14}" for c in geometry)
        lines.append(f"{name:<18}{cells}{row.get('feature_dim', '-'):>7}"
                     + (NOT_ABOVE_MARK if name in flagged else ""))
    lines += [f"warning: {warning}" for warning in summary.get("warnings", [])]
    return "\n".join(lines)


def format_regression_table(summary: dict) -> str:
    """The printed final table of a regression source: the held-out ridge probe's MAE and
    R^2 per row (MAE in the target's units; lower is better)."""
    flagged = rows_not_above_random_init(summary["results"])
    lines = [f"{'held-out ridge probe':<20}{'MAE':>12}{'R^2':>9}{'dim':>7}"]
    for name, row in summary["results"].items():
        mae = f"{row['ridge_mae']:.4g}" if "ridge_mae" in row else "-"
        r2 = f"{row['ridge_r2']:.3f}" if "ridge_r2" in row else "-"
        lines.append(f"{name:<20}{mae:>12}{r2:>9}{row['feature_dim']:>7}"
                     + (NOT_ABOVE_MARK if name in flagged else ""))
    lines += [f"warning: {warning}" for warning in summary.get("warnings", [])]
    return "\n".join(lines)


def format_node_table(summary: dict) -> str:
    """The printed final table of a graph run: the node probe (mean +- std over the split
    draws, test nodes) and k-means NMI / ARI of the node embeddings."""
    flagged = rows_not_above_random_init(summary["results"])
    draws = summary.get("node_probe_draws", "?")
    lines = [f"{'node embeddings':<18}{f'probe ({draws} splits)':>22}{'NMI':>9}{'ARI':>9}"
             f"{'dim':>7}"]
    for name, row in summary["results"].items():
        probe = (f"{100 * row['linear_probe']:.2f} +- {100 * row.get('linear_probe_std', 0):.2f}%")
        lines.append(f"{name:<18}{probe:>22}{row['nmi']:>9.3f}{row['ari']:>9.3f}"
                     f"{row['feature_dim']:>7}" + (NOT_ABOVE_MARK if name in flagged else ""))
    lines += [f"warning: {warning}" for warning in summary.get("warnings", [])]
    return "\n".join(lines)
