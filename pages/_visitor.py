"""Who is visiting, and which run a link opens: the ``visitor=`` and ``run=`` address
parameters.

By default (a local install, one person or one classroom projector) the server's
workspace is shared by everyone who opens the app: there is no visitor key. With the
shared-server mode on (``MTL_VISITOR_MODE=1``, :func:`mtl.store.visitor_mode`), each
visitor gets a private key, generated on the first visit and carried in the address
(``?visitor=...``): bookmarking the address is how one comes back to one's runs. A
visitor sees the runs prepared for everyone (saved without an owner, e.g. from the
command line), their own, and the runs others shared with them by a link
(``?run=<id>``); their uploaded data never reaches anyone else (a run on uploaded data
is shared without its model, which holds the rows).

The key is a bearer secret in an address, not an account: this is a demo and teaching
tool, not a multi-tenant service (see the README).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from mtl.store import is_run_id, is_visitor_key, new_visitor_key, visitor_mode

PARAM, RUN_PARAM = "visitor", "run"
#: Session keys: the visitor's key; the ids of runs opened from links (so they are
#: listed); the links already acted on (a link opens its run once, not on every rerun).
KEY, LINKS, HANDLED, NOTE = "visitor.key", "visitor.links", "visitor.handled", "visitor.note"
#: Session key of the address's run= id, read before a page rewrites the address.
PENDING = "visitor.pending_run"


def visitor() -> str | None:
    """This session's visitor key in the shared-server mode (``None`` when it is off).
    A fresh session takes it from the address, else makes one; the address carries it
    from then on (put back when a page rewrote the parameters)."""
    if not visitor_mode():
        return None
    key = st.session_state.get(KEY)
    if key is None:
        given = st.query_params.get(PARAM)
        if is_visitor_key(given):
            key = given
        else:
            key = new_visitor_key()
            st.session_state[NOTE] = ("The address held no valid visitor key, so you got a new one: "
                                      if given is not None else "") + "bookmark this address to come back to your runs."
        st.session_state[KEY] = key
    if st.query_params.get(PARAM) != key:
        st.query_params[PARAM] = key
    return key


def linked_runs() -> list[str]:
    """Ids of runs this session opened from links (``include`` of a visitor's listing)."""
    return list(st.session_state.get(LINKS, []))


def capture_link() -> None:
    """Note the address's ``run=`` id first thing in a run (pages rewrite the address
    with their own settings later); a malformed id is ignored."""
    run_id = st.query_params.get(RUN_PARAM)
    if is_run_id(run_id) and run_id not in st.session_state.get(HANDLED, set()):
        st.session_state[PENDING] = run_id


def pending_link() -> str | None:
    """The linked run id no page has acted on yet (without taking it)."""
    return st.session_state.get(PENDING)


def take_link() -> str | None:
    """The linked run id, once per session and link; it is remembered so its run stays
    listed here."""
    run_id = st.session_state.pop(PENDING, None)
    if run_id is None:
        return None
    st.session_state.setdefault(HANDLED, set()).add(run_id)
    links = st.session_state.setdefault(LINKS, [])
    if run_id not in links:
        links.append(run_id)
    return run_id


def share_link(run_id: str, page_path: str) -> str:
    """The address that opens run ``run_id`` on the page served at ``page_path`` (e.g.
    ``train``). It never holds the sharer's own visitor key: the receiver keeps theirs."""
    here = getattr(st.context, "url", None) or ""
    parts = urlsplit(here)
    if not parts.scheme or not parts.netloc:
        return f"/{page_path}?{RUN_PARAM}={run_id}"
    segments = [s for s in parts.path.split("/") if s]
    from pages import _nav as nav

    pages = {p.rsplit("/", 1)[-1].removesuffix(".py") for p in (nav.HOME, nav.LEARN, nav.DATA, nav.TRAIN,
                                                                nav.COMPARE, nav.RECOMMEND, nav.TRADEOFFS)}
    if segments and segments[-1] in pages:
        segments = segments[:-1]  # the page part; what is left is the server's base path
    base = "/".join([*segments, page_path])
    return f"{parts.scheme}://{parts.netloc}/{base}?{RUN_PARAM}={run_id}"


def note() -> str | None:
    """Said once after a new key was made: bookmark the address."""
    return st.session_state.pop(NOTE, None)
