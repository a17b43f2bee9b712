"""The main window against the loopback DNS server: streaming cards, copying, cancelling, dead servers."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from inboxready.app.cards import CheckCard
from inboxready.app.demo import DemoDnsServer
from inboxready.core.checks.runner import run_check
from inboxready.core.context import ALL_CHECKS, CheckOptions
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.model import CheckResult, Finding, Fix, Severity, Status

from tests.conftest import run

from .conftest import add_good_zone

WAIT_MS = 20_000


def _core_statuses(server: DnsTestServer, domain: str, timeout: float = 1.0) -> dict[str, Status]:
    report = run(run_check(domain, CheckOptions(nameservers=[server.address], timeout=timeout, deadline=15.0)))
    return {k: v.status for k, v in report.checks.items()}


def test_typing_a_domain_fills_the_cards_with_the_engines_statuses(make_window, qtbot, dns_server) -> None:
    add_good_zone(dns_server, "good.example")
    w = make_window(nameserver=dns_server.address)
    qtbot.keyClicks(w.domain_field, "https://www.good.example/contact")
    assert w.input_note.text() == "Will check good.example (the web address you pasted, without www)."
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(w.domain_field, Qt.Key.Key_Return)
        # cards appear at once, busy, before any result
        assert list(w.cards) == list(ALL_CHECKS)
        assert all(c.status == "pending" and c.busy.active for c in w.cards.values())
    report = blocker.args[0]
    assert report.domain == "good.example"
    expected = _core_statuses(dns_server, "good.example")
    # after the checks, the bulk-sender checklist is judged from them (in the core, shown as a card)
    assert list(w.cards) == [*ALL_CHECKS, "checklist", "compliance"]
    compliance = w.cards.pop("compliance")
    assert compliance.result is not None and compliance.result.detail["profile"] == "bulk-sender"
    checklist = w.cards.pop("checklist")
    assert checklist.result is not None and checklist.result.detail["items"]
    assert {i["state"] for i in checklist.result.detail["items"]} <= {"met", "not-met", "needs-test-message",
                                                                      "cant-see", "unknown"}
    shown = {name: card.status for name, card in w.cards.items()}
    assert shown == {k: str(v) for k, v in expected.items()}
    for name, card in w.cards.items():
        assert not card.busy.active and card.busy.height() == 0
        assert card.badge.word == {"pass": "Pass", "warn": "Warning", "fail": "Fail", "error": "Couldn't check",
                                   "info": "Info"}[card.status]
        assert card.summary_label.text() == report.checks[name].summary
    # what the contract implies for a well-configured domain, for the modules that exist
    for name in ("mx", "dmarc"):
        assert w.cards[name].status == "pass", (name, w.cards[name].result)
    assert w.query_view.model.rowCount() == len(report.queries) > 0
    assert w.settings.recent_domains[0] == "good.example"


def test_cards_fill_as_each_check_finishes_not_after_the_slowest(make_window, qtbot, dns_server) -> None:
    add_good_zone(dns_server, "slowdmarc.example")
    dns_server.timeout_names.add("_dmarc.slowdmarc.example")
    w = make_window(nameserver=dns_server.address, timeout=1.5)
    w.domain_field.setText("slowdmarc.example")
    seen_pending_when_first_came: list[bool] = []

    def first(job: int, result: CheckResult) -> None:
        if not seen_pending_when_first_came:
            seen_pending_when_first_came.append(w.cards["dmarc"].status == "pending" and result.name != "dmarc")

    w.engine.resultReady.connect(first)
    started = time.monotonic()
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.start_check()
        qtbot.waitUntil(lambda: any(c.result is not None for c in w.cards.values()), timeout=WAIT_MS)
        early = time.monotonic() - started
        assert w.cards["dmarc"].status == "pending"
    assert early < 1.0  # the fast checks showed before the slow one's 1.5 s timeout
    assert seen_pending_when_first_came == [True]
    assert w.cards["dmarc"].status == "error"  # a timeout is "couldn't check", never "fail"
    assert w.cards["dmarc"].badge.word == "Couldn't check"


def test_fix_copy_buttons_put_exact_values_on_clipboard(qtbot, theme_app) -> None:
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 400 + "\\\"quoted\""
    fix = Fix("sel._domainkey.example.com", "TXT", long_value, action="publish", note="A long key.")
    result = CheckResult("dkim", Status.FAIL, "No key.", findings=[
        Finding("dkim.no-key", Severity.ERROR, "No DKIM key.", "why", "RFC 6376 §3.6.1", fix)])
    card = CheckCard("dkim")
    qtbot.addWidget(card)
    card.resize(700, 400)
    card.show()
    card.set_result(result)
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    from inboxready.app.widgets import FixView

    views = card.findChildren(FixView)
    assert len(views) == 1
    view = views[0]
    clipboard = QGuiApplication.clipboard()
    for button, expected in ((view.copy_host, fix.host), (view.copy_type, fix.type), (view.copy_value, fix.value),
                             (view.copy_zone, fix.zone_line)):
        clipboard.clear()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert clipboard.text() == expected
        assert button.text() == "Copied"
    assert view.value_field.toPlainText() == fix.value  # shown whole, wrapped, not elided
    assert view.value_field.lineWrapMode() != view.value_field.LineWrapMode.NoWrap
    assert view.value_field.isReadOnly()


def test_copying_a_real_fix_from_a_check(make_window, qtbot, dns_server) -> None:
    """A domain with no DMARC record: the DMARC card's fix is copied byte for byte."""
    dns_server.add_origin("example")
    dns_server.add_zone("nodmarc.example", "$TTL 300\n@ IN MX 10 mail\nmail IN A 192.0.2.10\n@ IN TXT \"v=spf1 -all\"\n")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as blocker:
        w.check_domain("nodmarc.example")
    result = blocker.args[0].checks["dmarc"]
    card = w.cards["dmarc"]
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    from inboxready.app.widgets import FixView

    views = card.findChildren(FixView)
    engine_fixes = result.fixes
    assert result.status in (Status.FAIL, Status.WARN)
    assert engine_fixes, "a missing DMARC record must come with a record to publish"
    assert len([v for v in views if v.fix in engine_fixes]) == len(engine_fixes)
    for view in views:
        qtbot.waitUntil(view.copy_value.isVisible, timeout=5000)
        view.copy_value.click()  # (a real mouse click is tested above; this card may be scrolled away)
        assert QGuiApplication.clipboard().text() == view.fix.value
        view.copy_zone.click()
        assert QGuiApplication.clipboard().text() == view.fix.zone_line


def test_a_second_check_cancels_the_first(make_window, qtbot, dns_server) -> None:
    silent = DemoDnsServer(("slow.example",))
    add_good_zone(silent, "fast.example")
    silent.start()
    try:
        w = make_window(nameserver=silent.address, timeout=5.0)
        cancelled: list[int] = []
        w.engine.cancelled.connect(lambda job: cancelled.append(job))
        first = w.check_domain("slow.example")
        qtbot.waitUntil(lambda: w.checking and any(c.status == "pending" for c in w.cards.values()),
                        timeout=WAIT_MS)
        started = time.monotonic()
        with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS) as blocker:
            second = w.check_domain("fast.example")
        assert second != first
        assert blocker.args[0].domain == "fast.example"
        assert time.monotonic() - started < 4.0  # did not wait for the first check's 5 s timeouts
        qtbot.waitUntil(lambda: first in cancelled, timeout=5000)
        assert all(c.result is not None for c in w.cards.values())
        assert w.current_domain == "fast.example" and w.last_report is not None
        names = [q.name for q in w.query_view.model.records]
        assert names and not [n for n in names if "slow.example" in n]  # only the second check's queries
    finally:
        silent.stop()


def test_dead_name_server_shows_couldnt_check_in_bounded_time(make_window, qtbot) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    silent = DemoDnsServer(("example",))
    silent.start()
    try:
        for ns in (f"127.0.0.1:{port}", silent.address):
            w = make_window(nameserver=ns, timeout=0.5, deadline=5.0)
            started = time.monotonic()
            with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
                w.check_domain("dead.example")
            took = time.monotonic() - started
            assert took < 8.0
            assert {c.status for c in w.cards.values()} == {"error"}
            assert {c.badge.word for c in w.cards.values()} == {"Couldn't check"}
            w.shutdown()
    finally:
        silent.stop()


def test_escape_cancels_and_ctrl_l_focuses_the_field(make_window, qtbot) -> None:
    silent = DemoDnsServer(("example",))
    silent.start()
    try:
        w = make_window(nameserver=silent.address, timeout=5.0)
        w.activateWindow()
        qtbot.waitUntil(w.isActiveWindow, timeout=5000)
        w.check_button.setFocus()
        qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        assert w.domain_field.hasFocus()
        qtbot.keyClicks(w.domain_field, "user@hang.example")
        assert "e-mail address" in w.input_note.text()
        qtbot.keyClick(w.domain_field, Qt.Key.Key_Return)
        assert w.checking and w.cancel_button.isEnabled()
        with qtbot.waitSignal(w.engine.cancelled, timeout=5000):
            qtbot.keyClick(w.domain_field, Qt.Key.Key_Escape)
        assert not w.checking and not w.cancel_button.isEnabled()
        assert all(c.badge.word == "Not checked" for c in w.cards.values())
    finally:
        silent.stop()


def test_space_and_enter_open_a_card(qtbot, theme_app) -> None:
    card = CheckCard("mx")
    qtbot.addWidget(card)
    card.show()
    card.set_result(CheckResult("mx", Status.PASS, "Mail goes to 1 server.", records=["10 mail.example.com."]))
    card.header.setFocus()
    assert not card.is_open
    qtbot.keyClick(card.header, Qt.Key.Key_Space)
    assert card.is_open and card.body.isVisible()
    qtbot.keyClick(card.header, Qt.Key.Key_Return)
    assert not card.is_open
    assert card.header.accessibleName() == "MX: Pass"


def test_bad_input_says_why_and_starts_nothing(make_window, qtbot) -> None:
    w = make_window()
    qtbot.keyClicks(w.domain_field, "localhost")
    assert w.input_note.property("error") is True
    assert w.start_check() == 0
    assert not w.cards and not w.checking
    w.domain_field.setText("bücher.example")
    assert "internationalized" in w.input_note.text() and "xn--" in w.input_note.text()


def test_unknown_check_names_get_a_generic_card(make_window, qtbot, dns_server) -> None:
    add_good_zone(dns_server, "future.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        job = w.check_domain("future.example")
    w._on_result(job, CheckResult("future_check", Status.WARN, "Something new is in testing mode.",
                                  detail={"mode": "testing"}))
    card = w.cards["future_check"]
    assert card.title == "FUTURE_CHECK" and card.status == "warn" and card.badge.word == "Warning"
    w._on_result(job + 100, CheckResult("other_future", Status.PASS, "stale job"))  # an old job: ignored
    assert "other_future" not in w.cards


def test_history_shows_what_changed_since_the_last_check(make_window, qtbot, dns_server, home: Path) -> None:
    add_good_zone(dns_server, "change.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("change.example")
    assert not any(c.change_label.isVisibleTo(w) for c in w.cards.values())  # first check
    dns_server.replace_zone("change.example", "$TTL 300\n@ IN MX 20 mx2\nmx2 IN A 192.0.2.20\n@ IN TXT \"v=spf1 -all\"\n")
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("change.example")
    for name, card in w.cards.items():
        if name in ("checklist", "compliance"):
            continue  # judged from the checks on screen; they have no stored run of their own
        assert card.change_label.isVisibleTo(w)
        assert card.change_label.text().startswith("Since the last check: ")
    assert w.cards["mx"].result and w.cards["mx"].result.records
    assert "edited" in w.cards["mx"].change_label.text() or "added" in w.cards["mx"].change_label.text()
    assert "Worse than last time" in w.cards["dmarc"].change_label.text()
    assert len(w.history.runs("change.example")) == 2


def test_damaged_history_is_moved_aside_with_a_message(make_window, home: Path) -> None:
    data = home / "data"
    data.mkdir(parents=True)
    (data / "history.sqlite3").write_bytes(b"garbage" * 500)
    (home / "config").mkdir()
    (home / "config" / "settings.json").write_text("{not json")
    w = make_window()
    assert w.notice.isVisibleTo(w)
    assert "could not be read" in w.notice.text() and "settings" in w.notice.text()
    assert list(data.glob("history.sqlite3.damaged-*"))


def test_settings_survive_a_restart(make_window, qtbot, dns_server, home: Path) -> None:
    add_good_zone(dns_server, "keep.example")
    w = make_window(nameserver=dns_server.address)
    w.resize(1000, 700)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("keep.example")
    w.close()
    from inboxready.core.store.settings import SettingsStore

    s = SettingsStore().load()
    assert s.recent_domains == ["keep.example"] and s.nameserver == dns_server.address
    assert s.window_geometry
    w2 = make_window(nameserver=dns_server.address)
    assert w2.geometry_restored
    assert w2.completer_model.stringList() == ["keep.example"]


def test_adding_a_dkim_selector_rechecks_with_it(make_window, qtbot, dns_server) -> None:
    add_good_zone(dns_server, "sel.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("sel.example")
    card = w.cards["dkim"]
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    qtbot.keyClicks(card.selector_field, "Mail2024")
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        qtbot.mouseClick(card.selector_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.checking, timeout=WAIT_MS)
    assert w.settings.selectors_for("sel.example") == ["mail2024"]
    assert "mail2024" in w._options_for("sel.example").dkim_selectors


def test_removing_a_saved_dkim_selector_forgets_it_and_rechecks(make_window, qtbot, dns_server) -> None:
    add_good_zone(dns_server, "forget.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("forget.example")
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.add_selector("old2019")
    assert w.settings.selectors_for("forget.example") == ["old2019"]
    card = w.cards["dkim"]
    assert card.is_open  # it was opened to show the selector's result
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    buttons = card.remove_buttons
    assert list(buttons) == ["old2019"]
    remove = buttons["old2019"]
    assert remove.accessibleName() == "Remove the DKIM selector old2019"
    assert remove.focusPolicy() & Qt.FocusPolicy.TabFocus
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert w.settings.selectors_for("forget.example") == []
    assert "old2019" not in w._options_for("forget.example").dkim_selectors
    from inboxready.core.store.settings import SettingsStore

    assert SettingsStore().load().selectors_for("forget.example") == []  # saved, not only in memory
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    assert getattr(card, "remove_buttons", {}) == {}


def _many_findings_result(n: int) -> CheckResult:
    findings = [Finding(f"dmarc.test-{i}", Severity.WARNING, f"Problem number {i}.", "why", "RFC 9989",
                        Fix(f"_dmarc{i}.example.com", "TXT", "v=DMARC1; p=none")) for i in range(n)]
    return CheckResult("dmarc", Status.WARN, "Several problems.", records=["v=DMARC1; p=none"], findings=findings)


def test_a_card_body_is_built_only_when_opened_and_a_piece_at_a_time(qtbot, theme_app) -> None:
    from inboxready.app.widgets import FindingView, FixView

    card = CheckCard("dmarc")
    qtbot.addWidget(card)
    card.resize(800, 600)
    card.show()
    card.set_result(_many_findings_result(6))
    qtbot.wait(50)
    assert card.body_layout.count() == 0 and not card.findChildren(FindingView)  # closed: nothing built
    card.set_open(True)
    assert len(card.findChildren(FindingView)) < 6  # opening returns at once; the body fills in later
    seen: list[int] = []
    card.bodyBuilt.connect(lambda: seen.append(len(card.findChildren(FixView))))
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    assert len(card.findChildren(FindingView)) == 6 and len(card.findChildren(FixView)) == 6
    assert seen == [6]
    # a new result while open rebuilds from scratch; finish_body completes it at once
    card.set_result(_many_findings_result(2))
    card.finish_body()
    assert card.body_ready
    qtbot.wait(10)  # the old widgets are deleted later
    assert len([v for v in card.findChildren(FindingView) if v.isVisibleTo(card)]) == 2


def spf_detail(tree: dict, lookups: int) -> dict:  # type: ignore[type-arg]
    """A whole SPF detail (``SpfDetail``: the card reads its keys directly) around ``tree``."""
    detail = {"record": tree["record"], "records": [tree["record"]], "lookups": lookups, "lookup_limit": 10,
              "void_lookups": 0, "void_lookup_limit": 2, "tree": tree, "terms": [], "errors": [], "txt_strings": [],
              "all": "fail", "spf_rr": [], "sender_id": [], "merged_record": None, "dmarc_stage": None,
              "all_advice": None}
    from tests.detailshape import SHAPES, problems
    assert problems(detail, SHAPES["spf"], "spf") == []
    return detail


def test_spf_tree_branches_add_up_to_the_total(qtbot, theme_app) -> None:
    from PySide6.QtWidgets import QTreeWidget

    def node(domain: str, mech: str, lookups: int, total: int, children: list, record: str) -> dict:  # type: ignore[type-arg]
        return {"domain": domain, "mechanism": mech, "lookups": lookups, "total": total,
                "branch": total + (1 if mech else 0), "record": record, "error": None, "note": None,
                "void_lookups": 0, "children": children}

    three = node("three.tree.test", "include:three.tree.test", 0, 0, [], "v=spf1 ip4:198.51.100.0/24 -all")
    one = node("one.tree.test", "include:one.tree.test", 1, 1, [three], "v=spf1 include:three.tree.test -all")
    two = node("two.tree.test", "include:two.tree.test", 2, 2, [], "v=spf1 a:host.tree.test exists:x.tree.test -all")
    root = node("tree.test", "", 4, 7, [one, two],
                "v=spf1 a mx include:one.tree.test include:two.tree.test ~all")
    card = CheckCard("spf")
    qtbot.addWidget(card)
    card.resize(900, 600)
    card.show()
    card.set_result(CheckResult("spf", Status.PASS, "SPF is set up.", detail=spf_detail(root, 7)))
    card.set_open(True)
    card.finish_body()
    tree = card.findChildren(QTreeWidget)[0]
    top = tree.topLevelItem(0)
    assert (top.text(0), top.text(1), top.text(2)) == ("tree.test", "your record", "7")
    rows = [(top.child(i).text(0), top.child(i).text(1), int(top.child(i).text(2))) for i in range(top.childCount())]
    assert rows == [("a, mx", "this record's own terms", 2), ("one.tree.test", "include", 2),
                    ("two.tree.test", "include", 3)]
    assert sum(r[2] for r in rows) == 7
    assert top.child(1).child(0).text(2) == "1"  # one's own include of three
    assert top.child(1).toolTip(1) == "include:one.tree.test"


def test_about_shows_the_package_version_and_licence(make_window) -> None:
    from inboxready.core import __version__

    w = make_window()
    text = w.about_text()
    assert f"InboxReady {__version__}" in text and "MIT" in text
    assert w.about_button.accessibleName()


def test_card_lists_the_problem_first_with_its_fixes_and_names_what_they_also_solve(qtbot, theme_app) -> None:
    """Issue 12 item 2: findings by severity; a record shared by two findings shown once, under the most severe,
    which names the other; a problem with several options shows each, numbered, with its companion records."""
    from inboxready.app.widgets import FindingView, FixView

    shared = Fix("example.com", "TXT", "v=spf1 mx include:x._spf-flat.example.com ~all", action="replace",
                 title="Copy the most expensive includes", note="The trade-off: a snapshot.",
                 also_publish=(Fix("x._spf-flat.example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all"),))
    other = Fix("example.com", "TXT", "v=spf1 mx ~all", action="replace", title="Move senders to a subdomain",
                also_publish=(Fix("bounce-x.example.com", "TXT", "v=spf1 include:x.example ~all"),))
    result = CheckResult("spf", Status.FAIL, "Broken.", findings=[
        Finding("spf.all-hardfail-early", Severity.INFO, "Your SPF record ends with '-all'. Use '~all'.", fix=shared),
        Finding("spf.void-lookup", Severity.WARNING, "'a' points nowhere. Remove it.", fix=shared),
        Finding("spf.too-many-lookups", Severity.ERROR, "Checking your SPF takes 15 DNS lookups. Too many.",
                fix=shared, alternatives=(other,)),
    ])
    card = CheckCard("spf")
    qtbot.addWidget(card)
    card.resize(900, 700)
    card.show()
    card.set_result(result)
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    views = [v for v in card.findChildren(FindingView) if v.isVisibleTo(card)]
    views.sort(key=lambda v: v.mapTo(card, v.rect().topLeft()).y())
    assert [v.finding.code for v in views] == ["spf.too-many-lookups", "spf.void-lookup", "spf.all-hardfail-early"]
    problem = views[0]
    assert [fv.fix for fv in problem.fix_views] == [shared, other]  # both options, numbered, under the problem
    texts = [w.text() for w in problem.findChildren(type(card.title_label))]
    assert "Option 1 of 2: Copy the most expensive includes" in texts
    assert any(t.startswith("This also solves: “'a' points nowhere”; “Your SPF record ends with '-all'”") for t in texts)
    assert [c.fix.host for c in problem.fix_views[0].companions] == ["x._spf-flat.example.com"]
    for v in views[1:]:  # shown once: the others say where
        assert not v.findChildren(FixView)
        assert any("the record shown under “Checking your SPF takes 15 DNS lookups”" in w.text()
                   for w in v.findChildren(type(card.title_label)))


def test_spf_card_says_whether_a_flattened_copy_still_matches_its_include(qtbot, theme_app) -> None:
    root = {"domain": "example.com", "record": "v=spf1 include:_spf.relay.test._spf-flat.example.com -all",
            "mechanism": "", "lookups": 0, "total": 3, "branch": 3, "error": None, "note": None, "void_lookups": 0,
            "children": []}
    result = CheckResult("spf", Status.PASS, "SPF is set up.", detail={**spf_detail(root, 3), "flattened": [
        {"include": "_spf.relay.test", "host": "_spf.relay.test._spf-flat.example.com",
         "published": ["203.0.113.0/24"], "live": ["203.0.113.0/24"], "current": True, "problems": []}]})
    card = CheckCard("spf")
    qtbot.addWidget(card)
    card.show()
    card.set_result(result)
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    texts = [w.text() for w in card.findChildren(type(card.title_label))]
    assert ("_spf.relay.test._spf-flat.example.com is a copy of the addresses 'include:_spf.relay.test' lists: it "
            "matches what the include lists today.") in texts


def test_the_checklist_and_verdict_cards_are_reused_not_made_again(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    """A new check hides the checklist and the profile's verdict (they come when it is done) and shows the same
    two cards again: making a card and styling its widgets anew each check cost the UI thread several ms.
    Their old content goes, the order stays: the checks first, then the checklist and the verdict."""
    add_good_zone(dns_server, "again.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("again.example")
    checklist, compliance = w.cards["checklist"], w.cards["compliance"]
    checklist.set_open(True)
    checklist.finish_body()
    assert checklist.body_layout.count() > 0
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("again.example")
        assert list(w.cards) == list(ALL_CHECKS)  # during the check: only the checks' cards
        assert checklist.isHidden() and compliance.isHidden() and not checklist.is_open
        qtbot.waitUntil(lambda: checklist.body_layout.count() == 0, timeout=WAIT_MS)  # its old body is gone
    assert w.cards["checklist"] is checklist and w.cards["compliance"] is compliance
    assert checklist.isVisible() and checklist.result is not None and not checklist.busy.active
    assert list(w.cards) == [*ALL_CHECKS, "checklist", "compliance"]
    layout = w.cards_layout
    order = [layout.itemAt(i).widget() for i in range(layout.count())]
    assert [c for c in order if isinstance(c, CheckCard)] == list(w.cards.values())
    assert checklist.header in w.focusable_widgets()
