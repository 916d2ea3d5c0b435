"""The network's input options, with the library's one-line descriptions, on every page
that trains (Train, Compare methods, the Trade-offs sweep): feature interactions,
numeric-feature embeddings and user-history features.

Every select shows the options' short names (the ones the address and the CLI use) and
the description under it, never inside the option: a description there was repeated
after the name ("none: None: the network sees ...") and cut off by the select's width."""

from __future__ import annotations

import streamlit as st

from mtl.data import history as history_features
from mtl.data.history import DESCRIPTION as HISTORY_DESCRIPTION
from mtl.models import available_interactions, available_num_embeddings


def _described_select(label: str, descriptions: dict[str, str], key: str, *, in_form: bool, help: str | None) -> str:
    """A select of ``descriptions``' names with the chosen one's description under it;
    in a form, every option's instead: the widget's value there is the last submission's,
    so a caption of it would describe a choice other than the one shown."""
    choice = st.selectbox(label, list(descriptions), key=key, help=help)
    if in_form:
        st.caption("  \n".join(_named(name, text) for name, text in descriptions.items()))
    else:
        st.caption(descriptions[choice])
    return choice


def _named(name: str, description: str) -> str:
    """``fm`` and "Factorization machine: the dot product ..." as "**fm** (Factorization
    machine): the dot product ..."; "**none**: the network sees ..." (not "none: None: ...")."""
    title, _, rest = description.partition(": ")
    if not rest:
        return f"**{name}**: {description}"
    if title.lower() == name.lower():
        return f"**{name}**: {rest}"
    return f"**{name}** ({title}): {rest}"


def interaction_select(key: str, *, in_form: bool = False) -> str:
    """The feature-interaction block (widget ``key``)."""
    return _described_select("Feature interactions", available_interactions(), key, in_form=in_form,
                             help="Added to the input of any architecture")


def numeric_select(key: str, *, in_form: bool = False) -> str:
    """How numeric columns enter the network (widget ``key``)."""
    return _described_select("Numeric features", available_num_embeddings(), key, in_form=in_form,
                             help="How each numeric column enters the network, whatever the architecture")


def history_box(key: str) -> bool:
    return bool(st.checkbox("User-history features", key=key, help=HISTORY_DESCRIPTION))


@st.cache_data(show_spinner=False, max_entries=16)
def _history_unavailable(token: str, _data) -> str:
    return history_features.unavailable(_data)


def history_problem(ds, ticked: bool) -> str:
    """Why the ticked user-history box cannot apply to ``ds`` (no ids, no topic
    column), or ``""``: said beside the box, before anything trains."""
    return _history_unavailable(ds.token, ds.data) if ticked else ""
