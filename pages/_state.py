"""One browser session's state: key names, widget values that survive page visits,
typed page settings and a small cache.

Key naming: session objects are plain words (``dataset``, ``runs``, ``jobs``,
``results``, ``outcomes``, ``baselines``, ``cache``); value widgets are
``ui.<page>.<field>`` (``ui.<page>.<field>.<dataset>`` when the choices depend on the
dataset) and keep their value across pages; buttons and other one-shot widgets are
``<page>.<action>``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, get_type_hints

import streamlit as st

#: Value widgets whose key starts with this keep their value when the user visits another page.
UI = "ui."
#: Where :func:`keep_widget_state` keeps a copy of every ``ui.`` value (not a ``ui.`` key itself).
SAVED = "saved_widgets"
CACHE = "cache"

T = TypeVar("T")


def keep_widget_state() -> None:
    """Streamlit forgets a widget's value when a page without it runs; copying the
    ``ui.`` keys into plain session state keeps choices across page visits.

    The copy alone is not enough while a fragment reruns on its own (a sweep's or a
    training's live progress): a fragment run drops the state of the page's other
    widgets, so leaving the page then found the sweep form back at its defaults. A
    second copy outside widget state, refreshed on every full run, restores them."""
    saved = st.session_state.setdefault(SAVED, {})
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(UI):
            saved[key] = st.session_state[key]
            st.session_state[key] = saved[key]
    for key, value in saved.items():
        if key not in st.session_state:
            st.session_state[key] = value


def ui_default(key: str, value) -> str:
    """Give widget ``key`` its first value (widgets then take no ``value=``); returns the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def set_widget(key: str, value) -> None:
    """Set a ``ui.`` widget's value before the page that draws it runs (e.g. before a page switch)."""
    st.session_state[key] = value
    st.session_state.setdefault(SAVED, {})[key] = value


def _store(name: str) -> OrderedDict:
    return st.session_state.setdefault(CACHE, {}).setdefault(name, OrderedDict())


def remember(name: str, key: Hashable, value: T, size: int = 1) -> T:
    """Keep ``value`` under ``key`` in this session's cache ``name``, which holds the
    ``size`` most recently used values (prepared data, explorers, scores and curves hold
    tensors or test rows: a few at most)."""
    store = _store(name)
    store[key] = value
    store.move_to_end(key)
    while len(store) > size:
        store.popitem(last=False)
    return value


def recall(name: str, key: Hashable) -> Any:
    """The value :func:`remember` kept under ``key`` (``None`` if none)."""
    store = _store(name)
    if key in store:
        store.move_to_end(key)
        return store[key]
    return None


def cached(name: str, key: Hashable, compute: Callable[[], T], size: int = 1) -> T:
    """``compute()`` once per ``key`` for this session (see :func:`remember`)."""
    found = recall(name, key)
    return found if found is not None else remember(name, key, compute(), size)


# ----------------------------------------------------------- typed page settings
def _flag(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(f"{text!r} is not true or false")
    return text == "true"


_PARSE: dict[Any, Callable[[str], Any]] = {int: int, float: float, str: str, bool: _flag}


class Settings:
    """Base of a page's settings: a dataclass whose fields are the page's value widgets.

    A field ``f`` is the widget ``ui.<PAGE>.<f>``; fields named in ``PER_DATASET`` get
    the dataset's short token appended, since their choices depend on the data. A
    ``dict`` field (task weights) is one widget per key: ``ui.<PAGE>.<f>.<dataset>.<key>``.
    :meth:`to_params` / :meth:`from_params` give a flat dict of strings (for a URL), and
    pages hand settings to each other by :meth:`apply`-ing an instance, never by
    writing another page's widget keys."""

    PAGE = ""
    PER_DATASET: tuple[str, ...] = ()

    @classmethod
    def key(cls, name: str, ds_short: str = "") -> str:
        suffix = f".{ds_short}" if name in cls.PER_DATASET and ds_short else ""
        return f"{UI}{cls.PAGE}.{name}{suffix}"

    @classmethod
    def read(cls: type[T], ds_short: str = "", **given) -> T:
        """The settings now in the widgets (``given`` fills what a page computed itself)."""
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in given:
                values[f.name] = given[f.name]
                continue
            key = cls.key(f.name, ds_short)
            if isinstance(f.default_factory, type) and f.default_factory is dict:
                prefix = key + "."
                values[f.name] = {k[len(prefix):]: v for k, v in st.session_state.items()
                                  if isinstance(k, str) and k.startswith(prefix)}
            elif key in st.session_state:
                values[f.name] = st.session_state[key]
        return cls(**values)

    def apply(self, ds_short: str = "") -> None:
        """Put these settings into the page's widgets (they show on its next run)."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value, key = getattr(self, f.name), self.key(f.name, ds_short)
            if isinstance(value, dict):
                for k, v in value.items():
                    set_widget(f"{key}.{k}", v)
            elif value is not None:
                set_widget(key, value)

    def to_params(self) -> dict[str, str]:
        """A flat dict of strings: lists and dicts as JSON, numbers as written."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = (json.dumps(value) if isinstance(value, (list, dict, tuple))
                           else str(value).lower() if isinstance(value, bool) else str(value))
        return out

    @classmethod
    def from_params(cls: type[T], params: dict[str, str]) -> T:
        """The inverse of :meth:`to_params`; unknown names are ignored."""
        hints = get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in params:
                continue
            text, hint = params[f.name], hints[f.name]
            parse = next((p for t, p in _PARSE.items() if hint is t or hint == t | None), json.loads)
            values[f.name] = parse(text)
        return cls(**values)
