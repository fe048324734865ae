"""TS2Vec on the seven UCR / UEA sets bundled with aeon, at the paper's setting, beside the
paper's published per-dataset accuracies; and DBPM against TS2Vec with a fraction of the
positive pairs deliberately corrupted (``method.corrupt_fraction``).

Scale ``small`` is the paper's setting (these archives are small enough for a CPU): the cells
override only the data set and the two numbers the paper derives from it (batch size
``min(8, N)``, 200 iterations when the train split holds <= 100,000 values, else 600; checked
against ``configs/ts2vec.py`` by the tests).
"""

from __future__ import annotations

from experiments.spec import (
    Cell, Column, Difference, Experiment, PaperNumbers, mean_of, paired, seed_values,
    verdict_from, Incomplete)

METRIC = "learned.svm_accuracy"
# name: (train examples, test examples, batch size, iterations) of the paper's rule for the
# train split (configs/ts2vec.py: min(8, N); 200 iterations if N x T x C <= 100,000 else 600).
DATASETS = {
    "GunPoint": (50, 150, 8, 200),
    "ArrowHead": (36, 175, 8, 200),
    "ItalyPowerDemand": (67, 1029, 8, 200),
    "OSULeaf": (200, 242, 8, 200),
    "BasicMotions": (40, 40, 8, 200),
    "JapaneseVowels": (270, 370, 8, 200),
    "ACSF1": (100, 100, 8, 600),
}
MULTIVARIATE = ("BasicMotions", "JapaneseVowels")  # UEA; the others are UCR (univariate)
# TS2Vec's test accuracy per data set as published, as fractions, with where each number was
# read. The TS2Vec paper's own appendix tables (Yue et al., 2022, "full results" on 128 UCR /
# 30 UEA sets) were not reachable from this session's search corpora (its pages give the
# paper's opening only); the numbers below are the "TS2Vec" column of the per-dataset UCR table
# of a later paper that compares against TS2Vec under the same protocol (RBF SVM on the learned
# representations). None: not found; no number is written from memory.
TEST_TABLE = "TEST (Sun et al., ICLR 2024), Table 14, TS2Vec column"
TEST_SOURCE = ('"TS2Vec" column of Table 14 ("Accuracies on All Datasets of the UCR Archive") '
               'of Sun et al., "TEST: Text Prototype Aligned Embedding to Activate LLM\'s '
               'Ability for Time Series", ICLR 2024 (appendix A.5), read from a Markdown '
               'transcription of that paper held in the code-search index (file id '
               '56191599550; the index does not name its repository). Whether TEST copied '
               'these from TS2Vec\'s appendix or re-ran TS2Vec is not stated there; the '
               'column\'s mean over the 128 sets is 0.827')
PUBLISHED: dict[str, tuple[float | None, str]] = {
    "GunPoint": (0.987, TEST_TABLE),
    "ArrowHead": (0.817, TEST_TABLE),
    "ItalyPowerDemand": (0.960, TEST_TABLE),
    "OSULeaf": (0.843, TEST_TABLE),
    "ACSF1": (0.910, TEST_TABLE),
    "BasicMotions": (None, ""),
    "JapaneseVowels": (None, ""),
}
PUBLISHED_NOTE = ("not found: TS2Vec's UEA table (its appendix) was not reachable from this "
                  "session's search corpora and TEST's table covers UCR only; no number is "
                  "written from memory.")

# The DBPM study: data sets, corruption levels, method variants.
STUDY_DATASETS = ("GunPoint",)  # one set: more did not fit in the CPU time of this session
# 6% (3 of GunPoint's 50 series) is below the ~10% at which DBPM's 3-sigma rule can still
# flag a group of equally bad pairs (NOTES); 20% and 40% are above it.
CORRUPTIONS = (0.0, 0.06, 0.2, 0.4)
FLAGGED = "per_example.corrupted_flagged_fraction"
TINY_RUN = {"dataset.name": "ucr:ItalyPowerDemand", "batch_size": 8, "total_steps": 3,
            "eval.every_steps": 1000, "checkpoint.every_steps": 1000,
            "eval.plot_embedding": False}


def _cell_name(dataset: str, method: str = "ts2vec", corrupt: float = 0.0) -> str:
    """``gunpoint`` for the table's TS2Vec cell (also the study's TS2Vec at 0%); else
    ``gunpoint_dbpm_c20`` etc."""
    base = dataset.lower()
    if method == "ts2vec" and corrupt == 0.0:
        return base
    return f"{base}_{method}_c{round(100 * corrupt)}"


def _paper_overrides(dataset: str) -> dict:
    _, _, batch, steps = DATASETS[dataset]
    return {"dataset.name": f"ucr:{dataset}", "batch_size": batch, "total_steps": steps}


def _published_text(dataset: str) -> str:
    value, _ = PUBLISHED[dataset]
    return "–" if value is None else f"{100 * value:.1f}"


def _cells() -> tuple[Cell, ...]:
    cells = []
    for dataset, (train, test, _, _) in DATASETS.items():
        paper = _paper_overrides(dataset)
        cells.append(Cell(_cell_name(dataset), "configs/ts2vec.py",
                          overrides={"tiny": TINY_RUN, "small": paper, "paper": paper},
                          label={"dataset": f"{dataset} ({train} / {test})",
                                 "method": "TS2Vec", "corrupted pairs": "0%",
                                 "published TS2Vec (TEST, Tab. 14)": _published_text(dataset)}))
    for dataset in STUDY_DATASETS:
        train, test = DATASETS[dataset][:2]
        for corrupt in CORRUPTIONS:
            for method in ("ts2vec", "dbpm"):
                if method == "ts2vec" and corrupt == 0.0:
                    continue  # the table's own cell
                extra = {"method.dbpm": method == "dbpm", "method.corrupt_fraction": corrupt}
                if corrupt == 0.0:
                    extra.pop("method.corrupt_fraction")
                paper = {**_paper_overrides(dataset), **extra}
                cells.append(Cell(_cell_name(dataset, method, corrupt), "configs/ts2vec.py",
                                  overrides={"tiny": {**TINY_RUN, **extra}, "small": paper,
                                             "paper": paper},
                                  label={"dataset": f"{dataset} ({train} / {test})",
                                         "method": "DBPM" if method == "dbpm" else "TS2Vec",
                                         "corrupted pairs": f"{round(100 * corrupt)}%"}))
    return tuple(cells)


def published_gap(results) -> tuple[Difference | None, list[str], list[str]]:
    """Ours minus published, one value per data set (our mean over seeds), over the data sets
    that have both; the data sets left out (no finished run, or no published number); and
    each data set's gap in points and in test series (the accuracy's granularity)."""
    names, values, left_out, gaps = [], [], [], []
    for index, dataset in enumerate(DATASETS):
        published, _ = PUBLISHED[dataset]
        try:
            ours = mean_of(results, _cell_name(dataset), METRIC)
        except Incomplete:
            left_out.append(f"{dataset} (not run)")
            continue
        if published is None:
            left_out.append(f"{dataset} (no published number)")
            continue
        names.append(index)
        values.append(ours - published)
        test = DATASETS[dataset][1]
        gaps.append(f"{dataset} {100 * (ours - published):+.2f} ({(ours - published) * test:+.1f}"
                    f" of {test} test series)")
    if not values:
        return None, left_out, gaps
    return Difference("TS2Vec SVM: ours (mean over seeds) - published, paired over data sets "
                      "(n = data sets)", tuple(names), tuple(values)), left_out, gaps


def verdict(results):
    """Claimed differences: (1) our TS2Vec SVM accuracy minus the published one, paired over
    data sets (a reproduction: ``contradicted`` means we are significantly below the paper);
    (2) for each study data set and corruption level, DBPM minus TS2Vec (paired by seed; the
    DBPM paper claims > 0, more so with more bad pairs). Missing cells make the outcome
    ``incomplete``, with the differences that could be computed still listed."""
    differences, missing = [], []
    gap, left_out, gaps = published_gap(results)
    if gap is not None:
        differences.append(gap)
    missing += [d for d in left_out if d.endswith("(not run)")]
    for dataset in STUDY_DATASETS:
        for corrupt in CORRUPTIONS:
            dbpm = _cell_name(dataset, "dbpm", corrupt)
            base = _cell_name(dataset, "ts2vec", corrupt)
            if not seed_values(results, dbpm, METRIC) or not seed_values(results, base, METRIC):
                missing.append(f"{dbpm} vs {base} (not run)")
                continue
            differences.append(paired(
                results, f"{dataset}, {round(100 * corrupt)}% corrupted pairs: DBPM - TS2Vec",
                [(1, dbpm, METRIC), (-1, base, METRIC)]))
    summary = " ".join(
        ([f"Ours minus published per data set, points: {'; '.join(gaps)}."] if gaps else [])
        + ([f"Data sets without a published number or a run: {', '.join(left_out)}."]
           if left_out else []))
    if not differences:
        raise Incomplete("every cell")
    outcome, reason, judged = verdict_from(differences, summary)
    if missing:
        return ("incomplete", f"Missing: {'; '.join(missing)}. So far: {reason}", judged)
    return outcome, reason, judged


def _published_rows() -> tuple[tuple[str, ...], ...]:
    rows = []
    for dataset in DATASETS:
        value, source = PUBLISHED[dataset]
        archive = "UEA" if dataset in MULTIVARIATE else "UCR"
        rows.append((dataset, archive, "–" if value is None else f"{100 * value:.1f}",
                     source if value is not None else PUBLISHED_NOTE))
    return tuple(rows)


NOTES = (
    "The published column is TS2Vec's as tabulated by TEST (ICLR 2024, Table 14), not read "
    "from TS2Vec's own appendix (not reachable from this session); the UEA sets "
    "(BasicMotions, JapaneseVowels) have no published number here. An independent "
    "re-implementation posted in aeon's issue tracker (https://github.com/aeon-toolkit/aeon/"
    "issues/2753) lists TS2Vec at 0.789 on ArrowHead and 0.84 on ACSF1, so single published "
    "numbers on these small test splits move by several points between implementations.",
    "Where we are below the column, what was found (5 seeds each): GunPoint (-1.0 points, "
    "1.4 of 150 test series): every seed is 97.3% or 98.0% (the published 98.7% is 2 errors), "
    "and the random-init encoder's SVM is as high (98.0% mean), so training barely changes "
    "this set's accuracy and the gap is one or two test series. OSULeaf (-2.2 points, 5.2 of "
    "242 test series): the seeds give 82.6, 79.8, 83.9, 79.8 and 84.7%, so the published "
    "84.3% lies inside our seeds' range and the gap is about one seed standard deviation "
    "(2.3). ACSF1 (-4.2 points, 4.2 of 100 test series): the seeds give 86, 88, 86, 89 "
    "and 85%, so no seed reaches the published 91%, while the re-implementation in aeon's "
    "tracker (first note) lists 84%; training does help (random-init encoder 69% mean, raw "
    "series 67%). aeon's copy of ACSF1 is z-normalised per series (means 0, standard "
    "deviations 1, checked here), as the archive ships it and as TS2Vec's code expects for "
    "a set outside its unnormalised list; the cause of the gap was not found. ArrowHead "
    "(-0.1) and ItalyPowerDemand (-0.1) match. Checked against "
    "the released code (zhihanyue/ts2vec datautils.py, read here): the normalisation (UCR "
    "sets as shipped except the unnormalised list, scaled by all train values; UEA per "
    "channel), batch 8, the 200 / 600 iteration rule, the SVM's C grid and its no-search "
    "rule, the running average of the weights. Not checked: PyTorch's default "
    "initialisation against ours, aeon's copies of the archives against the UCR 2018 files.",
    "Corruption is per series, not per step: a fixed seeded subset of the training series "
    "always gets another series' second view, so a bad pair persists over the epochs as "
    "DBPM's premise (per-example loss memory) assumes; a fresh random subset every step would "
    "make every series equally corrupted on average and invisible to that memory.",
    "DBPM's schedule at the paper's 200 iterations on GunPoint: 50 series at batch 8 are 6 "
    "steps per epoch, 34 epochs, so the down-weighting is active from epoch 21 (the last 74 "
    "steps). In these runs it down-weighted almost nothing (the logged `dbpm_downweighted` "
    "fraction was 0 at every logged step, every 10th, of the 20% and 40% runs), so DBPM "
    "trained exactly as TS2Vec (every metric of each DBPM run equals its TS2Vec twin's) and "
    "DBPM - TS2Vec is 0 seed by seed. Corrupting 20% or 40% of the pairs did not lower "
    "TS2Vec's GunPoint accuracy either (98.0-98.7% per seed), so this set cannot show a "
    "benefit from removing bad pairs. Why nothing was flagged: a faulty pair needs a "
    "memory loss >= mu + 3 sigma; if a fraction p of the pairs is bad and their losses sit "
    "together above the others', they are sqrt((1 - p) / p) standard deviations above the "
    "mean: 2.0 at p = 0.2, 1.2 at p = 0.4, so the 3-sigma cut can only flag them when fewer "
    "than about 10% of the pairs are bad.",
    "The 6% level tests that bound (5 seeds, run after the others, on an otherwise idle "
    "CPU): 3 of the 50 series are corrupted, and at the end of training the memory puts them "
    "3.8-3.9 standard deviations above the mean (the bound for 3 equal outliers is 3.96), so "
    "DBPM flags 14 of the 15 corrupted series over the 5 seeds (3 of 3 in four seeds, 2 of 3 "
    "in one; the 'flagged' column) and none of the clean ones, from summary.json's "
    "`per_example` report. Removing those pairs still does not move GunPoint's accuracy "
    "beyond one test series: DBPM - TS2Vec is +0.67 points in seed 0 and 0 in the other four. "
    "The rule works when bad pairs are rare; this set does not reward it.",
    "Compute: the first seeds ran on a shared 2-core CPU with other agents' sweeps running "
    "(load average 15-26), two runs at a time (a GunPoint run took 2-12 minutes, ArrowHead "
    "and OSULeaf up to 17); seeds 3-4 of ArrowHead, ItalyPowerDemand, OSULeaf, BasicMotions, "
    "JapaneseVowels and the 0/20/40% cells, the 6% level and ACSF1 ran one at a time with no "
    "other sweep (GunPoint about 45 s a run, OSULeaf 95-122 s, ACSF1 19-21 minutes). ACSF1 is "
    "slow because TS2Vec's temporal term compares every timestamp of a crop with every other "
    "(crops up to 1,460 steps) for 600 iterations.",
)


EXPERIMENT = Experiment(
    slug="ucr_ts2vec",
    title="TS2Vec on the bundled UCR / UEA sets, and DBPM under corrupted positive pairs",
    paper='"TS2Vec: Towards Universal Representation of Time Series", Yue, Wang, Duan, Yang, '
          'Huang, Tong and Xu, 2022 (AAAI); "Towards Enhancing Time Series Contrastive '
          'Learning: A Dynamic Bad Pair Mining Approach", Lan et al., 2024 (ICLR)',
    table="TS2Vec: the per-dataset accuracies of the appendix (full results on the 128 UCR "
          "and 30 UEA sets); DBPM: its claim that down-weighting bad positive pairs helps",
    claim="Our TS2Vec matches the paper's per-dataset RBF-SVM accuracies at the paper's "
          "setting; DBPM improves on TS2Vec, more so when more positive pairs are bad.",
    setting="The paper's setting on each set (configs/ts2vec.py): TS2Vec encoder (hidden 64, "
            "depth 10, output 320), batch min(8, N), AdamW lr 1e-3 (weight decay 0.01), 200 "
            "iterations (600 for ACSF1, whose train split holds more than 100,000 values), "
            "random overlapping crops with binomial timestamp masks, hierarchical loss "
            "(alpha 0.5), evaluation with the running average of the weights; RBF SVM with C "
            "by 5-fold grid search (none below 50 train series or 5 per class, as released) on "
            "the archive's own test split. DBPM study: `method.dbpm=True` (thresholds 2 / 3 "
            "std, active after 62.5% of the epochs) vs TS2Vec, with `method.corrupt_fraction` "
            "of the training series (a fixed seeded subset) whose second view is always "
            "replaced by another series' view of the batch.",
    cells=_cells(),
    columns=(Column("RBF SVM", METRIC), Column("kNN (k=5)", "learned.knn"),
             Column("linear probe", "learned.linear_probe"),
             Column("random init: SVM", "random_init.svm_accuracy"),
             Column("raw series: SVM", "raw_series.svm_accuracy"),
             Column("corrupted series DBPM flags (final memory)", FLAGGED)),
    metric=METRIC,
    verdict=verdict,
    paper_numbers=PaperNumbers(
        source=f"TS2Vec's per-dataset accuracies as tabulated by a later paper: {TEST_SOURCE}. "
               f"TS2Vec's own appendix tables were not reachable from this session",
        setting="TS2Vec's protocol (RBF SVM on max-pooled instance representations, C by "
                "grid search), batch 8, lr 1e-3, 200 / 600 iterations; one number per set.",
        header=("data set", "archive", "TS2Vec accuracy (%)", "source"),
        rows=_published_rows()),
    notes=NOTES,
)
