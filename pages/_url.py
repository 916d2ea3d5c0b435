"""A page's setup in the address bar: the settings that define what a page shows are
mirrored in ``st.query_params``, so copying the address reproduces the setup in a fresh
browser.

One mechanism serves every page: a :class:`Link` names the page's settings dataclasses
(:class:`pages._state.Settings`, whose fields are the parameter names) and a check per
field. A fresh session reads the address once per page; a parameter that is unknown,
malformed, out of range or stale (a task the data lacks, a user the model does not know)
is ignored, its default applies, and the page says which, never an exception.

Some settings belong to a model (the Recommendations page's user and fusion weights, a
trade-off curve's α): a link cannot carry the model, so they wait (:meth:`Link.take`)
until the page shows one, and apply to the first model it shows. Until then they stay in
the address. Uploaded data cannot travel in a link either: the address says
``data=upload`` and the page says so.

Each page writes only its own parameters (Streamlit clears the address on a page switch,
and :meth:`Link.mirror` drops any other page's). :data:`FRAME` parameters belong to the
app frame, not a page (presentation mode, an opened run, a visitor's key): every page
keeps them as they are.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from mtl.data import SPLITS
from mtl.data.samples import SAMPLES
from mtl.errors import MTLError
from mtl.metrics import METRICS_BY_KIND
from mtl.models import available_interactions, available_models, available_num_embeddings, get_model_class
from mtl.plots.tradeoff import COMPUTE_AXES
from mtl.train import available_devices
from mtl.weighting import available_weightings
from pages import _present as present
from pages import _visitor as visitor
from pages._common import parse_sizes, time_columns
from pages._datasets import Dataset, active_dataset, sample_dataset, set_active_dataset
from pages._settings import (
    CompareSettings,
    CurveSettings,
    InstantSettings,
    RecommendSettings,
    SweepSettings,
    TradeoffView,
    TrainSettings,
)
from pages._state import Settings
from pages._widgets import show_dataset

#: Parameters of the app frame rather than of a page; every page leaves them as they are.
FRAME = frozenset({present.PARAM, visitor.PARAM, visitor.RUN_PARAM})
DATA = "data"
UPLOAD = "upload"

#: A field's check: why ``value`` cannot be that setting ('' when it can).
Check = Callable[[Any], str]


# ------------------------------------------------------------------- checks
def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def within(low: float, high: float) -> Check:
    """A number from ``low`` to ``high`` (a widget's bounds)."""
    return lambda v: "" if _number(v) and low <= v <= high else f"{v!r} is outside {low:g} to {high:g}"


def one_of(choices: Iterable) -> Check:
    options = list(choices)
    return lambda v: "" if v in options else f"{v!r} is not one of the choices"


def flag(value) -> str:
    return "" if isinstance(value, bool) else f"{value!r} is not true or false"


def some_of(choices: Iterable[str], missing: str, empty_ok: bool = False) -> Check:
    """A list of names from ``choices``; ``missing`` says where a name was not found."""
    options = set(choices)

    def check(value) -> str:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value) or (not value and not empty_ok):
            return "not a list of names"
        unknown = [t for t in value if t not in options]
        return f"no {', '.join(map(repr, unknown))} in {missing}" if unknown else ""

    return check


def task_weights(tasks: Iterable[str], low: float, high: float, missing: str) -> Check:
    """A mapping of task to weight, each task one of ``tasks``, each weight in range."""
    options = set(tasks)

    def check(value) -> str:
        if not isinstance(value, dict):
            return "not a mapping of task weights"
        for task, weight in value.items():
            if task not in options:
                return f"no {task!r} in {missing}"
            if not _number(weight) or not low <= weight <= high:
                return f"the weight of {task} must be a number from {low:g} to {high:g}"
        return ""

    return check


def sizes(value) -> str:
    try:
        parse_sizes(value)
    except MTLError as err:
        return str(err)
    return ""


# --------------------------------------------------------------------- links
def address() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


@dataclasses.dataclass(frozen=True)
class Link:
    """One page's settings in the address.

    ``parts`` are the page's settings classes (their field names are the parameters, so
    they must not repeat); ``checks(ds)`` gives a check for every field read at once,
    and ``later`` names the fields that wait for a model (:meth:`take`). With ``data``
    the address also names the bundled sample the settings are for."""

    page: str
    title: str
    parts: tuple[type[Settings], ...]
    checks: Callable[[Dataset], dict[str, Check]]
    later: frozenset[str] = frozenset()
    data: bool = True

    def __post_init__(self):
        names = [f.name for part in self.parts for f in dataclasses.fields(part)]
        if len(names) != len(set(names)) or DATA in names or FRAME & set(names):
            raise ValueError(f"the {self.page} page's parameters repeat or clash: {names}")

    @property
    def _read_flag(self) -> str:
        return f"url.{self.page}.read"

    @property
    def _waiting(self) -> str:
        return f"url.{self.page}.waiting"

    def _part(self, name: str) -> type[Settings] | None:
        return next((p for p in self.parts if name in {f.name for f in dataclasses.fields(p)}), None)

    def _parse(self, name: str, text: str) -> tuple[Any, str]:
        """The value of parameter ``name`` and '', or ``None`` and why it cannot be read."""
        part = self._part(name)
        if part is None:
            return None, f"not a {self.title} setting"
        try:
            return getattr(part.from_params({name: text}), name), ""
        except (ValueError, TypeError):
            return None, f"{text!r} cannot be read"

    def restore(self) -> list[str]:
        """On a session's first visit to the page, take its settings from the address
        (fields in ``later`` wait for :meth:`take`); returns notes on what was ignored."""
        if st.session_state.get(self._read_flag):
            return []
        st.session_state[self._read_flag] = True
        params = {k: v for k, v in address().items() if k not in FRAME}
        if not params:
            return []
        ignored = self._restore_data(params.pop(DATA, None)) if self.data else []
        ds = active_dataset()
        checks = self.checks(ds)
        valid: dict[type[Settings], dict[str, Any]] = {}
        waiting = {}
        for name, text in params.items():
            value, problem = self._parse(name, text)
            if not problem and name in self.later:
                waiting[name] = text
                continue
            if not problem:
                problem = checks[name](value)
            if problem:
                ignored.append(f"{name} ({problem})")
            else:
                valid.setdefault(self._part(name), {})[name] = value
        for part, values in valid.items():
            part(**values).apply(ds.short if self.data else "")
        if waiting:
            st.session_state[self._waiting] = waiting
        return ignored

    def _restore_data(self, data: str | None) -> list[str]:
        if data == UPLOAD:
            return ["data: the link was made on uploaded data, which cannot travel in a link; upload it again on the "
                    "Data page (the settings below were applied to the bundled sample where they fit)"]
        if data in SAMPLES:
            try:
                if active_dataset().source_id != f"sample:{data}":
                    set_active_dataset(sample_dataset(data))
                    show_dataset()  # the sidebar, drawn before the address was read
            except MTLError as err:
                return [f"data ({err})"]
        elif data is not None:
            return [f"data (no bundled sample {data!r})"]
        return []

    def waiting(self) -> dict[str, str]:
        """The link's settings still waiting for a model (parameter: text as in the address)."""
        return dict(st.session_state.get(self._waiting, {}))

    def take(self, part: type[Settings], model_key: str, **checks: Check) -> list[str]:
        """Apply the waiting settings of ``part`` named in ``checks`` to the model the
        page now shows (``model_key`` as the widget keys' suffix), once; returns notes
        on what was ignored."""
        waiting = st.session_state.get(self._waiting)
        if not waiting:
            return []
        valid, ignored = {}, []
        for name, check in checks.items():
            if name not in waiting:
                continue
            value, problem = self._parse(name, waiting.pop(name))
            if problem := problem or check(value):
                ignored.append(f"{name} ({problem})")
            else:
                valid[name] = value
        part(**valid).apply(model_key)
        return ignored

    def mirror(self, *shown: Settings, ds: Dataset | None = None) -> None:
        """Write the settings the page shows (and those still waiting for a model) into
        the address, dropping every other page parameter; only when something changed."""
        params = {k: v for k, v in address().items() if k in FRAME}
        if self.data and ds is not None:
            params[DATA] = ds.sample.key if ds.sample is not None else UPLOAD
        for settings in shown:
            params.update(settings.to_params())
        params.update({k: v for k, v in self.waiting().items() if k not in params})
        if address() != params:
            st.query_params.from_dict(params)


def plain(text: str) -> str:
    """``text`` as Markdown that shows it verbatim: whatever a link says is echoed, and a
    crafted link must not put a clickable link, an image or HTML on the page."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def say_ignored(notes: list[str]) -> None:
    """The visible note naming what a link asked for and did not get."""
    if notes:
        st.warning("Some settings in the address were ignored (their defaults apply): " + plain("; ".join(notes)) + ".",
                   icon=":material/link_off:")


def say_upload_stays(ds: Dataset) -> None:
    if ds.sample is None:
        st.caption("The address keeps these settings, not the uploaded data: a link opens them on the bundled sample.")


# ---------------------------------------------------------------- the pages
def _any_text(value) -> str:
    """Time cut-offs: read with the split, where the Train page names what is wrong with them."""
    return "" if isinstance(value, str) else f"{value!r} is not text"


def _train_checks(ds: Dataset) -> dict[str, Check]:
    labels, where = ds.data.schema.labels, f"the label columns of {ds.name}"
    return {"tasks": some_of(labels, where), "preference": task_weights(labels, 0, 5, where),
            "arch": one_of(available_models()), "weighting": one_of(available_weightings()),
            "epochs": within(1, 500), "batch": within(16, 65536), "lr": within(1e-5, 1.0), "patience": within(1, 50),
            "emb": within(1, 512), "hidden": sizes, "experts": within(1, 64), "proj": within(0, 1024),
            "seed": within(0, 2**31 - 1),
            "split": one_of(SPLITS), "cutoffs": _any_text, "split_column": one_of(time_columns(ds)),
            "device": one_of(available_devices()), **_network_checks()}


def _network_checks() -> dict[str, Check]:
    """The network's input options, the same on every page that trains."""
    return {"interaction": one_of(available_interactions()), "num_emb": one_of(available_num_embeddings()),
            "history": flag}


def _metric_check(ds: Dataset) -> Check:
    labels, has_users = ds.data.schema.labels, ds.data.schema.user is not None

    def check(value) -> str:
        if not isinstance(value, dict):
            return "not a mapping of task to metric"
        for task, metric in value.items():
            if task not in labels:
                return f"no {task!r} in the label columns of {ds.name}"
            if metric not in METRICS_BY_KIND[labels[task]] or (metric == "gauc" and not has_users):
                return f"{metric!r} is not a metric of {task}"
        return ""

    return check


def _compare_checks(ds: Dataset) -> dict[str, Check]:
    labels, where = ds.data.schema.labels, f"the label columns of {ds.name}"
    return {"tasks": some_of(labels, where), "methods": some_of(available_weightings(), "the weighting methods"),
            "seeds": within(1, 10), "epochs": within(1, 50),
            "arch": one_of(a for a in available_models() if get_model_class(a).shares_parameters),
            "preference": task_weights(labels, 0, 5, where), "metrics": _metric_check(ds), **_network_checks()}


#: The Trade-offs page's tabs, in order; the address names the open one by its title.
TABS = ("Pareto front", "Instant weights", "Relevance vs efficiency", "Quality vs compute")


def _tradeoff_checks(ds: Dataset) -> dict[str, Check]:
    labels = ds.data.schema.labels
    sweepable = [c for c, k in labels.items() if k != "multiclass"] or list(labels)
    return {"tab": one_of(TABS), "axis": one_of(COMPUTE_AXES),
            "tasks": some_of(sweepable, f"the label columns of {ds.name} a sweep can trade off"),
            "points": within(3, 21), "epochs": within(1, 50), "arch": one_of(a for a in available_models() if a != "single"),
            "cond": flag, **_network_checks()}


TRAIN = Link("train", "Train", (TrainSettings,), _train_checks)
COMPARE = Link("cmp", "Compare methods", (CompareSettings,), _compare_checks)
TRADEOFFS = Link("to", "Trade-offs", (TradeoffView, SweepSettings, InstantSettings, CurveSettings), _tradeoff_checks,
                 later=frozenset({"x", "y", "ix", "iy", "quality", "weights", "eff", "rel", "k", "alpha"}))
RECOMMEND = Link("rec", "Recommendations", (RecommendSettings,),
                 lambda ds: {"k": within(1, 100), "exclude_seen": flag},
                 later=frozenset({"user", "fusion"}), data=False)


def restore_train() -> list[str]:
    return TRAIN.restore()


def mirror_train(settings: TrainSettings, ds: Dataset) -> None:
    TRAIN.mirror(settings, ds=ds)
