"""What a newcomer waits for, in a real browser: the first page, and "Train with defaults".

Starts ``streamlit run app.py`` (as ``make run`` does), waits until the server answers
its health check, then drives Debian's Chromium through Playwright and times:

* **first page**: from opening the address to the Home page's title and active dataset
  on screen (the first visit of a fresh server pays every import);
* **train with defaults**: from the click on *Train with defaults* to the per-task test
  table on the Train page (the bundled simulated sample, the app's defaults);
* the same button in a **second session** (a new browser context): imports and the
  sample are warm, so this is the training itself plus drawing the results.

Beside each wall time, the CPU seconds the server process used meanwhile (from
``/proc``; Linux): on a busy machine the wall times stretch with the load, the CPU
seconds much less, so they show what the app's own work costs. Reference measured in
the same run: the library alone (``python -m mtl train`` with the same settings,
in-process), so the app's overhead shows as a ratio. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/app_latency.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def _train_with_defaults(page, pid: int) -> tuple[float, float]:
    """Seconds from the click to the per-task table, and the server's CPU seconds meanwhile."""
    page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for()
    button = page.get_by_role("button", name="Train with defaults")
    button.wait_for()
    start, cpu = time.perf_counter(), _cpu_seconds(pid)
    button.click()
    page.get_by_text("Test metrics per task").wait_for(timeout=300_000)
    page.get_by_test_id("stDataFrame").filter(visible=True).first.wait_for()
    return time.perf_counter() - start, _cpu_seconds(pid) - cpu


def library_reference() -> float:
    """Seconds for the same training through the library alone (load, prepare, train)."""
    code = ("import time; t=time.perf_counter(); from mtl.cli import main; "
            "main(['train', '--data', 'sample:simulated', '--epochs', '2']); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from playwright.sync_api import sync_playwright

    print(f"load average {os.getloadavg()[0]:.1f} at start")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = time.perf_counter()
        _healthy(url, proc)
        print(f"server up (health check answers): {time.perf_counter() - start:.1f}s after start")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            start, cpu = time.perf_counter(), _cpu_seconds(proc.pid)
            page.goto(url)
            page.get_by_role("heading", name="MTL Trade-off Explorer").wait_for(timeout=120_000)
            title = time.perf_counter() - start
            page.get_by_text("Simulated short-video feed").first.wait_for(timeout=120_000)
            first = time.perf_counter() - start
            print(f"first page: title after {title:.1f}s, active dataset after {first:.1f}s "
                  f"(server CPU {_cpu_seconds(proc.pid) - cpu:.1f}s)")
            cold, cpu = _train_with_defaults(page, proc.pid)
            print(f"train with defaults (first session): {cold:.1f}s from the click to the per-task table "
                  f"(server CPU {cpu:.1f}s)")
            page2 = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page2.goto(url)
            warm, cpu = _train_with_defaults(page2, proc.pid)
            print(f"train with defaults (second session): {warm:.1f}s (server CPU {cpu:.1f}s)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ref = library_reference()
    print(f"reference: the same training through `python -m mtl train` (load, prepare, train, evaluate): {ref:.1f}s")
    print(f"app / library: {warm / ref:.2f}x (second session)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
