"""The training loop: stepwise, observable, stoppable, reproducible.

:meth:`Trainer.run` is a generator of events (:mod:`mtl.train.events`): progress a
few times per second, a validation evaluation at least once per epoch, and a final
``Done`` carrying the :class:`TrainResult`. :meth:`Trainer.request_stop` (safe to
call from another thread) ends training within one batch; the best model so far is
kept and evaluated, exactly as after early stopping. A diverging run (non-finite or
exploding loss, collapsed predictions: :mod:`.faults`) stops the same way with reason
``"diverged"`` and a :class:`~.faults.Fault` in the result, or raises
:class:`~.faults.TrainingDiverged` when no model was evaluated before it went wrong.

Speed: all tensors are moved to the device once and batches are slices of them
(a ``DataLoader`` over a ``TensorDataset`` measured ~9x slower on a 2-core CPU).
Determinism: the seed fixes initialization, dropout and shuffling, so two CPU runs
with the same seed and thread count give bit-identical models and metrics.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch

from ..data.dataset import Part, PreparedData
from ..metrics import selection_metrics, selection_score, task_metrics
from ..models import build_model
from ..tasks import predict, task_loss, task_losses
from ..weighting import build_weighting
from .config import TrainConfig
from .device import resolve_device
from .diagnostics import GradientDiagnostics, summarize
from .events import Done, Evaluation, Event, Progress
from .faults import DivergenceMonitor, Fault, TrainingDiverged
from .latency import Latency, measure_latency
from .model_io import TrainedModel
from .optim import Adam
from .result import TrainResult

PROGRESS_INTERVAL_S = 0.25
# Building a model seeds torch's global generator and initializes the weights from
# it: two threads building at once (two browser sessions, a comparison next to a
# training run) would interleave their draws and lose reproducibility. Building is
# quick, so it is serialized.
_BUILD_LOCK = threading.Lock()
EVAL_BATCH = 16384


class Trainer:
    def __init__(self, data: PreparedData, config: TrainConfig):
        config.validate()
        if list(config.tasks) != data.task_names:
            raise ValueError(f"config tasks {config.tasks} differ from the prepared data's {data.task_names}")
        self.data = data
        # The run records the derived labels its data was built with (reproduced on load).
        derive = list(data.data.schema.derived.values())
        self.config = config if list(config.derive) == derive else replace(config, derive=derive)
        self.device = resolve_device(config.device)
        self._stop = threading.Event()
        enc = data.encoder
        with _BUILD_LOCK:
            torch.manual_seed(config.seed)
            self.model = build_model(config.arch, enc.cardinalities, len(enc.numeric_names), data.tasks, config.model)
            self.weighting = build_weighting(config.weighting, data.tasks, config.preference)
        self.conditioned = config.model.conditioned
        if self.conditioned:
            # One network for every weighting: each batch trains at task weights drawn
            # from a Dirichlet (YOTO); evaluation uses the user's own weights.
            self.model.default_pref.copy_(self.weighting.preference)
            self._pref_rng = np.random.default_rng(config.seed)
        self.model.to(self.device)
        self.weighting.to(self.device)
        params = list(self.model.parameters()) + list(self.weighting.parameters())
        self.optimizer = _adam(params, config.lr, config.weight_decay)
        self.diagnostics = GradientDiagnostics(data.task_names, config.diagnostics_every)
        self._parts = {name: self._to_device(data.part(name)) for name in ("train", "valid", "test")}

    def _to_device(self, part: Part) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return part.x_cat.to(self.device), part.x_num.to(self.device), part.y.to(self.device)

    def _sample_preferences(self, steps: int) -> torch.Tensor:
        """One epoch's task weights, a row per batch, moved to the device in one copy
        (a copy per batch would wait for the device every step). The same draws, in
        the same order, as one draw per batch."""
        w = self._pref_rng.dirichlet(np.full(len(self.data.tasks), self.config.pref_alpha), size=steps)
        return torch.as_tensor(w, dtype=torch.float32).to(self.device)

    def _autocast(self):
        """bfloat16 autocast of forward passes and losses when ``precision="bf16"``."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    # ----------------------------------------------------------------- control
    def request_stop(self) -> None:
        """Ask the loop to stop after the current batch (thread-safe)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # -------------------------------------------------------------- evaluation
    @torch.no_grad()
    def _forward_part(self, name: str, losses: bool) -> tuple[list[np.ndarray], dict[str, float]]:
        """One pass over a part: predictions per task on the label's scale and, if
        asked, the mean loss per task (what validation needs, without a second pass)."""
        self.model.eval()
        x_cat, x_num, y = self._parts[name]
        tasks = self.data.tasks
        chunks: list[list[torch.Tensor]] = [[] for _ in tasks]
        # Sums stay on the device and predictions are copied once per task at the end:
        # reading a number back per chunk would wait for the device each time.
        totals = torch.zeros(len(tasks), dtype=torch.float64, device=self.device)
        counts = torch.zeros(len(tasks), dtype=torch.float64, device=self.device)
        for a in range(0, len(x_cat), EVAL_BATCH):
            with self._autocast():
                out = self.model(x_cat[a : a + EVAL_BATCH], x_num[a : a + EVAL_BATCH]).outputs
            for j, (o, t) in enumerate(zip(out, tasks)):
                o = o.float()
                chunks[j].append(predict(t, o).float())
                if losses:
                    yb = y[a : a + EVAL_BATCH, j]
                    n = (~torch.isnan(yb)).sum()
                    # task_loss of a chunk without labels is NaN, and NaN * 0 is NaN.
                    totals[j] += torch.where(n > 0, task_loss(t, o, yb).double() * n, 0.0)
                    counts[j] += n
        preds = [torch.cat(c).cpu().numpy() for c in chunks]
        totals, counts = totals.cpu(), counts.cpu()
        mean = {t.name: float(totals[j] / counts[j]) if counts[j] else math.nan for j, t in enumerate(tasks)}
        return preds, mean

    def predict_part(self, name: str) -> list[np.ndarray]:
        """Predictions of the current model on a part, per task, on the label's scale."""
        return self._forward_part(name, losses=False)[0]

    def _metrics(self, name: str, preds: list[np.ndarray], with_groups: bool = False,
                 selection: bool = False) -> dict[str, dict[str, float]]:
        """Every metric per task, or (``selection``) what picking the best epoch needs."""
        part = self.data.part(name)
        y = part.y.numpy()
        out = {}
        for j, t in enumerate(self.data.tasks):
            truth = y[:, j]
            if t.kind == "regression":
                truth = truth * t.std + t.mean
            out[t.name] = (selection_metrics(t, truth, preds[j]) if selection
                           else task_metrics(t, truth, preds[j], part.groups if with_groups else None))
        return out

    def evaluate(self, name: str, with_groups: bool = False) -> dict[str, dict[str, float]]:
        """Per-task metrics of the current model on ``train``/``valid``/``test``."""
        return self._metrics(name, self.predict_part(name), with_groups)

    def _validate(self, monitor: DivergenceMonitor, step: int, epoch: float
                  ) -> tuple[list[np.ndarray], dict[str, dict[str, float]], dict[str, float], Fault | None]:
        """Predictions, selection metrics (:func:`~mtl.metrics.selection_metrics`) and
        losses from one pass over the validation rows, or the fault that the predictions
        show (then no metrics: they would be meaningless)."""
        preds, losses = self._forward_part("valid", losses=True)
        fault = monitor.check_predictions(preds, step, epoch)
        if fault is not None:
            return preds, {}, losses, fault
        return preds, self._metrics("valid", preds, selection=True), losses, None

    def _score(self, metrics: dict[str, dict[str, float]]) -> float:
        w = self.weighting.preference.cpu().numpy()
        scores = np.array([selection_score(t, metrics[t.name]) for t in self.data.tasks])
        return float((w * scores).sum() / w.sum())

    def measure_latency(self) -> Latency:
        """Milliseconds to score 1,000 rows with the current model (see :mod:`.latency`)."""
        x_cat, x_num, _ = self._parts["test"]
        return measure_latency(self.model, x_cat, x_num)

    # -------------------------------------------------------------------- loop
    def train_step(self, idx: torch.Tensor, pref: torch.Tensor | None = None,
                   monitor: DivergenceMonitor | None = None, global_step: int = 0, epoch: float = 0.0,
                   ) -> tuple[torch.Tensor, Fault | None]:
        """One optimizer step on the training rows ``idx``: the batch's task losses
        (CPU, float64) and the fault ``monitor`` found in them (then no step is taken)."""
        x_cat, x_num, y = self._parts["train"]
        tasks, diagnostics = self.data.tasks, self.diagnostics
        # index_select, not x[idx]: the same rows, about 8x faster on CPU (advanced
        # indexing takes a general path), and three gathers run every step.
        xc, xn, yb = x_cat.index_select(0, idx), x_num.index_select(0, idx), y.index_select(0, idx)
        with self._autocast():
            out = self.model(xc, xn, pref)
            losses = task_losses(tasks, out.outputs, yb)
        losses = losses.float()
        # Checked before the optimizer (and any weighting method) sees a NaN: the
        # one read-back per batch (the losses, in one copy), which the check needs.
        batch_losses = losses.detach().double().cpu()
        if monitor is not None:
            fault = monitor.check_batch(batch_losses, global_step, epoch, yb, xn)
            if fault is not None:
                return batch_losses, fault
        probe = diagnostics.measure(losses, out) if diagnostics.due(global_step) else None
        self.optimizer.zero_grad(set_to_none=True)
        if pref is not None:
            (pref * losses).sum().backward()
        else:
            self.weighting.backward(losses, out)
        if probe is not None:
            diagnostics.record(probe, global_step, epoch, pref if pref is not None else self.weighting.applied_weights())
        self.optimizer.step()
        if pref is None and self.weighting.needs_step_losses:
            with torch.no_grad(), self._autocast():
                again = self.model(xc, xn, None).outputs
                self.weighting.step_end(task_losses(tasks, again, yb))
        return batch_losses, None

    def run(self) -> Iterator[Event]:
        cfg, tasks = self.config, self.data.tasks
        names = [t.name for t in tasks]
        x_cat, x_num, y = self._parts["train"]
        n = len(x_cat)
        steps = max(1, math.ceil(n / cfg.batch_size))
        eval_at = sorted({math.ceil(steps * k / cfg.evals_per_epoch) for k in range(1, cfg.evals_per_epoch + 1)})
        gen = torch.Generator().manual_seed(cfg.seed)
        best_score, best_state, best_epoch, since_best = -math.inf, None, 0.0, 0
        best_valid_preds: list[np.ndarray] | None = None
        history: list[dict] = []
        start = last_progress = time.perf_counter()
        reason, epochs_run = "completed", 0.0
        diagnostics, global_step = self.diagnostics, 0
        monitor = DivergenceMonitor(list(tasks), y, self._parts["valid"][:2], cfg.lr, self.data.encoder.numeric_names)
        fault: Fault | None = None

        for epoch in range(1, cfg.epochs + 1):
            self.model.train()
            order = torch.randperm(n, generator=gen).to(self.device)
            prefs = self._sample_preferences(steps) if self.conditioned else None
            sums = torch.zeros(len(tasks), dtype=torch.float64)
            batches = 0
            for step in range(1, steps + 1):
                if self._stop.is_set():
                    break
                idx = order[(step - 1) * cfg.batch_size : step * cfg.batch_size]
                pref = prefs[step - 1] if prefs is not None else None
                global_step += 1
                batch_losses, fault = self.train_step(idx, pref, monitor, global_step, epoch - 1 + step / steps)
                if fault is not None:
                    break
                sums += batch_losses
                batches += 1
                now = time.perf_counter()
                done = ((epoch - 1) * steps + step) / (cfg.epochs * steps)
                if now - last_progress >= PROGRESS_INTERVAL_S or step == steps:
                    last_progress = now
                    elapsed = now - start
                    yield Progress(
                        epoch, cfg.epochs, step, steps, done, elapsed,
                        elapsed / done * (1 - done) if done > 0 else math.nan,
                        {nm: float(sums[j] / batches) for j, nm in enumerate(names)},
                        diagnostics.new_rows("progress"),
                    )
                if step in eval_at:
                    self.model.train(False)
                    frac_epoch = round(epoch - 1 + step / steps, 2)
                    epochs_run = frac_epoch
                    train_losses = {nm: float(sums[j] / batches) for j, nm in enumerate(names)}
                    valid_preds, valid_metrics, valid_losses, fault = self._validate(monitor, global_step, frac_epoch)
                    if fault is not None:
                        break
                    score = self._score(valid_metrics)
                    improved = score > best_score
                    if improved:
                        best_score, best_epoch, best_valid_preds = score, frac_epoch, valid_preds
                        best_state = copy.deepcopy(self.model.state_dict())
                    weights = self.weighting.applied_weights().detach().cpu().tolist()
                    history.append(_history_row(frac_epoch, train_losses, valid_losses, valid_metrics, tasks, weights))
                    new_rows = diagnostics.new_rows()
                    yield Evaluation(frac_epoch, train_losses, valid_losses, valid_metrics, score, improved,
                                     dict(zip(names, weights)), time.perf_counter() - start,
                                     summarize(new_rows), new_rows)
                    self.model.train()
            if fault is not None:
                reason = "diverged"
                break
            if self._stop.is_set():
                reason = "stopped"
                break
            self.weighting.epoch_end((sums / max(batches, 1)).float().to(self.device))
            since_best = 0 if best_epoch > epoch - 1 else since_best + 1
            if since_best >= cfg.patience:
                reason = "early stopping"
                break

        train_seconds = time.perf_counter() - start
        if fault is not None:
            if best_state is None:
                raise TrainingDiverged(fault, history)
            fault = replace(fault, kept_epoch=best_epoch)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        test = self.evaluate("test", with_groups=True)
        # All the kept model's validation metrics, from its predictions kept with it; only
        # a run stopped before its first evaluation needs a pass now.
        valid = self._metrics("valid", best_valid_preds) if best_valid_preds is not None else self.evaluate("valid")
        result = TrainResult(
            config=cfg, tasks=list(tasks), test=test, valid=valid, history=history,
            train_seconds=train_seconds, params=self.model.n_parameters(), best_epoch=best_epoch,
            epochs_run=epochs_run, stopped=reason == "stopped", reason=reason, device=str(self.device),
            diagnostics=[dict(r) for r in diagnostics.rows], fault=fault.to_json() if fault is not None else None,
        )
        result.set_latency(self.measure_latency())
        self.model.to("cpu").eval()
        result.trained = TrainedModel.from_training(self.model, self.data, cfg, result)
        yield Done(result)

    def fit(self, callback: Callable[[Event], None] | None = None) -> TrainResult:
        """Run to the end and return the result; ``callback`` sees every event."""
        for event in self.run():
            if callback is not None:
                callback(event)
            if isinstance(event, Done):
                return event.result
        raise RuntimeError("training ended without a result")  # pragma: no cover


def _adam(params, lr: float, weight_decay: float) -> Adam:
    """Adam, fused into one kernel where this PyTorch build supports it (~20% faster
    per step on CPU for embedding-heavy models), without importing ``torch._dynamo``
    (:mod:`.optim`)."""
    return Adam(params, lr=lr, weight_decay=weight_decay)


def _history_row(epoch, train_losses, valid_losses, valid_metrics, tasks, weights) -> dict:
    row: dict = {"epoch": round(epoch, 4)}
    for t, w in zip(tasks, weights):
        row[f"train_loss:{t.name}"] = train_losses[t.name]
        row[f"valid_loss:{t.name}"] = valid_losses[t.name]
        row[f"valid_{t.primary_metric}:{t.name}"] = valid_metrics[t.name].get(t.primary_metric, math.nan)
        row[f"weight:{t.name}"] = w
    return row
