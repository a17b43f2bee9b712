"""Issue 13, item 3 in the app: outside text is shown with its control and direction characters visibly
escaped (labels, record fields, tables, tooltips, the message screen), while Copy still gives the value
byte for byte."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from inboxready.app.cards import CheckCard
from inboxready.app.widgets import CodeText, FixView, compact_table, label, tip
from inboxready.core.model import CheckResult, Finding, Fix, Severity, Status

HOSTILE = "v=spf1 \x1b[2J\x1b[32m+all\u202eevil\r"


def test_labels_fields_and_tables_show_control_characters_escaped(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = label(HOSTILE)
    qtbot.addWidget(w)
    assert w.text() == "v=spf1 \\x1b[2J\\x1b[32m+all\\u202eevil\\r"
    field = CodeText(HOSTILE, "record")
    qtbot.addWidget(field)
    assert "\x1b" not in field.text() and "\\u202e" in field.text()
    table = compact_table(["Record"], [[HOSTILE]], "records")
    qtbot.addWidget(table)
    assert "\x1b" not in table.item(0, 0).text() and "\x1b" not in table.item(0, 0).toolTip()
    assert tip("<img src=file:///etc/passwd>") == '<p style="white-space: pre-wrap;">&lt;img src=file:///etc/passwd&gt;</p>'


def test_a_card_shows_records_and_findings_escaped_and_copies_the_fix_exactly(qtbot) -> None:  # type: ignore[no-untyped-def]
    fix = Fix("_dmarc.evil.test", "TXT", "v=DMARC1; p=reject; x=\x1b[2J")
    result = CheckResult("spf", Status.FAIL, "SPF lets anyone send \x1b[32mPass\u202e",
                         records=[HOSTILE, "second\nline"],
                         findings=[Finding("spf.plus-all", Severity.ERROR, f"The record {HOSTILE} allows anyone.",
                                           fix=fix)])
    card = CheckCard("spf")
    qtbot.addWidget(card)
    card.set_result(result)
    card.header.setChecked(True)
    qtbot.waitUntil(lambda: card.body_ready, timeout=5000)
    texts = [lbl.text() for lbl in card.findChildren(QLabel)]
    texts += [c.text() for c in card.findChildren(CodeText)]
    assert not any(ch in t for t in texts for ch in "\x1b\u202e\r")
    assert "SPF lets anyone send \\x1b[32mPass\\u202e" == card.summary_label.text()
    shown_records = next(c.text() for c in card.findChildren(CodeText) if "v=spf1" in c.text())
    assert shown_records.splitlines() == ["v=spf1 \\x1b[2J\\x1b[32m+all\\u202eevil\\r", "second\\nline"]
    view = card.findChildren(FixView)[0]
    assert "\\x1b" in view.value_field.text()
    view.copy_value.click()
    assert QGuiApplication.clipboard().text() == fix.value  # byte for byte
