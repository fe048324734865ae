"""The training loop: data, state, restore, step, logs, evaluation, checkpoints, summary.

Reads top to bottom like big_vision's trainers, as small functions: build the mesh and the
parts, create the state already sharded (shapes via ``jax.eval_shape`` first), restore the
newest good checkpoint with the data iterator's position, then step, log, evaluate and save.
All file writes of a run happen here or in ``train.checkpoint``; only process 0 writes logs.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import tempfile
import time

import jax
import ml_collections
import numpy as np
from etils import epath
from tqdm import tqdm

from contrastive_jax.data.pipeline import example_record, make_train_loader, restore_iterator
from contrastive_jax.train import build, final_eval, mesh as mesh_lib, optim, outputs
from contrastive_jax.train import workdir as workdir_lib
from contrastive_jax.train.checkpoint import Checkpointer
from contrastive_jax.train.grad_cache import check_grad_cache
from contrastive_jax.train.graph_eval import check_graph_mesh, make_evaluation
from contrastive_jax.train.prefetch import DevicePrefetch
from contrastive_jax.train.state import count_params, plan_train_state
from contrastive_jax.train.stages import make_stage_hook
from contrastive_jax.train.step import make_train_step

log = logging.getLogger(__name__)

WALL_TIME_KEY = "wall_time_s"  # in the checkpoint's data item: seconds spent up to that step


def prepare_dataset(name: str, data_dir: str | None) -> None:
    """``dataset.download=True``: download and prepare a ``tfds:<name>`` data set first."""
    from contrastive_jax.data.tfds_source import download_and_prepare

    download_and_prepare(name, data_dir)


class NonFiniteLossError(RuntimeError):
    """The loss or a gradient became NaN/Inf and ``config.nonfinite == "stop"``."""


class NonFiniteGuard:
    """``nonfinite=stop`` without a host sync every step.

    The step counts skipped updates in ``state.skipped_steps`` on the device. ``record`` keeps
    the (device) metrics of each step since the last check; ``check`` reads that one counter
    (at log steps and before every checkpoint) and, if it grew, raises
    ``NonFiniteLossError`` naming the first bad step and its metrics. So the run stops at the
    next log or checkpoint step, no checkpoint is written after a bad step, and the bad step's
    update was never applied. ``nonfinite=skip`` records nothing and never raises.
    """

    def __init__(self, policy: str, state, checkpointer: Checkpointer):
        self.stop = policy == "stop"
        self._checkpointer = checkpointer
        self._pending: list[tuple[int, dict]] = []
        self._skipped = int(mesh_lib.to_host(state.skipped_steps)) if self.stop else 0

    def record(self, step: int, metrics: dict) -> None:
        if self.stop:
            self._pending.append((step, metrics))

    def check(self, state) -> None:
        if not self.stop:
            return
        pending, self._pending = self._pending, []
        if int(mesh_lib.to_host(state.skipped_steps)) == self._skipped:
            return
        for step, metrics in pending:
            if not int(mesh_lib.to_host(metrics["finite"])):
                raise NonFiniteLossError(_nonfinite_message(step, metrics, self._checkpointer))
        raise NonFiniteLossError(  # not reached: every step since the last check is pending
            f"Non-finite loss or gradient at a step up to {pending[-1][0] if pending else '?'}.")


class Preempted(RuntimeError):
    """SIGTERM or SIGINT arrived; a checkpoint of the current step was saved."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class StopSignals:
    """Turns SIGTERM/SIGINT into a flag checked between steps (the step itself is not torn)."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def __enter__(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        self.received = signum

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def summary_writer_class():
    """tensorboardX's ``SummaryWriter``, imported without importing PyTorch.

    tensorboardX's ``writer`` module imports torch whenever it is installed, only to accept
    torch tensors (type hints; this library passes Python floats). Where torch is installed but
    not yet imported, that import costs every run's start 2.2-2.7 s on a 2-core CPU running one
    other job (benchmarks/README.md, compile cache). So while tensorboardX loads, ``import
    torch`` is made to fail (tensorboardX catches it), and afterwards torch imports as usual.
    """
    if "torch" in sys.modules or "tensorboardX" in sys.modules:
        from tensorboardX import SummaryWriter
        return SummaryWriter
    sys.modules["torch"] = None  # `import torch` raises ImportError while this is set
    try:
        from tensorboardX import SummaryWriter
    except ImportError:  # a tensorboardX that needs torch: import it the ordinary way below
        SummaryWriter = None
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    if SummaryWriter is None:
        for name in [m for m in sys.modules if m.split(".")[0] == "tensorboardX"]:
            del sys.modules[name]  # the partly imported package
        from tensorboardX import SummaryWriter
    return SummaryWriter


class MetricsWriter:
    """``metrics.jsonl`` (one JSON object per logged step) and TensorBoard events.

    A local workdir gets each row appended as it is logged. A remote one (``gs://...``: object
    stores cannot append) gets the whole file rewritten at every ``flush`` (each checkpoint
    and the end), and TensorBoard writes its events in a local directory that ``flush``
    copies to ``<workdir>/tensorboard``.
    """

    def __init__(self, workdir: str, *, enabled: bool, resume_step: int):
        self.enabled = enabled
        self.path = epath.Path(workdir) / "metrics.jsonl"
        self.remote = not workdir_lib.is_local(workdir)
        self.rows: list[dict] = []
        if not enabled:
            return
        if self.path.exists():
            # Rows past the restored step were written by the interrupted run and will be
            # produced again: drop them so the file reads like one uninterrupted run.
            lines = filter(str.strip, self.path.read_text().splitlines())
            self.rows = [row for row in map(json.loads, lines) if row.get("step", 0) <= resume_step]
            self._rewrite()
        SummaryWriter = summary_writer_class()
        self._tb_dir = epath.Path(workdir) / "tensorboard"
        self._tb_local = tempfile.mkdtemp(prefix="tensorboard_") if self.remote else str(self._tb_dir)
        self._tb = SummaryWriter(self._tb_local)

    def _rewrite(self) -> None:
        self.path.write_text("".join(json.dumps(row) + "\n" for row in self.rows))

    def write(self, step: int, scalars: dict) -> None:
        if not self.enabled:
            return
        row = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
        self.rows.append(row)
        if not self.remote:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        for key, value in scalars.items():
            self._tb.add_scalar(key, float(value), int(step))

    def flush(self) -> None:
        """Make a remote workdir's files current (a no-op for a local workdir)."""
        if not (self.enabled and self.remote):
            return
        self._rewrite()
        self._tb.flush()
        workdir_lib.copy_files(self._tb_local, self._tb_dir)

    def close(self) -> None:
        if self.enabled:
            self._tb.close()
            self.flush()
            if self.remote:
                shutil.rmtree(self._tb_local, ignore_errors=True)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Train ``config`` in ``workdir`` (resuming whatever is there), then evaluate; returns the
    summary written to ``summary.json``.

    Every check (config, workdir, devices, data, state, checkpoint shapes) runs before anything
    is written; ``config.json`` is recorded with the first checkpoint, so a rejected command
    leaves the workdir as it was.

    Continuing with another ``total_steps`` (e.g. a finished 300-step run re-run with 600):
    the learning-rate schedule is always the one for the current ``total_steps``, evaluated at
    the global step, so the run ends exactly as a run started with 600 steps would schedule
    it; the lr at the resume step jumps to that schedule's value (a warning names both values).
    ``summary.json``'s ``wall_time_s`` adds up every invocation: the time up to the restored
    checkpoint (stored in it) plus this process's.
    """
    start_time = time.time()
    build.validate_config(config)
    is_main = jax.process_index() == 0
    workdir_lib.check_writable(workdir)
    saved_config = workdir_lib.check_config(config, workdir)

    mesh = mesh_lib.make_mesh(config.mesh)
    check_graph_mesh(config, mesh)
    mesh_lib.check_batch_divisible(config.batch_size, mesh)
    if config.dataset.get("download", False):
        prepare_dataset(config.dataset.name, config.dataset.get("data_dir") or None)
    parts = build.build_parts(config, workdir)
    optimizer, schedule = optim.make_optimizer(config.optimizer, config.total_steps)
    loader = make_train_loader(parts.train_source, global_batch_size=config.batch_size,
                               seed=config.seed, host_crop=parts.host_crop)
    data_iter = iter(loader)

    graphdef, abstract_state, state_sharding, create_state = plan_train_state(
        parts.method, optimizer, example_record(parts.train_source, parts.host_crop), mesh,
        fsdp_min_size=config.mesh.get("fsdp_min_size", 2**14), compute_dtype=config.dtype)
    checkpointer = Checkpointer(epath.Path(workdir) / "checkpoints",
                                max_to_keep=config.checkpoint.max_to_keep)
    try:
        restored = checkpointer.restore_latest(abstract_state)
    except Exception:
        checkpointer.close()
        raise
    prior_wall_time = 0.0
    if restored is None:
        state = create_state(jax.random.key(config.seed))
        start_step = 0
    else:
        start_step, state, data_state = restored
        prior_wall_time = float(data_state.pop(WALL_TIME_KEY, 0.0))
        restore_iterator(data_iter, data_state)
        if is_main:
            print(f"Resuming {workdir} from step {start_step}.", flush=True)
            _warn_schedule_change(saved_config, config, start_step, schedule)
    if is_main:
        print(startup_line(config, count_params(state.params), mesh), flush=True)

    batch_sharding = mesh_lib.batch_sharding(mesh)
    chunk_size = int(config.get("grad_cache", {}).get("chunk_size", 0) or 0)
    if chunk_size:
        check_grad_cache(parts.method, chunk_size, config.batch_size)
    train_step = make_train_step(
        graphdef=graphdef, method=parts.method, optimizer=optimizer, schedule=schedule,
        seed=config.seed, state_sharding=state_sharding, batch_sharding=batch_sharding,
        metrics_sharding=mesh_lib.replicated(mesh), grad_cache_chunk_size=chunk_size)
    evaluator = make_evaluation(parts, graphdef, config.eval, mesh=mesh)
    writer = MetricsWriter(workdir, enabled=is_main, resume_step=start_step)
    stage_hook = make_stage_hook(parts.method, evaluator, parts.train_source, graphdef=graphdef,
                                 state_sharding=state_sharding)  # None unless multi-stage (MCL)

    recorded = []  # config.json is written once, with the first checkpoint of this process

    def record_config():
        if is_main and not recorded:
            workdir_lib.write_config(config, workdir)
        recorded.append(True)

    def save(step, consumed_data_state):
        record_config()
        data_state = {**consumed_data_state,
                      WALL_TIME_KEY: prior_wall_time + time.time() - start_time}
        checkpointer.save(step, state, data_state)
        writer.flush()

    step = start_step
    refresh_due = getattr(parts.method, "refresh_due", lambda step: False)
    batches = DevicePrefetch(data_iter, batch_sharding)
    guard = NonFiniteGuard(config.nonfinite, state, checkpointer)
    window_start, window_step = time.perf_counter(), start_step
    progress = tqdm(total=config.total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                    disable=not (is_main and config.progress_bar), desc="train")
    try:
        with StopSignals() as signals:
            while step < config.total_steps:
                if refresh_due(step):
                    state = refresh_method_state(parts.method, state, evaluator,
                                                 parts.train_source, state_sharding)
                state, metrics = train_step(state, next(batches))
                step += 1
                if stage_hook is not None:
                    state = stage_hook(state, step)
                guard.record(step, metrics)
                progress.update(1)
                if step % config.log_every_steps == 0 or step == config.total_steps:
                    guard.check(state)
                    scalars, skipped = mesh_lib.to_host((metrics, state.skipped_steps))
                    scalars["skipped_steps"] = int(skipped)
                    now = time.perf_counter()
                    scalars["steps_per_second"] = (step - window_step) / max(now - window_start, 1e-9)
                    if step % config.eval.every_steps == 0:
                        scalars.update(evaluator.online_metrics(state))
                    writer.write(step, scalars)
                    progress.set_postfix(loss=f"{float(scalars['loss']):.4f}", refresh=False)
                    window_start, window_step = time.perf_counter(), step
                if step % config.checkpoint.every_steps == 0 or step == config.total_steps:
                    guard.check(state)
                    save(step, batches.consumed_state)
                if signals.received is not None:
                    guard.check(state)
                    save(step, batches.consumed_state)
                    name = signal.Signals(signals.received).name
                    raise Preempted(
                        f"{name} received: saved a checkpoint at step {step} in {workdir}. "
                        f"Re-run the same command to resume from step {step}.", signals.received)
    finally:
        progress.close()
        writer.close()
        checkpointer.close()

    skipped = int(mesh_lib.to_host(state.skipped_steps))  # the whole run's, not this process's
    record_config()
    initial_state = create_state(jax.random.key(config.seed)) if config.eval.final_baselines else None
    # wall_time_s counts the invocations before the restored checkpoint too.
    summary = evaluator.final(state, config, start_time=start_time - prior_wall_time,
                              initial_state=initial_state,
                              skipped_steps=skipped, resumed_from_step=start_step)
    if is_main:
        outputs.write_outputs(workdir, summary, writer.rows, evaluator)
    return summary


def refresh_method_state(method, state, evaluator, train_source, state_sharding):
    """``state`` with the method state the method's host-side ``refresh_state`` computes from
    the current model (e.g. the dual encoder's hard negatives, mined from the training split
    embedded in eval mode), placed with the state's shardings. Called before the step when
    ``method.refresh_due(step)``; the result is part of the checkpointed state, so a resumed
    run continues with it."""
    embed = lambda method_fn, input_key: evaluator.embed_split(state, method_fn, input_key,
                                                              "train")
    method_state = method.refresh_state(state.method_state, embed, train_source)
    return state.replace(method_state=jax.device_put(method_state,
                                                     state_sharding.method_state))


def startup_line(config, num_params: int, mesh) -> str:
    """The run's one start-up line: what trains, how the batch is spread, for how long."""
    processes = jax.process_count()
    return (f"{config.method.name} on {config.dataset.name}: {num_params:,} parameters, batch "
            f"{config.batch_size} over {mesh.size} device(s) (mesh {dict(mesh.shape)}), "
            f"{config.batch_size // mesh.size} per device, {processes} process(es), "
            f"{config.total_steps} steps.")


def _warn_schedule_change(saved_config: dict | None, config, start_step: int, schedule) -> None:
    """Print one line when ``total_steps`` changed since the run's ``config.json``: the
    learning-rate schedule follows the new total, so the lr at ``start_step`` changes."""
    old_total = (saved_config or {}).get("total_steps")
    if old_total is None or old_total == config.total_steps:
        return
    old_opt = ml_collections.ConfigDict(saved_config.get("optimizer") or config.optimizer.to_dict())
    old_lr = float(optim.learning_rate_schedule(old_opt, int(old_total))(start_step))
    new_lr = float(schedule(start_step))
    print(f"warning: total_steps changed from {old_total} to {config.total_steps}: the "
          f"learning-rate schedule is now the one for {config.total_steps} steps, so at step "
          f"{start_step} the learning rate goes from {old_lr:.3g} to {new_lr:.3g}.", flush=True)


def _nonfinite_message(step: int, metrics: dict, checkpointer: Checkpointer) -> str:
    values = {k: float(v) for k, v in mesh_lib.to_host(metrics).items() if np.ndim(v) == 0}
    terms = ", ".join(f"{k}={v:.4g}" for k, v in sorted(values.items()) if k != "finite")
    last = checkpointer.latest_step()
    where = (f"the last good checkpoint (step {last}) is intact" if last is not None
             else "no checkpoint was written yet")
    return (f"Non-finite loss or gradient at step {step} ({terms}); the update was not applied "
            f"and {where}. Lower the learning rate or raise the temperature, or pass "
            f"--config.nonfinite=skip to skip such steps and count them.")
