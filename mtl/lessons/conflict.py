"""Lesson: gradient conflict, and what a conflict-aware method changes.

The feed and the network make the tasks conflict by construction: on an autoplay
feed the click follows only a video's *appeal* and the like only its *quality*, two
independent properties (correlation 0, no shared taste match), and the shared
bottom is a bottleneck of one unit. Each task wants that unit to describe its
own property, so on most batches the two task gradients on the shared layer point
in opposing directions. The team weights clicks 95/5.

Two models train on the same split with the same 95/5 preference: static weights
(the weighted sum of the losses) and the conflict-aware method chosen with the
control. Gradient diagnostics are
recorded every other batch. From them the lesson measures, per run, the cosine
between the task gradients and how often the update actually applied to the shared
layers, ``d = sum_t w_t g_t`` (``w`` the weights the method applied), went *against*
one task (``d . g_t < 0``: that step made the task worse to first order). Static
weights do that whenever one task's pull outweighs the other's; UPGrad, MGDA, PCGrad
(on two tasks), IMTL-G, CAGrad and Nash-MTL are designed not to. The effect is the
share of such batches under static weights minus under the chosen method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models.base import ModelConfig
from ..plots import style
from ..train.faults import TrainingDiverged
from ..weighting import get_weighting_class, weighting_status
from . import Control, Lesson, LessonView, register, report
from ._common import feed, pct, prepared, train

SCENARIO = dict(n_users=400, n_items=300, n_impressions=16_000, exposure="random", click_gate=False,
                appeal_quality_corr=0.0, like_offset=2.0, match_strength=0.0, task_noise=0.3)
TASKS = ["click", "like"]
#: Clicks first, as a growth team would weight them. The weaker the like's weight, the more
#: often a conflicting batch tips the weighted sum against it: at 80/20 static weights went
#: against a task in 3%, 9% and 97% of batches (seeds 0-2), at 95/5 in 41%, 62% and 100%.
PREFERENCE = {"click": 0.95, "like": 0.05}
#: One shared unit: it cannot describe both properties, so the tasks compete for it.
NETWORK = ModelConfig(emb_dim=8, hidden=(1,), tower=(8,))
#: Initializations tried before a dead shared unit is reported (see :meth:`Conflict._run`).
INIT_ATTEMPTS = 3
#: Conflict-aware methods offered, in order of preference; those not installed are left out.
CANDIDATES = ("upgrad", "pcgrad", "mgda", "imtl_g", "cagrad", "nash_mtl")


def _options() -> tuple[str, ...]:
    status = weighting_status()
    return tuple(m for m in CANDIDATES if m in status and status[m].available) or ("imtl_g",)


def against_share(rows: pd.DataFrame) -> float:
    """Share of measured batches whose applied update ``sum_t w_t g_t`` had a negative
    inner product with some task's gradient. With ``g_t = n_t u_t`` (norm, unit
    direction), ``d . u_a = w_a n_a + w_b n_b cos(a, b)``."""
    cos = rows["cos:click|like"].to_numpy()
    n = {t: rows[f"norm:{t}"].to_numpy() for t in TASKS}
    w = {t: rows[f"weight:{t}"].to_numpy() for t in TASKS}
    on_click = w["click"] * n["click"] + w["like"] * n["like"] * cos
    on_like = w["like"] * n["like"] + w["click"] * n["click"] * cos
    ok = np.isfinite(cos)
    # A tolerance: a projection method lands exactly on zero up to rounding.
    scale = np.maximum(w["click"] * n["click"], w["like"] * n["like"]) * 1e-4
    bad = (on_click < -scale) | (on_like < -scale)
    return float(bad[ok].mean()) if ok.any() else float("nan")


@register
class Conflict(Lesson):
    name = "conflict"
    title = "Gradient conflict"
    effect_label = "share of batches whose update went against a task: static minus the chosen method"
    text = (
        "**When tasks want different things from the same shared layer, their gradients point in opposite "
        "directions.** On this feed the click follows only a video's *appeal*, the like only its *quality*, two "
        "unrelated properties, and the shared layer has room for just one number per impression. Each task pulls "
        "that number towards its own property: the two task gradients have a *negative cosine*: conflict.\n\n"
        "The team weights clicks 95% and likes 5%. With **static weights** the shared layer follows the weighted "
        "sum of the gradients; when the click's pull outweighs the like's, that sum points *against* the like: "
        "the step makes the like worse. A **conflict-aware method** (the control) chooses an update that, on the shared layers, "
        "moves against no task. The chart shows the cosine between the two task gradients during training for "
        "both runs, and how often each run's update went against a task."
    )
    control = Control(
        label="Conflict-aware method compared with static weights",
        options=_options(), default=_options()[0], retrains=True,
        help="Each option trains once (a few seconds); static weights are trained once for all.",
        format=lambda m: get_weighting_class(m).display_name(),
    )

    def _run(self, data, method: str, seed: int) -> dict:
        # The one shared ReLU unit can start dead (below zero on every input); then nothing
        # trains and the trainer stops on a collapsed network. That is not this lesson's
        # point, so such a start is redrawn; the data and the split stay the same.
        for attempt in range(INIT_ATTEMPTS):
            try:
                r = train(data, TASKS, seed + 1000 * attempt, weighting=method, preference=PREFERENCE,
                          diagnostics_every=2, epochs=4, model=NETWORK)
                break
            except TrainingDiverged:
                if attempt == INIT_ATTEMPTS - 1:
                    raise
        rows = pd.DataFrame(r.diagnostics)
        return {"method": method, "rows": rows, "against": against_share(rows),
                "cos": float(np.nanmean(rows["cos:click|like"])),
                "conflict": float(np.nanmean(rows["cos:click|like"] < 0)),
                "auc": {t: r.test[t]["auc"] for t in TASKS}, "seconds": r.train_seconds}

    def train(self, value, seed: int = 0, progress=None) -> dict:
        df = feed(TASKS, seed=seed, **SCENARIO)
        data = prepared(df, TASKS, seed, fractions=(0.5, 0.15, 0.35))
        report(0.05, "static weights", progress)
        static = self._run(data, "static", seed)
        report(0.5, get_weighting_class(value).display_name(), progress)
        other = self._run(data, str(value), seed)
        report(1.0, "done", progress)
        return {"static": static, "method": other, "seed": seed,
                "seconds": static["seconds"] + other["seconds"]}

    def effect(self, trained: dict) -> float:
        return trained["static"]["against"] - trained["method"]["against"]

    def view(self, trained: dict, value) -> LessonView:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        s, m = trained["static"], trained["method"]
        title = get_weighting_class(m["method"]).display_name()
        fig = make_subplots(rows=1, cols=2, column_widths=[0.68, 0.32], horizontal_spacing=0.12,
                            subplot_titles=("Cosine of the click and like gradients",
                                            "Updates that went against a task"))
        for run, name, color in ((s, "static weights", style.BASELINE), (m, title, style.FRONT)):
            rows = run["rows"]
            smooth = rows["cos:click|like"].rolling(9, min_periods=1, center=True).mean()
            fig.add_trace(go.Scatter(x=rows["step"], y=smooth, mode="lines", name=name, line={"color": color}),
                          row=1, col=1)
            fig.add_trace(go.Bar(x=[name], y=[100 * run["against"]], marker_color=color, showlegend=False,
                                 text=[pct(run["against"])], textposition="outside"), row=1, col=2)
        fig.add_hline(y=0, line_dash="dot", line_color=style.INK, row=1, col=1)
        fig.update_yaxes(title_text="cosine (below 0 = conflict)", range=[-1, 1], row=1, col=1)
        fig.update_xaxes(title_text="training batch", row=1, col=1)
        fig.update_yaxes(title_text="% of measured batches", range=[0, 110], row=1, col=2)
        fig.update_layout(**style.layout(height=400, panels=2))
        sentence = (
            f"The tasks conflict: their gradients' mean cosine is {s['cos']:+.2f} and negative in {pct(s['conflict'])} "
            f"of batches. Static weights moved against a task in {pct(s['against'])} of batches, {title} in "
            f"{pct(m['against'])}. Test AUC, static vs {title}: click {s['auc']['click']:.3f} vs "
            f"{m['auc']['click']:.3f}, like {s['auc']['like']:.3f} vs {m['auc']['like']:.3f}."
        )
        table = pd.DataFrame([
            {"method": "static", "mean_cosine": s["cos"], "conflict_share": s["conflict"], "against_share": s["against"],
             "click_auc": s["auc"]["click"], "like_auc": s["auc"]["like"]},
            {"method": m["method"], "mean_cosine": m["cos"], "conflict_share": m["conflict"],
             "against_share": m["against"], "click_auc": m["auc"]["click"], "like_auc": m["auc"]["like"]},
        ])
        return LessonView(fig, sentence, {"effect": self.effect(trained), "static_against": s["against"],
                                          "method_against": m["against"], "mean_cosine": s["cos"]}, table)
