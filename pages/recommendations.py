"""Recommendations: a user's history and top-K, re-ranked live by fusion weights."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl import report
from mtl.data.encode import canonical
from mtl.errors import MTLError
from mtl.plots import recommend as rec_plots
from mtl.recommend import (
    check_fusion,
    contribution_column,
    damped_notes,
    fusion_signal,
    history,
    outcome_scales,
    rank_changes,
    score_candidates,
    top_k,
    users,
)
from mtl.weighting import preference_shares
from pages import _jobs as jobs
from pages._datasets import active_dataset
from pages._nav import TRAIN
from pages._present import details, presenting
from pages._runs import RECOMMEND_RUN, Run, current_training, follow_latest, runs
from pages._settings import RecommendSettings as R
from pages._state import cached, set_widget, ui_default
from pages._stored import kept, link_to_open, open_kept
from pages._stored import label as kept_label
from pages._url import RECOMMEND, one_of, plain, say_ignored, task_weights
from pages._widgets import page_setup, show_error

SCORE_CACHE_SIZE = 8

page_setup()
st.title("Recommendations")
with details("How items are ranked"):
    st.markdown(
        "Score every item for one user with a trained model, then rank by a **fusion** of the tasks: "
        "`score = Σ weight × (task prediction, standardized over this user's candidates)`. "
        "The fusion weights are chosen here, at ranking time, so moving a slider re-ranks instantly without "
        "retraining. Each item's score is the sum of its per-task **contributions**, shown beside the list."
    )
say_ignored(RECOMMEND.restore())  # a fresh session opened from a copied address: its settings first

link_to_open(RECOMMEND_RUN)  # an address with run=<id> (a shared link) opens that kept model
if isinstance(picked := st.session_state.get(RECOMMEND_RUN), str):  # a kept model chosen below: open it first
    opened = open_kept(picked)
    set_widget(RECOMMEND_RUN, opened.id if opened is not None else None)
candidates = [r for r in runs() if r.result.trained is not None]
kept_models = kept(with_model=True)
ds = active_dataset()
job = current_training()


@st.fragment(run_every=jobs.POLL_S)
def _wait_for_job() -> None:
    """While a run trains, say so and rerun the page when it is collected, so the page
    moves to the new model without a click."""
    current = current_training()
    if current is None or current.job.done:
        st.rerun()
    st.caption(f":material/sync: A model is training on **{current.ds.name}**: this page switches to it when it "
               "finishes.")


if job is not None and job.meta["baseline_for"] is None:
    _wait_for_job()
if not candidates and not kept_models:
    st.info("Train a model first: its recommendations appear here.", icon=":material/info:")
    if waiting := RECOMMEND.waiting():
        chosen = ([f"user **{plain(waiting['user'])}**"] if "user" in waiting else []) + (
            ["fusion weights"] if "fusion" in waiting else [])
        st.caption(f"This link's {' and '.join(chosen)} wait for a model (a link cannot carry one): they apply to "
                   "the first model this page shows.")
    st.page_link(TRAIN, label="Go to the Train page", icon=":material/model_training:")
    st.stop()

by_id = {r.id: r for r in candidates}
key = RECOMMEND_RUN
latest = follow_latest(key, candidates, ds) if candidates else None
labels = {i: r.label for i, r in by_id.items()} | {k.id: kept_label(k) for k in kept_models}
if st.session_state.get(key) not in labels:
    set_widget(key, None)
run_id = st.selectbox("Model", list(by_id)[::-1] + [k.id for k in kept_models], key=key, format_func=labels.get,
                      placeholder="Choose a model kept in the workspace",
                      help="This session's models, then the models kept in the workspace (runs on bundled samples; "
                           "a run on uploaded data keeps no model), newest first")
if run_id is None or run_id not in by_id:
    st.caption(f"{len(kept_models)} model{'s' if len(kept_models) != 1 else ''} kept in the workspace: choose one to "
               "see its recommendations.")
    st.stop()
run = by_id[run_id]
if run.id != latest.id:
    newer = "newer " if latest.id > run.id else ""
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info(f"Showing run **#{run.id}** (trained on **{run.dataset}**). The {newer}latest run on the active dataset "
            f"**{latest.dataset}** is **#{latest.id}**.", icon=":material/history:")
    c2.button(f"Show run #{latest.id}", key="rec.show_latest", on_click=st.session_state.__setitem__,
              args=(key, latest.id))
elif run.ds is None or run.ds.token != ds.token:
    st.info(f"Showing run **#{run.id}**, trained on **{run.dataset}**: the active dataset **{ds.name}** has no "
            "trained model yet. Train one to see its recommendations here.", icon=":material/info:")
trained = run.result.trained
schema = trained.schema

if trained.users is None or trained.items is None or not schema.user or not schema.item:
    missing = " and ".join(w for w, c in (("user ids", schema.user), ("item ids", schema.item)) if not c)
    st.info(
        f"**{run.dataset}** has no {missing}, so this model cannot recommend items to users. It predicts outcomes "
        "for rows (people, in Census) rather than ranking a catalogue. Train on interaction data with user and item "
        "ids (the simulated feed, KuaiRand, or your own log) to see recommendations.",
        icon=":material/info:",
    )
    st.stop()

fusable = [t.name for t in trained.tasks if t.kind != "multiclass"]
if not fusable:
    st.info("This model has only multiclass tasks, which cannot be fused into one ranking score.")
    st.stop()


def _counts(run: Run) -> pd.Series:
    def compute():
        ids = users(trained)  # most active first
        counts = canonical(trained.interactions[schema.user]).value_counts()
        return counts.reindex(ids).fillna(0).astype(int)

    return cached("user_counts", run.id, compute)


counts = _counts(run)
say_ignored(RECOMMEND.take(R, str(run.id), user=one_of(counts.index),
                           fusion=task_weights(fusable, -1, 1, f"the tasks of run #{run.id} that fuse")))
user = st.selectbox(
    f"User ({len(counts):,}, most active first; type to search)", counts.index.tolist(),
    key=ui_default(R.key("user", run.id), counts.index[0]),
    format_func=lambda u: f"{u} · {counts.get(u, 0)} interactions",
)


def _scores(run: Run, user: str) -> pd.DataFrame:
    """Per-task predictions for every item: computed once per user and model."""
    def compute():
        with st.spinner(f"Scoring {len(trained.items):,} items for user {user} ..."):
            return score_candidates(trained, user)

    return cached("scores", (run.id, user), compute, size=SCORE_CACHE_SIZE)


try:
    scores = _scores(run, user)
    past = history(trained, user)
except MTLError as err:
    show_error(err)
    st.stop()

# Descriptive columns beside each item (titles, categories), not links: a file's image or
# page addresses (goodbooks' image_url) pushed the scores off the right of the table.
meta = [c for c in (*schema.text, "item_category") if c in scores.columns and not report.looks_like_links(scores[c])]
meta += [c for c in schema.categorical if c in scores.columns and c not in meta and c not in fusable][:2]

# ------------------------------------------------------------------- fusion
st.subheader("Fusion weights")
train_share = preference_shares(run.config.preference, run.config.tasks)
cols = st.columns(len(fusable) + 1)
fusion = {}
for i, task in enumerate(fusable):
    fusion[task] = cols[i].slider(
        task, -1.0, 1.0, step=0.05, key=ui_default(f"{R.key('fusion', run.id)}.{task}",
                                                      round(train_share.get(task, 1.0 / len(fusable)), 2)),
        help="Negative weights push items with this outcome down",
    )
with cols[-1]:
    k = st.number_input("How many (K)", 1, 100, key=ui_default(R.key("k"), 10))
    exclude_seen = st.checkbox("Hide items already seen", key=ui_default(R.key("exclude_seen"), True))
# The address mirrors the choices; a link opened in a fresh browser applies them to the model shown there.
RECOMMEND.mirror(R(user=user, fusion=dict(fusion), k=int(k), exclude_seen=bool(exclude_seen)))
with details("How the sliders count"):
    st.caption("The sliders start at the run's training weights. Predictions are standardized per task over this "
               "user's candidates, so a 2% like rate and a 40% click rate count in proportion to their weights. A "
               "task whose predictions barely differ between items (spread under a tenth of the outcome's own scale) "
               "counts in proportion to that spread, so its noise cannot decide the ranking.")

try:
    fusion = check_fusion(trained, fusion)
except MTLError as err:
    show_error(err)
    st.stop()

scales = outcome_scales(trained)
top = top_k(scores, fusion, int(k), exclude_seen=exclude_seen, scales=scales)
for note in damped_notes(fusion_signal(scores, fusion, scales)):
    st.caption(f":material/volume_down: {note}")
probability = {t.name for t in trained.tasks if t.kind == "binary"}
task_columns = {
    t: (st.column_config.ProgressColumn(t, format="%.3f", min_value=0.0, max_value=1.0, width="small")
        if t in probability else st.column_config.NumberColumn(t, format="%.3g", width="small"))
    for t in trained.task_names
}

st.subheader(f"Top {len(top)} for user {user}")
parts = {contribution_column(t): f"+{t}" for t in fusion}
# The scores right after the rank and the title, the id and the other descriptions last: after
# goodbooks' id, title, authors and language, the scores were off the right of the table.
lead = next((c for c in meta if c in schema.text), schema.item)
show = ["rank", lead, "score", *parts, *trained.task_names, schema.item, *meta]
st.dataframe(top[list(dict.fromkeys(show))], hide_index=True, key="rec.top",
             column_config={"score": st.column_config.NumberColumn("fused score", format="%.2f"),
                            **{c: st.column_config.NumberColumn(name, format="%+.2f", width="small",
                                                                help=f"What {name[1:]} adds to the fused score")
                               for c, name in parts.items()},
                            **{c: st.column_config.TextColumn(c, width="medium") for c in schema.text},
                            **task_columns})
with details("How to read the list"):
    st.caption("Each task column is the model's prediction for this user and item (a probability for 0/1 tasks). "
               "The fused score orders the list; it is the sum of the *+task* columns, each task's contribution "
               "(weight × the standardized prediction). Click a column header to sort by a single task instead.")
title = next((c for c in meta if c in top.columns), None)
chart, text = st.columns([3, 2])
chart.plotly_chart(rec_plots.contributions_chart(top, list(fusion), schema.item, title), key="rec.contrib")
text.markdown(
    "**Why this order.** Each bar is one item of the list, split into what each task added to (right of zero) or "
    "took from (left) its fused score, the task's weight × its standardized prediction; the black tick is the score "
    "itself. A long bar of one colour means that "
    "task decided the item's place. Tasks with negative weights push items down when the model expects that outcome."
)

with st.expander(f"History of user {user} ({len(past):,} interactions)", expanded=not presenting()):
    label_cols = [c for c in trained.task_names if c in past.columns]
    extra = [c for c in past.columns if c in schema.labels and c not in label_cols]
    # The split and the time right after the item: at the far right of a wide table they were
    # cut off, and the time is what "newest first" can be checked against.
    show_past = [c for c in (schema.item, "split", schema.time, *[m for m in meta if m in past.columns], *label_cols,
                             *extra) if c and c in past.columns]
    st.dataframe(report.readable_times(past[list(dict.fromkeys(show_past))].head(200), [schema.time]), hide_index=True,
                 key="rec.history", height=250,
                 column_config={c: st.column_config.TextColumn(c, width="medium") for c in schema.text})
    order = ("newest first" if schema.time else
             "in the data's row order: it has no time column, so which came first is not known")
    st.caption(f"What this user was shown, {order} (up to 200 rows), with the outcomes (labels). *split* says "
               "whether the row was used for training, validation or test.")

# ------------------------------------------------------------ what changed
st.divider()
st.subheader("What changed")
reference_key = f"rec.reference.{run.id}"
references = {"equal": {t: 1.0 for t in fusable}, "training": {t: train_share.get(t, 0.0) for t in fusable}}
if reference_key in st.session_state:
    references["pinned"] = st.session_state[reference_key]
names = {"equal": "equal weights on every task", "training": "the run's training weights",
         "pinned": "the weights you pinned"}
c1, c2 = st.columns([3, 1])
ref = c1.radio("Compare the current top-K with", list(references), format_func=names.get, horizontal=True,
               key="rec.reference_choice")
if c2.button("Pin current weights", key="rec.pin", help="Remember these sliders as a reference to compare with"):
    st.session_state[reference_key] = dict(fusion)
    st.rerun()
reference = {t: w for t, w in references[ref].items() if w != 0} or {fusable[0]: 1.0}
before = top_k(scores, reference, int(k), exclude_seen=exclude_seen, scales=scales)
changes = rank_changes(before, top, schema.item)
st.caption(f"Reference: {', '.join(f'{t} {w:+.2f}' for t, w in references[ref].items())} → now: "
           f"{', '.join(f'{t} {w:+.2f}' for t, w in fusion.items())}. Items entering the list gained from the tasks "
           "you weighted up; items leaving did well mostly on tasks you weighted down.")
e, l_, m = st.columns(3)
item_cols = [schema.item, *(meta[:1] if meta else [])]  # the id and a title (or category) fit three columns
with e:
    st.markdown(f"**Entered** ({len(changes['entered'])})")
    st.dataframe(changes["entered"][["rank", *item_cols]], hide_index=True, key="rec.entered")
with l_:
    st.markdown(f"**Left** ({len(changes['left'])})")
    st.dataframe(changes["left"][["rank", *item_cols]].rename(columns={"rank": "rank before"}), hide_index=True,
                 key="rec.left")
with m:
    st.markdown(f"**Moved** ({len(changes['moved'])})")
    moved = changes["moved"].assign(change=lambda d: d.rank_before - d.rank_after)
    st.dataframe(moved, hide_index=True, key="rec.moved",
                 column_config={"change": st.column_config.NumberColumn("places up", format="%+d")})
