"""The metrics writer loads tensorboardX without importing PyTorch (a cached run's start)."""

import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import sys
    from contrastive_jax.train.loop import MetricsWriter

    writer = MetricsWriter(sys.argv[1], enabled=True, resume_step=0)
    writer.write(1, {"loss": 0.25})
    writer.close()
    assert "torch" not in sys.modules, "writing metrics imported torch"
    import torch  # still importable afterwards
    print(torch.MARK)
""")


def test_metrics_writer_does_not_import_torch(tmp_path):
    fake = tmp_path / "site" / "torch"  # a stand-in torch that every test machine has
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("MARK = 'fake torch imported'\n")
    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), REPO])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(workdir)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "fake torch imported"
    events = [name for name in os.listdir(workdir / "tensorboard") if "tfevents" in name]
    assert len(events) == 1
    assert b"loss" in (workdir / "tensorboard" / events[0]).read_bytes()
    assert (workdir / "metrics.jsonl").read_text().strip() == '{"step": 1, "loss": 0.25}'


def test_a_tensorboardX_that_needs_torch_still_loads(tmp_path):
    site = tmp_path / "site"
    for package, source in (("torch", "MARK = 'fake torch'\n"),
                            ("tensorboardX", "import torch\nSummaryWriter = torch.MARK\n")):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text(source)
    child = ("from contrastive_jax.train.loop import summary_writer_class\n"
             "print(summary_writer_class())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), REPO])}
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "fake torch"
