"""``--distributed=auto`` joins a multi-process job that JAX's cluster detection finds."""

import jax
import pytest

from contrastive_jax import main

SLURM = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "node[1-2]", "SLURM_PROCID": "1",
         "SLURM_LOCALID": "0"}
OTHER_CLUSTER_VARS = ("OMPI_MCA_orte_hnp_uri", "KUBERNETES_SERVICE_HOST", "TPU_WORKER_HOSTNAMES",
                      "MEGASCALE_COORDINATOR_ADDRESS", *SLURM, "SLURM_NTASKS")


def _fake_cluster(name, present, count):
    def get_count():
        if isinstance(count, Exception):
            raise count
        return count
    return type(name, (), {"is_env_present": staticmethod(lambda: present),
                           "get_process_count": staticmethod(get_count)})


@pytest.fixture
def clean_env(monkeypatch):
    for name in OTHER_CLUSTER_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("ntasks,expected", [("2", "SlurmCluster"), ("1", None)])
def test_jax_detects_a_slurm_job_of_several_tasks(clean_env, ntasks, expected):
    for name, value in {**SLURM, "SLURM_NTASKS": ntasks}.items():
        clean_env.setenv(name, value)
    assert main._jax_cluster_types() is not None  # this JAX has the detection API
    assert main._cluster_detected() == expected


def test_nothing_detected_on_a_plain_machine(clean_env):
    assert main._cluster_detected() is None


def test_the_first_present_environment_decides(clean_env):
    clean_env.setattr(main, "_jax_cluster_types", lambda: [
        _fake_cluster("Absent", False, 8), _fake_cluster("Pod", True, 4),
        _fake_cluster("Later", True, 1)])
    assert main._cluster_detected() == "Pod"
    clean_env.setattr(main, "_jax_cluster_types", lambda: [
        _fake_cluster("OneHost", True, 1), _fake_cluster("Pod", True, 4)])
    assert main._cluster_detected() is None  # JAX would pick the one-process environment
    clean_env.setattr(main, "_jax_cluster_types", lambda: [
        _fake_cluster("Unreadable", True, RuntimeError("metadata server down"))])
    assert main._cluster_detected() == "Unreadable"  # jax.distributed reports the problem


def test_without_the_private_api_the_variables_are_read(clean_env):
    clean_env.setattr(main, "_jax_cluster_types", lambda: None)
    assert main._cluster_detected() is None
    clean_env.setenv("TPU_WORKER_HOSTNAMES", "a,b")
    assert main._cluster_detected() == "TPU_WORKER_HOSTNAMES"


@pytest.mark.parametrize("mode,detected,calls", [("auto", "Pod", 1), ("auto", None, 0),
                                                 ("off", "Pod", 0), ("on", None, 1)])
def test_initialize_follows_the_detection(monkeypatch, mode, detected, calls):
    made = []
    monkeypatch.setattr(main, "_cluster_detected", lambda: detected)
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: made.append(kw))
    monkeypatch.setattr(jax.config, "update", lambda *a: None)  # keep this process's collectives
    main.initialize_distributed(mode, None, None, None)
    assert len(made) == calls
    if calls:  # JAX reads the coordinator, count and id from the environment it detected
        assert made[0] == dict(coordinator_address=None, num_processes=None, process_id=None)


def test_startup_line_names_batch_per_device_processes_and_mesh():
    import ml_collections

    from configs import simclr
    from contrastive_jax.train import mesh as mesh_lib
    from contrastive_jax.train.loop import startup_line

    config = simclr.get_config("scale=tiny")
    config.batch_size, config.total_steps = 64, 4
    mesh = mesh_lib.make_mesh(ml_collections.ConfigDict(dict(data=4, fsdp=2)))
    assert startup_line(config, 26952, mesh) == (
        "simclr on mnist5k: 26,952 parameters, batch 64 over 8 device(s) (mesh {'data': 4, "
        "'fsdp': 2}), 8 per device, 1 process(es), 4 steps.")
