"""Lesson: the efficiency paradox. Ranking by predicted clicks alone loses relevance.

The feed: appeal (what drives clicks) and quality (what drives likes and long views,
which need a click) are anti-correlated, so the most tempting videos are the most
disappointing. One click + like + long-view model is trained; each user's held-out
impressions are then ranked by ``(1 - alpha) z(click) + alpha z(relevance)`` for
alpha from 0 (clicks only) to 1 (relevance only) with
:func:`mtl.tradeoff.efficiency_relevance_curve`, and the same with the simulator's
true probabilities (the oracle). The effect is the NDCG@10 (like + long view)
gained by the fused ranking (alpha 0.5) over ranking by clicks alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plots import style
from ..tradeoff import curve_for_model
from . import Control, Lesson, LessonView, register, report
from ._common import feed, pct, prepared, train

#: An autoplay feed (``click_gate=False``): likes and long views follow quality whether or
#: not the video was clicked, so ranking by clicks is pulled straight towards low quality;
#: with the gate, a like needs a click and ranking by clicks kept most of the relevance
#: (NDCG +0.02 for the fused ranking). Appeal pulls on the click at a quarter of its usual
#: strength (``appeal_strength``) and the viewer's taste for the video at 1.5 times
#: (``match_strength``, for every outcome): most of a click is the viewer's habit and taste,
#: which the fused ranking keeps, so chasing appeal buys few clicks. With appeal at 0.35 and
#: taste at 1 the fused ranking cost 0.8-2.0 points of click rate over seeds 0-2 (and with 4
#: epochs, an undertrained model, 0.1-3.3 with a relevance gain of 0.04-0.20). 150 videos
#: seen about 80 times each in training, for 8 epochs at a learning rate of 0.01, so the
#: model learns each one's quality and appeal: at the default 0.003 it was still learning
#: the click after 8 epochs (test AUC 0.61 and 0.56 on seeds 0 and 5, the oracle 0.77); on seed 5
#: its curve was flat (+0.03 NDCG).
SCENARIO = dict(n_users=500, n_items=150, n_impressions=24_000, exposure="random", appeal_quality_corr=-0.75,
                appeal_strength=0.25, match_strength=1.5, task_noise=0.0, click_gate=False)
EPOCHS = 8
LR = 0.01
TASKS = ["click", "like", "long_view"]
FUSED = 0.5
K = 10


@register
class Paradox(Lesson):
    name = "paradox"
    title = "The efficiency paradox"
    effect_label = "NDCG@10 (like + long view) of the fused ranking minus ranking by clicks"
    text = (
        "**Optimizing clicks alone fills the feed with click-bait.** On this feed the most tempting videos (high "
        "*appeal*, what makes people click) tend to be the disappointing ones (low *quality*, what makes them like "
        "and watch to the end): the two are anti-correlated. Clicks are mostly habit and taste: a video's appeal "
        "moves its click rate only a little, while its quality decides the likes. One model predicts click, like and long view; every "
        "user's held-out videos are then ranked by a mix of the predicted click (efficiency) and the predicted "
        "like and long view (relevance).\n\n"
        "The chart puts each ranking at its **click rate in the top 10** (efficiency) and its **NDCG@10 on likes "
        "and long views** (relevance). Moving the slider from clicks only (0) towards relevance only (1) walks "
        "along the curve. The dashed curve does the same with the simulator's true probabilities (the oracle, the "
        "best any model could do); the grey cross is a random ranking."
    )
    control = Control(
        label="Ranking weight on relevance (0 = clicks only, 1 = likes and long views only)",
        options=tuple(round(a, 2) for a in np.linspace(0, 1, 21)), default=0.0, retrains=False,
        help="Re-ranks the held-out videos without retraining.",
    )

    def train(self, value=None, seed: int = 0, progress=None) -> dict:
        df = feed(TASKS, seed=seed, **SCENARIO)
        report(0.05, "click + like + long view", progress)
        result = train(prepared(df, TASKS, seed, fractions=(0.5, 0.1, 0.4)), TASKS, seed, epochs=EPOCHS, lr=LR)
        report(0.9, "ranking every user's videos", progress)
        curve = curve_for_model(result.trained, ["click"], ["like", "long_view"], k=K)
        report(1.0, "done", progress)
        return {"curve": curve, "seed": seed, "seconds": result.train_seconds}

    @staticmethod
    def _point(frame: pd.DataFrame, alpha: float) -> dict:
        i = int(np.abs(frame["alpha"].to_numpy() - alpha).argmin())
        return frame.iloc[i].to_dict()

    def effect(self, trained: dict) -> float:
        pts = trained["curve"].points
        return self._point(pts, FUSED)["relevance_ndcg_at_k"] - self._point(pts, 0.0)["relevance_ndcg_at_k"]

    def view(self, trained: dict, value) -> LessonView:
        import plotly.graph_objects as go

        curve = trained["curve"]
        pts, oracle = curve.points, curve.oracle
        alpha = float(value)
        clicks, fused, here = self._point(pts, 0.0), self._point(pts, FUSED), self._point(pts, alpha)
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=pts["efficiency_at_k"], y=pts["relevance_ndcg_at_k"], mode="lines+markers",
                                 name="this model", line={"color": style.FRONT}, customdata=pts["alpha"],
                                 hovertemplate="weight on relevance %{customdata}<br>click rate@10 %{x:.3f}"
                                               "<br>NDCG@10 %{y:.3f}<extra></extra>"))
        xs, ys = [pts["efficiency_at_k"], [curve.random["efficiency_at_k"]]], [pts["relevance_ndcg_at_k"],
                                                                               [curve.random["relevance_ndcg_at_k"]]]
        if oracle is not None:
            fig.add_trace(go.Scatter(x=oracle["efficiency_at_k"], y=oracle["relevance_ndcg_at_k"], mode="lines",
                                     name="oracle (true probabilities)", line={"color": style.ORACLE, "dash": "dash"}))
            xs.append(oracle["efficiency_at_k"])
            ys.append(oracle["relevance_ndcg_at_k"])
        fig.add_trace(go.Scatter(x=[curve.random["efficiency_at_k"]], y=[curve.random["relevance_ndcg_at_k"]],
                                 mode="markers", name="random ranking", marker={"symbol": "x", "size": 11,
                                                                                "color": style.BASELINE}))
        fig.add_trace(go.Scatter(x=[clicks["efficiency_at_k"]], y=[clicks["relevance_ndcg_at_k"]], mode="markers+text",
                                 name="clicks only", text=["clicks only"], textposition="middle right",
                                 marker={"size": 12, "color": style.WORSE}))
        fig.add_trace(go.Scatter(x=[here["efficiency_at_k"]], y=[here["relevance_ndcg_at_k"]], mode="markers",
                                 name=f"your ranking ({alpha:.2f})",
                                 marker={"size": 16, "symbol": "circle-open", "color": style.CURRENT, "line": {"width": 3}}))
        # Axes that hold every curve and marker, with a margin, whatever the data.
        x_all, y_all = np.concatenate([np.asarray(v, float) for v in xs]), np.concatenate([np.asarray(v, float) for v in ys])
        def span(v):
            lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
            pad = 0.08 * max(hi - lo, 1e-3)
            return [lo - pad, hi + pad]
        fig.update_layout(xaxis_title=f"efficiency: click rate in the top {K}",
                          yaxis_title=f"relevance: NDCG@{K} on like + long view", xaxis_range=span(x_all),
                          yaxis_range=span(y_all), **style.layout(height=430))
        gain = fused["relevance_ndcg_at_k"] - clicks["relevance_ndcg_at_k"]
        eff_drop = clicks["efficiency_at_k"] - fused["efficiency_at_k"]
        sentence = (
            f"Ranking by clicks alone gives NDCG@{K} {clicks['relevance_ndcg_at_k']:.3f} at a click rate of "
            f"{pct(clicks['efficiency_at_k'])}; the fused ranking (weight {FUSED}) reaches "
            f"{fused['relevance_ndcg_at_k']:.3f} ({gain:+.3f}, "
            f"{100 * gain / max(clicks['relevance_ndcg_at_k'], 1e-9):+.0f}%) at a cost of "
            f"{100 * eff_drop:.1f} points of click rate, to {pct(fused['efficiency_at_k'])}."
        )
        if oracle is not None:
            o_clicks, o_fused = self._point(oracle, 0.0), self._point(oracle, FUSED)
            sentence += (f" The oracle shows the same bend: {o_clicks['relevance_ndcg_at_k']:.3f} by clicks alone, "
                         f"{o_fused['relevance_ndcg_at_k']:.3f} fused.")
        sentence += (f" A random ranking scores NDCG@{K} {curve.random['relevance_ndcg_at_k']:.3f}: ranking by "
                     f"clicks alone is {'worse' if clicks['relevance_ndcg_at_k'] < curve.random['relevance_ndcg_at_k'] else 'not much better'} "
                     "than random on relevance.")
        sentence += (f" Your ranking ({alpha:.2f}): click rate {pct(here['efficiency_at_k'])}, "
                     f"NDCG@{K} {here['relevance_ndcg_at_k']:.3f}.")
        # Viewers with K or fewer held-out videos see them all whatever the order: not counted.
        sentence += (f" Counted: the {curve.n_users:,} of {curve.users_ranked:,} viewers with more than {K} held-out "
                     f"videos (for the others every ranking shows all of theirs).")
        return LessonView(fig, sentence, {"gain": gain, "efficiency_drop": eff_drop,
                                          "efficiency_clicks": clicks["efficiency_at_k"],
                                          "ndcg_clicks": clicks["relevance_ndcg_at_k"],
                                          "ndcg_fused": fused["relevance_ndcg_at_k"],
                                          "ndcg_random": curve.random["relevance_ndcg_at_k"]}, pts)
