"""Several browser sessions training at once on one server: do they finish, each with its
own settings, and does Stop take effect quickly under that load?

Starts ``streamlit run app.py`` on a loopback port and drives N sessions over Streamlit's
own websocket protocol, the way the browser does (protobuf ``BackMsg``/``ForwardMsg``):
each session opens the Train page, sets its own architecture and seed, presses Train,
and keeps re-running the page's live fragments at the intervals the server asks for
(``run_every``), as a browser tab does. No browser is needed, so the load is the
server's alone. Measured:

* **stop latency**: from pressing Stop in one session until that session shows its
  stopped run's results (the others keep training meanwhile);
* **interaction latency**: the longest time from a widget change to the end of the
  rerun it causes (the server's responsiveness at that load);
* whether every session ends with a run of its own architecture (no cross-talk);
* the server process's peak memory (``VmHWM``).

Loopback only, a fixed number of sessions, and it stops by itself (every wait has a
deadline). ``tests/test_load.py`` runs it in the slow suite; by hand:
``.venv/bin/python benchmarks/concurrent_sessions.py --sessions 8``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("shared_bottom", "mmoe", "ple", "single")


def log(text: str) -> None:
    if os.environ.get("MTL_LOAD_VERBOSE"):
        print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` on ``127.0.0.1:port``; returns once it answers its health check."""
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--server.enableXsrfProtection", "false",
           "--server.enableCORS", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not answer its health check within 90 s")


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Session:
    """One browser tab: a websocket, the page it is on, its widgets and its fragment timers."""

    url: str
    name: str
    ws: object = None
    pages: dict = field(default_factory=dict)       # page name -> script hash
    page_hash: str = ""
    widgets: dict = field(default_factory=dict)     # label -> (kind, id) of the latest elements
    states: dict = field(default_factory=dict)      # id -> WidgetState we set (sent with every rerun)
    texts: list = field(default_factory=list)       # markdown/alert/progress texts since the last mark
    timers: dict = field(default_factory=dict)      # fragment id -> asyncio task
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                           ping_interval=None, open_timeout=30)
        asyncio.ensure_future(self._receive())

    async def _receive(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except websockets.ConnectionClosed:
            pass

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "navigation":
            self.pages = {p.page_name: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "new_session" and not msg.metadata.run.fragment_ids:
            for timer in self.timers.values():  # a full run re-declares its fragments
                timer.cancel()
            self.timers.clear()
        elif kind == "auto_rerun":
            fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid not in self.timers:
                self.timers[fid] = asyncio.ensure_future(self._every(fid, every))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                timer = self.timers.pop(fid, None)
                if timer is not None:
                    timer.cancel()
        elif kind == "script_finished":
            self.finished.set()
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            which = el.WhichOneof("type")
            if which in ("button", "number_input", "selectbox", "text_input"):
                widget = getattr(el, which)
                self.widgets[widget.label] = (which, widget.id)
            elif which == "markdown":
                self.texts.append(el.markdown.body)
            elif which == "alert":
                self.texts.append(el.alert.body)
            elif which == "progress":
                self.texts.append(el.progress.text)

    async def _every(self, fragment_id: str, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.rerun(fragment_id=fragment_id)

    async def rerun(self, *, fragment_id: str = "", trigger: str | None = None) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.page_script_hash = self.page_hash
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = bool(fragment_id) and trigger is None
        for state in self.states.values():
            cs.widget_states.widgets.add().CopyFrom(state)
        if trigger is not None:
            cs.widget_states.widgets.add(id=trigger, trigger_value=True)
        await self.ws.send(msg.SerializeToString())

    async def run_and_wait(self, timeout: float, **kw) -> float:
        """Rerun (a widget change or a click) and wait for the run to finish; seconds taken."""
        self.finished.clear()
        start = time.perf_counter()
        await self.rerun(**kw)
        await asyncio.wait_for(self.finished.wait(), timeout)
        return time.perf_counter() - start

    def set(self, label: str, value) -> None:
        kind, wid = self.widgets[label]
        state = self.states.setdefault(wid, BackMsg().rerun_script.widget_states.widgets.add())
        state.id = wid
        if kind == "number_input":
            state.int_value = int(value)
        else:
            state.string_value = str(value)

    async def wait_for_text(self, needle: str | tuple[str, ...], timeout: float) -> float:
        start = time.perf_counter()
        needles = (needle,) if isinstance(needle, str) else needle
        while not any(n in t for t in self.texts for n in needles):
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{self.name}: no {needle!r} within {timeout:.0f} s; last texts {self.texts[-5:]}")
            await asyncio.sleep(0.05)
        return time.perf_counter() - start

    async def close(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        await self.ws.close()


async def drive(port: int, n: int, epochs: int, timeout: float) -> dict:
    """N sessions train at once; half are stopped one after another, half run to the end."""
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    sessions = [Session(url, f"session {i}") for i in range(n)]
    for s in sessions:
        await s.connect()
        await s.run_and_wait(timeout)
    interaction = []
    for i, s in enumerate(sessions):
        s.page_hash = s.pages["Train"]
        await s.run_and_wait(timeout)
        s.set("Architecture", ARCHS[i % len(ARCHS)])
        s.set("Seed", 100 + i)
        s.set("Epochs", epochs if i % 2 == 0 else 3)
        interaction.append(await s.run_and_wait(timeout))
        s.texts.clear()
        await s.rerun(trigger=s.widgets["Train"][1])
        log(f"{s.name} pressed Train")
    for s in sessions:  # every session trains (or is queued) before anyone stops
        await s.wait_for_text(("Epoch", "Queued"), timeout)
    stops = []
    for s in sessions[::2]:  # each one once it trains (with a queue, others may wait for its slot)
        await s.wait_for_text("Epoch", timeout)
        await asyncio.sleep(1.0)
        s.texts.clear()
        await s.rerun(trigger=s.widgets["Stop"][1])
        stops.append(await s.wait_for_text("was stopped", timeout))
        log(f"{s.name} stopped in {stops[-1]:.1f} s")
    for s in sessions[1::2]:
        await s.wait_for_text("Test metrics per task", timeout)
    # Results of each session's own run: its architecture in the run label.
    labels = {}
    for i, s in enumerate(sessions):
        s.texts.clear()
        await s.run_and_wait(timeout)
        labels[s.name] = next((t for t in s.texts if t.startswith("**#")), "")
        if ARCHS[i % len(ARCHS)] not in labels[s.name].split("·")[1]:
            raise AssertionError(f"{s.name} trained {ARCHS[i % len(ARCHS)]} but shows {labels[s.name]!r}")
    for s in sessions:
        await s.close()
    return {"stop_s": stops, "interaction_s": interaction, "labels": labels}


def run(n: int = 8, epochs: int = 200, timeout: float = 300.0, env: dict | None = None) -> dict:
    port = free_port()
    server = start_server(port, env)
    try:
        start = time.perf_counter()
        out = asyncio.run(drive(port, n, epochs, timeout))
        out["seconds"] = time.perf_counter() - start
        out["peak_mb"] = peak_memory_mb(server.pid)
        return out
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=200, help="epochs of the sessions that are stopped")
    args = ap.parse_args()
    load = os.getloadavg()
    out = run(args.sessions, args.epochs)
    stops = out["stop_s"]
    print(f"{args.sessions} sessions on {os.cpu_count()} cores (load average before {load[0]:.1f}): all finished in "
          f"{out['seconds']:.0f} s; Stop took {min(stops):.1f}-{max(stops):.1f} s; widget change to rerun end at most "
          f"{max(out['interaction_s']):.1f} s; server peak memory {out['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
