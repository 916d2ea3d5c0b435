"""Lesson: the Pareto front of two task weights, and one preference-conditioned model.

On a feed where the click (appeal) and the like (quality) are anti-correlated,
:func:`mtl.tradeoff.sweep` retrains a model at three click/like weightings (the front)
and trains one preference-conditioned model that takes the weights as an input. The
control is the conditioned model's click weight: it is evaluated there without
retraining. Everything the sentence claims about it is measured from the run: its
signed gain over each retrain, how far it moves across the weightings against how
far the retrains move (:meth:`~mtl.tradeoff.SweepResult.response`), and how much
retraining alone moves a point (the middle weighting retrained with the next seed),
the noise any difference must exceed. The effect is the front's extent: the smaller
of the two tasks' AUC ranges across the retrained weightings, measured in the
direction of the trade (more click weight, better click; more like weight, better
like). Positive means the front exists.

Measured (seeds 0-2, 5 epochs): the retrains' front is mostly a matter of training
budget, not of the network. The weakly weighted task barely trains in 5 epochs and
its head reads features learned for the other, anti-correlated task, so it ranks
below chance (AUC 0.37-0.41); with 20 epochs the equal-weight retrain reaches about
the conditioned model's AUCs. The conditioned model trains every task at a large
weight in some batches, so it is good at both everywhere and barely moves with its
weights (by 0.001-0.006 AUC). The lesson says so instead of claiming a trade-off.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..data.split import SplitSpec
from ..plots import style
from ..tradeoff import sweep, sweep_steps, weight_grid
from ..train import TrainConfig, Trainer
from . import Control, Lesson, LessonView, register, report
from ._common import SMALL, feed, prepared

SCENARIO = dict(n_users=500, n_items=1000, n_impressions=16_000, exposure="random", click_gate=False,
                appeal_quality_corr=-0.9, like_offset=1.5, match_strength=0.3, task_noise=0.5)
TASKS = ["click", "like"]
#: Three retrained weightings (and two single-task baselines) draw the front; the 24k-row,
#: five-point version took twice as long for the same picture.
POINTS = 3
EPOCHS = 5


@register
class Pareto(Lesson):
    name = "pareto"
    title = "Pareto front and a preference-conditioned model"
    effect_label = "extent of the front: the smaller task's AUC range across weightings"
    text = (
        "**Weighting the tasks differently gives different models: the best compromises form a front.** "
        f"On this feed clicks and likes are anti-correlated. {POINTS} models are retrained, each with different "
        "click/like weights; each is a point (its click AUC and like AUC on held-out data). The points that no "
        "other point beats on both tasks form the **Pareto front**: along it, gaining on one task costs the "
        "other. The dotted lines are the single-task baselines, the grey lines chance (AUC 0.5): a point left of "
        "or below them ranks worse than a coin.\n\n"
        "Retraining once per weighting is slow. A **preference-conditioned** model takes the weights as an input "
        "and is trained once for all weightings (the orange curve). Move the slider: its point moves to that "
        "weighting instantly, without retraining. Whether it follows the retrains, and whether it trades off at "
        "all, is measured below, against how much retraining the same weighting with another seed moves a point."
    )
    control = Control(
        label="Click weight of the conditioned model (the like gets the rest)",
        options=tuple(round(a, 2) for a in np.linspace(0.05, 0.95, 19)), default=0.5, retrains=False,
        help="Evaluates the conditioned model at this weighting on the held-out rows; no retraining.",
    )

    def train(self, value=None, seed: int = 0, progress=None) -> dict:
        df = feed(TASKS, seed=seed, **SCENARIO)
        data = prepared(df, TASKS, seed, fractions=(0.5, 0.15, 0.35))
        base = TrainConfig(tasks=TASKS, arch="shared_bottom", epochs=EPOCHS, batch_size=512, lr=3e-3, patience=2,
                           seed=seed, diagnostics_every=0, model=SMALL, split=SplitSpec("random", seed=seed))

        def tick(step: int, total: int, message: str) -> None:
            report(step / max(total, 1), message, progress)

        grid = weight_grid(2, POINTS)
        total = sweep_steps(POINTS, conditioned=True) + 1  # the sweep's trainings, then the noise retrain
        result = sweep(data, base, grid, retrain=True, conditioned=True, baselines=True,
                       progress=lambda step, _, message: tick(step, total, message))
        # Retraining noise: the middle weighting again with the next seed (same split, so
        # only initialization and batch order differ).
        middle = grid[len(grid) // 2]
        tick(total - 1, total, "retraining the middle weighting with another seed (the noise)")
        again = Trainer(data, replace(base, seed=seed + 1, preference=dict(zip(TASKS, middle)))).fit()
        return {"sweep": result, "seed": seed, "noise": {"weights": list(middle), "test": again.test},
                "seconds": result.retrain_seconds + result.conditioned_train_seconds}

    def effect(self, trained: dict) -> float:
        obj = trained["sweep"].objectives()  # rows in weight_grid order: click weight from high to low
        click_range = obj[0, 0] - obj[-1, 0]
        like_range = obj[-1, 1] - obj[0, 1]
        return float(min(click_range, like_range))

    def view(self, trained: dict, value) -> LessonView:
        import plotly.graph_objects as go

        res = trained["sweep"]
        obj, cond = res.objectives(), res.objectives("conditioned")
        front = sorted(res.pareto(), key=lambda i: obj[i, 0])
        w = float(value)
        here = res.explorer.quick_metrics([w, 1 - w])
        hx, hy = here["click"]["auc"], here["like"]["auc"]
        weights = [p.weights for p in res.points]
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=obj[:, 0], y=obj[:, 1], mode="markers", name="retrained at fixed weights",
                                 marker={"size": 10, "color": style.FRONT},
                                 text=[f"click {a:.2f} / like {b:.2f}" for a, b in weights],
                                 hovertemplate="%{text}<br>click AUC %{x:.3f}<br>like AUC %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=obj[front, 0], y=obj[front, 1], mode="lines", name="Pareto front (retrained)",
                                 line={"color": style.FRONT}))
        fig.add_trace(go.Scatter(x=cond[:, 0], y=cond[:, 1], mode="lines+markers", name="one conditioned model",
                                 line={"color": style.CONDITIONED, "dash": "dash"}, marker={"size": 6}))
        fig.add_trace(go.Scatter(x=[hx], y=[hy], mode="markers", name=f"conditioned at click weight {w:.2f}",
                                 marker={"size": 16, "symbol": "circle-open", "color": style.CURRENT, "line": {"width": 3}}))
        # Chance (AUC 0.5) drawn and always in view: a retrain can rank worse than a coin.
        xs, ys = [*obj[:, 0], *cond[:, 0], hx, 0.5], [*obj[:, 1], *cond[:, 1], hy, 0.5]
        fig.add_vline(x=0.5, line_color=style.NEUTRAL, line_width=1, annotation_text="chance",
                      annotation_position="top right")
        fig.add_hline(y=0.5, line_color=style.NEUTRAL, line_width=1, annotation_text="chance",
                      annotation_position="top right")
        if res.baselines:
            bx, by = res.baselines["click"]["auc"], res.baselines["like"]["auc"]
            fig.add_vline(x=bx, line_dash="dot", line_color=style.BASELINE, annotation_text="click alone", annotation_position="bottom left")
            fig.add_hline(y=by, line_dash="dot", line_color=style.BASELINE, annotation_text="like alone", annotation_position="bottom left")
            xs.append(bx)
            ys.append(by)

        def span(v):
            lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
            pad = 0.1 * max(hi - lo, 1e-3)
            return [lo - pad, hi + pad]
        fig.update_layout(xaxis_title="click: test AUC", yaxis_title="like: test AUC", xaxis_range=span(xs),
                          yaxis_range=span(ys), **style.layout(height=430))
        click_range, like_range = obj[0, 0] - obj[-1, 0], obj[-1, 1] - obj[0, 1]
        fid = pd.DataFrame(res.fidelity())
        gap = float(np.nanmean(fid[[c for c in fid.columns if "|Δ" in c]].to_numpy())) if len(fid) else float("nan")
        gains = {t: float(np.nanmean(fid[f"{t} gain"])) if len(fid) else float("nan") for t in TASKS}
        response = res.response()
        spreads = {t: response["tasks"][t]["spread"] for t in TASKS}
        ratio = res.retrain_seconds / max(res.conditioned_train_seconds, 1e-9)
        noise = _noise(res, trained["noise"])
        sentence = " ".join([
            _front_sentence(weights, click_range, like_range),
            _below_chance(res),
            f"Retraining the weighting {_pair(trained['noise']['weights'])} with another seed moves its click AUC "
            f"by {noise['click']:.3f} and its like AUC by {noise['like']:.3f}: differences smaller than that are "
            "retraining noise.",
            f"The one conditioned model trained in {res.conditioned_train_seconds:.1f} s against "
            f"{res.retrain_seconds:.1f} s for the {len(weights)} retrains ({ratio:.1f}x less time). On average it is "
            + " and ".join(f"{gains[t]:+.3f} {t} AUC" for t in TASKS)
            + " from the retrain at the same weights (+: better)"
            + (", beyond the retraining noise." if any(abs(gains[t]) > noise[t] for t in TASKS) else
               ", within the retraining noise."),
            _response_sentence(response, spreads, res),
            f"At click weight {w:.2f} it gives click {hx:.3f}, like {hy:.3f}.",
        ])
        table = pd.DataFrame([{"weight_click": p.weights[0], "weight_like": p.weights[1], "click_auc": a, "like_auc": b,
                               "model": "retrained"} for p, (a, b) in zip(res.points, obj)]
                             + [{"weight_click": p.weights[0], "weight_like": p.weights[1], "click_auc": a,
                                 "like_auc": b, "model": "conditioned"} for p, (a, b) in zip(res.conditioned, cond)])
        return LessonView(fig, sentence, {
            "effect": self.effect(trained), "click_range": click_range, "like_range": like_range, "fidelity_gap": gap,
            "time_ratio": ratio, "gain_click": gains["click"], "gain_like": gains["like"], "noise_click": noise["click"],
            "noise_like": noise["like"], "spread_click": spreads["click"], "spread_like": spreads["like"],
            "flat": float(response["flat"]), "beats": float(response["beats"])}, table)


def _pair(weights) -> str:
    return f"click {weights[0]:.2f} / like {weights[1]:.2f}"


def _noise(res, again: dict) -> dict[str, float]:
    """How far the noise retrain lands from the sweep's retrain at the same weights."""
    first = next(p for p in res.points if list(p.weights) == list(again["weights"]))
    return {t: abs(again["test"][t]["auc"] - first.test[t]["auc"]) for t in TASKS}


def _front_sentence(weights, click_range: float, like_range: float) -> str:
    moves = (f"from click weight {weights[0][0]:.2f} to {weights[-1][0]:.2f}, the retrains' click AUC falls by "
             f"{click_range:.3f} while their like AUC rises by {like_range:.3f}.")
    if click_range > 0 and like_range > 0:
        return "The retrained models trade off: " + moves
    return "The retrained models show no front on this seed: " + moves


def _below_chance(res) -> str:
    """Name each retrain that ranks a task worse than chance, and why it can."""
    worse = [(p, t, p.test[t]["auc"]) for p in res.points for t in TASKS if p.test[t]["auc"] < 0.5]
    if not worse:
        return ""
    named = "; ".join(f"the retrain at {_pair(p.weights)} ranks {t}s worse than chance (AUC {a:.3f})" for p, t, a in worse)
    return (f"Note {named}: a task with a small weight barely trains in {EPOCHS} epochs, and its head most likely reads "
            "features learned for the other task, which runs against it on this feed, so its ranking comes out "
            "reversed.")


def _response_sentence(response: dict, spreads: dict[str, float], res) -> str:
    retrain = {t: response["tasks"][t]["retrain_spread"] for t in TASKS}
    text = (f"Across the weightings its click AUC moves by {spreads['click']:.3f} and its like AUC by "
            f"{spreads['like']:.3f} (the retrains: {retrain['click']:.3f} and {retrain['like']:.3f}).")
    if response["flat"]:
        text += (" **So it does not trade off here**: the slider barely moves it, and it is no stand-in for the "
                 "retrains' front.")
    if response["beats"]:
        text += (f" At {response['beats']} of {response['compared']} weightings it beats the retrain at the same "
                 "weights on both tasks: there the retrained point is no limit of this network but comes from "
                 f"training for {EPOCHS} epochs at fixed weights, in which the lightly weighted task learns too little. "
                 "The conditioned model saw every weighting, each task heavily weighted in some batches, and learned "
                 "both.")
    return text
