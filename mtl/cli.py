"""Command-line interface: ``python -m mtl <command>``.

Commands: ``synth`` (simulate a dataset), ``inspect`` (show inferred column roles),
``train`` (train and evaluate a model), ``compare`` (weighting methods x seeds against
single-task baselines), ``sweep`` and ``curve`` (trade-offs), ``recommend`` (top-K for
a user from a saved model), ``finetune`` (add a task to a saved model), ``playground`` (weighting methods on a toy problem), ``runs``
(kept runs: list, show, rename, tag, delete, export) and ``report`` (one HTML file). Bad input prints one ``error: ...`` line on stderr and
exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, MTLError

SAMPLE_PREFIX = "sample:"


def _csv_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in _csv_list(text)]
    except ValueError:
        raise ConfigError(f"Expected comma-separated numbers, got '{text}'") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in _csv_list(text))
    except ValueError:
        raise ConfigError(f"Sizes must be comma-separated whole numbers, got '{text}'") from None


def _load_data(args):
    """``--data`` is a file path, or ``sample:NAME`` / a bare sample name."""
    from .data import load
    from .data.samples import SAMPLES, load_sample

    ref = args.data
    key = ref[len(SAMPLE_PREFIX):] if ref.startswith(SAMPLE_PREFIX) else (ref if ref in SAMPLES and not Path(ref).exists() else None)
    derive = list(getattr(args, "derive", None) or [])
    if key is not None:
        data, sample = load_sample(key, derive), SAMPLES.get(key)
    else:
        roles = {"derive": derive}
        if getattr(args, "ignore", None):
            roles["ignore"] = _csv_list(args.ignore)
        data, sample = load(ref, user_features=args.user_features, item_features=args.item_features, roles=roles), None
    if getattr(args, "text_features", None):
        from .data.text import add_text_features, parse_text_option

        data = add_text_features(data, *parse_text_option(args.text_features))
    return data, sample


# ----------------------------------------------------------------------- synth
def cmd_synth(args) -> int:
    from .data.synthetic import SimulationConfig, write_chunked

    config = SimulationConfig(n_users=args.users, n_items=args.items, n_impressions=args.impressions, seed=args.seed,
                              appeal_quality_corr=args.appeal_quality_corr, exposure=args.exposure,
                              task_noise=args.noise)
    try:
        log = write_chunked(args.out, config)  # chunk by chunk: 10M impressions in bounded memory
    except ValueError as err:
        raise ConfigError(str(err)) from None
    rates = ", ".join(f"{c} {r:.1%}" for c, r in log.rates.items())
    print(f"wrote {log.rows:,} impressions ({log.users:,} users, {log.items:,} items) to {log.path}; {rates}")
    return 0


# --------------------------------------------------------------------- inspect
def cmd_inspect(args) -> int:
    data, _ = _load_data(args)
    print(f"{data.name}: {data.n_rows:,} rows, {len(data.frame.columns)} columns")
    print(data.schema.table().to_string(index=False))
    for remark in data.schema.remarks.values():
        print(f"note: {remark}")
    print()
    print(data.label_summary().to_string(index=False))
    from .data.suggest import suggest_tasks

    suggestion = suggest_tasks(data)
    print()
    print("suggested tasks: " + ", ".join(suggestion.tasks))
    for label, why in suggestion.reasons.items():
        print(f"  {'*' if label in suggestion.tasks else '-'} {label}: {why}")
    if suggestion.hint:
        print(suggestion.hint)
    return 0


def _config(args, data, sample, **defaults):
    """The run's :class:`~mtl.train.TrainConfig`: the flags given, everything else from
    :func:`mtl.setup.suggested_config` (tasks not given are suggested, said on stderr);
    validated before anything is prepared or trained."""
    from .data.suggest import sample_tasks, suggest_tasks
    from .setup import parse_weights, suggested_config

    tasks = _csv_list(args.tasks) if args.tasks else sample_tasks(data, sample)
    if tasks is None:
        suggestion = suggest_tasks(data)
        print(f"tasks (none given, suggested): {suggestion.summary()}", file=sys.stderr)
        tasks = suggestion.tasks
    weights = getattr(args, "weights", None)
    hidden = getattr(args, "hidden", None)
    given = {flag: getattr(args, flag, None) for flag in _CONFIG_FLAGS}
    given.update({model_field: getattr(args, flag, None) for flag, model_field in _MODEL_FLAGS.items()})
    for key, value in defaults.items():
        given[key] = value if given.get(key) is None else given[key]
    config = suggested_config(data, sample, tasks=tasks, preference=parse_weights(weights) if weights else None,
                              hidden=_ints(hidden) if hidden else None, split=args.split, cutoffs=args.cutoffs,
                              split_column=args.split_column, **given)
    config.validate()
    return config


#: Flags named like the ``TrainConfig`` field they set.
_CONFIG_FLAGS = ("arch", "weighting", "epochs", "batch_size", "lr", "patience", "seed", "device", "precision",
                 "history")
#: Flags that set a ``ModelConfig`` field.
_MODEL_FLAGS = {"emb_dim": "emb_dim", "emb_sizing": "emb_sizing", "experts": "n_experts", "levels": "n_levels",
                "dropout": "dropout", "interaction": "interaction", "num_embedding": "num_embedding",
                "cross_layers": "cross_layers", "input_proj": "input_proj"}


# ----------------------------------------------------------------------- train
def print_metrics_table(result) -> None:
    """The run's test metrics per task (:func:`mtl.report.metrics_table`) as aligned text."""
    from .report import metrics_table, text_table

    print(text_table(metrics_table(result), left=2))


def cmd_train(args) -> int:
    from .data import prepare
    from .train import Done, Evaluation, Progress, Trainer
    from .train.diagnostics import auto_every
    from .train.faults import TrainingDiverged

    data, sample = _load_data(args)
    config = _config(args, data, sample)
    prepared = prepare(data, config.tasks, config.split, seed=config.seed, history=config.history)
    for w in prepared.warnings:
        print(f"warning: {w}", file=sys.stderr)
    steps = math.ceil(len(prepared.train) / config.batch_size) * config.epochs
    every = args.diagnostics_every if args.diagnostics_every is not None else auto_every(config.diagnostics_every, steps)
    config = replace(config, diagnostics_every=every)
    config.validate()
    trainer = Trainer(prepared, config)
    quiet = args.quiet or not sys.stderr.isatty()
    kinds = {t.name: t for t in prepared.tasks}
    result = None
    events = trainer.run()
    while True:
        try:
            event = next(events)
        except StopIteration:
            break
        except TrainingDiverged as err:  # nothing kept: the JSON still says what happened
            if not quiet:
                print(file=sys.stderr)  # end the progress line before the error line
            if args.json:
                _write_json(args.json, {"reason": "diverged", "fault": err.fault.to_json(), "test": {}, "valid": {},
                                        "config": config.to_dict(), "history": err.history})
            raise
        except KeyboardInterrupt:
            print("\nstopping: keeping the best model so far ...", file=sys.stderr)
            trainer.request_stop()
            continue
        if isinstance(event, Progress) and not quiet:
            print(f"\repoch {event.epoch}/{event.epochs}  {event.fraction:6.1%}  eta {event.eta:5.1f}s", end="", file=sys.stderr)
        elif isinstance(event, Evaluation):
            summary = "  ".join(f"{k} {_valid_score(kinds[k], v)}" for k, v in event.valid_metrics.items())
            print(("\r" if not quiet else "") + f"epoch {event.epoch:g}: valid {summary}{'  *' if event.best else ''}", file=sys.stderr)
        elif isinstance(event, Done):
            result = event.result
    assert result is not None
    print(f"{data.name}: {config.arch} + {config.weighting}, {result.params:,} parameters, "
          f"{result.train_seconds:.1f}s on {result.device}, best epoch {result.best_epoch:g} ({result.reason})")
    print_metrics_table(result)
    print_diagnostics(result)
    if args.json:
        _write_json(args.json, result.to_json())
    if args.save:
        result.trained.save(args.save)
        print(f"saved model to {args.save}")
    _keep(args, result, prepared, model_dir=args.save)
    if result.fault:  # the kept model is saved, stored and reported above; the run still failed
        print(f"error: {result.fault['message']}", file=sys.stderr)
        return 2
    return 0


def print_diagnostics(result) -> None:
    """What the gradient diagnostics say about conflict and dominance, in words."""
    from .train.diagnostics import explain

    cfg = result.config
    found = explain(result.diagnostics, cfg.tasks, method=cfg.weighting, conditioned=cfg.model.conditioned)
    if found.findings:
        print(f"gradient diagnostics ({len(result.diagnostics)} batches measured on the shared layers):")
        for finding in found.findings:
            print(f"  - {finding.text()}")


def _valid_score(task, m: dict) -> str:
    """A task's primary validation metric for the per-epoch line; an undefined AUC (the
    validation rows hold one class only) says so rather than showing another metric."""
    value = m.get(task.primary_metric, math.nan)
    if value == value:
        return f"{value:.4f}"
    n = int(m.get("n", 0))
    if task.kind != "binary" or not n:
        return "n/a (no labelled rows)" if not n else "n/a"
    positives = round(n * m.get("positive_rate", 0.0))
    return f"n/a ({positives:,} positive{'s' if positives != 1 else ''} in {n:,} rows)"


# ------------------------------------------------------------------- recommend
def cmd_recommend(args) -> int:
    from .export import load_model
    from .recommend import (
        check_fusion,
        contribution_column,
        damped_notes,
        fusion_signal,
        outcome_scales,
        parse_fusion,
        score_candidates,
        top_k,
    )

    trained = load_model(args.model)
    fusion = check_fusion(trained, parse_fusion(args.fusion) if args.fusion else None)
    scales = outcome_scales(trained)
    scores = score_candidates(trained, args.user)
    top = top_k(scores, fusion, args.k, exclude_seen=not args.include_seen, scales=scales)
    s = trained.schema
    # Each fused task's contribution (weight x floored z-score) sums to the score: the
    # ranking explained. Shown as "+task" to keep the table narrow.
    parts = {contribution_column(t): f"+{t}" for t in fusion}
    show = (["rank", s.item, "score", *parts] + [c for c in s.text + ["item_category"] if c in top.columns]
            + trained.task_names)
    with pd.option_context("display.max_colwidth", 48, "display.width", 250):
        print(top[list(dict.fromkeys(show))].rename(columns=parts).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("score = sum of the +task columns: each task's weight x its prediction standardized over this user's "
          "candidates (spread floored at a tenth of the outcome's scale).")
    for note in damped_notes(fusion_signal(scores, fusion, scales)):
        print(f"note: {note}")
    return 0


# -------------------------------------------------------------------- finetune
def cmd_finetune(args) -> int:
    from .export import load_model
    from .finetune import FRACTIONS, finetune

    fractions = _floats(args.label_fraction) if args.label_fraction else list(FRACTIONS)
    modes = ["frozen" if args.freeze_shared else "finetuned", "scratch"]
    trained = load_model(args.model)
    data, _ = _load_data(args)

    def progress(done: int, total: int, message: str) -> None:
        if done < total:
            print(f"[{done + 1}/{total}] {message}", file=sys.stderr)

    result = finetune(trained, data, args.task, fractions=fractions, modes=modes, epochs=args.epochs, lr=args.lr,
                      seed=args.seed, progress=progress)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"New task {result.task} ({result.kind}) on the {result.arch} model of {', '.join(result.base_tasks)}; "
          f"held-out test {result.metric}:")
    table = result.table().drop(columns=["epochs"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for sentence in result.findings():
        print(sentence)
    if args.json:
        _write_json(args.json, result.to_json())
    return 0


# ----------------------------------------------------------------------- sweep
def _write_json(path: str, doc: dict) -> None:
    from .report import json_safe

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(json_safe(doc), indent=2))


def _backend(args):
    """``--backend`` with its options, checked and connected before the data is read:
    a missing Ray or an unreachable cluster fails at once."""
    from .backends import get_backend

    ray_flags = [flag for flag, value in (("--ray-address", args.ray_address), ("--ray-cpus", args.ray_cpus),
                                          ("--ray-gpus-per-task", args.ray_gpus_per_task)) if value is not None]
    if args.backend != "ray":
        if ray_flags:
            raise ConfigError(f"{', '.join(ray_flags)} needs --backend ray")
        return get_backend(args.backend)
    backend = get_backend("ray", address=args.ray_address, num_cpus=args.ray_cpus,
                          gpus_per_task=args.ray_gpus_per_task or 0)
    backend.connect()
    if not args.quiet:
        print(f"backend: {backend.describe()}", file=sys.stderr)
    return backend


def cmd_sweep(args) -> int:
    from .data import prepare
    from .setup import MANY_MODELS_EPOCHS
    from .tradeoff import sweep, weight_grid

    data, sample = _load_data(args)
    base = _config(args, data, sample, epochs=MANY_MODELS_EPOCHS)
    if len(base.tasks) < 2:
        raise ConfigError("A sweep needs at least two tasks: --tasks a,b")
    grid = weight_grid(len(base.tasks), args.points)
    backend = _backend(args)
    prepared = prepare(data, base.tasks, base.split, seed=base.seed, history=base.history)

    def progress(done: float, n: int, message: str) -> None:
        if not args.quiet and float(done).is_integer():  # one line per training, not per progress event
            print(f"[{min(int(done) + 1, n)}/{n}] {message}", file=sys.stderr)

    result = sweep(prepared, base, grid, retrain=not args.no_retrain, conditioned=args.conditioned, progress=progress,
                   backend=backend)
    names = [t.name for t in result.tasks]
    for label, which in (("retrained", "points"), ("conditioned", "conditioned")):
        pts = getattr(result, which)
        if not pts:
            continue
        front = set(result.pareto(which))
        print(f"{label}: {len(pts)} weightings, hypervolume {result.hypervolume(which):.5f} "
              f"(reference: no-skill {', '.join(f'{v:.3f}' for v in result.reference)})")
        print("  " + "  ".join(f"{'w:' + n:>14}" for n in names) + "  " + "  ".join(f"{o:>22}" for o in result.objective_names) + "  pareto")
        for i, (p, obj) in enumerate(zip(pts, result.objectives(which))):
            print("  " + "  ".join(f"{w:>14.3f}" for w in p.weights) + "  " + "  ".join(f"{v:>22.4f}" for v in obj)
                  + ("  *" if i in front else ""))
    if result.baselines:
        print("single-task baselines: " + ", ".join(
            f"{t.name} {t.primary_metric} {result.baselines[t.name].get(t.primary_metric, math.nan):.4f}" for t in result.tasks))
    fidelity = result.fidelity()
    if fidelity:
        print("conditioned minus retrained (gain per task, + = conditioned better): " + "; ".join(
            f"{t.name} mean {np.mean([r[f'{t.name} gain'] for r in fidelity]):+.4f} "
            f"from {np.min([r[f'{t.name} gain'] for r in fidelity]):+.4f} "
            f"to {np.max([r[f'{t.name} gain'] for r in fidelity]):+.4f}" for t in result.tasks))
    response = result.response_text()
    if response:
        print(response.replace("**", ""))
    flat = result.flatness() if result.points else result.flatness("conditioned")
    if flat:
        print(flat)
    if args.json:  # with the base configuration, as a kept sweep has it: which network, which inputs
        _write_json(args.json, {**result.to_json(), "config": base.to_dict()})
    _keep(args, result, prepared, config=base)
    return 0


# --------------------------------------------------------------------- compare
def _metric_choice(text: str) -> dict[str, str]:
    out = {}
    for part in _csv_list(text):
        task, sep, metric = part.partition("=")
        if not sep or not task.strip() or not metric.strip():
            raise ConfigError(f"Metrics must look like task=metric,task=metric, got '{text}'")
        out[task.strip()] = metric.strip()
    return out


def cmd_compare(args) -> int:
    from .compare import check_methods, compare
    from .data import prepare
    from .report import network_label
    from .setup import MANY_MODELS_EPOCHS

    data, sample = _load_data(args)
    methods = _csv_list(args.methods)
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    base = _config(args, data, sample, epochs=MANY_MODELS_EPOCHS)
    if len(base.tasks) < 2:
        raise ConfigError("A comparison needs at least two tasks: --tasks a,b")
    check_methods(base, methods)  # before the data is prepared: a missing package fails fast
    metrics = _metric_choice(args.metrics) if args.metrics else None
    backend = _backend(args)
    prepared = prepare(data, base.tasks, base.split, seed=base.seed, history=base.history)
    for w in prepared.warnings:
        print(f"warning: {w}", file=sys.stderr)

    def progress(i: int, n: int, message: str) -> None:
        if not args.quiet:
            print(f"[{i + 1}/{n}] {message}", file=sys.stderr)

    result = compare(prepared, base, methods, args.seeds, metrics=metrics, progress=progress, backend=backend)
    print(f"{data.name}: {network_label(base)}, {len(result.seeds)} seed(s) ({', '.join(map(str, result.seeds))}), "
          f"test metrics as mean ± std; Δm = mean relative gain over the single-task baseline, in %")
    print_comparison_table(result)
    if args.json:
        _write_json(args.json, result.to_json())
    _keep(args, result, prepared)
    if result.error:  # the runs before the failure are in the table and the JSON
        print(f"error: {result.error}", file=sys.stderr)
        return 2
    return 0


def print_comparison_table(result) -> None:
    """The comparison as aligned text: methods in the order given, the baseline first."""
    from .report import comparison_table, text_table

    print(text_table(comparison_table(result, sort=False, label="method")))


# ----------------------------------------------------------------------- curve
def cmd_curve(args) -> int:
    from .export import load_model
    from .tradeoff import curve_for_model

    trained = load_model(args.model)
    fusion = None
    if args.fusion:
        from .recommend import parse_fusion

        fusion = parse_fusion(args.fusion)
    efficiency, relevance = _csv_list(args.efficiency), _csv_list(args.relevance)
    curve = curve_for_model(trained, efficiency, relevance, k=args.k, fusion=fusion)
    from .tradeoff.curves import derived_labels, side_conflicts

    for warning in side_conflicts(efficiency, relevance, derived_labels(trained.test_rows, efficiency + relevance,
                                                                        trained.schema.derived)):
        print(f"warning: {warning}")
    print(f"efficiency = mean {curve.efficiency[0]} in the top {curve.k}, "
          f"relevance = NDCG@{curve.k} on {' + '.join(curve.relevance)}"
          + ("" if args.k is not None else " (K chosen from the held-out rows; --k to change it)"))
    print(curve.coverage())
    table = curve.points[["alpha", "efficiency_at_k", "relevance_ndcg_at_k"]].copy()
    if curve.oracle is not None:
        table["oracle_efficiency"] = curve.oracle["efficiency_at_k"].to_numpy()
        table["oracle_relevance"] = curve.oracle["relevance_ndcg_at_k"].to_numpy()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"random ranking: efficiency {curve.random['efficiency_at_k']:.4f}, relevance {curve.random['relevance_ndcg_at_k']:.4f}")
    print(curve.finding().text())
    for note in curve.notes:
        print(note)
    if args.json:
        _write_json(args.json, curve.to_json())
    return 0


# ------------------------------------------------------------------ playground
def cmd_playground(args) -> int:
    from .playground import run_playground

    starts = [_floats(s) for s in args.start] if args.start else None
    if starts and any(len(s) != 2 for s in starts):
        raise ConfigError(f"--start takes two numbers x,y; got {', '.join(args.start)}")
    result = run_playground(_csv_list(args.methods), starts, steps=args.steps)
    for t in result.trajectories:
        print(f"{t.method:12s} from ({t.start[0]:g}, {t.start[1]:g}): losses ({t.final_loss[0]:.3f}, "
              f"{t.final_loss[1]:.3f}), {t.distance:.3f} from the Pareto front"
              f" ({'on it' if t.on_pareto else 'off it'}), {t.seconds:.2f}s")
    if args.json:
        _write_json(args.json, result.to_json())
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from .backends import available_backends
    from .data.history import DESCRIPTION as HISTORY_DESCRIPTION
    from .data.split import SPLITS
    from .models import ModelConfig, available_interactions, available_models, available_num_embeddings
    from .models.layers import EMB_SIZINGS
    from .setup import MANY_MODELS_EPOCHS, MIN_STEPS
    from .train import TrainConfig
    from .train.config import PRECISIONS
    from .train.device import DEVICES
    from .weighting import available_weightings

    d, m = TrainConfig, ModelConfig  # every default is read from the library (the fields' defaults)
    BATCH_HELP = (f"rows per optimizer step (default: the largest power of two up to {d.batch_size} that gives "
                  f"{MIN_STEPS} steps per epoch on this data)")
    WEIGHTS_HELP = ("task weights, one per task in --tasks order (1,1,2) or by name (click=1,like=2); only ratios "
                    "matter (default: equal)")

    p = argparse.ArgumentParser(prog="python -m mtl", description="MTL Trade-off Explorer command line.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="simulate a short-video feed log with known ground truth")
    s.add_argument("--out", required=True, help="output file (.csv, .csv.gz or .parquet)")
    s.add_argument("--users", type=int, default=3000)
    s.add_argument("--items", type=int, default=4000)
    s.add_argument("--impressions", type=int, default=120_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--appeal-quality-corr", type=float, default=0.2, help="correlation of click appeal and quality")
    s.add_argument("--exposure", default="personalized", help="random, popular or personalized")
    s.add_argument("--noise", type=float, default=1.0, help="task noise scale")
    s.set_defaults(func=cmd_synth)

    def data_args(q):
        q.add_argument("--data", required=True, help="CSV / CSV.gz / Parquet file, or sample:simulated|kuairand|census|goodbooks")
        q.add_argument("--user-features", help="optional user feature table (joined on the user id)")
        q.add_argument("--item-features", help="optional item feature table (joined on the item id)")
        q.add_argument("--ignore", help="comma-separated columns to leave out")
        q.add_argument("--derive", action="append", metavar="NAME=COLUMN>=VALUE",
                       help="add a 0/1 label, e.g. liked=rating>=4, long=watch_time>=30, five=rating==5; "
                            "append ',missing=negative' to count a missing value as 0 (repeatable)")
        q.add_argument("--text-features", metavar="COLUMN[:K]",
                       help="item features from a text column (e.g. title): TF-IDF + truncated SVD to K numbers "
                            "(default 16), for items never seen in training")

    def feature_args(q):
        q.add_argument("--interaction", choices=list(available_interactions()),
                       help="feature interactions for any architecture: fm (pairwise embedding dot products, "
                            f"user x item included), dcn (DCN-v2 cross network) (default: {ModelConfig.interaction})")
        q.add_argument("--num-embedding", choices=list(available_num_embeddings()),
                       help="periodic: each numeric column as a learned vector of sines and cosines "
                            f"(default: {ModelConfig.num_embedding})")
        q.add_argument("--cross-layers", type=int,
                       help=f"layers of the dcn interaction (default: {ModelConfig.cross_layers})")
        q.add_argument("--history-features", dest="history", action="store_true", default=None,
                       help=f"add {HISTORY_DESCRIPTION[0].lower()}{HISTORY_DESCRIPTION[1:]}")

    def backend_args(q):
        q.add_argument("--backend", choices=list(available_backends()), default="local",
                       help="where the trainings run: local (one after another in this process) or ray (one Ray task "
                            "per training; needs pip install 'mtl-tradeoff-explorer[ray]') (default: local)")
        q.add_argument("--ray-address", metavar="ADDR",
                       help="an existing Ray cluster (ray://head:10001, head:6379 or auto; default: RAY_ADDRESS if set, "
                            "else a Ray runtime started on this machine)")
        q.add_argument("--ray-cpus", type=int, metavar="N",
                       help="CPUs of the Ray runtime started here, one training per CPU (default: all of them)")
        q.add_argument("--ray-gpus-per-task", type=float, metavar="G",
                       help="GPUs each training asks Ray for, e.g. 1 or 0.5 (default: 0, or 1 with --device cuda)")

    def split_args(q):
        q.add_argument("--split", choices=list(SPLITS), help="default: random (samples: their suggested split)")
        q.add_argument("--cutoffs", metavar="END_TRAIN,END_VALID",
                       help="time split cut-offs: rows up to the first train, up to the second validate, the rest "
                            "test; dates (20220505, 2022-05-05) or values of the time column")
        q.add_argument("--split-column", metavar="COLUMN", help="the column the time split reads (default: the timestamp)")

    i = sub.add_parser("inspect", help="show the inferred column roles and label statistics")
    data_args(i)
    i.set_defaults(func=cmd_inspect)

    t = sub.add_parser("train", help="train a multi-task model and report held-out metrics")
    data_args(t)
    t.add_argument("--tasks", help="comma-separated label columns (default: suggested ones, see inspect)")
    t.add_argument("--weights", metavar="W1,W2|TASK=W,...", help=WEIGHTS_HELP)
    t.add_argument("--arch", choices=list(available_models()), help=f"default: {d.arch}")
    t.add_argument("--weighting", choices=list(available_weightings()),
                   help=f"task weighting (default: {d.weighting}); gradient-based methods need a shared architecture, "
                        "and some an optional install (see README)")
    t.add_argument("--epochs", type=int, help=f"default: {d.epochs} (training stops early when validation stalls)")
    t.add_argument("--batch-size", type=int, help=BATCH_HELP)
    t.add_argument("--lr", type=float, help=f"learning rate (default: {d.lr:g})")
    t.add_argument("--patience", type=int, help=f"epochs without a better validation score before stopping "
                                                f"(default: {d.patience})")
    t.add_argument("--emb-dim", type=int, help=f"embedding size (default: {m.emb_dim})")
    t.add_argument("--emb-sizing", choices=list(EMB_SIZINGS),
                   help="cardinality: smaller embeddings for columns with few values; bag: those summed into one "
                        "vector (faster; see README; "
                        f"default: {m.emb_sizing})")
    t.add_argument("--hidden", help=f"comma-separated hidden sizes (default: {','.join(map(str, m.hidden))})")
    t.add_argument("--experts", type=int, help=f"MMoE/PLE experts (default: {m.n_experts})")
    t.add_argument("--levels", type=int, help=f"PLE extraction levels (default: {m.n_levels})")
    t.add_argument("--input-proj", type=int, metavar="WIDTH",
                   help="MMoE/PLE: the experts and gates read one shared linear projection of the input this wide, "
                        f"0 = the input itself (faster on wide inputs; see README; default: {m.input_proj})")
    t.add_argument("--dropout", type=float, help=f"dropout rate in [0, 1) (default: {m.dropout:g})")
    feature_args(t)
    t.add_argument("--seed", type=int, help=f"seeds the split, the initialization and the shuffling (default: {d.seed})")
    t.add_argument("--device", choices=list(DEVICES), help=f"default: {d.device}")
    t.add_argument("--precision", choices=list(PRECISIONS),
                   help=f"bf16: bfloat16 autocast of forward passes and losses (faster on GPUs) (default: {d.precision})")
    split_args(t)
    t.add_argument("--diagnostics-every", type=int, metavar="N",
                   help="measure gradient diagnostics every N batches, 0 = off (default: about 200 per run)")
    t.add_argument("--json", help="write metrics and config as JSON to this file")
    t.add_argument("--save", help="save the trained model to this folder")
    t.add_argument("--quiet", action="store_true", help="no progress line")
    t.set_defaults(func=cmd_train)

    w = sub.add_parser("sweep", help="train across task weights: Pareto front, hypervolume, conditioned model")
    data_args(w)
    w.add_argument("--tasks", help="comma-separated label columns (at least two)")
    w.add_argument("--points", type=int, default=11, help="number of weight vectors")
    w.add_argument("--arch", choices=list(available_models()), help=f"default: {d.arch}")
    w.add_argument("--epochs", type=int, help=f"per model (default: {MANY_MODELS_EPOCHS})")
    w.add_argument("--batch-size", type=int, help=BATCH_HELP)
    w.add_argument("--lr", type=float, help=f"learning rate (default: {d.lr:g})")
    w.add_argument("--seed", type=int, help=f"seeds the split and every model (default: {d.seed})")
    w.add_argument("--device", choices=list(DEVICES), help=f"default: {d.device}")
    feature_args(w)
    split_args(w)
    w.add_argument("--conditioned", action="store_true", help="also train one preference-conditioned model and compare")
    w.add_argument("--no-retrain", action="store_true", help="only the conditioned model (with --conditioned)")
    backend_args(w)
    w.add_argument("--json", help="write points, pareto, hypervolume, conditioned and baselines as JSON")
    w.add_argument("--quiet", action="store_true")
    w.set_defaults(func=cmd_sweep)

    m = sub.add_parser("compare", help="compare weighting methods over seeds against single-task baselines (Δm)")
    data_args(m)
    m.add_argument("--tasks", help="comma-separated label columns (at least two; default for samples: theirs)")
    m.add_argument("--methods", required=True,
                   help=f"comma-separated weighting methods, from: {', '.join(available_weightings())}")
    m.add_argument("--seeds", type=int, default=3, help="runs per method, seeds --seed, --seed+1, ...")
    m.add_argument("--weights", metavar="W1,W2|TASK=W,...", help=WEIGHTS_HELP + " (the preference of methods that use one)")
    m.add_argument("--metrics", help="metric compared per task, e.g. click=auc,rating=mae (default: primary)")
    m.add_argument("--arch", choices=list(available_models()), help=f"default: {d.arch}")
    m.add_argument("--epochs", type=int, help=f"per model (default: {MANY_MODELS_EPOCHS})")
    m.add_argument("--batch-size", type=int, help=BATCH_HELP)
    m.add_argument("--lr", type=float, help=f"learning rate (default: {d.lr:g})")
    m.add_argument("--patience", type=int, help=f"default: {d.patience}")
    m.add_argument("--seed", type=int, help=f"first seed; also seeds the split (default: {d.seed})")
    m.add_argument("--device", choices=list(DEVICES), help=f"default: {d.device}")
    feature_args(m)
    split_args(m)
    backend_args(m)
    m.add_argument("--json", help="write the table, every run and the baseline as JSON")
    m.add_argument("--quiet", action="store_true", help="no progress lines")
    m.set_defaults(func=cmd_compare)

    c = sub.add_parser("curve", help="relevance-versus-efficiency curve of a saved model")
    c.add_argument("--model", required=True, help="folder written by train --save, or a zip of one")
    c.add_argument("--efficiency", required=True, help="comma-separated efficiency tasks, e.g. click")
    c.add_argument("--relevance", required=True, help="comma-separated relevance tasks, e.g. like,long_view")
    c.add_argument("--k", type=int, default=None,
                   help="top K (default: the largest K up to 10 that at least half the users have more held-out "
                        "impressions than; users with K or fewer are not counted)")
    c.add_argument("--fusion", help="current fusion weights, to mark the position on the curve")
    c.add_argument("--json", help="write the curve points as JSON")
    c.set_defaults(func=cmd_curve)

    r = sub.add_parser("recommend", help="top-K items for a user from a saved model")
    r.add_argument("--model", required=True, help="folder written by train --save, or a zip of one (Download model)")
    r.add_argument("--user", required=True, help="user id")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--fusion", help="fusion weights, e.g. like=0.7,click=0.3 (default: equal)")
    r.add_argument("--include-seen", action="store_true", help="also rank items the user already interacted with")
    r.set_defaults(func=cmd_recommend)

    f = sub.add_parser("finetune", help="add a task to a trained model and compare with training it from scratch")
    f.add_argument("--model", required=True, help="a saved model folder (train --save) or its zip")
    data_args(f)
    f.add_argument("--task", required=True, help="the new task: a label of the data the model was not trained on")
    f.add_argument("--freeze-shared", action="store_true",
                   help="keep the trained model's layers as they are (default: fine-tune them at a tenth of the "
                        "learning rate)")
    f.add_argument("--label-fraction", metavar="F[,F...]",
                   help="fraction(s) of the new task's training labels to use (default: 0.01,0.1,1)")
    f.add_argument("--epochs", type=int, default=10, help="most epochs per model (early stopping on validation)")
    f.add_argument("--lr", type=float, default=None, help="learning rate of the new tower (default: the model's)")
    f.add_argument("--seed", type=int, default=0, help="seed of the label subsets and the new layers")
    f.add_argument("--json", help="write the comparison as JSON")
    f.set_defaults(func=cmd_finetune)

    g = sub.add_parser("playground", help="weighting methods on a two-objective toy problem with a known Pareto set")
    g.add_argument("--methods", default="static,mgda,pcgrad,upgrad", help="comma-separated weighting methods")
    g.add_argument("--start", action="append", help="start point x,y in [-10, 10], e.g. --start=-8.5,7.5 (repeatable; default 0,0)")
    g.add_argument("--steps", type=int, default=250, help="optimizer steps per trajectory")
    g.add_argument("--json", help="write the Pareto front, trajectories and final points as JSON")
    g.set_defaults(func=cmd_playground)
    _store_parsers(sub, keep=(t, w, m))
    return p


# ------------------------------------------------- run store, reports, MLflow
def _keep(args, result, prepared, *, config=None, model_dir=None) -> None:
    """``--workspace`` / ``--mlflow-uri``: keep the finished (or stopped) result."""
    if not (args.workspace or args.mlflow_uri):
        return
    from .store import describe_data

    dataset = describe_data(prepared)
    if args.workspace:
        from .store import RunStore

        store = RunStore(args.workspace)
        info = store.save(result, name=args.name, tags=args.tag or (), dataset=dataset, config=config)
        print(f"kept as run {info.id} in {store.path}" + (" (with its model)" if info.has_model else ""))
    if args.mlflow_uri:
        from .tracking import log_to_mlflow

        run_id = log_to_mlflow(result, args.mlflow_uri, experiment=args.mlflow_experiment, run_name=args.name,
                               dataset=dataset, config=config, model_dir=model_dir)
        print(f"logged to MLflow at {args.mlflow_uri} (run {run_id})")


def _check_keep(args) -> None:
    """Before training: an unwritable workspace or MLflow option without MLflow fails at
    once, not after the work."""
    if getattr(args, "workspace", None):
        from .store import RunStore

        RunStore(args.workspace).check_writable()
    if getattr(args, "mlflow_uri", None):
        from .tracking import check_mlflow

        check_mlflow()


def _store(args):
    from .store import RunStore

    return RunStore(args.workspace)


def cmd_runs_list(args) -> int:
    listing = _store(args).list_runs(kind=args.kind, tag=args.tag, name=args.name)
    for note in listing.notes:
        print(f"note: {note}", file=sys.stderr)
    if listing.saving:
        print(f"note: {listing.saving} run{'s are' if listing.saving != 1 else ' is'} being saved right now and "
              "listed once written", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_json() for r in listing], indent=2))
        return 0
    if not listing.runs:
        print(f"no runs in {_store(args).path}" + (" matching the filters" if args.kind or args.tag or args.name else ""))
        return 0
    rows = [[r.id, r.kind, r.status, r.created_text, r.name, ",".join(r.tags), _headline(r)] for r in listing]
    header = ["id", "kind", "status", "created", "name", "tags", "headline"]
    widths = [max(len(h), *(len(c[i]) for c in rows)) for i, h in enumerate(header)]
    for cells in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    return 0


def _headline(info) -> str:
    s = info.summary
    if info.kind == "training":
        metrics = " ".join(f"{t} {m} {v:.4f}" for t, (m, v) in s.get("metrics", {}).items() if v is not None)
        return f"{s.get('arch')} + {s.get('weighting')}: {metrics}"
    if info.kind == "comparison":
        best = s.get("best")
        return f"best {best} (Δm {s['best_delta_m']:+.2f}%)" if best and s.get("best_delta_m") is not None else "-"
    hv = s.get("hypervolume")
    return f"{s.get('points', 0)} weightings" + (f", hypervolume {hv:.5f}" if hv is not None else "")


def cmd_runs_show(args) -> int:
    from .report import json_safe

    stored = _store(args).load(args.id)
    info = stored.info
    if args.json:
        print(json.dumps(json_safe(dict(stored.document, run=info.to_json())), indent=2))
        return 0
    print(f"{info.name}  ({info.kind}, {info.status}, {info.created_text})")
    print(f"id {info.id}" + (f"; tags {', '.join(info.tags)}" if info.tags else "")
          + (f"; data {info.data_name}" if info.data_name else "") + ("; model kept" if info.has_model else ""))
    if stored.document.get("status_reason"):
        print(f"note: {stored.document['status_reason']}")
    if info.kind == "training":
        print_metrics_table(stored.result)
        print_diagnostics(stored.result)
    elif info.kind == "comparison":
        print_comparison_table(stored.result)
    else:
        from .plots.tradeoff import front_table

        print(_headline(info))
        for which in ("points", "conditioned"):
            if getattr(stored.result, which):
                print(f"{'retrained' if which == 'points' else 'conditioned'}:")
                print(front_table(stored.result, which).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise ConfigError("Refusing to delete without confirmation: no terminal to ask on; pass --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def cmd_runs_delete(args) -> int:
    from .report import plural

    store = _store(args)
    infos = [store.get(i) for i in dict.fromkeys(args.ids)]  # every id checked before anything is deleted
    names = "; ".join(f"{i.id} ({i.name})" for i in infos)
    if not _confirm(f"Delete {plural(len(infos), 'run')} from {store.path}: {names}?", args.yes):
        print("nothing deleted")
        return 1
    for info in infos:
        store.delete(info.id)
        print(f"deleted {info.id} ({info.name})")
    return 0


def cmd_runs_rename(args) -> int:
    info = _store(args).rename(args.id, args.name)
    print(f"{info.id} is now named '{info.name}'")
    return 0


def cmd_runs_tag(args) -> int:
    if not args.add and not args.remove:
        raise ConfigError("Give tags to --add or --remove")
    info = _store(args).tag(args.id, add=args.add or (), remove=args.remove or ())
    print(f"{info.id} tags: {', '.join(info.tags) or '(none)'}")
    return 0


def cmd_runs_export(args) -> int:
    from .export import zip_model

    out = zip_model(_store(args).model_dir(args.id), args.out)
    print(f"wrote the model of run {args.id} to {out} ({out.stat().st_size / 1024**2:.1f} MB)")
    return 0


def cmd_report(args) -> int:
    from .report_html import document_report, loads_report_json, model_report, stored_report, write_report

    given = [x for x in (args.run, args.model, args.id) if x]
    if len(given) != 1:
        raise ConfigError("Give one of --run RUN.json, --model DIR (or .zip), --id RUN_ID")
    if args.run:
        try:
            text = Path(args.run).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"Cannot read {args.run}: {getattr(err, 'strerror', None) or err}") from None
        page = document_report(loads_report_json(text), title=args.title)
    elif args.model:
        from .export import load_model

        page = model_report(load_model(args.model), title=args.title)
    else:
        page = stored_report(_store(args).load(args.id))
    out = write_report(page, args.out)
    print(f"wrote {out} ({out.stat().st_size / 1024**2:.1f} MB, opens offline)")
    return 0


def _store_parsers(sub, keep) -> None:
    """The ``runs`` and ``report`` commands, and the keeping flags of train, sweep and compare."""
    from .store import ENV

    where = f"workspace folder (default: ${ENV}, else ./mtl-workspace)"
    for q in keep:
        q.add_argument("--workspace", metavar="DIR", help=f"keep the result (and model) in this {where}")
        q.add_argument("--name", help="name of the kept run (with --workspace or --mlflow-uri)")
        q.add_argument("--tag", action="append", help="tag the kept run (repeatable)")
        q.add_argument("--mlflow-uri", metavar="URI",
                       help="also log to MLflow (file:/dir, sqlite:///mlflow.db, http://host:5000); needs "
                            "pip install 'mtl-tradeoff-explorer[mlflow]'")
        q.add_argument("--mlflow-experiment", default="mtl-tradeoff-explorer", metavar="NAME")
        q.set_defaults(check=_check_keep)

    runs = sub.add_parser("runs", help="list, show, rename, tag, delete or export kept runs")
    verbs = runs.add_subparsers(dest="verb", required=True)

    def workspace(q):
        q.add_argument("--workspace", metavar="DIR", help=where)

    v = verbs.add_parser("list", help="kept runs, newest first")
    workspace(v)
    v.add_argument("--kind", choices=["training", "comparison", "sweep"])
    v.add_argument("--tag")
    v.add_argument("--name", help="part of the name (any case)")
    v.add_argument("--json", action="store_true", help="print the list as JSON")
    v.set_defaults(func=cmd_runs_list)
    v = verbs.add_parser("show", help="one run's results")
    workspace(v)
    v.add_argument("id")
    v.add_argument("--json", action="store_true", help="print the whole stored result as JSON")
    v.set_defaults(func=cmd_runs_show)
    v = verbs.add_parser("delete", help="delete runs (asks first)")
    workspace(v)
    v.add_argument("ids", nargs="+", metavar="id")
    v.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    v.set_defaults(func=cmd_runs_delete)
    v = verbs.add_parser("rename", help="give a run a new name")
    workspace(v)
    v.add_argument("id")
    v.add_argument("name")
    v.set_defaults(func=cmd_runs_rename)
    v = verbs.add_parser("tag", help="add or remove tags")
    workspace(v)
    v.add_argument("id")
    v.add_argument("--add", action="append")
    v.add_argument("--remove", action="append")
    v.set_defaults(func=cmd_runs_tag)
    v = verbs.add_parser("export", help="a run's model as a zip (recommend --model accepts it)")
    workspace(v)
    v.add_argument("id")
    v.add_argument("--out", required=True, help="the zip file to write")
    v.set_defaults(func=cmd_runs_export)

    r = sub.add_parser("report", help="one self-contained HTML report of a training, comparison or sweep")
    r.add_argument("--run", metavar="RUN.json", help="a file written by train/compare/sweep --json")
    r.add_argument("--model", metavar="DIR", help="a saved model folder (train --save) or its zip")
    r.add_argument("--id", help="a run kept in the workspace (see runs list)")
    workspace(r)
    r.add_argument("--title", help="the report's title")
    r.add_argument("--out", required=True, help="the HTML file to write")
    r.set_defaults(func=cmd_report)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "check", None) is not None:
            args.check(args)
        return args.func(args)
    except MTLError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
