"""What a newcomer waits for, in a real browser: the first page, and "Train with defaults".

Starts ``streamlit run app.py`` (as ``make run`` does), waits until the server answers
its health check, then drives Debian's Chromium through Playwright and times:

* **first page**: from opening the address to the Home page's title and active dataset
  on screen (the first visit of a fresh server pays every import);
* **train with defaults**: from the click on *Train with defaults* to the per-task test
  table on the Train page (the bundled simulated sample, the app's defaults);
* the same button in a **second session** (a new browser context): imports and the
  sample are warm, so this is the training itself plus drawing the results.

Beside each wall time, the CPU seconds the server process used meanwhile, and those
of the browser (Playwright's driver and Chromium's processes), from ``/proc`` (Linux):
on a 2-core machine the browser's work competes with the server's. On a busy machine the wall times stretch with the load, the CPU
seconds much less, so they show what the app's own work costs. Reference measured in
the same run: the library alone (``python -m mtl train`` with the same settings,
in-process), so the app's overhead shows as a ratio. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/app_latency.py``.

**Stages of the first session**: the server runs under ``benchmarks/_app_probe.py``,
which logs when each stage of the app's work starts and ends (imports, Home's
prefetch of the prepared data, waiting for it, building the trainer, the first step,
training, test evaluation, latency, saving the run, the Train page's script runs)
with the process's CPU seconds; the benchmark adds the browser's events (page open,
title, button, click, the table's heading, the table) and the browser's CPU seconds
(sampled four times a second), and prints the first session's timeline relative to
the click. ``--root DIR`` runs the app of another tree (e.g. an export of ``main``), so a
change is compared with what it replaces back to back: ``--root /tmp/main --root .``
measures each in turn, in the order given, ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).resolve().with_name("_app_probe.py")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: streamlit exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("error: streamlit did not start")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads); NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _browser_cpu(server: int) -> float:
    """CPU seconds so far of this benchmark's child processes other than the server
    (Playwright's driver and Chromium's processes; exited ones not counted)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0.0, [c for c in children.get(os.getpid(), []) if c != server]
    while todo:
        pid = todo.pop()
        cpu = _cpu_seconds(pid)
        total += cpu if cpu == cpu else 0.0
        todo.extend(children.get(pid, []))
    return total


class BrowserSampler:
    """Samples the browser's CPU seconds (:func:`_browser_cpu`) a few times a second, so
    the timeline can say what the browser spent in each stage."""

    def __init__(self, server: int, every: float = 0.25):
        self.server, self.every, self.samples = server, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _browser_cpu(self.server)))
            self._stop.wait(self.every)

    def __enter__(self) -> BrowserSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, t: float) -> float:
        """The browser's CPU seconds at wall time ``t`` (interpolated between samples)."""
        ts = [s[0] for s in self.samples]
        i = bisect.bisect_left(ts, t)
        if i == 0:
            return self.samples[0][1] if self.samples else math.nan
        if i >= len(ts):
            return self.samples[-1][1]
        (t0, c0), (t1, c1) = self.samples[i - 1], self.samples[i]
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0)


class Log:
    """The probe's event log, plus the browser's events written here."""

    def __init__(self, path: Path):
        self.path = path

    def mark(self, event: str) -> float:
        t = time.time()
        with self.path.open("a") as f:
            f.write(json.dumps({"t": t, "thread": "browser", "event": event}) + "\n")
        return t

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def _train_with_defaults(page, pid: int, log: Log, session: str) -> tuple[float, float]:
    """Seconds from the click to the per-task table, and the server's and the browser's
    CPU seconds meanwhile."""
    page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for(timeout=120_000)
    button = page.get_by_role("button", name="Train with defaults")
    button.wait_for(timeout=120_000)
    log.mark(f"{session}:button shown")
    start, cpu, browser = time.perf_counter(), _cpu_seconds(pid), _browser_cpu(pid)
    log.mark(f"{session}:click")
    button.click()
    page.get_by_text("Test metrics per task").wait_for(timeout=300_000)
    log.mark(f"{session}:table heading shown")
    page.get_by_test_id("stDataFrame").filter(visible=True).first.wait_for()
    log.mark(f"{session}:table shown")
    return time.perf_counter() - start, _cpu_seconds(pid) - cpu, _browser_cpu(pid) - browser


def stages(events: list[dict], browser: BrowserSampler, session: str = "first"
           ) -> list[tuple[float, float, float, float, str, str]]:
    """The timeline of ``session``: ``(start, end, server CPU s, browser CPU s, thread,
    what)`` per stage (seconds relative to the click; a point event has ``end == start``
    and the browser's CPU seconds since the click), from the server's start to the
    per-task table."""
    click = next(e["t"] for e in events if e["event"] == f"{session}:click")
    table = next(e["t"] for e in events if e["event"] == f"{session}:table shown")
    first = next(e["t"] for e in events if e["event"] == "process:start")
    open_: dict[tuple, dict] = {}
    rows = []
    for e in events:
        name, _, edge = e["event"].rpartition(":")
        key = (name, e.get("call"), e["thread"])
        if edge == "start" and name:
            open_[key] = e
        elif edge == "end" and key in open_:
            b = open_.pop(key)
            what = name + (f" {b['page']}" if "page" in b else "") + (f" #{b['call']}" if b.get("call", 1) > 1 else "")
            rows.append((b["t"] - click, e["t"] - click, e["cpu"] - b["cpu"], browser.at(e["t"]) - browser.at(b["t"]),
                         b["thread"], what))
        elif e["thread"] == "browser" or name.startswith("trainer.yield") or name == "process":
            if e["thread"] == "browser" and not e["event"].startswith(f"{session}:") and e["event"] != "page open":
                continue
            rows.append((e["t"] - click, e["t"] - click, 0.0, browser.at(e["t"]) - browser.at(click), e["thread"],
                         e["event"]))
    return sorted((r for r in rows if first - click <= r[0] <= table - click), key=lambda r: (r[0], -r[1]))


def print_stages(rows, title: str) -> None:
    print(f"\n{title}: seconds relative to the click; CPU seconds in each stage of the whole server process "
          "and of the browser (for a point event: the browser's since the click)")
    print(f"{'start':>7} {'end':>7} {'wall':>6} {'cpu':>5} {'brows':>5}  {'thread':<22} stage")
    for start, end, cpu, browser, thread, what in rows:
        wall = f"{end - start:6.2f}" if end > start else "      "
        cpu_text = f"{cpu:5.2f}" if end > start else "     "
        print(f"{start:7.2f} {end:7.2f} {wall} {cpu_text} {browser:5.2f}  {thread[:22]:<22} {what}")


def measure(root: Path, show_stages: bool, second: bool = True) -> dict:
    """One fresh server of the app in ``root``: first page, first and second session."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="mtl-app-latency-"))
    log = Log(tmp / "events.jsonl")
    cmd = [sys.executable, str(PROBE), str(log.path), "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "MTL_WORKSPACE": str(tmp / "workspace")}  # a fresh server has no kept runs
    out: dict = {"root": str(root), "load": os.getloadavg()[0]}
    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = time.perf_counter()
        _healthy(url, proc)
        out["server up"] = time.perf_counter() - start
        with sync_playwright() as p, BrowserSampler(proc.pid) as sampler:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            start, cpu = time.perf_counter(), _cpu_seconds(proc.pid)
            log.mark("page open")
            page.goto(url)
            page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for(timeout=120_000)
            out["title"] = time.perf_counter() - start
            log.mark("first:title shown")
            page.get_by_text("Simulated short-video feed").first.wait_for(timeout=120_000)
            out["dataset"] = time.perf_counter() - start
            log.mark("first:dataset shown")
            out["first page cpu"] = _cpu_seconds(proc.pid) - cpu
            out["first"], out["first cpu"], out["first browser"] = _train_with_defaults(page, proc.pid, log, "first")
            if second:
                page2 = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page2.goto(url)
                out["second"], out["second cpu"], out["second browser"] = _train_with_defaults(page2, proc.pid, log, "second")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out["stages"] = stages(log.events(), sampler)
    shutil.rmtree(tmp, ignore_errors=True)  # the log and the server's workspace
    if show_stages:
        print_stages(out["stages"], f"First session, app in {root}")
    return out


def library_reference() -> float:
    """Seconds for the same training through the library alone (load, prepare, train)."""
    code = ("import time; t=time.perf_counter(); from mtl.cli import main; "
            "main(['train', '--data', 'sample:simulated', '--epochs', '2']); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", action="append", type=Path,
                    help="the app's folder (repeatable: each measured in turn; default: this tree)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds over the --root folders")
    ap.add_argument("--no-stages", action="store_true", help="skip the first session's timeline")
    ap.add_argument("--no-second", action="store_true", help="skip the second session")
    ap.add_argument("--no-reference", action="store_true", help="skip the library reference")
    args = ap.parse_args(argv)
    roots = [r.resolve() for r in (args.root or [ROOT])]

    print(f"load average {os.getloadavg()[0]:.1f} at start")
    results = []
    for round_ in range(args.repeat):
        for root in roots:
            r = measure(root, not args.no_stages, second=not args.no_second)
            results.append(r)
            print(f"\n[{root} round {round_ + 1}, load average {r['load']:.1f} at its start]")
            print(f"server up (health check answers): {r['server up']:.1f}s after start")
            print(f"first page: title after {r['title']:.1f}s, active dataset after {r['dataset']:.1f}s "
                  f"(server CPU {r['first page cpu']:.1f}s)")
            print(f"train with defaults (first session): {r['first']:.1f}s from the click to the per-task table "
                  f"(server CPU {r['first cpu']:.1f}s, browser CPU {r['first browser']:.1f}s)")
            if "second" in r:
                print(f"train with defaults (second session): {r['second']:.1f}s (server CPU {r['second cpu']:.1f}s, "
                      f"browser CPU {r['second browser']:.1f}s)")
    if len(results) > 1:
        print("\nsummary (first page title / first session / second session, seconds; server CPU in brackets)")
        for r in results:
            second = f"{r['second']:.1f} [{r['second cpu']:.1f}]" if "second" in r else "-"
            print(f"  {r['root']}: {r['title']:.1f} / {r['first']:.1f} [{r['first cpu']:.1f}] / {second}"
                  f"  (load {r['load']:.1f})")
    if not args.no_reference:
        ref = library_reference()
        print(f"reference: the same training through `python -m mtl train` (load, prepare, train, evaluate): {ref:.1f}s")
        if "second" in results[-1]:
            print(f"app / library: {results[-1]['second'] / ref:.2f}x (second session)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
