"""The README's published per-task quality table, produced by one command.

For each bundled dataset (simulated feed, KuaiRand-Pure, Census-Income, goodbooks)
and each seed, on the dataset's default tasks and split (``mtl.data.samples``), it
measures on the same held-out test rows:

* the **Bayes-optimal** AUC where the true probabilities are known (simulated feed);
* a **popularity** baseline: the item's label rate on the training rows, smoothed
  towards the overall rate with 10 pseudo-rows (for a numeric label, the item's mean);
  datasets without item ids (Census) have none;
* the **peer**: scikit-learn HistGradientBoosting per task on the same features with
  cross-fitted target encodings of the ids (``benchmarks/quality.py``);
* **single-task** training (one independent network per task, static weights: the
  baseline of ``mtl compare``);
* every architecture x weighting method asked for, with the app's defaults otherwise.

Each cell is the mean ± sample standard deviation over the seeds (a seed re-draws a
random split, the initialization and the batch order; KuaiRand's time split is the
same for every seed). The metric is the test AUC of a 0/1 task and the RMSE of a
numeric one (goodbooks' star rating: lower is better). *Train s* is the mean
wall-clock training time of a run (networks: all epochs with validation; the peer: all
its tasks); the load average is printed with the table, since the machine may be shared.

**Negative transfer**: for each shared model and task, the paired per-seed difference
to single-task training on the same split and seed (mean ± std); negative means the
task is worse when it shares its network with the others.

Every finished run is saved to ``--results`` (JSON) as it ends and is not run again
when the command is repeated with the same settings: a long run that is stopped
resumes where it was. ``--readme README.md`` replaces the text between the markers
``<!-- published-table:start -->`` and ``<!-- published-table:end -->`` with the
tables; without it they are printed.

Run: ``nice -n 19 .venv/bin/python benchmarks/published_table.py [--datasets census,simulated,goodbooks,kuairand]
[--archs shared_bottom,mmoe,ple] [--methods static,upgrad] [--seeds 3] [--epochs 10]
[--results published.json] [--readme README.md]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from mtl.data import prepare
from mtl.data.samples import SAMPLES, load_sample
from mtl.data.synthetic import bayes_auc
from mtl.setup import baseline_config
from mtl.train import TrainConfig, Trainer
from mtl.weighting import available_weightings, get_weighting_class

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import run_peer  # the same peer as benchmarks/quality.py

START, END = "<!-- published-table:start -->", "<!-- published-table:end -->"
BAYES, POPULARITY, PEER, SINGLE = "Bayes-optimal (true probabilities)", "popularity (item rate)", \
    "HistGradientBoosting (peer)", "single-task"
#: Pseudo-rows at the overall rate added to every item's count (smoothing for rare items).
PRIOR_ROWS = 10


def popularity(frame, item: str, train_rows, test_rows, tasks) -> dict[str, float]:
    """Each task's test metric when every row is scored by its item's smoothed training
    label rate (a numeric label: the item's smoothed mean, scored by RMSE)."""
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    out = {}
    for t in tasks:
        labelled = train[[item, t.name]].dropna()
        prior = float(labelled[t.name].mean())
        stats = labelled.groupby(item)[t.name].agg(["sum", "count"])
        rate = (stats["sum"] + PRIOR_ROWS * prior) / (stats["count"] + PRIOR_ROWS)
        scored = test[[item, t.name]].dropna()
        score = scored[item].map(rate).fillna(prior).to_numpy(dtype=float)
        truth = scored[t.name].to_numpy(dtype=float)
        out[t.name] = (float(np.sqrt(np.mean((score - truth) ** 2))) if t.kind == "regression"
                       else float(roc_auc_score(truth.astype(int), score)))
    return out


def model_label(arch: str, method: str) -> str:
    return f"{arch} · {get_weighting_class(method).display_name()}"


def summarize(records: Sequence[dict], dataset: str) -> tuple[list[str], dict[str, dict[str, list[float]]],
                                                              dict[str, list[float]]]:
    """Tasks, then model -> task -> per-seed values and model -> per-seed seconds, in
    the order models were first recorded, seeds sorted."""
    rows = sorted((r for r in records if r["dataset"] == dataset), key=lambda r: r["seed"])
    tasks: list[str] = []
    values: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, list[float]] = {}
    for r in rows:
        tasks += [t for t in r["metrics"] if t not in tasks]
        for t, v in r["metrics"].items():
            values.setdefault(r["model"], {}).setdefault(t, []).append(v)
        if r.get("seconds"):
            seconds.setdefault(r["model"], []).append(r["seconds"])
    return tasks, values, seconds


def cell(values: Sequence[float], digits: int = 4, sign: str = "") -> str:
    """Mean ± sample standard deviation; the mean alone for one seed (no spread to show)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:{sign}.{digits}f}"
    return f"{v.mean():{sign}.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def transfer(records: Sequence[dict], dataset: str) -> dict[str, dict[str, list[float]]]:
    """Shared model -> task -> per-seed difference to single-task training, signed so
    that positive is better (for RMSE: single minus shared)."""
    by_seed: dict[int, dict[str, dict]] = {}
    kinds: dict[str, str] = {}
    for r in records:
        if r["dataset"] == dataset:
            by_seed.setdefault(r["seed"], {})[r["model"]] = r["metrics"]
            kinds.update(r.get("kinds", {}))
    out: dict[str, dict[str, list[float]]] = {}
    for seed in sorted(by_seed):
        models = by_seed[seed]
        if SINGLE not in models:
            continue
        for model, metrics in models.items():
            if model in (BAYES, POPULARITY, PEER, SINGLE):
                continue
            for t, v in metrics.items():
                sign = -1.0 if kinds.get(t) == "regression" else 1.0
                out.setdefault(model, {}).setdefault(t, []).append(sign * (v - models[SINGLE][t]))
    return out


def markdown(records: Sequence[dict], datasets: Sequence[str], note: str) -> str:
    """The tables for the README: quality per dataset, then negative transfer."""
    parts = [note, ""]
    for key in datasets:
        tasks, values, seconds = summarize(records, key)
        if not tasks:
            continue
        kinds = {t: k for r in records if r["dataset"] == key for t, k in r.get("kinds", {}).items()}
        seeds = sorted({r["seed"] for r in records if r["dataset"] == key})
        heads = [f"{t} ({'RMSE' if kinds.get(t) == 'regression' else 'AUC'})" for t in tasks]
        title = f"{SAMPLES[key].title} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
        parts.append(f"| {title} | " + " | ".join(heads) + " | train s |")
        parts.append("|---" * (len(tasks) + 2) + "|")
        best = {}
        for t in tasks:
            learned = {m: np.mean(v[t]) for m, v in values.items() if t in v and m != BAYES}
            best[t] = (min if kinds.get(t) == "regression" else max)(learned, key=learned.get)
        for model, per_task in values.items():
            cells = []
            for t in tasks:
                text = cell(per_task[t]) if t in per_task else ""
                cells.append(f"**{text}**" if best.get(t) == model else text)
            secs = f"{np.mean(seconds[model]):.0f}" if model in seconds else ""
            parts.append(f"| {model} | " + " | ".join(cells) + f" | {secs} |")
        parts.append("")
    parts.append("Negative transfer: each shared model's test metric minus single-task training's, paired by "
                 "seed (mean ± std over seeds, the value alone for one seed; positive = sharing helps, for RMSE the sign is flipped; **bold**: worse "
                 "than single-task on average).")
    parts.append("")
    parts.append("| dataset | model | task | vs single-task |")
    parts.append("|---|---|---|---|")
    for key in datasets:
        for model, per_task in transfer(records, key).items():
            for t, diffs in per_task.items():
                text = cell(diffs, sign="+")
                worse = round(float(np.mean(diffs)), 4) < 0  # visibly negative at the digits shown
                parts.append(f"| {key} | {model} | {t} | {f'**{text}**' if worse else text} |")
    return "\n".join(parts) + "\n"


def write_readme(path: str, text: str) -> None:
    """Replace what lies between the markers (kept) with ``text``."""
    readme = Path(path).read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"error: {path} has no {START} ... {END} markers to write the table between")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(path).write_text(f"{head}{START}\n{text}{END}{tail}")


def load(path: str | None, settings: dict) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    data = json.loads(Path(path).read_text())
    if data.get("settings") != settings:
        raise SystemExit(f"error: {path} holds runs made with other settings ({data.get('settings')}); "
                         "pass another --results file or delete it")
    return data["records"]


def save(path: str | None, settings: dict, records: list[dict]) -> None:
    if path:
        Path(path).write_text(json.dumps({"settings": settings, "records": records}, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="census,simulated,goodbooks,kuairand")
    ap.add_argument("--archs", default="shared_bottom,mmoe,ple")
    ap.add_argument("--methods", default="static,upgrad")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1")
    ap.add_argument("--epochs", type=int, default=10, help="at most (early stopping on the validation split)")
    ap.add_argument("--results", default="published_table.json", help="finished runs (resumed from)")
    ap.add_argument("--readme", help="write the tables between the markers of this file")
    ap.add_argument("--no-train", action="store_true", help="only write the tables of the runs saved so far")
    args = ap.parse_args()
    datasets, archs, methods = (args.datasets.split(","), args.archs.split(","), args.methods.split(","))
    unknown = [d for d in datasets if d not in SAMPLES] + [m for m in methods if m not in available_weightings()]
    if unknown:
        raise SystemExit(f"error: unknown dataset or method: {', '.join(unknown)}")
    settings = {"epochs": args.epochs}
    records = load(args.results, settings)
    done = {(r["dataset"], r["seed"], r["model"]) for r in records}
    started = time.perf_counter()

    def record(key, seed, model, metrics, seconds, kinds):
        records.append({"dataset": key, "seed": seed, "model": model, "metrics": metrics,
                        "seconds": round(seconds, 2), "kinds": kinds, "load": round(os.getloadavg()[0], 1)})
        save(args.results, settings, records)
        print(f"  {key} seed {seed} {model:<34}" + "".join(f"{v:>9.4f}" for v in metrics.values())
              + f"{seconds:>8.1f}s  (load {records[-1]['load']}, {time.perf_counter() - started:.0f}s so far)",
              flush=True)

    # Seed by seed over the datasets, so that a run stopped early has every dataset on its first seeds.
    for seed in range(0 if args.no_train else args.seeds):
        for key in datasets:
            models = [SINGLE] + [model_label(a, m) for a in archs for m in methods]
            if all((key, seed, m) in done for m in models):
                continue
            sample = SAMPLES[key]
            data = load_sample(key)
            split = replace(sample.split, seed=seed)
            prepared = prepare(data, list(sample.tasks), split, seed=seed)
            names, kinds = prepared.task_names, {t.name: t.kind for t in prepared.tasks}
            base = TrainConfig(tasks=names, epochs=args.epochs, seed=seed, split=split, device="cpu")
            if data.schema.oracle and (key, seed, BAYES) not in done:
                test = data.frame.iloc[prepared.test.rows]
                bayes = {n: bayes_auc(test, n) for n in names if f"true_{n}" in data.schema.oracle}
                record(key, seed, BAYES, bayes, 0.0, kinds)
            if data.schema.item and (key, seed, POPULARITY) not in done:
                record(key, seed, POPULARITY, popularity(data.frame, data.schema.item, prepared.train.rows,
                                                         prepared.test.rows, prepared.tasks), 0.0, kinds)
            if (key, seed, PEER) not in done:
                record(key, seed, PEER, *run_peer(prepared, seed), kinds)
            runs = [(SINGLE, baseline_config(base))] + [
                (model_label(a, m), replace(base, arch=a, weighting=m)) for a in archs for m in methods]
            for label, cfg in runs:
                if (key, seed, label) in done:
                    continue
                result = Trainer(prepared, cfg).fit()
                metrics = {n: result.test[n][prepared.tasks[j].primary_metric] for j, n in enumerate(names)}
                record(key, seed, label, metrics, result.train_seconds, kinds)

    loads = [r["load"] for r in records if r["dataset"] in datasets and "load" in r] or [os.getloadavg()[0]]
    planned = len(datasets) * args.seeds * (1 + len(archs) * len(methods))
    trained = sum(r["model"] == SINGLE or " · " in r["model"] for r in records if r["dataset"] in datasets)
    note = (f"Produced by `benchmarks/published_table.py --seeds {args.seeds} --epochs {args.epochs} --archs "
            f"{args.archs} --methods {args.methods}` (at most {args.epochs} epochs, early stopping on validation; "
            f"defaults otherwise) on {time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} CPU cores, load "
            f"average {min(loads):.1f}-{max(loads):.1f} while it ran: {trained} of the {planned} networks planned "
            "have finished" + ("." if trained >= planned else
                               " (the command resumes from the saved runs; rows with fewer seeds are partial)."))
    text = markdown(records, datasets, note)
    if args.readme:
        write_readme(args.readme, text)
        print(f"wrote the tables into {args.readme}")
    else:
        print("\n" + text)


if __name__ == "__main__":
    main()
