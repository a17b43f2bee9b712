"""Right-to-left text from a message (a Hebrew subject, an Arabic sender's name) is laid out as a bidi isolate
in the Test a message screen, so it can't reorder the line it sits in ("Subject: … · From: …"); the JSON and
the report keep the raw value, without isolates."""

from __future__ import annotations

import json
from pathlib import Path  # noqa: F401

from PySide6.QtWidgets import QLabel

from inboxready.core.textsafe import FSI, PDI, isolate_rtl, visible
from tests.app.test_message_screen import engine, screen  # noqa: F401 - fixtures used by name

SUBJECT = "\u05de\u05d1\u05e6\u05e2 123"  # Hebrew word, then a number: unisolated, the number jumps to its left
NAME = "\u0645\u062d\u0645\u062f"  # an Arabic name
MESSAGE = f"""Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=bounce@sender.test;
 dkim=none; dmarc=pass header.from=sender.test
Received: from out.sender.test (out.sender.test [192.0.2.7]) by mx.receiver.test; Mon, 2 Nov 2026 10:00:00 +0000
From: "{NAME} paypal.com" <news@sender.test>
To: someone@receiver.test
Subject: {SUBJECT}
Message-ID: <abc@sender.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000
"""


def test_isolate_rtl_runs() -> None:
    assert isolate_rtl("plain (text) 12.") == "plain (text) 12."
    assert isolate_rtl(f"DMARC passed for {NAME}.example through SPF.") == \
        f"DMARC passed for {FSI}{NAME}.example{PDI} through SPF."
    assert isolate_rtl(f'From: "{NAME} {NAME}" <x@y.example>') == f'From: "{FSI}{NAME} {NAME}{PDI}" <x@y.example>'
    assert isolate_rtl(f"({SUBJECT}).") == f"({FSI}{SUBJECT.split()[0]}{PDI} 123)."
    # an isolate the text itself carried is escaped first (visible), so none is left open
    assert visible(f"{FSI}{NAME}") == f"\\u2068{NAME}"


def test_rtl_subject_and_name_are_isolated_on_screen(screen, qtbot) -> None:  # type: ignore[no-untyped-def]
    screen.modes.setCurrentIndex(2)
    screen.paste_box.setPlainText(MESSAGE)
    with qtbot.waitSignal(screen.reportShown, timeout=20_000) as sig:
        assert screen.start_paste() > 0
    report = sig.args[0]
    about = screen.about_label.text()
    assert f"Subject: {FSI}{SUBJECT}{PDI}" in about
    # in From only the Arabic name is isolated: the quotes, the domain and the address stay in reading order
    assert f'From: "{FSI}{NAME}{PDI} paypal.com" <news@sender.test>' in about
    assert "Judged by: mx.receiver.test" in about  # nothing right-to-left: left as it is
    # the finding about the name is shown; the report and its JSON carry the raw values
    texts = [w.text() for w in screen.findChildren(QLabel)]
    assert any("paypal.com" in t and "sender's name in From" in t for t in texts)
    assert report.subject == SUBJECT and FSI not in json.dumps(report.to_json(), ensure_ascii=False)
    assert json.loads(json.dumps(report.to_json()))["from"] == f'"{NAME} paypal.com" <news@sender.test>'
