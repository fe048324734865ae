"""Paper-table reproductions: one module per claim, run with ``python -m experiments.run <slug>``.

Each ``experiments/<slug>.py`` defines ``EXPERIMENT`` (an ``experiments.spec.Experiment``): the
paper, the table or figure, the paper's own numbers, the claim, a sweep of named cells (a config
file plus dotted-key overrides per scale), the metrics to read and a ``verdict`` computed from
our numbers. The package ``contrastive_jax`` never imports this one.
"""
