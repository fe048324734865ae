"""Workdir I/O through ``etils.epath`` on a non-local URI.

``gs://`` is served here by an in-memory fsspec filesystem registered under the ``gs``/``gcs``
protocols, the route epath takes for ``gs://`` when TensorFlow is absent (its fsspec backend;
the fixture makes epath take it even where TensorFlow is installed).
So these tests exercise the same calls a real bucket gets, without a network. Orbax checkpoints
are not covered by this fake: orbax writes arrays to ``gs://`` through TensorStore's own GCS
driver, which bypasses fsspec.
"""

import json
import os

import fsspec
import pytest
from etils import epath
from fsspec.implementations.memory import MemoryFileSystem

from configs import simclr
from contrastive_jax.train import workdir as workdir_lib
from contrastive_jax.train.loop import MetricsWriter


class FakeBucket(MemoryFileSystem):
    protocol = ("gs", "gcs")
    store: dict = {}
    pseudo_dirs = [""]

    def __init__(self, *args, finalize_on_close=False, **kwargs):  # gcsfs's keyword
        super().__init__(*args, **kwargs)


@pytest.fixture
def bucket(monkeypatch):
    # With TensorFlow installed, epath serves gs:// through tf.io.gfile (real GCS); the fake
    # is an fsspec filesystem, epath's route without TensorFlow.
    from etils.epath import gpath

    monkeypatch.setattr(gpath, "_is_tf_installed", lambda: False)
    saved = {name: fsspec.registry.get(name) for name in FakeBucket.protocol}
    for name in FakeBucket.protocol:
        fsspec.register_implementation(name, FakeBucket, clobber=True)
    FakeBucket.store.clear()
    FakeBucket.pseudo_dirs[:] = [""]
    FakeBucket.clear_instance_cache()
    yield "gs://bucket/runs/exp"
    FakeBucket.store.clear()
    for name, cls in saved.items():
        if cls is not None:
            fsspec.register_implementation(name, cls, clobber=True)


def _files(prefix):
    return sorted(key for key in FakeBucket.store if key.startswith(prefix))


def test_fake_bucket_is_what_epath_uses(bucket):
    (epath.Path(bucket) / "x").write_text("1")
    assert _files("gs://bucket/runs/exp") == ["gs://bucket/runs/exp/x"]
    assert not os.path.exists("gs:") and not os.path.exists(bucket)


def test_check_writable_leaves_nothing_and_refuses_a_file(bucket):
    workdir_lib.check_writable(bucket)
    assert epath.Path(bucket).is_dir() and _files(bucket) == []
    (epath.Path(bucket) / "file").write_text("keep")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        workdir_lib.check_writable(bucket + "/file")


def test_config_round_trip_and_refusal(bucket):
    config = simclr.get_config("scale=tiny")
    assert workdir_lib.check_config(config, bucket) is None
    workdir_lib.write_config(config, bucket)
    assert _files(bucket) == [bucket + "/config.json"]  # no temporary file left behind
    saved = json.loads(FakeBucket.store[bucket + "/config.json"].getvalue())
    assert saved == json.loads(workdir_lib.config_to_json(config))
    assert workdir_lib.check_config(config, bucket) == saved
    config.method.temperature = 0.9
    with pytest.raises(ValueError, match="method.temperature: 0.2 -> 0.9"):
        workdir_lib.check_config(config, bucket)


def test_local_staging_copies_files_over(bucket, tmp_path):
    with workdir_lib.local_staging(bucket + "/plots") as local:
        assert os.path.isdir(local)
        with open(os.path.join(local, "a.png"), "wb") as f:
            f.write(b"\x89PNG")
    assert not os.path.exists(local)  # the staging directory is removed
    assert FakeBucket.store[bucket + "/plots/a.png"].getvalue() == b"\x89PNG"
    with workdir_lib.local_staging(tmp_path / "plots") as local:  # a local target is used as is
        assert local == str(tmp_path / "plots")


def test_metrics_on_a_remote_workdir_appear_at_flush_and_resume_drops_later_rows(bucket):
    writer = MetricsWriter(bucket, enabled=True, resume_step=0)
    for step in (1, 2, 3):
        writer.write(step, {"loss": 1.0 / step})
    assert bucket + "/metrics.jsonl" not in FakeBucket.store  # object stores cannot append
    writer.flush()
    rows = [json.loads(l) for l in epath.Path(bucket, "metrics.jsonl").read_text().splitlines()]
    assert rows == [{"step": s, "loss": 1.0 / s} for s in (1, 2, 3)]
    writer.close()
    events = _files(bucket + "/tensorboard/")
    assert len(events) == 1 and "tfevents" in events[0]
    assert len(FakeBucket.store[events[0]].getvalue()) > 0

    resumed = MetricsWriter(bucket, enabled=True, resume_step=2)
    assert [row["step"] for row in resumed.rows] == [1, 2]
    resumed.write(3, {"loss": 0.5})
    resumed.close()
    text = epath.Path(bucket, "metrics.jsonl").read_text()
    assert [json.loads(l)["step"] for l in text.splitlines()] == [1, 2, 3]


@pytest.mark.slow
def test_main_run_on_a_remote_workdir(bucket, tmp_path, monkeypatch):
    """The whole command on ``gs://``: config, metrics, TensorBoard, summary and plots land in
    the bucket, and a re-run resumes from it. Checkpoints go to a local directory here (orbax
    writes ``gs://`` arrays through TensorStore's GCS driver, which this fake cannot serve)."""
    from contrastive_jax.main import run
    from contrastive_jax.train import loop
    from contrastive_jax.train.checkpoint import Checkpointer

    monkeypatch.setattr(loop, "Checkpointer",
                        lambda directory, **kw: Checkpointer(tmp_path / "checkpoints", **kw))
    config = simclr.get_config("scale=tiny")
    config.progress_bar = False
    config.eval.final_linear_probe = False
    config.eval.final_baselines = False
    assert run(config, bucket) == 0
    names = {key[len(bucket) + 1:] for key in _files(bucket)}
    assert {"config.json", "metrics.jsonl", "summary.json", "plots/loss.png",
            "plots/embedding.png"} <= names
    assert any(name.startswith("tensorboard/events.out.tfevents") for name in names)
    rows = epath.Path(bucket, "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == list(range(1, config.total_steps + 1))
    summary = json.loads(epath.Path(bucket, "summary.json").read_text())
    assert summary["steps"] == config.total_steps

    config.total_steps += 2  # continue the run: config.json in the bucket must match
    assert run(config, bucket) == 0
    rows = epath.Path(bucket, "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == list(range(1, config.total_steps + 1))
