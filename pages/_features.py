"""The network's input options, with the library's one-line descriptions, on every page
that trains (Train, Compare methods, the Trade-offs sweep): feature interactions,
numeric-feature embeddings and user-history features."""

from __future__ import annotations

import streamlit as st

from mtl.data import history as history_features
from mtl.data.history import DESCRIPTION as HISTORY_DESCRIPTION
from mtl.models import available_interactions, available_num_embeddings


def interaction_select(key: str, *, in_form: bool = False) -> str:
    """The feature-interaction block (widget ``key``), its description under it; in a
    form, in each option instead, since a caption there would describe the choice of
    the last submission rather than the one shown."""
    interactions = available_interactions()
    if in_form:
        return st.selectbox("Feature interactions", list(interactions), key=key,
                            format_func=lambda n: f"{n}: {interactions[n]}",
                            help="Added to the input of any architecture")
    choice = st.selectbox("Feature interactions", list(interactions), key=key,
                          help="Added to the input of any architecture")
    st.caption(interactions[choice])
    return choice


def numeric_select(key: str) -> str:
    embeddings = available_num_embeddings()
    return st.selectbox("Numeric features", list(embeddings), key=key,
                        format_func=lambda n: f"{n}: {embeddings[n]}")


def history_box(key: str) -> bool:
    return bool(st.checkbox("User-history features", key=key, help=HISTORY_DESCRIPTION))


@st.cache_data(show_spinner=False, max_entries=16)
def _history_unavailable(token: str, _data) -> str:
    return history_features.unavailable(_data)


def history_problem(ds, ticked: bool) -> str:
    """Why the ticked user-history box cannot apply to ``ds`` (no ids, no topic
    column), or ``""``: said beside the box, before anything trains."""
    return _history_unavailable(ds.token, ds.data) if ticked else ""
