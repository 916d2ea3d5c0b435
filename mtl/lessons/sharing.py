"""Lesson: when does sharing help? A sparse task learned alone or with a dense related task.

The feed is an autoplay feed (every impression is watched, so a like needs no click)
with random exposure, where likes are rare (about 2% of impressions) and spread over
1,200 videos: each video gets well under one like in the training rows, so a model
that sees only likes cannot learn which videos are good. Clicks are plentiful. The
click depends on a video's *appeal*, the like on its *quality*; the control sets the
correlation between the two, i.e. how related the tasks are. The taste match between
user and video, which both tasks would share, is turned down (``match_strength``) so
that relatedness is what the control says.

Two models are trained on the same split: ``like`` alone, and ``click`` + ``like``
on a shared bottom (the shared item embedding learns from every click). The effect is
the like's test AUC with sharing minus alone.
"""

from __future__ import annotations

import pandas as pd

from ..data.synthetic import bayes_auc
from ..plots import style
from . import Control, Lesson, LessonView, register, report
from ._common import feed, prepared, train

#: The simulator's settings besides the correlation and the seed.
SCENARIO = dict(n_users=600, n_items=1200, n_impressions=30_000, exposure="random", click_gate=False,
                like_offset=-0.5, match_strength=0.3, task_noise=0.5)
#: Four epochs: the gain from sharing is there by then (measured +0.050 to +0.057 AUC related,
#: -0.070 to -0.098 unrelated, seeds 0-2); the 50k-impression, 6-epoch feed took 3x longer.
EPOCHS = 4


@register
class Sharing(Lesson):
    name = "sharing"
    title = "When does sharing help?"
    effect_label = "like's test AUC gain from sharing with click"
    text = (
        "**Likes are rare; clicks are everywhere.** On this simulated feed about 2% of impressions get a like, "
        "spread over 1,200 videos: a model that only sees likes gets well under one like per video, so it "
        "cannot tell good videos from bad ones. A click model sees many labels per video. If the two tasks are "
        "*related*, sharing one network lets the like borrow what the clicks taught it about each video.\n\n"
        "Here the click follows a video's *appeal* and the like its *quality*. The control sets how related they "
        "are (the correlation of appeal and quality). Two models train on the same split: **like alone** and "
        "**click + like** on a shared bottom. The chart shows the like's AUC on held-out impressions for both, "
        "and the best AUC any model could reach on these data (the simulator's true probabilities)."
    )
    control = Control(
        label="How related are click and like? (correlation of appeal and quality)",
        options=(0.0, 0.5, 0.9), default=0.9, retrains=True,
        help="0 = unrelated: clicks say nothing about likes. 0.9 = strongly related.",
    )

    def train(self, value, seed: int = 0, progress=None) -> dict:
        corr = float(value)
        df = feed(["click", "like"], appeal_quality_corr=corr, seed=seed, **SCENARIO)
        report(0.05, "like alone", progress)
        alone = train(prepared(df, ["like"], seed), ["like"], seed, epochs=EPOCHS)
        report(0.5, "click + like, shared", progress)
        shared = train(prepared(df, ["click", "like"], seed), ["click", "like"], seed, epochs=EPOCHS)
        report(1.0, "done", progress)
        return {
            "corr": corr, "seed": seed, "like_rate": float(df["like"].mean()),
            "alone": alone.test["like"]["auc"], "shared": shared.test["like"]["auc"],
            "shared_click": shared.test["click"]["auc"], "best": bayes_auc(df, "like"),
            "seconds": alone.train_seconds + shared.train_seconds,
        }

    def effect(self, trained: dict) -> float:
        return trained["shared"] - trained["alone"]

    def view(self, trained: dict, value) -> LessonView:
        import plotly.graph_objects as go

        gain = self.effect(trained)
        names = ["like alone", "click + like (shared)", "best possible"]
        values = [trained["alone"], trained["shared"], trained["best"]]
        fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.3f}" for v in values], textposition="outside",
                               marker_color=[style.BASELINE, style.BETTER if gain > 0 else style.WORSE, style.ORACLE]))
        fig.add_hline(y=0.5, line_dash="dot", line_color=style.INK, annotation_text="random guessing (0.5)")
        fig.update_layout(yaxis_title="like: test AUC", yaxis_range=[0.45, max(values) + 0.06],
                          **style.layout(f"Correlation {trained['corr']:.1f}: sharing "
                                         f"{'helps' if gain > 0 else 'does not help'}", height=380))
        if gain >= 0.02:
            verdict = "sharing helps: the like borrows what the clicks learned about each video"
        elif gain > -0.01:
            verdict = "sharing barely matters: the clicks carry little the like can use"
        else:
            verdict = ("sharing hurts (negative transfer): the shared network serves the dense click task at "
                       "the like's expense")
        sentence = (f"With correlation {trained['corr']:.1f}, the like's test AUC is {trained['alone']:.3f} alone "
                    f"and {trained['shared']:.3f} shared with click ({gain:+.3f}): {verdict}. Compare with "
                    f"correlation {'0.0' if trained['corr'] > 0.45 else '0.9'}: the gain shrinks as the tasks "
                    "become unrelated.")
        table = pd.DataFrame({"model": names, "like_test_auc": values})
        return LessonView(fig, sentence, {"gain": gain, "alone": trained["alone"], "shared": trained["shared"],
                                          "best": trained["best"], "like_rate": trained["like_rate"]}, table)
