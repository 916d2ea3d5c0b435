"""Runs ``streamlit`` with probes that log when each stage of the app's work starts and
ends, for ``benchmarks/app_latency.py`` (which reads the log and prints the stages).

Usage: ``python benchmarks/_app_probe.py LOG streamlit run app.py ...``. Nothing in the
app knows about it: the probes wrap functions as their modules finish importing (a
``sys.meta_path`` hook), so the app's own import order and timing stay as they are,
apart from a ``time.time()`` and a line of JSON per event. Each line has the wall
time, the process's CPU seconds so far, the thread and the event.
"""

from __future__ import annotations

import functools
import importlib.abc
import json
import os
import sys
import threading
import time

_lock = threading.Lock()
_out = None
_counts: dict[str, int] = {}


def log(event: str, **extra) -> None:
    line = json.dumps({"t": time.time(), "cpu": time.process_time(), "thread": threading.current_thread().name,
                       "event": event, **extra})
    with _lock:
        _out.write(line + "\n")
        _out.flush()


def _timed(name: str, fn, *, first: int | None = None, describe=None):
    """``fn`` logging ``name:start``/``name:end`` (only its first ``first`` calls when given)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _lock:
            n = _counts[name] = _counts.get(name, 0) + 1
        if first is not None and n > first:
            return fn(*args, **kwargs)
        extra = describe(*args, **kwargs) if describe is not None else {}
        log(f"{name}:start", call=n, **extra)
        try:
            return fn(*args, **kwargs)
        finally:
            log(f"{name}:end", call=n, **extra)

    return wrapper


def _wrap(obj, attr: str, name: str, **kw) -> None:
    setattr(obj, attr, _timed(name, getattr(obj, attr), **kw))


def _wrap_run(cls) -> None:
    """Log the events a trainer yields (the first progress, each evaluation, the end)."""
    run = cls.run

    @functools.wraps(run)
    def wrapper(self):
        log("trainer.run:start")
        seen_progress = False
        for event in run(self):
            kind = type(event).__name__
            if kind != "Progress" or not seen_progress:
                log(f"trainer.yield:{kind}")
            seen_progress = seen_progress or kind == "Progress"
            yield event

    cls.run = wrapper


def _page_name(page, *a, **k) -> dict:
    return {"page": str(getattr(page, "_page", getattr(page, "url_path", "")))}


def _patch(name: str, module) -> None:
    if name == "pages._runs":
        _wrap(module, "prepare", "prepare")
        _wrap(module, "prefetch", "prefetch")
        _wrap(module, "start_training", "start_training")
        _wrap(module, "_training_done", "training_done")
        _wrap(module.SharedPrepared, "get", "shared_prepared.get")
    elif name == "pages._stored":
        _wrap(module, "save", "workspace.save")
    elif name == "mtl.train.trainer":
        cls = module.Trainer
        _wrap(cls, "__init__", "trainer.init")
        _wrap(cls, "train_step", "trainer.first_step", first=1)
        _wrap(cls, "_validate", "trainer.validate")
        _wrap(cls, "evaluate", "trainer.evaluate_test")
        _wrap(cls, "measure_latency", "trainer.latency")
        _wrap_run(cls)
    elif name == "mtl.train.model_io":
        _wrap(module.TrainedModel, "from_training", "trained_model")
    elif name == "mtl.jobs":
        _wrap(module.JobSlots, "acquire", "job.slot")
    elif name == "mtl.train.background":
        _wrap(module.BackgroundTraining, "work", "training.work")
        _wrap(module.BackgroundTraining, "_prepare", "training.prepare")
    elif name == "streamlit.runtime.scriptrunner.script_runner":
        _wrap(module.ScriptRunner, "_run_script", "script_run")
    elif name == "streamlit.navigation.page":
        _wrap(module.StreamlitPage, "run", "page", describe=_page_name)


#: Modules whose import is timed (start/end of executing their code, nested imports included).
IMPORTS = {"torch", "sklearn", "plotly", "pandas", "pyarrow", "scipy", "mtl.train", "mtl.data", "mtl.plots",
           "pages._common", "pages._runs", "pages._stored", "pages.home", "pages.train"}
PATCHES = {"pages._runs", "pages._stored", "mtl.train.trainer", "mtl.train.model_io", "mtl.jobs",
           "mtl.train.background", "streamlit.runtime.scriptrunner.script_runner", "streamlit.navigation.page"}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner, name: str):
        self.inner, self.name = inner, name

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        timed = self.name in IMPORTS
        if timed:
            log(f"import {self.name}:start")
        try:
            self.inner.exec_module(module)
        finally:
            if timed:
                log(f"import {self.name}:end")
        if self.name in PATCHES:
            _patch(self.name, module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in IMPORTS and name not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, name)
                return spec
        return None


def main() -> None:
    global _out
    _out = open(sys.argv[1], "a", buffering=1)  # open for the life of the process
    sys.argv = sys.argv[2:]
    sys.meta_path.insert(0, _Finder())
    log("process:start", pid=os.getpid())
    from streamlit.web.cli import main as streamlit_main

    sys.exit(streamlit_main())


if __name__ == "__main__":
    main()
