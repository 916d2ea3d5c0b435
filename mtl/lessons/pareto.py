"""Lesson: the Pareto front of two task weights, and one preference-conditioned model.

On a feed where the click (appeal) and the like (quality) are anti-correlated, a
shared network cannot serve both fully: :func:`mtl.tradeoff.sweep` retrains a model
at three click/like weightings (the front) and trains one preference-conditioned
model that takes the weights as an input. The control is the conditioned model's
click weight: it is evaluated there without retraining, and its distance to the
retrains is measured (it need not follow them: on seed 0 it sits near the best
compromise at every weighting). The effect is the
front's extent: the smaller of the two tasks' AUC ranges across the retrained
weightings, measured in the direction of the trade (more click weight, better click;
more like weight, better like). Positive means the front exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.split import SplitSpec
from ..plots import style
from ..tradeoff import sweep, weight_grid
from ..train import TrainConfig
from . import Control, Lesson, LessonView, register, report
from ._common import SMALL, feed, prepared

SCENARIO = dict(n_users=500, n_items=1000, n_impressions=16_000, exposure="random", click_gate=False,
                appeal_quality_corr=-0.9, like_offset=1.5, match_strength=0.3, task_noise=0.5)
TASKS = ["click", "like"]
#: Three retrained weightings (and two single-task baselines) draw the front; the 24k-row,
#: five-point version took twice as long for the same picture.
POINTS = 3


@register
class Pareto(Lesson):
    name = "pareto"
    title = "Pareto front and a preference-conditioned model"
    effect_label = "extent of the front: the smaller task's AUC range across weightings"
    text = (
        "**When tasks conflict, no single model is best at both: there is a front of best compromises.** "
        f"On this feed clicks and likes are anti-correlated. {POINTS} models are retrained, each with different "
        "click/like weights; each is a point (its click AUC and like AUC on held-out data). The points that no "
        "other point beats on both tasks form the **Pareto front**: along it, gaining on one task costs the "
        "other. The dotted lines are the single-task baselines.\n\n"
        "Retraining once per weighting is slow. A **preference-conditioned** model takes the weights as an input "
        "and is trained once for all weightings (the orange curve). Move the slider: its point moves to that "
        "weighting instantly, without retraining; compare it with the retrained model at the same weights (the "
        "sentence below gives the average gap, measured, not assumed)."
    )
    control = Control(
        label="Click weight of the conditioned model (the like gets the rest)",
        options=tuple(round(a, 2) for a in np.linspace(0.05, 0.95, 19)), default=0.5, retrains=False,
        help="Evaluates the conditioned model at this weighting on the held-out rows; no retraining.",
    )

    def train(self, value=None, seed: int = 0, progress=None) -> dict:
        df = feed(TASKS, seed=seed, **SCENARIO)
        data = prepared(df, TASKS, seed, fractions=(0.5, 0.15, 0.35))
        base = TrainConfig(tasks=TASKS, arch="shared_bottom", epochs=5, batch_size=512, lr=3e-3, patience=2,
                           seed=seed, diagnostics_every=0, model=SMALL, split=SplitSpec("random", seed=seed))

        def tick(step: int, total: int, message: str) -> None:
            report(step / max(total, 1), message, progress)

        result = sweep(data, base, weight_grid(2, POINTS), retrain=True, conditioned=True, baselines=True,
                       progress=tick)
        return {"sweep": result, "seed": seed,
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
        xs, ys = [*obj[:, 0], *cond[:, 0], hx], [*obj[:, 1], *cond[:, 1], hy]
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
        ratio = res.retrain_seconds / max(res.conditioned_train_seconds, 1e-9)
        sentence = (
            f"The front exists: from click weight {weights[0][0]:.2f} to {weights[-1][0]:.2f}, the click AUC falls by "
            f"{click_range:.3f} while the like AUC rises by {like_range:.3f}. The one conditioned model trained in "
            f"{res.conditioned_train_seconds:.1f} s against {res.retrain_seconds:.1f} s for the {len(weights)} "
            f"retrains ({ratio:.1f}x less time) and stays within {gap:.3f} AUC of them on average. At click weight "
            f"{w:.2f} it gives click {hx:.3f}, like {hy:.3f}."
        )
        table = pd.DataFrame([{"weight_click": p.weights[0], "weight_like": p.weights[1], "click_auc": a, "like_auc": b,
                               "model": "retrained"} for p, (a, b) in zip(res.points, obj)]
                             + [{"weight_click": p.weights[0], "weight_like": p.weights[1], "click_auc": a,
                                 "like_auc": b, "model": "conditioned"} for p, (a, b) in zip(res.conditioned, cond)])
        return LessonView(fig, sentence, {"effect": self.effect(trained), "click_range": click_range,
                                          "like_range": like_range, "fidelity_gap": gap, "time_ratio": ratio}, table)
