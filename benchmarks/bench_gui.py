"""GUI responsiveness benchmark, run by hand (not a timed test): prints one JSON line.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--checks 20] [--reports 10000]

A precise 1 ms QTimer ticks on the UI thread; every gap between two ticks is one UI event-loop gap (a
stall is a long gap). Measured twice, in one app session: while ``--checks`` demo checks run one after the
other with every card opened as soon as each check is done (one card per turn of the event loop, as clicks
would), and while the reports window (opened and drawn before, its opening printed on its own as
``reports_window_open``) imports
``--reports`` generated DMARC aggregate reports (benchmarks/gen_reports.py, into a temporary folder).
Printed per phase: ``p50_ms``, ``p99_ms``, ``worst_ms`` of the gaps, how many, and how long the phase took;
the same for the CPU time the UI thread used within each gap (``cpu_p99_ms``, ``cpu_worst_ms``; ``cpu_ms``:
in all): a gap much longer than its CPU time is the UI thread waiting for a CPU (a loaded machine), not
the app's work; plus the load average before and after and the commit measured. Targets (issue 15):
p99 < 16 ms (one frame at 60 Hz), worst < 33 ms.

The benchmark drives the app from the main event loop (signals and single-shot timers, no nested event
loop), as a user's clicks would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def loadavg() -> list[float]:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return [float(x) for x in fh.read().split()[:3]]
    except OSError:
        return []


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


class GapProfiler:
    """``--profile MS``: what the UI thread did in each gap in which it used more than ``MS`` of CPU. An application event filter
    notes every event delivered (type and receiver) and a profile hook every Python function called from Qt
    (a slot, a timer's callback, an override): within a gap, the UI thread's CPU time up to the next noted moment is put
    on the last one noted, so a long Qt step (a layout, a paint) shows as the event that started it."""

    def __init__(self, clock: Any, threshold_ms: float) -> None:
        self.clock = clock
        self.threshold = threshold_ms
        self.marks: list[tuple[float, str]] = []  # (ms, what) since the last beat
        self.slow: list[tuple[float, float, list[tuple[float, str]]]] = []
        self.totals: dict[str, list[float]] = {}

    def install(self, app: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        profiler = self
        names = {v.value: k for k, v in QEvent.Type.__members__.items()}

        class Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 (Qt's name)
                try:
                    what = f"{names.get(int(event.type().value), event.type())} -> {type(obj).__name__}"
                    name = obj.objectName()
                    if name:
                        what += f"({name})"
                except RuntimeError:
                    what = "event -> (deleted)"
                profiler.mark(what)
                return False

        self._filter = Filter()
        app.installEventFilter(self._filter)

        outer = {sys._getframe(1).f_code}  # main(), which runs app.exec(): its callees are called by Qt

        def hook(frame: Any, event: str, _arg: Any) -> None:
            if event == "call" and (frame.f_back is None or frame.f_back.f_code in outer):
                code = frame.f_code
                if code.co_name not in ("eventFilter", "beat", "hook", "heightForWidth", "changeEvent"):
                    profiler.mark(f"py {code.co_name} ({Path(code.co_filename).name}:{code.co_firstlineno})")

        sys.setprofile(hook)

    def mark(self, what: str) -> None:
        if self.clock.isValid():
            self.marks.append((time.thread_time() * 1000, what))

    def gap(self, start: float, end: float, cpu: float) -> None:
        marks, self.marks = self.marks, []
        if cpu < self.threshold:  # the UI thread's own work (a loaded machine stretches every gap)
            return
        spans: list[tuple[float, str]] = []
        cpu_end = time.thread_time() * 1000
        for i, (t, what) in enumerate(marks):
            nxt = marks[i + 1][0] if i + 1 < len(marks) else cpu_end
            spans.append((nxt - t, what))
            self.totals.setdefault(what, []).append(nxt - t)
        self.slow.append((end - start, cpu, spans))

    def report(self) -> None:
        err = sys.stderr
        print(f"{len(self.slow)} gaps with over {self.threshold} ms of UI CPU; their longest steps:", file=err)
        for n, (length, cpu, spans) in enumerate(sorted(self.slow, key=lambda s: -s[1])[:25]):
            top = sorted(spans, reverse=True)[:12 if n < 3 else 4]
            print(f"  {length:6.1f} ms (cpu {cpu:5.1f}): " + "; ".join(f"{ms:.1f} {w}" for ms, w in top if ms >= 0.5),
                  file=err)
        print("steps summed over those gaps:", file=err)
        for what, times in sorted(self.totals.items(), key=lambda kv: -sum(kv[1]))[:25]:
            print(f"  {sum(times):8.1f} ms in {len(times):5d}  max {max(times):5.1f}  {what}", file=err)


class SlotTracer:
    """``--trace MS``: a lighter ``--profile``. Times (wall and UI-thread CPU) a fixed list of the app's own
    methods, the ones that run when a check's events arrive and cards open, and prints, for every gap in which
    the UI thread used more than ``MS`` of CPU, the traced calls made in it (nested ones indented); the rest of
    the gap's CPU is Qt's own work (layout, paint, style) after them. Costs little, so its gaps are close to
    an untraced run's."""

    TARGETS = {
        "inboxready.app.engine": {"Engine": ["_read", "_drain"]},
        "inboxready.app.main_window": {"MainWindow": [
            "start_check", "_reset_results", "_on_result", "_on_queries", "_on_judged", "_on_finished",
            "_show_first_problem", "_update_readiness", "_apply_tab_order", "_show_checklist", "_show_dns_trouble",
            "_clear_spare_cards", "_detect_dns_host", "_on_task_finished"]},
        "inboxready.app.cards": {"CheckCard": ["set_result", "set_pending", "_on_toggled", "_clear_body",
                                               "_rebuild_body"],
                                 "BodyBuilder": ["_tick"]},
        "inboxready.app.readiness": {"ReadinessBar": ["update_from"]},
        "inboxready.app.queries": {"QueryLogView": ["add_many"]},
    }

    def __init__(self, threshold_ms: float) -> None:
        self.threshold = threshold_ms
        self.calls: list[tuple[int, str, float, float]] = []  # (depth, name, wall ms, cpu ms), in call order
        self.depth = 0
        self.slow: list[tuple[float, float, list[tuple[int, str, float, float]]]] = []

    def install(self) -> None:
        import functools
        import importlib

        for module_name, classes in self.TARGETS.items():
            module = importlib.import_module(module_name)
            for class_name, methods in classes.items():
                cls = getattr(module, class_name)
                for method in methods:
                    original = getattr(cls, method)
                    setattr(cls, method, self._wrap(functools, f"{class_name}.{method}", original))

    def _wrap(self, functools: Any, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        tracer = self

        @functools.wraps(original)
        def traced(*args: Any, **kwargs: Any) -> Any:
            depth = tracer.depth
            tracer.depth += 1
            slot = len(tracer.calls)
            tracer.calls.append((depth, name, 0.0, 0.0))
            card = tracer.building(args[0]) if name == "BodyBuilder._tick" else None
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                tracer.depth = depth
                if slot < len(tracer.calls):
                    what = name
                    if card is not None:  # the card whose body grew, and what was added to it
                        fresh = getattr(card, "_fresh", None)
                        what += f" [{card.name}: {type(fresh).__name__ if fresh is not None else '-'}]"
                    tracer.calls[slot] = (depth, what, (time.perf_counter() - t0) * 1000,
                                          (time.thread_time() - c0) * 1000)

        return traced

    @staticmethod
    def building(builder: Any) -> Any:
        jobs = getattr(builder, "_jobs", None)
        return jobs[0][0] if jobs else None

    def gap(self, length: float, cpu: float) -> None:
        calls, self.calls = self.calls, []
        if cpu >= self.threshold:
            self.slow.append((length, cpu, calls))

    def report(self) -> None:
        err = sys.stderr
        print(f"{len(self.slow)} gaps with over {self.threshold} ms of UI CPU (traced calls: wall/cpu ms):", file=err)
        for length, cpu, calls in sorted(self.slow, key=lambda s: -s[0])[:40]:
            top = sum(c for d, _n, _w, c in calls if d == 0)
            print(f"  gap {length:5.1f} cpu {cpu:5.1f}  (Qt after the calls: {cpu - top:4.1f})", file=err)
            for depth, name, wall, c in calls:
                if c >= 0.3 or (depth == 0 and c >= 0.1):
                    print(f"      {'  ' * depth}{name} {wall:.1f}/{c:.1f}", file=err)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--checks", type=int, default=20)
    p.add_argument("--reports", type=int, default=10000)
    p.add_argument("--profile", type=float, default=0.0, metavar="MS",
                   help="also name what the UI thread did in every gap in which it used more than MS of CPU (printed to stderr; "
                        "slows the app down, so the figures of a profiled run are not the measured ones)")
    p.add_argument("--trace", type=float, default=0.0, metavar="MS",
                   help="name the app's own calls (and their wall/CPU ms) in every gap in which the UI thread used more "
                        "than MS of CPU (printed to stderr); much lighter than --profile")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="ir-bench-gui-")
    os.environ["INBOXREADY_HOME"] = home

    from gen_reports import generate  # type: ignore[import-not-found]

    report_dir = Path(home) / "reports-in"
    report_dir.mkdir()
    paths = generate(report_dir, args.reports, seed=7) if args.reports else []

    from inboxready.app.gui import install_fix_hooks, prepare_qt

    prepare_qt()  # as inboxready-gui does, before the QApplication
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from inboxready.app.demo import load_demo
    from inboxready.app.main_window import MainWindow
    from inboxready.app.theme import ThemeManager

    tracer = SlotTracer(args.trace) if args.trace > 0 else None
    if tracer is not None:
        tracer.install()  # before the window connects its slots
    app = QApplication.instance() or QApplication([])
    ThemeManager(app, "light")
    install_fix_hooks()  # every fix box as in the app: the DNS host's form, the publish bar
    window = MainWindow(timeout=1.0)
    window.resize(1180, 860)
    window.show()
    demo = load_demo()
    # every demo domain but the one whose DNS server never answers (it only waits for time-outs)
    domains = [d.domain for d in demo.domains if not any(d.domain.endswith(n.rstrip(".")) for n in demo.never_answers)]

    clock = QElapsedTimer()
    state: dict[str, Any] = {"last": 0.0, "gaps": None, "cpu": 0.0, "cpus": None}

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        cpu = time.thread_time() * 1000
        if state["gaps"] is not None:
            state["gaps"].append(now - state["last"])
            state["cpus"].append(cpu - state["cpu"])
            if profiler is not None:
                profiler.gap(state["last"], now, cpu - state["cpu"])
            if tracer is not None:
                tracer.gap(now - state["last"], cpu - state["cpu"])
        else:
            if profiler is not None:
                profiler.marks.clear()
            if tracer is not None:
                tracer.calls.clear()
        state["last"] = now
        state["cpu"] = cpu

    profiler = GapProfiler(clock, args.profile) if args.profile > 0 else None
    if profiler is not None:
        profiler.install(app)

    heart = QTimer()
    heart.setTimerType(Qt.TimerType.PreciseTimer)
    heart.setInterval(1)
    heart.timeout.connect(beat)
    clock.start()
    heart.start()
    out: dict[str, Any] = {"commit": commit(), "load_before": loadavg(), "checks": args.checks,
                           "reports": args.reports}
    phase_start = [0.0]

    def begin() -> None:
        state["gaps"] = []
        state["cpus"] = []
        state["last"] = clock.nsecsElapsed() / 1e6
        state["cpu"] = time.thread_time() * 1000
        phase_start[0] = time.monotonic()
        if profiler is not None:
            profiler.marks.clear()

    def end(name: str) -> None:
        gaps = state["gaps"] or []
        cpus = state["cpus"] or []
        state["gaps"] = state["cpus"] = None
        out[name] = {"p50_ms": round(percentile(gaps, 50), 2), "p99_ms": round(percentile(gaps, 99), 2),
                     "worst_ms": round(max(gaps, default=0.0), 2), "gaps": len(gaps),
                     "cpu_p99_ms": round(percentile(cpus, 99), 2), "cpu_worst_ms": round(max(cpus, default=0.0), 2),
                     "cpu_ms": round(sum(cpus)), "seconds": round(time.monotonic() - phase_start[0], 2)}

    def when(cond: Callable[[], bool], then: Callable[[], None], limit_s: float = 600) -> None:
        deadline = time.monotonic() + limit_s

        def poll() -> None:
            if cond():
                then()
            elif time.monotonic() > deadline:
                out["error"] = "timed out"
                finish()
            else:
                QTimer.singleShot(20, poll)

        QTimer.singleShot(20, poll)

    done_checks = [0]

    def idle() -> bool:
        return window.demo_server is not None and window.last_report is not None and not window.checking

    def start_checks() -> None:
        window.enter_demo()
        when(idle, lambda: (begin(), next_check()))

    def next_check() -> None:
        if done_checks[0] >= args.checks:
            end("demo_checks")
            QTimer.singleShot(200, start_import)
            return
        domain = domains[done_checks[0] % len(domains)]
        done_checks[0] += 1
        window.check_domain(domain)
        when(lambda: not window.checking and window.last_report is not None, open_cards)

    def open_cards() -> None:
        # one card per turn of the event loop, as clicks would open them (each card builds its body in steps)
        closed = [c for c in window.cards.values() if not c.is_open]
        if closed:
            closed[0].set_open(True)
            QTimer.singleShot(0, open_cards)
        else:
            QTimer.singleShot(30, next_check)

    def start_import() -> None:
        if not paths:
            finish()
            return
        window.leave_demo()
        begin()
        reports = window.open_reports()
        def imported(outcome: Any) -> None:
            end("report_import")
            r = outcome.result
            out["report_import"].update(imported=len(r.imported), rejected=len(r.rejected),
                                        problem=outcome.problem)
            QTimer.singleShot(100, finish)

        reports.importFinished.connect(imported)

        def go() -> None:
            end("reports_window_open")
            begin()
            reports.import_paths(paths)

        # the window opened and drawn first: opening it (a few long turns, printed on their own as
        # "reports_window_open") is not part of the import
        QTimer.singleShot(500, go)

    def finish() -> None:
        out["load_after"] = loadavg()
        heart.stop()
        app.quit()

    QTimer.singleShot(300, start_checks)
    app.exec()
    window.shutdown()
    if profiler is not None:
        profiler.report()
    if tracer is not None:
        tracer.report()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
