"""Variable-size sources through the train loader and the device augmentation."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from contrastive_jax.data import augment
from contrastive_jax.data.host_image import HostCrop, crop_views
from contrastive_jax.data.pipeline import example_record, iterator_state, make_train_loader
from contrastive_jax.data.sources import SourceInfo


# Cheap ops only (eager colour jitter and blur cost tens of seconds on 2 cores); views 0 and 1
# share a recipe (one vmapped group), view 2 is resized, view 3 is the identity.
_CHEAP = augment.ViewRecipe(crop_scale=(0.2, 1.0), flip_p=0.5, grayscale_p=0.5, solarize_p=0.5)
SAMPLER = augment.ViewSampler((_CHEAP, _CHEAP,
                               augment.ViewRecipe(out_size=(8, 8), crop_scale=(0.5, 1.0)), None))


def test_pre_cropped_views_equal_the_4d_path_without_its_crop():
    images = jax.random.uniform(jax.random.key(0), (4, SAMPLER.num_views, 12, 12, 3))
    rng = jax.random.key(1)
    no_crop = augment.ViewSampler(tuple(
        None if r is None else dataclasses.replace(r, crop_scale=None) for r in SAMPLER.recipes))

    @jax.jit  # one compile instead of op-by-op dispatch of five samplers
    def both(images):
        return SAMPLER(rng, images), [no_crop(rng, images[:, v])[v]
                                      for v in range(SAMPLER.num_views)]

    views, expected = both(images)
    for v in range(SAMPLER.num_views):
        np.testing.assert_allclose(np.asarray(views[v]), np.asarray(expected[v]), atol=1e-6)
    assert [v.shape[1:3] for v in views] == [(12, 12), (12, 12), (8, 8), (12, 12)]
    np.testing.assert_array_equal(np.asarray(views[3]), np.asarray(images[:, 3]))


def test_pre_cropped_views_must_match_the_view_count():
    with pytest.raises(ValueError, match="carry 3 views.*makes 2"):
        augment.simclr()(jax.random.key(0), np.zeros((2, 3, 8, 8, 3), np.uint8))


class _Sizes:
    """A variable-size source: record i is an [8 + i % 7, 9 + i % 5, 3] gradient."""

    info = SourceInfo("sizes", (6, 6, 3), 2, variable_size=True)

    def __len__(self):
        return 40

    def __getitem__(self, i):
        h, w = 8 + i % 7, 9 + i % 5
        image = ((np.arange(h * w * 3).reshape(h, w, 3) * (i + 1)) % 256).astype(np.uint8)
        return {"image": image, "label": np.int32(i % 2)}


CROP = HostCrop(size=6, scales=((0.3, 1.0),) * 2, ratios=((0.75, 4 / 3),) * 2)


def _loader(process_index=0, process_count=1, num_workers=0):
    return make_train_loader(_Sizes(), global_batch_size=8, seed=3, host_crop=CROP,
                             process_index=process_index, process_count=process_count,
                             num_workers=num_workers)


def test_variable_size_batches_are_host_crops_seeded_by_stream_position():
    """Global stream position p = 8 b + row; its crops use default_rng([seed, p]); the
    index order is the fixed-size path's (same shuffle)."""
    source = _Sizes()
    fixed = make_train_loader(_FixedIndex(), global_batch_size=8, seed=3,
                              process_index=0, process_count=1)
    iterator, order = iter(_loader()), iter(fixed)
    for b in range(6):  # crosses an epoch boundary (40 / 8 = 5 batches per epoch)
        batch, indices = next(iterator), next(order)["image"][:, 0, 0, 0]
        assert batch["image"].shape == (8, 2, 6, 6, 3) and batch["image"].dtype == np.uint8
        for row, index in enumerate(indices):
            expected = crop_views(source[int(index)]["image"], CROP,
                                  np.random.default_rng([3, 8 * b + row]))
            np.testing.assert_array_equal(batch["image"][row], expected)
            assert batch["label"][row] == index % 2
            assert batch["index"][row] == index and batch["index"].dtype == np.int32


class _FixedIndex:
    """A fixed-size source whose image holds its own index (to read the shuffle order)."""

    info = SourceInfo("index", (1, 1, 1), 2)

    def __len__(self):
        return 40

    def __getitem__(self, i):
        return {"image": np.full((1, 1, 1), i, np.uint8), "label": np.int32(i % 2)}


def test_two_processes_together_read_the_single_process_batches():
    whole = next(iter(_loader()))
    halves = [next(iter(_loader(p, 2))) for p in range(2)]
    np.testing.assert_array_equal(np.concatenate([h["image"] for h in halves]), whole["image"])


def test_resume_from_a_saved_state_gives_identical_batches():
    iterator = iter(_loader())
    for _ in range(3):
        next(iterator)
    state = json.loads(json.dumps(iterator_state(iterator)))  # as the checkpoint stores it
    expected = [next(iterator) for _ in range(4)]
    resumed = iter(_loader())
    resumed.set_state(state)
    for want in expected:
        got = next(resumed)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_a_variable_size_source_needs_a_host_crop_and_example_record_is_cropped():
    with pytest.raises(ValueError, match="variable-size images.*host_crop"):
        make_train_loader(_Sizes(), global_batch_size=8, seed=0, process_index=0,
                          process_count=1)
    assert example_record(_Sizes(), CROP)["image"].shape == (2, 6, 6, 3)
    assert example_record(_FixedIndex(), None)["image"].shape == (1, 1, 1)


@pytest.mark.slow  # starts worker processes (seconds each on 2 shared cores)
def test_worker_processes_make_the_thread_batches_and_resume_exactly():
    threads = iter(_loader())
    expected = [next(threads) for _ in range(6)]
    workers = iter(_loader(num_workers=2))
    for want in expected[:3]:
        np.testing.assert_array_equal(next(workers)["image"], want["image"])
    state = json.loads(json.dumps(iterator_state(workers)))
    resumed = iter(_loader(num_workers=2))
    resumed.set_state(state)
    for want in expected[3:]:
        got = next(resumed)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
