"""Every method config of the catalog at its default small setting on mnist5k, each beside the
linear probe of the same encoder at random initialisation (issue 6's results table)."""

from __future__ import annotations

import glob
import os

from experiments.spec import (
    TINY, Cell, Column, Experiment, finite_values, paired, points, verdict_from)

LEARNED = "learned.linear_probe"
RANDOM = "random_init.linear_probe"
ORDER = ("simclr", "dcl", "dclw", "supcon", "moco_v2", "moco_v3", "mochi", "byol", "simsiam",
         "directpred", "swav", "barlow_twins", "vicreg", "wmse", "nnclr", "mv_infonce",
         "mv_dhel", "clip", "siglip")
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
# Tiny runs keep each config's own data set (mnist5k, or captions:mnist5k for CLIP/SigLIP).
TINY_RUN = {k: v for k, v in TINY.items() if k != "dataset.name"}


# Configs of another modality or task, each with its own table (UCR time series:
# configs/ts2vec.py; graphs: configs/grace.py, experiments/graph_sbm.py; regression on rotated
# digits and tabular data: configs/supremix.py, l1_regression.py, supcon_bins.py; text
# retrieval: configs/dual_encoder.py, experiments/codesearch_stdlib.py; sentence embeddings on
# sentences:stdlib: the methods.sentence configs).
NOT_IMAGES = {"ts2vec", "grace", "supremix", "l1_regression", "supcon_bins", "dual_encoder",
              "simcse", "esimcse", "debcse", "whitenedcse", "contriever",
              "simcse_codesearch", "esimcse_codesearch", "contriever_codesearch"}


def config_names() -> list[str]:
    """Every ``configs/<name>.py`` except the shared ``common.py``: the known order first."""
    found = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(CONFIG_DIR, "*.py"))}
    found -= {"__init__", "common"} | NOT_IMAGES
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def _mean(values, key):
    kept = finite_values({"c": values}, "c", key)
    return sum(kept) / len(kept) if kept else None


def beats_random_init(values) -> str:
    """``yes (+d)`` / ``no (-d)``: mean learned probe minus mean random-init probe, in points."""
    learned, random = _mean(values, LEARNED), _mean(values, RANDOM)
    if learned is None or random is None:
        return "–"
    return f"{'yes' if learned > random else 'no'} ({points(learned - random)})"


def verdict(results):
    """Claimed differences: for every method with finished runs, learned minus random-init
    probe > 0 (both rows of the same run, so paired within each seed). A method not run yet
    has an empty row and no claimed difference, so a new config leaves the verdict of the
    others as it was."""
    ran = [name for name in config_names() if finite_values(results, name, LEARNED)]
    return verdict_from([paired(results, f"{name}: learned - random init",
                                [(1, name, LEARNED), (-1, name, RANDOM)])
                         for name in ran])


EXPERIMENT = Experiment(
    slug="methods_mnist5k",
    title="Every method on mnist5k vs its random-init encoder",
    paper="none: a table of this library's methods (issue 6), not a paper's",
    table="-",
    claim="Every method's learned encoder gives a better held-out linear probe than the same "
          "encoder at random initialisation.",
    setting="Each config in configs/ at its default scale=small (the small convnet on mnist5k; "
            "CLIP, SigLIP, CleanCLIP, ProtoCLIP and soft-target CLIP on captions:mnist5k, "
            "whose zero-shot accuracy uses every caption template; NegCLIP on "
            "composites:mnist5k, two different digits per image, so its probe is a 90-class "
            "one and not comparable with the others'), no overrides. The random-init probe is "
            "the same encoder before training, evaluated in the same run. Probes read the "
            "encoder's features, whose size is the feature dim column: SwAV's and DINO's "
            "multi-crop configs mean-pool the convnet to 64 dims so crops of different sizes "
            "share one feature size, MCL concatenates its three stages' 3136-dim flattens, "
            "the others flatten the 7x7x64 map to 3136.",
    cells=tuple(Cell(name, f"configs/{name}.py", overrides={"tiny": TINY_RUN, "small": {}})
                for name in config_names()),
    columns=(Column("linear probe", LEARNED), Column("random-init probe", RANDOM),
             Column("probe > random init", compute=beats_random_init),
             Column("kNN", "learned.knn"), Column("random-init kNN", "random_init.knn"),
             Column("zero-shot", "learned.zero_shot"),
             Column("feature dim", "learned.feature_dim", percent=False)),
    metric=LEARNED,
    verdict=verdict,
)
