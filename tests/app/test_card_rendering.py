"""What keeps the window responsive while cards fill in (issue 15's stall target), without changing what is
shown: wrapped labels remember their height per width, badges and status stripes paint themselves in the
theme's colours (a new status re-styles nothing), a card's old body goes on a later turn, and the tab chain
is found in one pass."""

from __future__ import annotations

import os

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QWidget

from inboxready.app import theme
from inboxready.app.cards import BodyBuilder, CheckCard
from inboxready.app.widgets import Badge, FindingView, StatusStripe, WrapLabel, label
from inboxready.core.model import CheckResult, Finding, Fix, Severity, Status

from .conftest import add_good_zone

WAIT_MS = 20_000
LONG = "Receivers look up every include of your SPF record, one after the other, until they reach ten. " * 3


class _StyleEvents(QObject):
    """Counts the style, font and palette changes that reach the watched widgets (a re-styling)."""

    KINDS = (QEvent.Type.StyleChange, QEvent.Type.FontChange, QEvent.Type.PaletteChange, QEvent.Type.Polish)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in self.KINDS:
            self.seen.append(f"{type(obj).__name__} {event.type().name}")
        return False


def _colour(widget: QWidget, x: int, y: int) -> str:
    return QColor(widget.grab().toImage().pixel(x, y)).name()


def test_a_wrapped_label_remembers_its_height_until_its_text_or_font_changes(qtbot, theme_app) -> None:
    lab = label("Short.", "Muted")
    qtbot.addWidget(lab)
    assert isinstance(lab, WrapLabel) and lab.wordWrap()
    assert not isinstance(label("no wrap", wrap=False), WrapLabel)  # only wrapped labels have a height per width
    short = lab.heightForWidth(200)
    assert lab.heightForWidth(200) == short and 200 in lab._hfw  # asked again: remembered
    lab.setText(LONG)
    assert not lab._hfw  # a new text forgets every height
    tall = lab.heightForWidth(200)
    assert tall > 3 * short
    assert lab.heightForWidth(400) < tall  # each width its own height
    big = QFont(lab.font())
    big.setPointSizeF(lab.font().pointSizeF() * 2)
    lab.setFont(big)
    assert lab.heightForWidth(200) > tall  # a larger font: taller (FontChange forgets)
    lab.setStyleSheet("font-size: 6pt;")
    lab.ensurePolished()
    assert lab.heightForWidth(200) < tall  # a style sheet's font: forgotten too
    lab.setWordWrap(False)
    assert not lab._hfw
    lab.setWordWrap(True)
    lab.setStyleSheet("")
    lab.setFont(QFont())
    plain = QLabel(LONG)
    plain.setWordWrap(True)
    plain.setFont(lab.font())
    qtbot.addWidget(plain)
    assert lab.heightForWidth(300) == plain.heightForWidth(300)  # the same answer as QLabel's own


def test_a_new_status_repaints_the_badge_and_stripe_in_the_themes_colours_without_restyling(qtbot, theme_app) -> None:
    host = QWidget()
    row = QHBoxLayout(host)
    stripe = StatusStripe()
    badge = Badge(status="pending", word="Checking…")
    row.addWidget(stripe)
    row.addWidget(badge)
    qtbot.addWidget(host)
    host.resize(300, 60)
    host.show()
    qtbot.waitExposed(host)
    watcher = _StyleEvents()
    for w in (badge, stripe):
        w.installEventFilter(watcher)
    try:
        for status in ("fail", "pass", "warn", "error", "info", "pending"):
            badge.set_status(status, status.title())
            stripe.set_status(status)
            qtbot.wait(1)
            assert badge.word == badge.text() == badge.accessibleName() == status.title()
            # the pill's colour (left of the icon) and the stripe's, as the theme has them
            bg, _fg = {"pending": ("error_bg", ""), "error": ("error_bg", "")}.get(status, (f"{status}_bg", ""))
            assert _colour(badge, 3, badge.height() // 2) == theme.palette("light")[bg]
            if status == "pending":  # no status yet: no stripe (the card's own background shows)
                assert _colour(stripe, 2, stripe.height() // 2) != theme.palette("light")["error_fg"]
            else:
                assert _colour(stripe, 2, stripe.height() // 2) == theme.palette("light")[f"{status}_fg"]
        assert watcher.seen == []  # nothing re-styled: a repaint only
        badge.set_status("fail", "Fail")
        stripe.set_status("fail")
        theme_app.apply("dark")
        qtbot.wait(1)
        assert _colour(badge, 3, badge.height() // 2) == theme.palette("dark")["fail_bg"]
        assert _colour(stripe, 2, stripe.height() // 2) == theme.palette("dark")["fail_fg"]
    finally:
        theme_app.apply("light")
    assert _colour(badge, 3, badge.height() // 2) == theme.palette("light")["fail_bg"]
    # the word is never cut: the badge asks for room for all of it, in its semi-bold font
    badge.set_status("error", "Couldn't check")
    fm = badge.fontMetrics()
    assert badge.sizeHint().width() > fm.horizontalAdvance("Couldn't check") + 16


def _result(n: int, tag: str) -> CheckResult:
    findings = [Finding(f"dmarc.test-{i}", Severity.WARNING, f"{tag} problem number {i}.", "why", "RFC 9989",
                        Fix(f"_dmarc{i}.example.com", "TXT", "v=DMARC1; p=none")) for i in range(n)]
    return CheckResult("dmarc", Status.WARN, f"{tag}.", records=["v=DMARC1; p=none"], findings=findings)


def test_a_new_result_shows_a_fresh_body_and_the_old_one_is_deleted_on_a_later_turn(qtbot, theme_app) -> None:
    card = CheckCard("dmarc")
    qtbot.addWidget(card)
    card.resize(800, 600)
    card.show()
    card.set_result(_result(3, "First"))
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    old_body = card.body
    old_views = old_body.findChildren(FindingView)
    assert len(old_views) == 3 and old_body.isVisible()
    card.set_result(_result(2, "Second"))  # a new result while open: rebuilt, in a new body
    assert card.body is not old_body and old_body.isHidden() and card.body.isVisibleTo(card)
    assert card.body_layout.parentWidget() is card.body
    assert old_body in BodyBuilder.shared().discarded()  # not deleted in this turn: on a later one
    qtbot.waitUntil(lambda: card.body_ready and not shiboken6.isValid(old_body), timeout=5000)
    views = card.findChildren(FindingView)
    assert [v.finding.message for v in views] == ["Second problem number 0.", "Second problem number 1."]
    assert old_body not in BodyBuilder.shared().discarded()
    # closed, a new result is not built until opened (and the built body goes)
    card.set_open(False)
    built = card.body
    card.set_result(_result(1, "Third"))
    assert card.body is not built and card.body_layout.count() == 0 and not card.body.isVisibleTo(card)
    card.set_open(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    assert [v.finding.message for v in card.body.findChildren(FindingView)] == ["Third problem number 0."]
    # an empty card keeps its (empty) body: nothing to swap
    empty = CheckCard("spf")
    qtbot.addWidget(empty)
    body = empty.body
    empty.set_pending()
    assert empty.body is body


def test_a_body_is_built_a_fix_view_a_turn_and_ends_as_when_built_at_once(qtbot, theme_app) -> None:
    """Each fix's fields (a FixView: line edits, a text field, four Copy buttons) cost a few milliseconds to
    make: a finding with several options adds one a turn of the event loop, and the finished body is the same."""
    options = [Fix("_dmarc.example.com", "TXT", f"v=DMARC1; p=none; rua=mailto:r{i}@example.com", title=f"Option {i}")
               for i in range(3)]
    finding = Finding("dmarc.test", Severity.WARNING, "Three ways.", "why", "RFC 9989", options[0],
                      alternatives=tuple(options[1:]))
    result = CheckResult("dmarc", Status.WARN, "Three.", records=["v=DMARC1; p=none"], findings=[finding])
    card = CheckCard("dmarc")
    qtbot.addWidget(card)
    card.resize(800, 600)
    card.show()
    card.set_result(result)
    builder = BodyBuilder.shared()
    builder._timer.stop()  # this test turns the builder's steps itself, one per call of _tick
    card.set_open(True)
    builder._timer.stop()
    counts: list[int] = []
    for _ in range(30):
        if not builder.pending(card):
            break
        builder._tick()
        builder._timer.stop()
        counts.append(sum(len(v.fix_views) for v in card.body.findChildren(FindingView)))
    assert card.body_ready
    assert [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]] == [0, 1, 2, 3]  # one more per turn
    view, = card.body.findChildren(FindingView)
    assert view.fix_view is view.fix_views[0] and [v.fix.value for v in view.fix_views] == [o.value for o in options]
    at_once = FindingView(finding)
    qtbot.addWidget(at_once)
    assert [type(w).__name__ + ":" + (w.text() if isinstance(w, QLabel) else "") for w in view.findChildren(QWidget)] \
        == [type(w).__name__ + ":" + (w.text() if isinstance(w, QLabel) else "") for w in at_once.findChildren(QWidget)]


def _walked(window) -> list[QWidget]:  # type: ignore[no-untyped-def]
    """The tab chain as the window found it before: a Python walk over every child."""
    out: list[QWidget] = []
    skipped = [*window._spare_cards.values(), *BodyBuilder.shared().discarded()]

    def walk(w: QWidget) -> None:
        for child in w.children():
            if not isinstance(child, QWidget) or child.isWindow() or any(child is s for s in skipped):
                continue
            if child.focusPolicy() & Qt.FocusPolicy.TabFocus and not isinstance(child, QScrollArea):
                out.append(child)
            walk(child)

    walk(window.centralWidget())
    return out


def test_the_tab_chain_found_in_one_pass_is_the_walks_and_leaves_out_old_bodies(make_window, qtbot,
                                                                               dns_server) -> None:
    add_good_zone(dns_server, "tabs.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tabs.example")
    for card in w.cards.values():
        card.set_open(True)
        card.finish_body()
    order = w.focusable_widgets()
    assert order == _walked(w) and len(order) > 20
    assert w.domain_field in order and all(c.header in order for c in w.cards.values())
    built = {name: c.body for name, c in w.cards.items() if c.body_layout.count()}
    w.check_domain("tabs.example")  # the check's cards: each old body waits to be deleted, hidden
    old = [b for name, b in built.items() if name in w.cards]  # (the checklist's and verdict's: spare now)
    assert old and all(b in BodyBuilder.shared().discarded() or not shiboken6.isValid(b) for b in old)
    assert all(w.cards[name].body is not b for name, b in built.items() if name in w.cards)
    kept = {id(x) for b in built.values() if shiboken6.isValid(b) for x in b.findChildren(QWidget)}
    order = w.focusable_widgets()
    assert order == _walked(w) and not any(id(x) in kept for x in order)
    qtbot.waitUntil(lambda: not w.checking, timeout=WAIT_MS)


def test_the_watch_schedule_starts_on_an_idle_turn_with_no_thread(make_window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Making the watch service (importing its module: tens of milliseconds of Python) was the longest single
    turn of the UI thread while the first checks' cards were being built: its module is now imported at
    start-up with the window's, and the service made only when no card body is being built. No Python
    thread is started for it (the GUI process runs none)."""
    import sys
    import threading

    from inboxready.app import main_window

    assert "inboxready.app.tray" in sys.modules  # imported with the window, not mid-check
    monkeypatch.setattr(main_window, "WATCH_START_DELAY_MS", 0)
    threads = set(threading.enumerate())
    builder = BodyBuilder.shared()
    old_body = QWidget()
    old_body.hide()
    builder._discarded.append(old_body)  # a body waiting to be deleted: the builder is busy (its timer not started)
    try:
        w = make_window()
        assert builder.busy
        qtbot.wait(3 * main_window.WATCH_IDLE_POLL_MS)
        assert w.watch_service is None  # not while a body is built or deleted
    finally:
        builder._discarded.remove(old_body)
        old_body.deleteLater()
    qtbot.waitUntil(lambda: w.watch_service is not None, timeout=5_000)
    assert w.watch_service.timer.isActive() or w.watch_service.paused
    assert not [t for t in threading.enumerate() if t not in threads and t.name.startswith("inboxready")]


def test_typing_a_domain_restyles_the_note_under_the_field_only_when_it_turns_to_or_from_an_error(
        make_window, qtbot) -> None:  # type: ignore[no-untyped-def]
    w = make_window()
    note = w.input_note
    w.domain_field.setText("example.com")
    note.ensurePolished()
    seen = _StyleEvents()
    note.installEventFilter(seen)
    for text in ("example.co", "example.com", "mail.example.com"):  # a key a turn: same look, no re-styling
        w.domain_field.setText(text)
    assert note.text() == "Will check mail.example.com." and not seen.seen
    w.domain_field.setText("not a domain!")
    assert note.property("error") is True and seen.seen  # now an error: styled as one
    seen.seen.clear()
    w.domain_field.setText("example.com")
    assert not note.property("error") and seen.seen and note.text() == "Will check example.com."


def test_a_badge_remembers_its_size_until_its_word_or_font_changes(qtbot, theme_app) -> None:
    badge = Badge(status="pass", word="Pass")
    qtbot.addWidget(badge)
    hint = badge.sizeHint()
    assert badge._hint == hint and badge.minimumSizeHint() == hint  # asked again: remembered
    badge.set_status("fail", "Needs attention")
    wider = badge.sizeHint()
    assert wider.width() > hint.width()
    big = QFont(badge.font())
    big.setPointSizeF(badge.font().pointSizeF() * 2)
    badge.setFont(big)
    assert badge.sizeHint().width() > wider.width() and badge.sizeHint().height() > wider.height()



def _built_in_steps(qtbot, card: CheckCard, result: CheckResult) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Open ``card`` with ``result`` and turn its builder by hand: the body's widgets after each step."""
    qtbot.addWidget(card)
    card.resize(800, 600)
    card.show()
    card.set_result(result)
    builder = BodyBuilder.shared()
    builder._timer.stop()
    card.set_open(True)
    builder._timer.stop()
    seen: list[list[str]] = []
    for _ in range(40):
        if not builder.pending(card):
            break
        builder._tick()
        builder._timer.stop()
        seen.append([type(w).__name__ for w in card.body.findChildren(QWidget)])
    assert card.body_ready
    return seen


def _shape(w: QWidget) -> list[str]:
    return [type(x).__name__ + ":" + (x.text() if isinstance(x, (QLabel, QPushButton)) else "")
            for x in w.findChildren(QWidget)]


def test_a_fix_box_adds_the_records_that_go_with_it_and_its_publish_bar_on_later_turns(qtbot, theme_app,
                                                                                    monkeypatch) -> None:
    """A fix box is its heading first, then its record's fields; each record that goes with it (a companion
    box: its heading, then its fields) and the publish bar come a turn each after, and the finished box is the
    one made at once."""
    from inboxready.app.widgets import FixView

    def bar(fix: Fix, parent: QWidget) -> QWidget:
        return QPushButton(f"Publish {fix.host}…", parent)

    monkeypatch.setattr(FixView, "publish_hook", bar)
    extra = Fix("mail._domainkey.example.com", "TXT", "v=DKIM1; p=MIIB", action="publish")
    fix = Fix("example.com", "TXT", "v=spf1 include:_spf.example.com ~all", action="replace", also_publish=(extra,))
    finding = Finding("spf.test", Severity.ERROR, "Broken.", "why", "RFC 7208", fix)
    card = CheckCard("spf", sections=[])
    seen = _built_in_steps(qtbot, card, CheckResult("spf", Status.FAIL, "Broken.", findings=[finding]))
    boxes = [names.count("FixView") for names in seen]
    bars = [names.count("QPushButton") for names in seen]
    fields = [names.count("CodeText") for names in seen]
    first = boxes.index(1)
    assert (bars[first], fields[first]) == (0, 0)  # the heading alone
    assert (boxes[first + 1], fields[first + 1], bars[first + 1]) == (1, 1, 0)  # then the record's fields
    assert (boxes[first + 2], fields[first + 2], bars[first + 2]) == (2, 1, 0)  # the record that goes with it
    assert (boxes[first + 3], fields[first + 3], bars[first + 3]) == (2, 2, 0)  # its fields
    assert (boxes[first + 4], fields[first + 4], bars[first + 4]) == (2, 2, 1)  # then the publish bar
    stepped = next(v for v in card.body.findChildren(FixView) if v.fix is fix)
    at_once = FixView(fix)
    qtbot.addWidget(at_once)
    assert len(stepped.companions) == len(at_once.companions) == 1
    assert _shape(stepped) == _shape(at_once) and len(stepped.buttons()) == 8


def test_the_spf_include_tree_comes_a_turn_after_its_section(qtbot, theme_app) -> None:
    """The include tree (a tree view: the costliest widget of the SPF card) is added on the turn after the
    lines above it; finishing the body at once still shows it."""
    from PySide6.QtWidgets import QTreeWidget

    def node(domain: str, mechanism: str, children: list) -> dict:  # type: ignore[type-arg]
        total = 1 + sum(c["total"] for c in children)
        return {"domain": domain, "record": f"v=spf1 {mechanism} ~all", "mechanism": mechanism, "lookups": 1,
                "total": total, "branch": total, "error": None, "note": None, "void_lookups": 0,
                "children": children}

    tree = node("example.com", "", [node("_spf.example.net", "include:_spf.example.net", [])])
    detail = {"tree": tree, "lookup_limit": 10, "lookups": 2, "void_lookups": 0, "flattened": []}
    result = CheckResult("spf", Status.PASS, "Fine.", detail=detail)
    seen = _built_in_steps(qtbot, CheckCard("spf"), result)
    trees = ["FittedTree" in names for names in seen]
    assert trees.count(False) >= 1 and trees[-1]
    lines = next(i for i, names in enumerate(seen) if "WrapLabel" in names)
    assert not trees[lines]  # the lines first, the tree on a later turn
    at_once = CheckCard("spf")
    qtbot.addWidget(at_once)
    at_once.set_result(result)
    at_once.set_open(True)
    at_once.finish_body()
    assert len(at_once.body.findChildren(QTreeWidget)) == 1


def test_the_app_keeps_qts_fills_on_the_ui_thread(monkeypatch) -> None:
    """``inboxready-gui`` sets Qt's own switch before its QApplication exists: big fills are not handed to a
    pool of threads (whose hand-off cost more than the fill on two cores shared with the engine process).
    A value the user set is kept."""
    from inboxready.app import gui

    monkeypatch.delenv("QT_NO_GUI_THREADPOOL", raising=False)
    gui.prepare_qt()
    assert os.environ["QT_NO_GUI_THREADPOOL"] == "1"
    monkeypatch.setenv("QT_NO_GUI_THREADPOOL", "yes")
    gui.prepare_qt()
    assert os.environ["QT_NO_GUI_THREADPOOL"] == "yes"


def test_a_fix_box_in_steps_adds_the_hosts_form_on_the_next_turn_without_showing_the_generic_record_first(
        qtbot, theme_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A box built in steps makes its generic record's fields on a turn of their own, hidden, and the DNS
    host's form on the next: until it is there the generic record is not shown (no flash of fields the form
    then hides); a box made at once is the same."""
    from inboxready.app.widgets import FixView

    def form(fix: Fix, view: FixView) -> QWidget:
        view.generic.setVisible(False)  # as the host form does when it knows the host
        return QLabel(f"At Example DNS: {fix.host}", view)

    monkeypatch.setattr(FixView, "host_form_hook", form)
    fix = Fix("example.com", "TXT", "v=spf1 -all")
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    stepped = FixView(fix, parent=parent, later=True)
    stepped.show()
    assert stepped.host_form_view is None and stepped.generic is None and stepped.buttons() == []
    steps = stepped.rest_steps()
    next(steps)
    assert stepped.host_form_view is None and stepped.generic.isHidden() and len(stepped.buttons()) == 4
    next(steps)
    assert isinstance(stepped.host_form_view, QLabel) and not stepped.generic.isVisible()
    assert list(steps) == [] and list(stepped.rest_steps()) == []  # once only
    at_once = FixView(fix, parent=parent)
    at_once.show()
    assert _shape(stepped) == _shape(at_once) and at_once.generic.isHidden() == stepped.generic.isHidden()


def test_other_timers_run_between_two_steps_of_a_body(qtbot, theme_app) -> None:
    """A zero-interval timer runs again before a due 1 ms timer gets its turn: the builder's steps leave room
    for the other timers of the window (the busy bars' animation, a precise frame timer) between two steps."""
    from PySide6.QtCore import QTimer

    order: list[str] = []
    card = CheckCard("spf", sections=[])
    qtbot.addWidget(card)

    def steps():  # type: ignore[no-untyped-def]
        for i in range(6):
            order.append(f"step {i}")
            yield

    beat = QTimer()
    beat.setTimerType(Qt.TimerType.PreciseTimer)
    beat.setInterval(1)
    beat.timeout.connect(lambda: order.append("beat"))
    beat.start()
    qtbot.wait(5)
    order.clear()
    BodyBuilder.shared().start(card, steps())
    qtbot.waitUntil(lambda: "step 5" in order, timeout=5_000)
    beat.stop()
    between = [order[order.index(f"step {i}") + 1:order.index(f"step {i + 1}")] for i in range(5)]
    assert sum(1 for b in between if "beat" in b) >= 3  # (a loaded machine may merge one or two)


def test_a_fix_boxs_fields_are_made_in_the_widget_that_shows_them(qtbot, theme_app) -> None:
    """Moving a made widget to another parent costs as much again as making it (Qt re-parents and re-styles
    it with everything inside); a fix box's fields are made in its generic-record widget, never moved."""
    from collections import Counter

    from inboxready.app.widgets import FixView

    class Parents(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen: Counter[int] = Counter()

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.ParentChange:
                self.seen[id(obj)] += 1
            return False

    holder = QWidget()
    qtbot.addWidget(holder)
    holder.show()
    parents = Parents()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    app.installEventFilter(parents)
    try:
        box = FixView(Fix("example.com", "TXT", "v=spf1 -all"), parent=holder)
    finally:
        app.removeEventFilter(parents)
    fields = [box.host_field, box.type_field, box.value_field, box.copy_host, box.copy_type, box.copy_value,
              box.copy_zone]
    assert all(f.parent() is box.generic for f in fields)
    assert [parents.seen[id(f)] for f in fields] == [0] * len(fields)  # made there: never moved


def test_a_new_check_lets_go_of_the_old_bodies_and_their_steps_at_once_and_makes_no_empty_ones(
        make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    """The last check's bodies still being built (every card opened at once) are wasted work once a new check
    starts: none of their steps runs after it, the checklist's and verdict's (spare until the new check is
    done) included, and no card gets an empty body until it is opened again."""
    add_good_zone(dns_server, "tabs.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tabs.example")
    builder = BodyBuilder.shared()
    cards = list(w.cards.values())
    for card in cards:
        card.set_open(True)
    assert sum(builder.pending(c) for c in cards) > 3  # bodies being built, a step a turn
    assert any(builder.pending(w.cards[n]) for n in ("checklist", "compliance"))
    before = [b for c in cards for b in c.findChildren(QWidget, "CardBody")]
    w.check_domain("tabs.example")
    assert not any(builder.pending(c) for c in cards)  # nothing left to build for the old check
    discarded = builder.discarded()

    def bodies(card: CheckCard) -> list[QWidget]:
        return [b for b in card.findChildren(QWidget, "CardBody") if not any(b is d for d in discarded)]

    # the check's cards: the old bodies wait to be deleted (an empty one is kept), no new empty one is made
    for card in w.cards.values():
        assert all(any(b is old for old in before) and not b.layout().count() for b in bodies(card))
    assert all(not c.is_open for c in cards)
    qtbot.waitUntil(lambda: not w.checking, timeout=WAIT_MS)
    spf = w.cards["spf"]
    spf.set_open(True)  # opened: a body now, built as before
    spf.finish_body()
    body, = bodies(spf)
    assert body is spf.body and body.isVisible() and spf.body_layout.count() > 1


def test_badges_that_look_the_same_share_one_drawing(qtbot, theme_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every card's badge says "Checking…" when a check starts, and the summary bar's chips repeat from check to
    check: each look is drawn once, not once per badge and check."""
    from inboxready.app.readiness import RequirementChip

    drawn: list[str] = []
    real = Badge._draw

    def counted(self: Badge, *args):  # type: ignore[no-untyped-def]
        drawn.append(self.word)
        return real(self, *args)

    monkeypatch.setattr(Badge, "_draw", counted)
    badges = [Badge(status="pending", word="Checking…") for _ in range(4)] + [Badge(status="pass", word="Pass")]
    chip = RequirementChip()
    for b in (*badges, chip):
        qtbot.addWidget(b)
        b.resize(b.sizeHint())
    images = [b.grab().toImage() for b in badges]
    assert drawn == ["Checking…", "Pass"]
    assert images[0] == images[3] and images[0] != images[4]
    assert _colour(badges[4], 3, badges[4].height() // 2) == theme.palette("light")["pass_bg"]
    chip.grab()
    assert len(drawn) == 3  # another class (its own margins and icons): its own drawing
    badges[0].set_status("fail", "Fail")
    badges[0].resize(badges[0].sizeHint())
    assert _colour(badges[0], 3, badges[0].height() // 2) == theme.palette("light")["fail_bg"]
    theme_app.apply("dark")
    try:
        assert _colour(badges[1], 3, badges[1].height() // 2) == theme.palette("dark")["error_bg"]  # per theme
    finally:
        theme_app.apply("light")


def test_a_body_step_due_when_a_new_check_starts_in_the_same_pass_is_not_run(make_window, qtbot, dns_server) -> None:  # type: ignore[no-untyped-def]
    """The builder's timer and the click (or timer) that starts a new check can come in one pass of the
    event loop: the step the timer made due runs after the others of that pass, so the new check's first
    turn does not also build a piece of a body it lets go of."""
    from PySide6.QtCore import QCoreApplication

    add_good_zone(dns_server, "tabs.example")
    w = make_window(nameserver=dns_server.address)
    with qtbot.waitSignal(w.checkFinished, timeout=WAIT_MS):
        w.check_domain("tabs.example")
    builder = BodyBuilder.shared()
    for card in w.cards.values():
        card.set_open(True)
    ran: list[str] = []
    card, steps = builder._jobs[0]

    def counted():  # type: ignore[no-untyped-def]
        for _ in steps:
            ran.append(card.name)
            yield

    builder._jobs[0] = (card, counted())
    builder._timer.timeout.emit()  # a step is due ...
    w.check_domain("tabs.example")  # ... and a new check starts in the same pass
    QCoreApplication.processEvents()
    assert ran == [] and not builder.pending(card)
    qtbot.waitUntil(lambda: not w.checking, timeout=WAIT_MS)
    # a step due with nothing in its way runs on the next pass, as before
    card.set_open(True)
    builder._timer.stop()
    built = card.body_layout.count()
    builder._timer.timeout.emit()
    assert card.body_layout.count() == built  # not in the timer's own call
    QCoreApplication.processEvents()
    assert card.body_layout.count() > built
    card.finish_body()
    assert card.body_ready
