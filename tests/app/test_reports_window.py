"""The DMARC reports window: import (slot and a real drop), figures against the store's summary, rejected
files with reasons, export, the enforcement panel, cancel, reverse DNS in the background, the mailbox watch."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inboxready.app.engine import Engine
from inboxready.app.reports import ReportsWindow
from inboxready.core.worker.reports import ImportOutcome, ReportView, days_for, list_domains
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.reports.store import ImportResult, ReportStore
from inboxready.core.reports.summary import summarize
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import conformance_dir
from tests.mail.conftest import mail_world_session  # noqa: F401 - the fixture is used by name

WAIT_MS = 30_000


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = Engine()
    yield e
    e.shutdown()


@pytest.fixture
def make(home: Path, qtbot: Any, theme_app: Any, engine: Engine, tmp_path: Path) -> Iterator[Any]:
    made: list[ReportsWindow] = []

    def factory(**kw: Any) -> ReportsWindow:
        kw.setdefault("store_path", tmp_path / "reports.sqlite3")
        kw.setdefault("lookups", False)
        w = ReportsWindow(engine, theme_manager=theme_app, **kw)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield factory
    for w in made:
        w.shutdown()


def _import(qtbot: Any, w: ReportsWindow, paths: list[Path]) -> ImportOutcome:
    with qtbot.waitSignal(w.importFinished, timeout=WAIT_MS) as blocker:
        w.import_paths(paths)
    return blocker.args[0]


def _wait_view(qtbot: Any, w: ReportsWindow, check: Any = None) -> ReportView:
    qtbot.waitUntil(lambda: w.view is not None and (check is None or check(w.view)), timeout=WAIT_MS)
    assert w.view is not None
    return w.view


def _reference(tmp_path: Path, paths: list[Path]) -> tuple[ReportStore, ImportResult]:
    """The same files imported straight into a store of their own (no window)."""
    store = ReportStore(tmp_path / "reference.sqlite3")
    return store, store.import_paths(paths)


def test_import_samples_figures_match_the_store(make: Any, qtbot: Any, tmp_path: Path) -> None:
    samples = conformance_dir("dmarc-reports")
    w = make()
    assert "No reports yet" in w.overview_title.text()
    outcome = _import(qtbot, w, [samples])
    ref, expected = _reference(tmp_path, [samples])
    r = outcome.result
    assert not outcome.cancelled and outcome.done == outcome.total > 0
    assert [(i.kind, i.org, i.report_id) for i in r.imported] == [(i.kind, i.org, i.report_id)
                                                                 for i in expected.imported]
    assert len(r.imported) > 0 and len(r.duplicate) == len(expected.duplicate)
    assert len(r.repeated) == len(expected.repeated) and len(r.conflicting) == len(expected.conflicting)
    assert sorted(r.rejected) == sorted(expected.rejected)
    # the list of files to look at: every bad file with its reason, then the reports kept out (a conflicting id,
    # impossible dates) with why; Copy gives the same text
    unnamed = [i for i in r.imported if i.kind == "tlsrpt" and not i.domain]  # Stalwart's rpt03.json
    assert [i.name for i in unnamed] == ["rpt03.json"]
    assert w.importer.rejected_list.count() == len(r.rejected) + len(r.conflicting) + len(r.flagged) + len(unnamed)
    assert r.rejected and r.conflicting and r.flagged
    lines = [w.importer.rejected_list.item(i).text() for i in range(w.importer.rejected_list.count())]
    for (name, reason), line in zip(r.rejected, lines):
        assert line == f"{name}: {reason}" and reason.strip()
    assert any("was already imported with other content; the first one was kept" in line for line in lines)
    assert any("left out of the figures: it is dated 1970-01-01" in line for line in lines)
    assert "rpt03.json: imported for an unknown domain: this TLS report doesn't say which domain it is about" in \
        "\n".join(lines)
    assert w.importer.rejected_title.text() == f"Files to look at ({len(lines)})"
    assert any("empty" in line for line in lines) and any("damaged" in line for line in lines)
    assert w.importer.copy_rejected.value() == "\n".join(lines)
    assert f"{len(r.imported)} reports imported" in w.importer.import_label.text()
    assert f"{len(r.rejected)} could not be imported" in w.importer.import_label.text()

    # the domain with the most messages is shown; the samples are old, so the period becomes "All time"
    domains = list_domains(ref)
    view = _wait_view(qtbot, w)
    assert view.domain == domains[0].domain == w.current_domain()
    assert w.range_box.currentText() == "All time" and view.days is None
    assert w.domain_box.count() == len(domains)
    s = summarize(ref, view.domain, days=days_for(domains[0], None, view.summary.until), now=view.summary.until)
    assert (view.summary.messages, view.summary.dmarc_pass, view.summary.reports) == (s.messages, s.dmarc_pass,
                                                                                      s.reports)
    assert w.fig_messages.value.text() == f"{s.messages:,}"
    assert w.fig_dmarc.value.text() == f"{100 * s.dmarc_pass / s.messages:.0f}%"
    assert w.fig_spf.value.text() == f"{100 * s.spf_aligned / s.messages:.0f}%"
    assert w.fig_dkim.value.text() == f"{100 * s.dkim_aligned / s.messages:.0f}%"
    assert f"{s.reports} DMARC reports" in w.overview_title.text()
    # tables: one row per source / service / unknown failing sender, all sortable
    assert w.sources_model.rowCount() == len(s.sources)
    assert w.services_model.rowCount() == len(s.services)
    assert w.unknown_model.rowCount() == len(s.unknown_failing)
    assert {w.sources_model.text(i, 1) for i in range(w.sources_model.rowCount())} == {x.ip for x in s.sources}
    w.sources_view.horizontalHeader().setSortIndicator(3, Qt.SortOrder.DescendingOrder)  # Messages
    counts = [w.sources_model.rows[i].messages for i in range(w.sources_model.rowCount())]
    assert counts == sorted(counts, reverse=True)
    w.sources_view.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)  # IP address
    ips = [w.sources_model.rows[i].ip for i in range(w.sources_model.rowCount())]
    assert ips == sorted(ips)
    # the chart: one bar per day with reports, described in words
    assert len(w.chart.days) == len(s.daily) > 1
    assert s.daily[0].date in w.chart.accessibleDescription()
    assert f"{s.messages:,} messages" in w.chart.accessibleDescription()
    # TLS reports for the domain
    if s.tls.get("reports"):
        assert w.tls_model.rowCount() >= 1
        assert sum(t.failed for t in view.tls) == s.tls["failed_sessions"]
        assert f"{s.tls['failed_sessions']} of" in w.tls_label.text()
    ref.close()


def test_enforce_panel_shows_the_next_record(make: Any, qtbot: Any) -> None:
    w = make()
    _import(qtbot, w, [conformance_dir("dmarc-reports")])
    view = _wait_view(qtbot, w)
    e = {x.policy: x for x in view.summary.enforcement}
    assert set(e) == {"quarantine", "reject"}
    records = [x.next_record for x in view.summary.enforcement if x.next_record is not None]
    assert records, "the samples are enough for a next step"
    assert len(w.enforce_fixes) == len(records)
    for fv, fix in zip(w.enforce_fixes, records):
        assert fix.host == f"_dmarc.{view.domain}" and fix.value.startswith("v=DMARC1")
        assert fv.copy_value.value() == fix.value and fv.copy_host.value() == fix.host
        assert fv.value_field.text() == fix.value
    assert "Safe to enforce?" in w.verdict_label.text()


def test_a_report_with_an_unreadable_row_is_imported_and_the_skipped_rows_are_said(make: Any, qtbot: Any,
                                                                                   tmp_path: Path) -> None:
    import time

    from tests.reports.reports_util import good_row, report_xml

    begin = int(time.time()) // 86400 * 86400 - 86400
    path = tmp_path / "bad-row.xml"
    path.write_bytes(report_xml("google.com", "bad-row", "shop.test", begin,
                                [good_row("203.0.113.5", 10), good_row("unknown", 4)]))
    w = make()
    outcome = _import(qtbot, w, [path])
    (info,) = outcome.result.partial
    assert info.messages == 10 and not outcome.result.rejected
    assert "1 with rows that could not be read (those rows skipped)" in w.importer.import_label.text()
    assert w.importer.rejected_list.isVisibleTo(w)
    assert [w.importer.rejected_list.item(i).text() for i in range(w.importer.rejected_list.count())] == [
        "bad-row.xml: imported, but 1 of its 2 rows could not be read and was skipped (4 messages, left out of the "
        "figures): row 2 has a source IP address that is not valid ('unknown')"]
    assert w.importer.rejected_title.text() == "Files to look at (1)"
    # the overview says the report is partial, and importing it again says so again
    view = _wait_view(qtbot, w)
    assert view.summary.partial_count == 1 and w.notes_label.isVisibleTo(w)
    assert w.notes_label.text() == (
        "Note: 1 report(s) of this period were imported without 1 row(s) that could not be read; their messages are "
        "not in the figures: google.com report bad-row (bad-row.xml): 1 of its 2 rows could not be read and was "
        "skipped (4 messages, left out of the figures): row 2 has a source IP address that is not valid "
        "('unknown').")
    again = _import(qtbot, w, [path])
    assert not again.result.imported and len(again.result.partial_before) == 1
    assert "1 of those already there with rows that could not be read" in w.importer.import_label.text()
    assert [w.importer.rejected_list.item(i).text() for i in range(w.importer.rejected_list.count())] == [
        "bad-row.xml: already imported, without some rows: 1 of its 2 rows could not be read and was skipped (4 "
        "messages, left out of the figures): row 2 has a source IP address that is not valid ('unknown')"]


def test_tls_sessions_under_both_an_sts_and_a_tlsa_policy_are_one_delivery(make: Any, qtbot: Any,
                                                                           tmp_path: Path) -> None:
    import time
    from datetime import datetime, timezone

    doc = json.loads(conformance_dir("dmarc-reports", "cry-inc", "smtp-tls-reports", "microsoft.json").read_text())
    day = int(time.time()) // 86400 * 86400 - 86400
    doc["date-range"] = {k: datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                         for k, t in (("start-datetime", day), ("end-datetime", day + 86399))}
    path = tmp_path / "microsoft.json"
    path.write_text(json.dumps(doc))
    w = make()
    _import(qtbot, w, [path])
    view = _wait_view(qtbot, w, lambda v: v.domain == "random.net")
    assert [(t.policy_type, t.successful) for t in view.tls] == [("sts", 2), ("tlsa", 2)]  # each policy's own
    assert w.tls_label.text() == "0 of 2 encrypted deliveries to random.net failed (0%), in 1 TLS report(s)."


def test_a_real_drop_imports(make: Any, qtbot: Any) -> None:
    w = make()
    sample = conformance_dir("dmarc-reports", "cry-inc", "dmarc-reports", "google.xml")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample))])
    enter = QDragEnterEvent(w.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(w.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.importFinished, timeout=WAIT_MS) as blocker:
        QApplication.sendEvent(w, drop)
    outcome: ImportOutcome = blocker.args[0]
    assert len(outcome.result.imported) == 1 and not outcome.result.rejected
    assert not w.importer.rejected_list.isVisibleTo(w)
    view = _wait_view(qtbot, w)
    assert view.domain == outcome.result.imported[0].domain
    assert view.summary.messages == outcome.result.imported[0].messages
    # text that is not a file is refused
    text = QMimeData()
    text.setText("hello")
    refused = QDragEnterEvent(w.rect().center(), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, refused)
    assert not refused.isAccepted()


def test_export_csv_and_json(make: Any, qtbot: Any, tmp_path: Path) -> None:
    w = make()
    _import(qtbot, w, [conformance_dir("dmarc-reports")])
    view = _wait_view(qtbot, w)
    s = view.summary
    out_csv, out_json = tmp_path / "senders.csv", tmp_path / "summary.json"
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS) as blocker:
        w.export_csv(out_csv)
    assert blocker.args == [str(out_csv), ""]
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["ip", "reverse_dns", "service", "messages"]
    assert len(rows) == len(s.sources) + 1
    assert [r[0] for r in rows[1:]] == [x.ip for x in s.sources]
    assert sum(int(r[3]) for r in rows[1:]) == s.messages
    out_daily = tmp_path / "daily.csv"
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS):
        w.export_csv(out_daily, "daily")
    days = list(csv.reader(io.StringIO(out_daily.read_text(encoding="utf-8"))))
    assert days[0] == ["date", "messages", "dmarc_pass", "pass_rate"]
    assert [(d[0], int(d[1])) for d in days[1:]] == [(d.date, d.messages) for d in s.daily]
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS):
        w.export_json(out_json)
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["domain"] == s.domain and doc["messages"] == s.messages and doc["period"] == "all"
    assert len(doc["sources"]) == len(s.sources)
    assert [e["policy"] for e in doc["enforcement"]] == ["quarantine", "reject"]
    assert sum(t["failed"] for t in doc["tls_policies"]) == sum(t.failed for t in view.tls)
    # a folder that cannot be written: said in plain words, nothing crashes
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS) as blocker:
        w.export_json(tmp_path / "missing" / "x.json")
    assert blocker.args[1]
    assert "Could not write" in w.status_label.text()


def _many_reports(folder: Path, n: int) -> list[Path]:
    template = conformance_dir("dmarc-reports", "cry-inc", "dmarc-reports", "google.xml").read_text(encoding="utf-8")
    start, end = template.index("<report_id>") + len("<report_id>"), template.index("</report_id>")
    folder.mkdir()
    for i in range(n):
        (folder / f"r{i:04d}.xml").write_text(template[:start] + f"ui-test-{i}" + template[end:], encoding="utf-8")
    return [folder]


def test_cancel_keeps_what_was_imported(make: Any, qtbot: Any, tmp_path: Path) -> None:
    w = make()
    paths = _many_reports(tmp_path / "many", 1000)
    seen: list[tuple[int, int]] = []
    w.importProgress.connect(lambda d, t: seen.append((d, t)))
    with qtbot.waitSignal(w.importFinished, timeout=WAIT_MS) as blocker:
        w.import_paths(paths)
        qtbot.waitUntil(lambda: any(d > 0 for d, _ in seen), timeout=WAIT_MS)
        w.cancel_import()
    outcome: ImportOutcome = blocker.args[0]
    assert outcome.total == 1000 and 0 < outcome.done < 1000 and outcome.cancelled
    assert "Import stopped after" in w.importer.import_label.text()
    assert "1,000 files" in w.importer.import_label.text()
    store = ReportStore(tmp_path / "reports.sqlite3")
    assert store.counts()["dmarc"] == len(outcome.result.imported) == outcome.done
    store.close()
    # importing again adds exactly what is missing
    again = _import(qtbot, w, paths)
    assert len(again.result.imported) == 1000 - outcome.done and len(again.result.duplicate) == outcome.done


def test_period_without_reports_says_so(make: Any, qtbot: Any) -> None:
    w = make()
    _import(qtbot, w, [conformance_dir("dmarc-reports")])
    _wait_view(qtbot, w)
    w.set_range_days(7)
    view = _wait_view(qtbot, w, lambda v: v.days == 7)
    assert view.summary.reports == 0
    assert "No DMARC reports" in w.overview_title.text() and "All time" in w.overview_title.text()
    assert w.chart.accessibleDescription() == "No reports in this period."
    assert w.sources_model.rowCount() == 0


PTR_ZONE = """
@   IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300
66  IN PTR mail.example.net.
"""


def test_senders_names_arrive_in_the_background(make: Any, qtbot: Any, dns_server: DnsTestServer) -> None:
    dns_server.add_origin("arpa")
    dns_server.add_zone("157.228.173.in-addr.arpa", PTR_ZONE)
    dns_server.add_zone("example.net", "mail IN A 173.228.157.66\n")  # the name is confirmed (points back)
    dns_server.latency = 0.4  # the names come after the tables are shown
    w = make(lookups=True, nameservers=[dns_server.address], timeout=2.0)
    _import(qtbot, w, [conformance_dir("dmarc-reports", "stalwart", "dmarc-feedback")])
    _wait_view(qtbot, w)
    w.select_domain("stalw.art")
    first = _wait_view(qtbot, w, lambda v: v.domain == "stalw.art")
    assert not first.looked_up  # the tables are there before the names
    pending = next(r for r in first.summary.sources if r.ip == "173.228.157.66")
    assert pending.ptr is None and pending.service == "unknown, looking up…"
    assert w.sources_model.rowCount() == len(first.summary.sources)
    assert "Looking up the names of" in w.names_label.text()
    named = _wait_view(qtbot, w, lambda v: v.domain == "stalw.art" and v.looked_up)
    row = next(r for r in named.summary.sources if r.ip == "173.228.157.66")
    assert row.ptr == "mail.example.net"
    shown = [i for i in range(w.sources_model.rowCount()) if w.sources_model.text(i, 1) == "173.228.157.66"]
    assert shown and w.sources_model.text(shown[0], 2) == "mail.example.net"
    assert "looked up" in w.names_label.text()


def test_a_failed_reverse_lookup_is_not_a_sender_without_a_name(make: Any, qtbot: Any,
                                                               dns_server: DnsTestServer) -> None:
    """Issue 12 #6: a SERVFAIL on a sender's reverse name says "couldn't be looked up", never "no name"."""
    dns_server.add_origin("arpa")
    dns_server.servfail_names.add("66.157.228.173.in-addr.arpa")
    w = make(lookups=True, nameservers=[dns_server.address], timeout=1.0)
    _import(qtbot, w, [conformance_dir("dmarc-reports", "stalwart", "dmarc-feedback")])
    _wait_view(qtbot, w)
    w.select_domain("stalw.art")
    named = _wait_view(qtbot, w, lambda v: v.domain == "stalw.art" and v.looked_up)
    row = next(r for r in named.summary.sources if r.ip == "173.228.157.66")
    assert row.ptr is None and row.service == "unknown (reverse DNS couldn't be looked up)"
    assert named.summary.failed_lookups == 1
    assert "couldn't be looked up" in w.names_label.text()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_watch_reports_a_mailbox_it_cannot_reach(make: Any, qtbot: Any, tmp_path: Path) -> None:
    from inboxready.core.mail.profiles import ProfileStore, ReadProfile

    profiles = ProfileStore(tmp_path / "profiles.json")
    profiles.read["rua"] = ReadProfile(name="rua", host="127.0.0.1", port=_closed_port(), username="dmarc")
    w = make(profile_store=profiles)
    assert w.watch_profile_box.currentText() == "rua" and w.watch_start.isEnabled()
    with qtbot.waitSignal(w.watchRound, timeout=WAIT_MS) as blocker:
        w.start_watch(password="secret", every=60)
    assert blocker.args[0].error and "Could not read the mailbox" in w.watch_log.item(0).text()
    assert w.watching and w.watch_stop.isEnabled() and not w.watch_start.isEnabled()
    qtbot.mouseClick(w.watch_stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.watching, timeout=WAIT_MS)
    assert w.watch_start.isEnabled() and w.watch_state.text() == "Not watching."


def test_every_control_has_an_accessible_name(make: Any) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLineEdit,
    )

    w = make()
    missing = [type(c).__name__ + ":" + (c.text() if hasattr(c, "text") else "")
               for kind in (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView)
               for c in w.findChildren(kind) if not c.accessibleName() and c.parent() is not None
               and type(c).__name__ not in ("QTabBar",) and not c.objectName().startswith("qt_")]
    missing = [m for m in missing if not m.startswith(("QComboBoxListView", "QListView"))]
    assert not missing, missing


def test_the_window_imports_in_the_worker_what_the_cli_imports(make: Any, qtbot: Any, tmp_path: Path) -> None:
    from inboxready.core.reports.importjob import run_import
    from inboxready.core.reports.store import ReportStore

    samples = conformance_dir("dmarc-reports")
    child = _import(qtbot, make(), [samples])  # in the worker process
    store = ReportStore(tmp_path / "other.sqlite3")
    try:
        here = run_import(store, [str(samples)])  # here, as ``inboxready reports import`` does
    finally:
        store.close()
    assert [(i.kind, i.org, i.report_id, i.messages) for i in here.result.imported] == \
        [(i.kind, i.org, i.report_id, i.messages) for i in child.result.imported]
    assert here.result.rejected == child.result.rejected
    assert len(here.result.duplicate) == len(child.result.duplicate)


def test_a_store_that_cannot_be_opened_is_said_in_words(make: Any, qtbot: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    w = make(store_path=blocker / "reports.sqlite3")
    outcome = _import(qtbot, w, [conformance_dir("dmarc-reports", "cry-inc", "dmarc-reports", "google.xml")])
    assert not outcome.result.imported and outcome.problem
    assert "could not be opened" in w.importer.import_label.text()
    assert w.importer.hide_import_button.isVisibleTo(w) and not w.importer.cancel_button.isVisibleTo(w)


def test_watch_imports_new_reports_from_the_mailbox(make: Any, qtbot: Any, tmp_path: Path,
                                                     mail_world_session: Any) -> None:  # noqa: F811
    from inboxready.core.mail.profiles import ProfileStore

    from tests.mail.conftest import read_profile
    from tests.reports.test_report_mailbox import report_mail

    world = mail_world_session
    for sub in ("cur", "new"):
        for f in (world.dovecot.maildir / sub).iterdir():
            f.unlink()
    for i in range(2):
        world.dovecot.deliver(report_mail(f"ui-watch-{i}"))
    profiles = ProfileStore(tmp_path / "profiles.json")
    profiles.read["rua"] = read_profile(world, name="rua")
    w = make(profile_store=profiles)
    with qtbot.waitSignal(w.watchRound, timeout=WAIT_MS) as blocker:
        w.start_watch(password=world.dovecot.password, every=60)
    first = blocker.args[0]
    assert not first.error and first.imported == 2, first.text
    assert "2 report(s) imported" in w.watch_log.item(0).text()
    view = _wait_view(qtbot, w, lambda v: v.domain == "shop.test")
    assert view.summary.reports == 2 and view.summary.messages == 14
    w.stop_watch()
    qtbot.waitUntil(lambda: not w.watching, timeout=WAIT_MS)


def test_recent_reports_show_fixes_for_senders_that_are_not_aligned(make: Any, qtbot: Any, tmp_path: Path) -> None:
    import time

    from inboxready.app.widgets import FixView

    from tests.reports.reports_util import good_row, report_xml

    own, sendgrid, mailchimp, spoof = "203.0.113.5", "167.89.10.20", "198.2.140.10", "192.0.2.66"
    folder = tmp_path / "recent"
    folder.mkdir()
    today = int(time.time()) // 86400 * 86400
    for d in range(10):
        rows = [good_row(own, 100), good_row(spoof, 30, dkim="fail", spf="fail", dkim_domain=None,
                                             spf_domain="spoof.example"),
                good_row(sendgrid, 20, dkim="fail", spf="fail", dkim_domain="sendgrid.net", dkim_result="pass",
                         spf_domain="sendgrid.net", spf_result="pass"),
                good_row(mailchimp, 5, dkim="fail", spf="fail", dkim_domain="mcsv.net", dkim_result="pass",
                         spf_domain="mail9.mcsv.net", spf_result="pass")]
        (folder / f"r{d}.xml").write_bytes(report_xml("google.com", f"recent-{d}", "shop.test",
                                                      today - (d + 1) * 86400, rows))
    w = make()
    _import(qtbot, w, [folder])
    view = _wait_view(qtbot, w)
    assert view.domain == "shop.test" and view.days == 30 and w.range_box.currentText() == "Last 30 days"
    s = view.summary
    assert s.messages == 10 * 155 and len(s.daily) == 10 and len(w.chart.days) == 10
    # "passes but not aligned": one card per source, with the fixes to copy
    assert {n.ip for n in s.not_aligned} == {sendgrid, mailchimp}
    assert len(w.not_aligned_views) == 2 and not w.not_aligned_empty.isVisibleTo(w)
    shown = [fv.fix for card in w.not_aligned_views for fv in card.findChildren(FixView)]
    wanted = [f for n in s.not_aligned for f in n.fixes]
    assert wanted and [(f.host, f.type, f.value) for f in shown] == [(f.host, f.type, f.value) for f in wanted]
    assert any(f.host == "k2._domainkey.shop.test" and f.value == "dkim2.mcsv.net" for f in shown)
    # unknown senders that fail: the forger only
    assert [w.unknown_model.text(i, 0) for i in range(w.unknown_model.rowCount())] == [spoof]
    # not safe to enforce yet: the legitimate services that fail are named
    e = {x.policy: x for x in s.enforcement}
    assert e["quarantine"].verdict == "not-yet" and e["quarantine"].next_record is None
    assert not w.enforce_fixes
    badge, text = w.verdict_badges["quarantine"]
    assert badge.text() == "Not yet" and f"{e['quarantine'].affected_share * 100:.1f}%" in text.text()
    assert any("SendGrid" in x or sendgrid in x for x in e["quarantine"].affected_sources)


def test_the_buttons_use_the_file_dialogs(make: Any, qtbot: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog  # the dialogs open through app/filedialogs.py

    sample = conformance_dir("dmarc-reports", "parsedmarc", "aggregate")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(sample)))
    w = make()
    with qtbot.waitSignal(w.importFinished, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(w.import_folder_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].result.imported
    view = _wait_view(qtbot, w)
    target = tmp_path / "unknown.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "Unknown senders that fail (*.csv)")))
    assert w.export_csv_button.isEnabled()
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS):
        qtbot.mouseClick(w.export_csv_button, Qt.MouseButton.LeftButton)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r[0] for r in rows[1:]] == [x.ip for x in view.summary.unknown_failing]


def test_first_import_says_repeats_conflicts_and_explains_tls_failures(make: Any, qtbot: Any, tmp_path: Path) -> None:
    """Issue 14 item 16: on a first import, a report that comes twice is "more than once in these files", not
    "already there"; TLS result types are explained in words. Issue 13 item 5: the CSV export is inert."""
    import gzip
    import time

    from tests.reports.reports_util import good_row, report_xml

    folder = tmp_path / "first"
    folder.mkdir()
    today = int(time.time()) // 86400 * 86400
    hostile = "=HYPERLINK(\"http://evil.test\")"
    for d in range(3):
        xml = report_xml("google.com", f"first-{d}", "shop.test", today - (d + 1) * 86400,
                         [good_row("203.0.113.5", 50),
                          good_row("192.0.2.7", 5, dkim="fail", spf="fail", dkim_domain=hostile, dkim_result="pass",
                                   spf_domain="+cmd|' /C calc'!A0", spf_result="pass")]).replace(b"&", b"&amp;")
        (folder / f"r{d}.xml").write_bytes(xml)
        (folder / f"r{d}.xml.gz").write_bytes(gzip.compress(xml))  # the same report again
    tls = {"organization-name": "Google", "report-id": "tls-first", "contact-info": "smtp-tls@google.com",
           "date-range": {"start-datetime": time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(today - 86400)),
                          "end-datetime": time.strftime("%Y-%m-%dT23:59:59Z", time.gmtime(today - 86400))},
           "policies": [{"policy": {"policy-type": "sts", "policy-domain": "shop.test"},
                         "summary": {"total-successful-session-count": 90, "total-failure-session-count": 10},
                         "failure-details": [{"result-type": "validation-failure", "failed-session-count": 6},
                                             {"result-type": "sts-policy-fetch-error", "failed-session-count": 4}]}]}
    (folder / "tls.json").write_text(json.dumps(tls))
    w = make()
    outcome = _import(qtbot, w, [folder])
    r = outcome.result
    assert len(r.imported) == 4 and len(r.repeated) == 3 and not r.duplicate
    text = w.importer.import_label.text()
    assert "3 more than once in these files (imported once)" in text and "already there" not in text, text
    view = _wait_view(qtbot, w, lambda v: v.domain == "shop.test")
    assert view.tls
    words = w.tls_words.text()
    assert "validation-failure (6 connections): the sender could not verify your mail server's certificate" in words
    assert "sts-policy-fetch-error (4 connections): the sender could not download your MTA-STS policy" in words
    out_csv = tmp_path / "senders.csv"
    with qtbot.waitSignal(w.exportFinished, timeout=WAIT_MS):
        w.export_csv(out_csv)
    cells = [c for row in csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8"))) for c in row]
    assert any(c.startswith("'=hyperlink") for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # importing the same folder again: now they were there before
    again = _import(qtbot, w, [folder])
    assert len(again.result.duplicate) == 7 and "7 already there from earlier imports" in w.importer.import_label.text()


def test_an_import_request_goes_on_the_next_turn_and_a_cancel_before_it_sends_nothing(make, qtbot,
                                                                                     engine) -> None:
    """The import card is drawn before the request (every path on one line to the worker) is written, in
    another turn; cancelled before that, nothing is sent and nothing imported."""
    w = make()
    sent: list[str] = []
    real_run = engine.run
    engine.run = lambda kind, **params: (sent.append(kind), real_run(kind, **params))[1]  # type: ignore[method-assign]
    try:
        w.import_paths([conformance_dir("dmarc-reports")])
        assert w.importing and "reports_import" not in sent  # not in this turn
        assert w.importer.import_label.text() == "Looking for reports…"
        w.cancel_import()
        assert not w.importing and w.importer.import_label.text() == "The import was stopped."
        qtbot.wait(50)
        assert "reports_import" not in sent  # the cancelled request never went
        outcome = _import(qtbot, w, [conformance_dir("dmarc-reports")])  # the next one runs as before
        assert "reports_import" in sent and outcome.result.imported
    finally:
        engine.run = real_run  # type: ignore[method-assign]


def test_the_tls_tab_lists_tls_reports_that_name_no_domain_as_the_import_card_does(make: Any, qtbot: Any,
                                                                                    tmp_path: Path) -> None:
    from inboxready.core.worker.reports import NO_DOMAIN
    from tests.reports.reports_util import good_row, report_xml
    from tests.reports.test_tls_unnamed import NOW, tls_report

    files = {"shop.xml": report_xml("google.com", "r1", "shop.test", NOW - 86400, [good_row("203.0.113.5", 10)]),
             "nameless.json": tls_report("nameless", [(None, "no-policy-found", 3, 2)]),
             "two.json": tls_report("two", [("example.org", "sts", 5, 0), ("example.net", "sts", 2, 1)])}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    w = make()
    outcome = _import(qtbot, w, [tmp_path / n for n in files])
    lines = [w.importer.rejected_list.item(i).text() for i in range(w.importer.rejected_list.count())]
    assert any(line.startswith("nameless.json: imported for an unknown domain") for line in lines)
    assert len(outcome.result.imported) == 3
    view = _wait_view(qtbot, w, lambda v: v.domain == "shop.test")
    # every domain a report names, and the reports that name none, last
    assert [w.domain_box.itemData(i) for i in range(w.domain_box.count())] == [
        "shop.test", "example.net", "example.org", NO_DOMAIN]
    assert w.domain_box.itemText(3) == "No domain named  (1 TLS report)"
    # under shop.test: no TLS report of its own, and the one that names no domain, as the import card said
    assert [u.report_id for u in view.tls_unnamed] == ["nameless"]
    assert not w.tls_unnamed_view.isHidden() and w.tls_unnamed_model.rowCount() == 1
    assert [w.tls_unnamed_model.text(0, c) for c in range(3)] == ["Google Inc.", "nameless", "nameless.json"]
    assert w.tls_unnamed_title.text() == "TLS reports that name no domain (1)"
    assert "so they were imported for an unknown domain and are in no domain's figures: 2 of 5 connections " \
           "failed. They may be about shop.test or another of your domains." in w.tls_unnamed_note.text()
    assert "certificate-expired (2 connections)" in w.tls_words.text()
    # a domain only the second policy of a report names is listed and has its figures
    w.select_domain("example.net")
    view = _wait_view(qtbot, w, lambda v: v.domain == "example.net")
    assert [(t.policy_domain, t.failed) for t in view.tls] == [("example.net", 1)]
    assert w.tls_label.text().startswith("1 of 3 encrypted deliveries to example.net failed")
    # "no domain named": the TLS tab comes up with them; nothing to export, no names to look up
    w.select_domain(NO_DOMAIN)
    view = _wait_view(qtbot, w, lambda v: v.domain == NO_DOMAIN)
    qtbot.waitUntil(lambda: not w.export_json_button.isEnabled() and w.tls_unnamed_model.rowCount() == 1,
                    timeout=WAIT_MS)
    assert w.tabs.currentWidget() is w.tls_page and w.tls_view.isHidden()
    assert w.tls_label.text() == "1 SMTP TLS report(s) in this period don't say which domain they are about."
    assert "They may be about" not in w.tls_unnamed_note.text()
    assert "don't say which domain they are about" in w.overview_title.text()
