"""What is learnable on the bundled simulated sample: ceilings between the peer and the Bayes optimum.

The Bayes-optimal AUC (``true_<task>`` against the labels) assumes every user's taste,
every video's position, appeal and quality, and the simulator's coefficients are known.
A model has to learn the hidden traits from the log: about 32 training impressions per
user and 24 per video (random 80/10/10 split). This benchmark measures how much of the
peer-to-Bayes gap the labels can teach, with *oracle-structure* learners: the
simulator's exact functional form and coefficients (:mod:`mtl.data.synthetic`), its
true prior over the hidden traits, and a MAP fit (full-batch L-BFGS) of the traits that
are not given, on the training rows:

* ``known items``: every video's position, appeal and quality given; each user's taste
  vector and click and like biases fitted from click, like and long view (the user
  side of the gap);
* ``known users``: every user's taste and biases given; each video's traits fitted;
* ``nothing known``: both sides fitted together (a correctly specified matrix
  factorization with the true priors), from the three labels, then also from the
  watch time and rating of the clicked rows;
* ``nothing known (..., exposure)``: the same, with the exposure log's likelihood
  added: each training impression is the feed's pick, a softmax of the standardized
  taste match against ``sim._N_CANDIDATES - 1`` uniform rivals at the feed's
  temperature, mixed with its uniform exploration share (the simulator's exact
  exposure story). This bounds what *any* reading of which videos each user was shown
  can add to the labels.

The hidden world is rebuilt from the sample's seed and sizes with the simulator's own
random streams, and checked against the file's ``true_*`` columns (to their 4 decimals)
before anything is measured.

The first four learners read the labels only, not *which* videos each user was shown.
The personalized feed picks them by taste, so the exposure log is evidence too: the peer
and our networks then run on the same splits with and without the user-history features
of :mod:`mtl.data.history` (``prepare(history=True)``), which read it, so every row reads
against the same Bayes and peer numbers. The summary gives each model's share of the
peer-to-Bayes gap closed. Results (3 seeds) are in the README, "Interaction blocks and
numeric embeddings".

Run: ``.venv/bin/python benchmarks/simulated_ceiling.py [--seeds 3] [--no-ceilings]
[--ceilings TEXT] [--features plain,history] [--networks none,periodic] [--no-peer]
[--json out.json]`` (``--ceilings exposure`` runs only the learners whose label holds
the text; about 1 minute per seed for the label-only ceilings, 2 to 4 for each exposure
ceiling and 3 for the models on a 2-core machine)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's mtl, not an installed one

from mtl.data import synthetic as sim
from mtl.data.samples import load_sample
from mtl.data.split import SplitSpec, split_indices

#: The bundled sample's settings (sample_data/simulated/README.md, "How it was generated").
SAMPLE_CONFIG = sim.SimulationConfig(n_users=3000, n_items=4000, n_impressions=120_000, seed=7)
TASKS = ("click", "like", "long_view")


# ------------------------------------------------------------------ the hidden world
def hidden_world(cfg: sim.SimulationConfig) -> dict[str, np.ndarray | float]:
    """The hidden traits :func:`mtl.data.synthetic.simulate` draws for ``cfg``: the same
    random streams in the same order (topics, users, items), without the impressions."""
    n_u, n_i, n_cat, d = cfg.n_users, cfg.n_items, cfg.n_categories, cfg.latent_dim
    rho = float(cfg.appeal_quality_corr)
    streams = np.random.SeedSequence(int(cfg.seed)).spawn(7)
    rng_topic, rng_user, rng_item = (np.random.default_rng(s) for s in streams[:3])
    centres = rng_topic.standard_normal((n_cat, d))
    share = rng_topic.lognormal(0.0, 0.4, n_cat)
    cat = rng_item.choice(n_cat, size=n_i, p=share / share.sum())
    item_vec = (centres[cat] + 0.7 * rng_item.standard_normal((n_i, d))) / math.sqrt(1.49)
    appeal = rng_item.standard_normal(n_i)
    quality = rho * appeal + math.sqrt(max(0.0, 1.0 - rho * rho)) * rng_item.standard_normal(n_i)
    mix = rng_user.dirichlet(np.full(n_cat, 0.3), size=n_u)
    user_vec = 1.5 * (mix @ centres) + 0.6 * rng_user.standard_normal((n_u, d))
    rng_user.lognormal(0.0, 0.8, n_u)  # activity: drawn here, so the biases after it match
    click_bias = 0.5 * rng_user.standard_normal(n_u)
    like_bias = 0.5 * rng_user.standard_normal(n_u)
    pu, pi = rng_user.integers(0, n_u, 4096), rng_user.integers(0, n_i, 4096)
    raw = np.einsum("ij,ij->i", user_vec[pu], item_vec[pi])
    sigma = float(cfg.task_noise)
    return dict(centres=centres, cat=cat, item_vec=item_vec, appeal=appeal, quality=quality,
                user_vec=user_vec, click_bias=click_bias, like_bias=like_bias,
                m_mean=float(raw.mean()), m_std=float(raw.std()), flatten=sim._flatten(sigma),
                watch_scale=sim._WATCH_SCALE * sim._flatten(0.5 * sigma / sim._WATCH_SCALE))


class Structure(torch.nn.Module):
    """The simulator's outcome model with the hidden traits as parameters: P(click),
    P(like | click), P(long view | click) of (user, item) pairs. Traits that are given
    are buffers; fitted ones are parameters with the true prior's negative log density
    as their penalty (:meth:`prior`)."""

    def __init__(self, world: dict, fit_users: bool, fit_items: bool, cfg: sim.SimulationConfig):
        super().__init__()
        self.w = world
        f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)
        n_cat, d = world["centres"].shape
        # Prior of a video's position given its (observed) topic: centre / sqrt(1.49), sd 0.7 / sqrt(1.49).
        self.v_prior_mean = f(world["centres"][world["cat"]] / math.sqrt(1.49))
        self.v_prior_sd = 0.7 / math.sqrt(1.49)
        # Prior of a taste vector: a Gaussian with the mixture's moments (1.5 Dirichlet(0.3) mix of
        # the centres plus N(0, 0.36)), estimated from a large draw of the generative story.
        rng = np.random.default_rng(0)
        draws = 1.5 * (rng.dirichlet(np.full(n_cat, 0.3), 200_000) @ world["centres"]) \
            + 0.6 * rng.standard_normal((200_000, d))
        self.u_prior_mean = f(draws.mean(0))
        self.u_prior_prec = f(np.linalg.inv(np.cov(draws.T)))
        self.rho = float(cfg.appeal_quality_corr)
        init = {
            "user_vec": self.u_prior_mean.expand(len(world["user_vec"]), -1).clone(),
            "click_bias": torch.zeros(len(world["user_vec"]), dtype=torch.float64),
            "like_bias": torch.zeros(len(world["user_vec"]), dtype=torch.float64),
            "item_vec": self.v_prior_mean.clone(),
            "appeal": torch.zeros(len(world["cat"]), dtype=torch.float64),
            "quality": torch.zeros(len(world["cat"]), dtype=torch.float64),
        }
        self.fitted = []
        for name, start in init.items():
            fitted = fit_users if name in ("user_vec", "click_bias", "like_bias") else fit_items
            if fitted:
                self.register_parameter(name, torch.nn.Parameter(start))
                self.fitted.append(name)
            else:
                self.register_buffer(name, f(world[name]))

    def logits(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        w = self.w
        match = ((self.user_vec[users] * self.item_vec[items]).sum(1) - w["m_mean"]) / w["m_std"]
        a, q = self.appeal[items], self.quality[items]
        click = (sim._CLICK_INTERCEPT + self.click_bias[users] + sim._CLICK_APPEAL * a
                 + sim._CLICK_MATCH * match) / w["flatten"]
        like = (sim._LIKE_INTERCEPT + self.like_bias[users] + sim._LIKE_QUALITY * q + sim._LIKE_MATCH * match
                + sim._LIKE_APPEAL * a) / w["flatten"]
        long_view = (sim._WATCH_INTERCEPT + sim._WATCH_QUALITY * q + sim._WATCH_MATCH * match
                     - math.log(sim.LONG_VIEW_SECONDS)) / w["watch_scale"]
        return click, like, long_view

    def prior(self) -> torch.Tensor:
        """The fitted traits' negative log prior density (up to a constant)."""
        out = torch.zeros((), dtype=torch.float64)
        if "user_vec" in self.fitted:
            du = self.user_vec - self.u_prior_mean
            out = out + 0.5 * ((du @ self.u_prior_prec) * du).sum()
            out = out + 0.5 * (self.click_bias.pow(2).sum() + self.like_bias.pow(2).sum()) / 0.25
        if "item_vec" in self.fitted:
            out = out + 0.5 * ((self.item_vec - self.v_prior_mean) / self.v_prior_sd).pow(2).sum()
            out = out + 0.5 * self.appeal.pow(2).sum()
            out = out + 0.5 * (self.quality - self.rho * self.appeal).pow(2).sum() / (1 - self.rho ** 2)
        return out


#: Rating noise sd at the sample's task noise (synthetic.py: 0.4 s logistic-as-sd-1 + 0.7 normal).
def _rating_sd(cfg: sim.SimulationConfig) -> float:
    return math.sqrt(0.49 + 0.16 * float(cfg.task_noise) ** 2)


def fit_structure(model: Structure, rows: dict[str, torch.Tensor], use: frozenset[str] = frozenset(),
                  steps: int = 150) -> Structure:
    """MAP of the fitted traits on the training rows (full-batch L-BFGS): click on every
    row, like and long view given a click on the clicked rows; with ``use={"watch"}``,
    also the log-logistic watch time and the ordinal rating of the clicked rows (what the
    per-id statistics of watch_time and rating carry)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    w = model.w
    users, items, click = rows["user_id"], rows["item_id"], rows["click"]
    clicked = click > 0.5
    cu, ci = users[clicked], items[clicked]
    log_watch = torch.log(rows["watch_time"][clicked])
    top, bottom = rows["watch_time"][clicked] >= 900.0, rows["watch_time"][clicked] <= 1.0
    rating = rows["rating"][clicked].long()
    cuts = torch.as_tensor(np.r_[-np.inf, sim._RATING_CUTS, np.inf], dtype=torch.float64)
    rating_sd = _rating_sd(SAMPLE_CONFIG)
    normal = torch.distributions.Normal(0.0, 1.0)
    if "exposure" in use:
        # The feed's pick: the shown video against sim._N_CANDIDATES - 1 uniform rivals (one draw of the
        # candidate set, fixed for the fit), a softmax of the standardized match at the feed's
        # temperature, mixed with the uniform exploration share.
        g = torch.Generator().manual_seed(0)
        rivals = torch.randint(0, len(w["cat"]), (len(users), sim._N_CANDIDATES - 1), generator=g)
        cand = torch.cat([items[:, None], rivals], 1)
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=steps, history_size=20,
                            tolerance_grad=1e-7, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        c, lk, lv = model.logits(users, items)
        loss = (bce(c, click, reduction="sum") + bce(lk[clicked], rows["like"][clicked], reduction="sum")
                + bce(lv[clicked], rows["long_view"][clicked], reduction="sum") + model.prior())
        if "watch" in use:
            match = ((model.user_vec[cu] * model.item_vec[ci]).sum(1) - w["m_mean"]) / w["m_std"]
            q = model.quality[ci]
            mu = sim._WATCH_INTERCEPT + sim._WATCH_QUALITY * q + sim._WATCH_MATCH * match
            z = (log_watch - mu) / w["watch_scale"]
            logsig = torch.nn.functional.logsigmoid
            # Censored at the 1 s and 900 s caps, a log-logistic density in between.
            ll = torch.where(top, logsig(-z), torch.where(bottom, logsig(z), logsig(z) + logsig(-z)))
            latent = 0.9 * q + 0.5 * match
            hi = normal.cdf((cuts[rating] - latent) / rating_sd)
            lo = normal.cdf((cuts[rating - 1] - latent) / rating_sd)
            loss = loss - ll.sum() - torch.log((hi - lo).clamp_min(1e-12)).sum()
        if "exposure" in use:
            score = (torch.bmm(model.item_vec[cand], model.user_vec[users][:, :, None]).squeeze(2) - w["m_mean"]) \
                / (w["m_std"] * sim._PERSONALIZED_TEMPERATURE)
            pick = torch.softmax(score, 1)[:, 0] * sim._N_CANDIDATES
            loss = loss - torch.log((1 - sim._EXPLORATION) * pick + sim._EXPLORATION).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return model


def structure_scores(model: Structure, users, items) -> dict[str, np.ndarray]:
    """Unconditional probabilities of the three labels (like and long view need a click)."""
    with torch.no_grad():
        c, lk, lv = (torch.sigmoid(t) for t in model.logits(users, items))
    return {"click": c.numpy(), "like": (c * lk).numpy(), "long_view": (c * lv).numpy()}


def check_world(world: dict, frame, rows: np.ndarray | None = None) -> float:
    """Largest difference between the rebuilt world's click probability and ``true_click``."""
    model = Structure(world, False, False, SAMPLE_CONFIG)
    t = lambda c: torch.as_tensor(frame[c].to_numpy().copy(), dtype=torch.long)
    got = structure_scores(model, t("user_id"), t("item_id"))
    worst = 0.0
    for task in TASKS:
        worst = max(worst, float(np.abs(got[task] - frame[f"true_{task}"].to_numpy()).max()))
    return worst


def auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y.astype(int), score))


#: The learners: (label, users fitted, items fitted, information used beyond the three labels).
LEARNERS = (
    ("known items, users fitted (labels)", True, False, frozenset()),
    ("known users, items fitted (labels)", False, True, frozenset()),
    ("nothing known (labels)", True, True, frozenset()),
    ("nothing known (labels, watch time, rating)", True, True, frozenset({"watch"})),
    ("nothing known (labels, exposure)", True, True, frozenset({"exposure"})),
    ("nothing known (labels, watch time, rating, exposure)", True, True, frozenset({"watch", "exposure"})),
)


def ceilings(world: dict, frame, train: np.ndarray, test: np.ndarray, only: str | None = None):
    """(label, test AUC per task, seconds) of each oracle-structure learner."""
    def column(c: str, rows: np.ndarray) -> torch.Tensor:
        kind = torch.long if c.endswith("_id") else torch.float64
        return torch.as_tensor(np.nan_to_num(frame[c].to_numpy(dtype=float)[rows], nan=1.0), dtype=kind)

    train_rows = {c: column(c, train) for c in ("user_id", "item_id", *TASKS, "watch_time", "rating")}
    te_u, te_i = column("user_id", test), column("item_id", test)
    labels = {task: frame[task].to_numpy()[test] for task in TASKS}
    for label, fit_users, fit_items, use in LEARNERS:
        if only and only not in label:
            continue
        start = time.perf_counter()
        model = fit_structure(Structure(world, fit_users, fit_items, SAMPLE_CONFIG), train_rows, use)
        scores = structure_scores(model, te_u, te_i)
        yield ("ceiling: " + label, {task: auc(labels[task], scores[task]) for task in TASKS},
               time.perf_counter() - start)


# ------------------------------------------------------------------ peer and networks
def learned_models(data, seed: int, feature_sets: list[str], networks: list[str], peer: bool, epochs: int):
    """Test AUC of the peer and of shared-bottom networks (``networks``: quality.py
    variants) on the seed's split, with the plain features and with the user-history
    features (:mod:`mtl.data.history`)."""
    from dataclasses import replace

    sys.path.insert(0, str(Path(__file__).parent))
    from quality import run_peer, variant_config

    from mtl.data import prepare
    from mtl.data.samples import SAMPLES
    from mtl.train import TrainConfig, Trainer

    split = replace(SAMPLES["simulated"].split, seed=seed)
    train, _, _ = split_indices(len(data.frame), split)
    out = {}
    for features in feature_sets:
        prepared = prepare(data, list(TASKS), split, seed=seed, history=features == "history")
        assert np.array_equal(prepared.train.rows, train)
        tag = "" if features == "plain" else f" + {features}"
        if peer:
            scores, seconds = run_peer(prepared, seed)
            out["HistGradientBoosting peer" + tag] = (scores, seconds)
        for variant in networks:
            model = variant_config(variant)
            cfg = TrainConfig(tasks=list(TASKS), arch="shared_bottom", epochs=epochs, seed=seed, split=split,
                              device="cpu", model=model, history=features == "history")
            result = Trainer(prepared, cfg).fit()
            out[f"network [{variant}]" + tag] = ({n: result.test[n]["auc"] for n in TASKS}, result.train_seconds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--no-ceilings", action="store_true", help="skip the oracle-structure learners")
    ap.add_argument("--ceilings", help="only the oracle-structure learners whose label contains this text")
    ap.add_argument("--features", default="plain,history", help="feature sets for the peer and networks: plain, history")
    ap.add_argument("--networks", default="none", help="quality.py variants of a shared-bottom network ('' for none)")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--json", help="write every number (per seed) to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_sample("simulated")
    frame = data.frame
    world = hidden_world(SAMPLE_CONFIG)
    worst = check_world(world, frame)
    if worst > 6e-5:  # the file keeps 4 decimals
        raise SystemExit(f"error: the rebuilt hidden world does not reproduce true_* (off by {worst:.2g}); "
                         "the simulator or the sample changed")
    print(f"hidden world rebuilt: true_* reproduced to {worst:.1e}", flush=True)
    records: list[dict] = []
    rows: dict[str, dict[str, list[float]]] = {}

    def record(seed: int, label: str, aucs: dict, seconds: float | None = None) -> None:
        records.append({"seed": seed, "model": label, "auc": aucs, "seconds": seconds})
        for n in TASKS:
            rows.setdefault(label, {}).setdefault(n, []).append(aucs[n])
        secs = f"{seconds:>8.1f}s" if seconds is not None else ""
        print(f"  seed {seed} {label:<52}" + "".join(f"{aucs[n]:>9.4f}" for n in TASKS) + secs, flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(records, f, indent=1)

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        train, valid, test = split_indices(len(frame), SplitSpec("random", seed=seed))
        test_frame = frame.iloc[test]
        record(seed, "Bayes-optimal (true probabilities)",
               {n: auc(test_frame[n].to_numpy(), test_frame[f"true_{n}"].to_numpy()) for n in TASKS})
        if not args.no_ceilings:
            for label, aucs, seconds in ceilings(world, frame, train, test, args.ceilings):
                record(seed, label, aucs, seconds)
        networks = [v for v in args.networks.split(",") if v]
        for label, (aucs, seconds) in learned_models(data, seed, [f for f in args.features.split(",") if f], networks,
                                                     not args.no_peer, args.epochs).items():
            record(seed, label, aucs, seconds)
    summary(rows)


def summary(rows: dict[str, dict[str, list[float]]]) -> None:
    """Mean ± sd per model and task, and the share of the peer-to-Bayes gap closed."""
    bayes = {n: np.mean(rows["Bayes-optimal (true probabilities)"][n]) for n in TASKS}
    peer = rows.get("HistGradientBoosting peer")
    print(f"\n{'model':<54}" + "".join(f"{n:>26}" for n in TASKS))
    for label, per_task in rows.items():
        cells = []
        for n in TASKS:
            v = np.asarray(per_task[n])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            closed = (f" {(v.mean() - np.mean(peer[n])) / (bayes[n] - np.mean(peer[n])):+4.0%}"
                      if peer and label != "HistGradientBoosting peer" else "")
            cells.append(f"{v.mean():.4f} ± {sd:.4f}{closed}".rjust(26))
        print(f"{label:<54}" + "".join(cells))
    print("(mean ± sd over seeds; %: share of the peer-to-Bayes gap closed, negative = below the peer)")


if __name__ == "__main__":
    main()
