"""The train-throughput benchmark runs end to end in its smoke version (no timing is asserted)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*flags):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.train_throughput", "--quick", *flags],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


QUICK_BATCH = {"convnet": 32, "resnet18": 8}  # the --quick models' batch sizes


def _check_model(result, *, torch, model="convnet"):
    assert result["batch_size"] == QUICK_BATCH[model] and result["num_params"] > 1000
    sides = ("jax", "torch") if torch else ("jax",)
    for side in sides:
        assert len(result["images_per_s"][side]) == 2
        assert all(v > 0 for v in result["images_per_s"][side])
        assert result["compile_s"][side] > 0
        assert result["peak_rss_mib"][side] > 100  # a process that imported its framework
    assert len(result["loadavg_1min"]) == 3
    if torch:
        assert result["jax_over_torch_ratio"] > 0 and len(result["ratio_per_round"]) == 2


def _have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def test_quick_convnet_step():
    report = _run("--models=convnet", "--no_loop", "--no_torch")
    assert report["quick"] and report["jax"] and list(report["models"]) == ["convnet"]
    _check_model(report["models"]["convnet"], torch=False)
    assert "jax_over_torch_ratio" not in report and "loop" not in report


@pytest.mark.slow
def test_quick_benchmark_against_torch_if_installed_with_resnet_and_the_main_loop():
    have_torch = _have_torch()
    report = _run("--models=convnet,resnet18", *([] if have_torch else ["--no_torch"]))
    for model in ("convnet", "resnet18"):
        _check_model(report["models"][model], torch=have_torch, model=model)
    assert ("jax_over_torch_ratio" in report) == have_torch
    loop = report["loop"]
    assert loop["main_steps_per_s"][0] > 0 and loop["bare_steps_per_s"][0] > 0
    assert report["loop_over_bare_ratio"] == loop["loop_over_bare_ratio"] > 0


# torchvision's ResNet-18 / ResNet-50 (ImageNet stem, "v1.5") without the 1000-way classifier:
# 11,689,512 - (512 * 1000 + 1000) and 25,557,032 - (2048 * 1000 + 1000) parameters.
TORCHVISION_ENCODER_PARAMS = {"resnet18": 11_176_512, "resnet50": 23_508_032}


@pytest.mark.parametrize("name", sorted(TORCHVISION_ENCODER_PARAMS))
def test_imagenet_stem_resnets_have_torchvisions_parameter_count(name):
    """The 224-px models of the GPU run: the library's encoder and the benchmark's PyTorch one
    both match the published count, so the two sides train the same network."""
    import jax
    from flax import nnx

    from contrastive_jax.models import resnet

    build = getattr(resnet, name)
    model = nnx.eval_shape(lambda: build(in_shape=(224, 224, 3), stem="imagenet",
                                         rngs=nnx.Rngs(0)))
    count = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert count == TORCHVISION_ENCODER_PARAMS[name]
    if _have_torch():
        from benchmarks import train_throughput

        net = train_throughput.torch_model(f"{name}_224", False, (224, 224, 3))
        encoder = net[0]
        assert sum(p.numel() for p in encoder.parameters()) == TORCHVISION_ENCODER_PARAMS[name]
