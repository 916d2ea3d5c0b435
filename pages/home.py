"""Home: what the tool does, the active dataset, devices, and one-click training."""

from __future__ import annotations

import streamlit as st

# The title and the introduction need nothing but Streamlit: they are on screen while a
# fresh server still imports the machine-learning libraries (``pages._nav.warm_up``).
st.title("MTL Trade-off Explorer")
st.markdown(
    "A recommender rarely optimizes one thing: people **click**, **like**, **watch to the end**, "
    "**rate**. *Multi-task learning* trains one model for all of these signals at once. This "
    "explorer lets you pick which signals are tasks and how much weight each gets, train shared "
    "architectures (shared bottom, MMoE, PLE) live in your browser, see how every task fares "
    "against a model trained for that task alone, and watch a user's recommendations change as "
    "you re-weigh the tasks: what one task gains or loses when another gets more weight."
)

# The active dataset needs pandas and the data library, which import neither torch nor
# scikit-learn (tests/test_app_home.py keeps it so): it is on screen in about a second, while
# the training side below waits for the libraries that ``pages._nav.warm_up`` is loading.
from pages._datasets import active_dataset, default_tasks  # noqa: E402
from pages._preload import preload_page_code  # noqa: E402
from pages._present import advanced, details  # noqa: E402

ds = active_dataset()
data = ds.data
left, right = st.columns([3, 2])
with left:
    st.subheader("Active dataset")
    st.markdown(f"**{ds.name}**  \n{ds.source}")
    if ds.sample is not None:
        st.caption(ds.sample.description)
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", f"{data.n_rows:,}")
    c2.metric("Columns", len(data.frame.columns))
    c3.metric("Label columns", len(data.schema.labels))
    tasks = default_tasks(ds)
    st.caption(f"Default tasks: {', '.join(tasks) or 'none'}. Change the data on the **Data** page.")

# While a fresh server imports the libraries below, the browser is idle: it loads the code of
# the Train page's charts and tables then (after drawing the dataset, which it would otherwise
# delay), rather than in the middle of the first training.
preload_page_code()
with st.spinner("Loading the libraries..."):
    from mtl.errors import MTLError
    from mtl.report import plural
    from mtl.setup import APP_EPOCHS
    from mtl.train import available_devices
    from pages import _jobs as jobs
    from pages._common import default_config
    from pages._nav import TRAIN
    from pages._runs import prefetch, start_training
    from pages._widgets import page_setup, show_error

page_setup()

busy = jobs.busy("train")
if tasks and not busy:
    # A bundled sample's data is prepared for the button below while the visitor reads (once per server).
    prefetch(ds, default_config(ds))
with right, advanced("home-compute"):
    st.subheader("Compute")
    for name, description in available_devices().items():
        st.markdown(f":material/memory: **{name}**: {description}")
    st.caption("The Train page lets you pick among these devices.")

st.divider()
st.subheader("Try it")
st.markdown(
    f"Train a **shared-bottom** model on the default tasks with equal weights "
    f"({plural(APP_EPOCHS, 'epoch')}), then compare each task with single-task baselines."
)
if st.button("Train with defaults", type="primary", icon=":material/play_arrow:", disabled=busy or not tasks,
             help="Starts training and opens the Train page with live progress"):
    try:
        start_training(ds, default_config(ds))
    except MTLError as err:
        show_error(err)
    else:
        st.switch_page(TRAIN)
if busy:
    st.info("A training run is in progress.", icon=":material/sync:")
    st.page_link(TRAIN, label="Watch it on the Train page", icon=":material/arrow_forward:")
if not tasks:
    st.warning("This dataset has no label columns to train on; mark some on the Data page.")

st.divider()
with details("What each page does"):
    st.markdown(
        "**Pages:** **Data**: choose a bundled sample or upload your own log, check how each column "
        "is used. **Train**: choose tasks, weights, architecture and weighting method; train with live "
        "charts; compare with single-task baselines and with your earlier runs. "
        "**Compare methods**: train several task-weighting methods (static, uncertainty, GradNorm, UPGrad, ...) "
        "over a few seeds and see which beats single-task training, and by more than luck. "
        "**Recommendations**: pick a user and re-rank their top items by mixing the tasks' predictions. "
        "**Trade-offs**: Pareto fronts from weight sweeps, instant re-weighting with one preference-conditioned "
        "model, relevance against engagement, and quality against compute."
    )
