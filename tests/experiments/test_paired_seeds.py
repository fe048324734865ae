"""Seeds pair the cells of a table: the same ``config.seed`` gives two compared cells (here
NT-Xent and DCL, the ``dcl_batch_size`` table) the same data order and the same initial
encoder, so a per-seed difference of their metrics cancels what the seed alone explains."""

import jax
import numpy as np

from configs import dcl, simclr
from contrastive_jax.data.pipeline import make_train_loader
from contrastive_jax.train import build
from contrastive_jax.train.state import split_model


def parts_of(module, seed):
    config = module.get_config("scale=tiny,dataset=digits")
    config.seed, config.batch_size = seed, 16  # the table's cells share a batch size
    return config, build.build_parts(config)


def initial_encoder(config, parts):
    """The encoder parameters the run starts from: ``method.init`` with ``key(config.seed)``,
    as ``train.loop`` does (there under jit; the random bits are the same)."""
    record = parts.train_source[0]
    batch = {k: np.stack([v] * 2) for k, v in record.items()}
    model, _ = parts.method.init(jax.random.key(config.seed), batch)
    _, params, _ = split_model(model)
    return jax.tree.leaves(params["encoder"])


def first_batches(config, parts, count=3):
    loader = iter(make_train_loader(parts.train_source, global_batch_size=config.batch_size,
                                    seed=config.seed))
    return [next(loader) for _ in range(count)]


def test_same_seed_same_data_order_and_init_across_compared_cells():
    (c_ntxent, p_ntxent), (c_dcl, p_dcl) = parts_of(simclr, 1), parts_of(dcl, 1)
    assert c_ntxent.method.name != c_dcl.method.name
    for a, b in zip(first_batches(c_ntxent, p_ntxent), first_batches(c_dcl, p_dcl)):
        np.testing.assert_array_equal(a["image"], b["image"])
        np.testing.assert_array_equal(a["label"], b["label"])
    init_ntxent, init_dcl = initial_encoder(c_ntxent, p_ntxent), initial_encoder(c_dcl, p_dcl)
    assert len(init_ntxent) == len(init_dcl) > 0
    for a, b in zip(init_ntxent, init_dcl):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Another seed gives another order and another init (the pairing is by seed).
    c_other, p_other = parts_of(dcl, 2)
    assert not np.array_equal(first_batches(c_other, p_other, 1)[0]["label"],
                              first_batches(c_dcl, p_dcl, 1)[0]["label"])
    kernels = [np.asarray(x) for x in initial_encoder(c_other, p_other)]
    assert not all(np.array_equal(a, np.asarray(b)) for a, b in zip(kernels, init_dcl))
