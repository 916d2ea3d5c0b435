"""Data: choose a bundled sample or upload a log; check column roles and labels."""

from __future__ import annotations

import streamlit as st

from mtl import report
from mtl.errors import MTLError
from mtl.plots import data as data_plots
from mtl.setup import ROLE_CHOICES, roles_table
from pages import _datasets as datasets
from pages import _stored as stored
from pages._nav import RECOMMEND, TRAIN
from pages._present import advanced, details
from pages._roles import add_derived, apply_roles, remove_derived
from pages._state import UI, ui_default
from pages._widgets import page_setup, show_error

page_setup()

st.title("Data")
ds = datasets.active_dataset()


def replace_dataset(build, doing: str, unchanged: str) -> None:
    """Make ``build()`` the active dataset and redraw; on a problem, say so and keep the
    current one (roles edits, derived labels added or removed)."""
    try:
        with st.spinner(doing):
            datasets.set_active_dataset(build())
    except MTLError as err:
        show_error(err)
        st.caption(f"Nothing was changed: still using **{ds.name}** {unchanged}.")
    else:
        st.rerun()


# ------------------------------------------------------------------ sources
samples_tab, upload_tab, model_tab = st.tabs([":material/inventory_2: Bundled samples", ":material/upload: Upload your own",
                                              ":material/deployed_code: Open a saved model"])

with samples_tab:
    choices = datasets.sample_choices()
    key = st.radio("Sample", list(choices), key=ui_default(UI + "data.sample", datasets.DEFAULT_SAMPLE),
                   format_func=lambda k: choices[k].title, horizontal=True)
    sample = choices[key]
    st.markdown(sample.description)
    st.caption(f"Suggested tasks: {', '.join(sample.tasks)} · split: {sample.split.method} · license: {sample.license}")
    active = ds.sample is not None and ds.sample.key == key
    if st.button("Use this sample", disabled=active, key="data.use_sample",
                 help="This sample is already active" if active else None):
        try:
            with st.spinner(f"Loading {sample.title} ..."):
                datasets.set_active_dataset(datasets.sample_dataset(key))
        except MTLError as err:
            show_error(err)
        else:
            st.rerun()

with upload_tab:
    limit = st.get_option("server.maxUploadSize")
    st.markdown(
        "One row per impression (a user was shown an item): ids, optional timestamp, outcome columns "
        "(0/1 clicks or likes, ratings, watch time ...) and any features. "
        f"CSV, CSV.gz or Parquet, up to **{limit} MB** per file "
        "(`server.maxUploadSize` in `.streamlit/config.toml`)."
    )
    kinds = ["csv", "gz", "tsv", "parquet", "pq"]
    main = st.file_uploader("Interactions", type=kinds, key="upload.main")
    c1, c2 = st.columns(2)
    users = c1.file_uploader("User features (optional, joined on the user id)", type=kinds, key="upload.users")
    items = c2.file_uploader("Item features (optional, joined on the item id: titles, categories ...)", type=kinds,
                             key="upload.items")
    if main is not None:
        files = tuple(f.file_id if f is not None else None for f in (main, users, items))
        if st.session_state.get("upload.loaded") != files:  # a new file or a new combination
            st.session_state["upload.loaded"] = files
            try:
                with st.spinner(f"Reading {main.name} ..."):
                    new = datasets.dataset_from_upload(
                        (main.name, main.getvalue()),
                        (users.name, users.getvalue()) if users is not None else None,
                        (items.name, items.getvalue()) if items is not None else None,
                    )
            except MTLError as err:
                st.session_state["upload.error"] = str(err)
            else:
                st.session_state.pop("upload.error", None)
                datasets.set_active_dataset(new)
                st.rerun()
        if st.session_state.get("upload.error"):
            st.error(st.session_state["upload.error"], icon=":material/error:")
            st.caption(f"Still using: **{ds.name}**.")
        elif ds.files and ds.files[0] == main.name:
            st.success(f"Loaded **{main.name}**: {ds.data.n_rows:,} rows.", icon=":material/check_circle:")

with model_tab:
    st.markdown(
        "A trained model as a zip: **Download model** on the Train or Trade-offs page, or the folder written by "
        "`python -m mtl train --save` zipped. It opens as a run of this session (its test metrics and setup; a saved "
        "model keeps no training curves) that the Recommendations and Trade-offs pages can use. The active dataset "
        "does not change: the model carries the users, items and held-out rows it needs."
    )
    saved = st.file_uploader("Saved model (.zip)", type=["zip"], key="upload.model")
    if saved is not None:
        if st.session_state.get("upload.model.loaded") != saved.file_id:  # a new file: open it once
            st.session_state["upload.model.loaded"] = saved.file_id
            try:
                with st.spinner(f"Checking and opening {saved.name} ..."):
                    opened = stored.open_model(saved.name, saved.getvalue())
            except MTLError as err:
                st.session_state["upload.model.error"] = f"{saved.name} could not be opened: {err}"
            else:
                st.session_state["upload.model.error"] = None
                st.session_state["upload.model.run"] = (opened.id, opened.label)
        if st.session_state.get("upload.model.error"):
            st.error(st.session_state["upload.model.error"], icon=":material/error:")
            st.caption("Nothing was changed: your data and runs are as they were.")
        elif (done := st.session_state.get("upload.model.run")) is not None:
            st.success(f"Opened as run {done[1]}.", icon=":material/check_circle:")
            if (problem := st.session_state.pop(stored.DONE, None)) is not None:
                st.warning(problem[1], icon=":material/warning:")
            c1, c2 = st.columns(2)
            c1.page_link(RECOMMEND, label="See its recommendations", icon=":material/recommend:")
            c2.page_link(TRAIN, label="See its metrics on the Train page", icon=":material/model_training:")

# ------------------------------------------------------------------- active
st.divider()
data = ds.data
st.subheader(f"Active: {ds.name}")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Rows", f"{data.n_rows:,}")
c2.metric("Columns", len(data.frame.columns))
n_users, n_items = datasets.id_counts(ds.token, data)
c3.metric("Users", f"{n_users:,}" if n_users is not None else "none")
c4.metric("Items", f"{n_items:,}" if n_items is not None else "none")

st.markdown("**Preview** (first 100 rows, side tables joined)")
st.dataframe(report.readable_times(data.frame.head(100), [data.schema.time]), height=240)  # dates, not 1705261...

# -------------------------------------------------------------------- roles
st.markdown("**Column roles**")
with details("What the roles mean"):
    st.caption(
        "How each column is used, and why. Labels are the outcomes you can train on (never features, even when "
        "not chosen as tasks); features are the model's inputs; ignored columns are left out. Change a role in "
        "the *role* column and press **Apply column roles**."
    )
table = roles_table(data.schema)
edited = st.data_editor(
    table, key=f"roles.{ds.short}", hide_index=True, disabled=["column", "why"], height=min(36 * (len(table) + 1) + 3, 420),
    column_config={
        "column": st.column_config.TextColumn("column"),
        "role": st.column_config.SelectboxColumn("role", options=list(ROLE_CHOICES), required=True),
        "why": st.column_config.TextColumn("why", width="large"),
    },
)
changed = int((edited["role"] != table["role"]).sum())
if st.button(f"Apply column roles ({changed} changed)", disabled=changed == 0, key="data.apply_roles"):
    replace_dataset(lambda: apply_roles(ds, edited), "Re-reading the columns ...", "with its previous roles")

if data.schema.remarks:
    # What reading changed or doubts (junk in a rating, decimal commas, an id made a label):
    # said here, where roles are checked, not only in training's warnings.
    st.warning("**Check how these columns were read**\n\n"
               + "\n".join(f"- {remark}" for remark in data.schema.remarks.values()), icon=":material/warning:")

# ------------------------------------------------------------------- labels
st.markdown("**Labels**")
summary = datasets.label_summary(ds.token, data)
suggestion = datasets.task_suggestion(ds.token, data)
if summary.empty:
    st.warning("No label columns were found, so there is nothing to train on. Mark outcome columns as labels above.")
else:
    summary = summary.assign(**{"default task": summary["label"].isin(suggestion.tasks)})
    if suggestion.hint:
        st.info(suggestion.hint, icon=":material/lightbulb:")
    st.dataframe(summary, hide_index=True, column_config={
        "positive rate %": st.column_config.NumberColumn(format="%.2f"),
        "mean": st.column_config.NumberColumn(format="%.3g"),
        "std": st.column_config.NumberColumn(format="%.3g"),
    })
    with st.expander(f"Why the default tasks are {', '.join(suggestion.tasks)}"):
        st.caption("Default tasks are trained by **Train with defaults** and pre-selected on the Train page: labels "
                   "with enough positives to learn and measure, mixing engagement (clicks) with value (likes, long "
                   "views, ratings). Any label can still be chosen on the Train page.")
        st.markdown("\n".join(f"- **{label}**{' (default task)' if label in suggestion.tasks else ''}: {why}"
                               for label, why in suggestion.reasons.items()))
    if (summary["kind"] == "binary").any():
        st.plotly_chart(data_plots.label_rates(summary), key="chart.label_rates")
        st.caption(
            "Share of labelled rows where each binary outcome happened. Rare outcomes (a like rate of a few %) "
            "give a task few positive examples: expect noisier metrics for it, and consider a larger weight."
        )
    other = summary[summary["kind"] != "binary"]
    if not other.empty:
        cols = st.columns(min(3, len(other)))
        for i, (_, row) in enumerate(other.iterrows()):
            with cols[i % len(cols)]:
                st.plotly_chart(data_plots.label_distribution(data.frame[row["label"]], row["label"], row["kind"]),
                                key=f"chart.label.{row['label']}")
        st.caption(
            "Distributions of the other labels. Missing values (for example a rating that exists only after a "
            "click) are left out of both training and metrics for that task."
        )

# ------------------------------------------------------------ derived labels
with advanced("data-derive"):
    st.markdown("**Derived labels**")
    st.caption(
        "Make a 0/1 task from another column: a threshold (*liked* = rating >= 4, *long* = watch_time >= 30) or an "
        "equality (*drama* = genre == drama). A missing source value stays missing (the task skips that row) unless "
        "you count it as 0. The column it comes from is never a feature. Runs record the rule, and saved models "
        "compute it again from raw rows."
    )
    schema = data.schema
    sources = [c for c in data.frame.columns if c not in (schema.user, schema.item) and c not in schema.derived
               and c not in schema.oracle and c not in schema.text]
    with st.form("data.derive", border=True):
        d1, d2, d3, d4 = st.columns([2, 2, 1, 2])
        new_name = d1.text_input("New label name", placeholder="liked", key="data.derive.name")
        regression = [c for c in sources if schema.labels.get(c) == "regression"]
        source = d2.selectbox("From column", sources, index=sources.index(regression[0]) if regression else 0,
                              key="data.derive.source")
        op = d3.selectbox("is", [">=", ">", "<=", "<", "==", "!="], key="data.derive.op")
        value = d4.text_input("Value", placeholder="4", key="data.derive.value")
        negative = st.checkbox("Count a missing value as 0 (default: the row has no label for this task)",
                               key="data.derive.negative")
        add = st.form_submit_button("Add derived label", icon=":material/add:")
    if add:
        expression = f"{new_name.strip()}={source}{op}{value.strip()}" + (",missing=negative" if negative else "")
        replace_dataset(lambda: add_derived(ds, expression), f"Deriving {new_name} ...", "as it was")
    for name, expression in schema.derived.items():
        r1, r2 = st.columns([5, 1])
        r1.markdown(f"`{name}`: {schema.notes.get(name, expression)}")
        if r2.button("Remove", key=f"data.derive.remove.{name}", icon=":material/delete:"):
            replace_dataset(lambda name=name: remove_derived(ds, name), f"Removing {name} ...", "as it was")
