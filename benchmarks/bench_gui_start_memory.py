"""GUI benchmarks, run by hand (not timed tests): prints figures.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_start_memory.py [--checks 100]

1. Cold start to first window shown (a fresh interpreter; target < 1.5 s).
2. The longest stall of the UI event loop while every demo domain is checked (heartbeat QTimer every
   5 ms; target < 50 ms): once with the cards left closed as results stream in, once opening every card
   right after each check. Also printed: the most CPU time the UI thread itself used between two beats
   (the rest of a stall is waiting: for the interpreter lock held by the engine's thread, or for a CPU
   when other programs keep the machine busy; the load average is printed too, since a loaded machine
   makes stalls longer).
3. Memory (RSS) after 1 check and after N checks of demo domains (target: within 20 %).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time

COLD = r"""
import time, sys
t0 = float(sys.argv[1])
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
from inboxready.app.main_window import MainWindow
from inboxready.app.theme import ThemeManager
app = QApplication([])
ThemeManager(app)
w = MainWindow()
w.show()
def shown():
    print(f"{time.time() - t0:.3f}")
    w.shutdown()
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def load() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return fh.read().split()[0]
    except OSError:
        return "?"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cold_start(runs: int = 3) -> list[float]:
    out = []
    env = dict(os.environ, INBOXREADY_HOME=tempfile.mkdtemp(prefix="ir-bench-"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    for _ in range(runs):
        t0 = time.time()
        res = subprocess.run([sys.executable, "-c", COLD, repr(t0)], capture_output=True, text=True, env=env,
                             check=True)
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--checks", type=int, default=100)
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["INBOXREADY_HOME"] = tempfile.mkdtemp(prefix="ir-bench-")

    starts = cold_start()
    print(f"cold start to first window: best {min(starts):.2f} s, runs {', '.join(f'{s:.2f}' for s in starts)}"
          f" (target < 1.5 s)")

    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from inboxready.app.demo import load_demo
    from inboxready.app.main_window import MainWindow
    from inboxready.app.theme import ThemeManager

    app = QApplication.instance() or QApplication([])
    ThemeManager(app)
    window = MainWindow(timeout=1.0)
    window.resize(1180, 860)
    window.show()
    demo = load_demo()
    domains = [d.domain for d in demo.domains]

    # heartbeat: the largest gap between 5 ms ticks is the longest stall of the event loop
    clock = QElapsedTimer()
    state = {"last": 0, "max": 0, "on": False, "cpu_last": 0.0, "cpu_max": 0.0}

    def beat() -> None:
        now = clock.elapsed()
        cpu = time.thread_time()
        if state["on"]:
            state["max"] = max(state["max"], now - state["last"])
            state["cpu_max"] = max(state["cpu_max"], cpu - state["cpu_last"])
        state["last"] = now
        state["cpu_last"] = cpu

    heart = QTimer()
    heart.setInterval(5)
    heart.timeout.connect(beat)
    clock.start()
    heart.start()

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        # The benchmark runs inside one slot of the main loop, so widgets passed to deleteLater() would
        # wait for it to return; in the app every check starts from the main loop and they go at once.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def run_one(domain: str, open_cards: bool = False) -> None:
        loop = QEventLoop()
        conn = window.checkFinished.connect(lambda _r: loop.quit())
        window.check_domain(domain)
        loop.exec()
        QObject.disconnect(conn)
        if open_cards:
            for card in window.cards.values():
                card.set_open(True)
        wait(20)

    results: list[str] = []
    QTimer.singleShot(0, lambda: (bench(), app.quit()))

    def bench() -> None:
        window.enter_demo()
        while window.last_report is None:
            wait(10)
        measure()

    def measure() -> None:
        stall(False)
        stall(True)
        memory()

    def stall(open_cards: bool) -> None:
        state["max"] = 0
        state["cpu_max"] = 0.0
        state["on"] = True
        state["last"] = clock.elapsed()
        state["cpu_last"] = time.thread_time()
        started = time.monotonic()
        for d in domains:
            run_one(d, open_cards)
        full = time.monotonic() - started
        state["on"] = False
        what = "with every card opened after each check" if open_cards else "cards as they stream in"
        results.append(f"full check of the {len(domains)} demo domains ({what}): {full:.2f} s; longest UI "
                       f"stall {state['max']} ms (target < 50 ms); UI-thread CPU between two beats at most "
                       f"{state['cpu_max'] * 1000:.0f} ms; load average {load()}")

    def memory() -> None:
        run_one(domains[0])
        gc.collect()
        wait(50)
        after_one = rss_mb()
        for i in range(args.checks):
            run_one(domains[i % (len(domains) - 1)], open_cards=(i % 3 == 0))  # skip the slow timeout domain
        gc.collect()
        wait(200)
        gc.collect()
        after_n = rss_mb()
        growth = (after_n - after_one) / after_one * 100
        results.append(f"memory: {after_one:.1f} MB after 1 check, {after_n:.1f} MB after {args.checks} more "
                       f"({growth:+.1f} %, target within 20 %)")

    app.exec()
    for line in results:
        print(line)
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
