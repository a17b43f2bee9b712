"""Card sections for the optional checks (MTA-STS, TLS reporting, BIMI, DNSSEC, reverse DNS, STARTTLS) and
the bulk-sender checklist. Each ``*_section(card, result)`` reads the check's ``detail`` (plain JSON from
the core) and returns a widget for the card's body, or ``None`` when there is nothing to add; an unknown
shape shows nothing rather than failing (the card's findings still show)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from inboxready.core.model import CheckResult

from .widgets import CodeText, CopyButton, KeyButton, compact_table, label


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _box(card: Any, title: str) -> tuple[QWidget, QVBoxLayout]:
    box = QWidget(card.body)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    if title:
        lay.addWidget(label(title, "SectionTitle", parent=box))
    return box, lay


def _yes_no(value: Any, yes: str = "yes", no: str = "no", unknown: str = "couldn't check") -> str:
    return yes if value is True else no if value is False else unknown


# -- MTA-STS ---------------------------------------------------------------------------------------


def mta_sts_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    hosts = [_d(h) for h in _l(d.get("mx_hosts"))]
    fix = _d(d.get("policy_fix"))
    if not hosts and not fix:
        return None
    box, lay = _box(card, "Your mail servers and the policy")
    policy = _d(d.get("policy"))
    if policy:
        lay.addWidget(label(f"Mode: {_s(policy.get('mode')) or '?'}; senders remember it for "
                            f"{_s(policy.get('max_age')) or '?'} seconds.", "", parent=box))
    if hosts:
        rows = [[_s(h.get("host")), _yes_no(h.get("matched"), "covered", "NOT covered"), _s(h.get("pattern"))]
                for h in hosts]
        lay.addWidget(compact_table(["Mail server", "In the policy", "Matching line"], rows,
                                    "Mail servers against the MTA-STS policy", box))
    if fix and fix.get("text"):
        url = _s(fix.get("url"))
        lay.addWidget(label(f"Put this file on your web server at {url} (served as "
                            f"{_s(fix.get('content_type')) or 'text/plain'}, over HTTPS with a valid "
                            "certificate). Publish the _mta-sts record only after the file is reachable.",
                            "", selectable=True, parent=box))
        text = _s(fix.get("text"))
        lay.addWidget(CodeText(text, "MTA-STS policy file to host", box))
        row = QHBoxLayout()
        copy = CopyButton(text, "the MTA-STS policy file", parent=box)
        copy.copied.connect(card.copied)
        row.addWidget(label("Copy the policy file", "Muted", parent=box))
        row.addWidget(copy)
        row.addStretch(1)
        lay.addLayout(row)
    return box


# -- TLS reporting ---------------------------------------------------------------------------------


def tls_rpt_section(card: Any, r: CheckResult) -> QWidget | None:
    rua = [_s(u) for u in _l(r.detail.get("rua"))]
    if not rua:
        return None
    box, lay = _box(card, "Where TLS reports go")
    for u in rua:
        lay.addWidget(label(u, "", selectable=True, parent=box))
    return box


# -- BIMI ------------------------------------------------------------------------------------------


def bimi_section(card: Any, r: CheckResult) -> QWidget | None:
    d = r.detail
    if not d.get("record"):
        return None
    box, lay = _box(card, "Logo and certificate")
    rows = [["Logo (SVG)", _s(d.get("logo_url")) or "none"],
            ["Certificate (VMC/CMC)", _s(d.get("authority_url")) or "none"],
            ["DMARC at enforcement", _yes_no(d.get("dmarc_enforced"))]]
    svg = _d(d.get("svg"))
    if svg:
        problems = [_s(p) for p in _l(svg.get("problems"))]
        rows.append(["Logo file", f"{_s(svg.get('size'))} bytes; "
                     + ("meets the SVG Tiny PS rules" if svg.get("profile_ok") and not problems
                        else "; ".join(problems) or "not SVG Tiny PS")])
    cert = _d(d.get("certificate"))
    if cert:
        rows.append(["Certificate valid", f"{_s(cert.get('not_before'))[:10]} to {_s(cert.get('not_after'))[:10]}"])
        rows.append(["Certificate names", ", ".join(_s(n) for n in _l(cert.get("names"))) or "none"])
    lay.addWidget(compact_table(["", ""], rows, "BIMI logo and certificate", box))
    return box


# -- DNSSEC ----------------------------------------------------------------------------------------


def dnssec_section(card: Any, r: CheckResult) -> QWidget | None:
    chain = [_d(z) for z in _l(r.detail.get("chain"))]
    if not chain:
        return None
    box, lay = _box(card, "Chain of trust")
    rows = [[_s(z.get("zone")) or ".", "ok" if z.get("ok") else "problem", _s(z.get("problem"))] for z in chain]
    lay.addWidget(compact_table(["Zone", "Signed and valid", "Problem"], rows, "DNSSEC chain of trust", box))
    if r.detail.get("algorithm"):
        lay.addWidget(label(f"Signing algorithm: {_s(r.detail.get('algorithm'))}", "Muted", parent=box))
    return box


# -- reverse DNS -----------------------------------------------------------------------------------

SOURCE_WORDS = {"spf": "in your SPF record", "mx": "mail server (MX)", "message": "sent your test message"}


def rdns_section(card: Any, r: CheckResult) -> QWidget | None:
    hosts = [_d(h) for h in _l(r.detail.get("hosts"))]
    if not hosts:
        return None
    box, lay = _box(card, "Sending addresses and their names")
    rows = [[_s(h.get("ip")), (f"sent your {_s(h.get('via'))}" if _s(h.get("source")) == "message" and h.get("via")
                               else SOURCE_WORDS.get(_s(h.get("source")), _s(h.get("source")))),
             ", ".join(_s(p) for p in _l(h.get("ptr"))) or "none",
             _yes_no(h.get("confirmed"), "yes", "NO"), _s(h.get("problem"))] for h in hosts]
    lay.addWidget(compact_table(["Address", "Where from", "Name (PTR)", "Points back", "Problem"], rows,
                                "Reverse DNS of the sending addresses", box))
    if r.detail.get("capped"):
        lay.addWidget(label("Only the first addresses were tested.", "Muted", parent=box))
    return box


# -- STARTTLS --------------------------------------------------------------------------------------


def starttls_section(card: Any, r: CheckResult) -> QWidget | None:
    hosts = [_d(h) for h in _l(r.detail.get("hosts"))]
    if not hosts:
        return None
    box, lay = _box(card, "Encryption on each mail server")
    rows = []
    for h in hosts:
        tls = " ".join(x for x in (_s(h.get("tls_version")), _s(h.get("cipher"))) if x)
        rows.append([_s(h.get("host")), _yes_no(h.get("starttls"), "offered", "NOT offered"), tls or "-",
                     _yes_no(h.get("cert_valid"), "valid", "NOT valid"), _s(h.get("cert_not_after"))[:10],
                     _s(h.get("error"))])
    lay.addWidget(compact_table(["Mail server", "STARTTLS", "TLS", "Certificate", "Expires", "Problem"], rows,
                                "STARTTLS on each mail server", box))
    return box


# -- the bulk-sender checklist ----------------------------------------------------------------------

STATE_MARKS = {"met": "✓ Met", "not-met": "✗ Not met", "needs-test-message": "… Needs a test message",
               "cant-see": "? Can't be seen from here", "unknown": "? Couldn't check", "pending": "… Checking"}


STATE_COLUMN = 200  # px, wide enough for "… Needs a test message"
CHUNK = 4  # rules per body step: the card adds its body one widget per event-loop turn (UI stays responsive)


def _checklist_items(r: CheckResult) -> list[dict[str, Any]]:
    return [_d(i) for i in _l(r.detail.get("items"))]


def _rule_grid(card: Any, rows: list[tuple[str, str, str, str, str, str]]) -> QWidget:
    """Rules one under the other: (state, state words, rule, its accessible name, the muted line, tooltip)."""
    box = QWidget(card.body)
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(2)
    grid.setColumnStretch(1, 1)
    for n, (state, words, rule, accessible, line, tip) in enumerate(rows):
        mark = label(words, "ChecklistState", wrap=False, parent=box)
        mark.setFixedWidth(STATE_COLUMN)  # the same in every chunk (each chunk is a grid of its own)
        mark.setProperty("state", state)
        title = label(rule, "ChecklistRule", selectable=True, parent=box)
        if accessible:
            title.setAccessibleName(accessible)
        meta = label(line, "Muted", selectable=True, parent=box)
        for w in (title, meta):
            w.setToolTip(tip)
        grid.addWidget(mark, 3 * n, 0, 2, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(title, 3 * n, 1)
        grid.addWidget(meta, 3 * n + 1, 1)
        grid.setRowMinimumHeight(3 * n + 2, 8)
    return box


def _checklist_rows(card: Any, items: list[dict[str, Any]]) -> QWidget:
    rows = []
    for i in items:
        state = _s(i.get("state"))
        words = STATE_MARKS.get(state, state)
        who = ", ".join(_s(w).capitalize() for w in _l(i.get("who"))) or "InboxReady's advice"
        applies = "all senders" if i.get("applies") == "all" else "bulk senders"
        tip = "\n".join(x for x in (_s(i.get("explain")), "Source: " + _s(i.get("source")) if i.get("source") else "",
                                     f"Checked: {_s(i.get('checked'))}" if i.get("checked") else "") if x)
        since = _s(i.get("since_text") or i.get("since"))  # "2024-02-01 (Microsoft: 2025-05-05)"
        rows.append((state, words, _s(i.get("label")), f"{_s(i.get('label'))}: {words.lstrip('✓✗…? ')}",
                     f"{who}, {applies}, since {since}. {_s(i.get('why'))}", tip))
    return _rule_grid(card, rows)


def checklist_head(card: Any, r: CheckResult) -> QWidget | None:
    if not _checklist_items(r):
        return None
    box, _lay = _box(card, "Google, Yahoo and Microsoft sender rules")
    return box


def _checklist_chunk(n: int) -> Any:
    def section(card: Any, r: CheckResult) -> QWidget | None:
        items = _checklist_items(r)[n * CHUNK:(n + 1) * CHUNK]
        return _checklist_rows(card, items) if items else None

    return section


def checklist_tail(card: Any, r: CheckResult) -> QWidget | None:
    if not _checklist_items(r):
        return None
    box, lay = _box(card, "")
    lay.addWidget(label("Rules that need a test message are judged once you test one (Test a message, Ctrl+M). "
                        "Point at a rule to see why it matters and the provider's page it comes from.", "Muted",
                        parent=box))
    row = QHBoxLayout()
    row.addWidget(label("Your spam rate from Google Postmaster Tools:", "", parent=box))
    spin = QDoubleSpinBox(box)
    spin.setRange(-0.01, 100.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.05)
    spin.setSuffix(" %")
    spin.setSpecialValueText("not entered")
    rate = r.detail.get("spam_rate")
    spin.setValue(float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else -0.01)
    spin.setAccessibleName("Your spam rate in percent, from Google Postmaster Tools")
    spin.setToolTip("Google and Yahoo ask bulk senders to stay under 0.3 % (and never reach 0.3 %); it can't be "
                    "seen from outside, so type it in from Postmaster Tools")
    apply = KeyButton("Apply", box)
    apply.setAccessibleName("Use this spam rate in the checklist")
    apply.clicked.connect(lambda: card.spamRateEntered.emit(None if spin.value() < 0 else round(spin.value(), 2)))
    row.addWidget(spin)
    row.addWidget(apply)
    row.addStretch(1)
    lay.addLayout(row)
    card.spam_rate_field = spin
    card.spam_rate_button = apply
    return box


COMPLIANCE_MARKS = {"met": "✓ Met", "not-met": "✗ Not met", "unknown": "? Couldn't check",
                    "not-checked": "… Not checked yet"}


def _compliance_rules(r: CheckResult) -> list[dict[str, Any]]:
    return [_d(x) for x in _l(r.detail.get("rules"))]


def compliance_head(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, _lay = _box(card, _s(r.detail.get("title")) or "Compliance profile")
    return box


def _compliance_chunk(n: int) -> Any:
    def section(card: Any, r: CheckResult) -> QWidget | None:
        rules = _compliance_rules(r)[n * CHUNK:(n + 1) * CHUNK]
        if not rules:
            return None
        rows = []
        for rule in rules:
            state = _s(rule.get("state"))
            level = "required" if rule.get("level") == "required" else "recommended"
            control = _s(rule.get("control"))
            rows.append((state, COMPLIANCE_MARKS.get(state, state), f"{_s(rule.get('label'))} ({level})", "",
                         (f"{control}. " if control else "") + _s(rule.get("why")), _s(rule.get("reason"))))
        return _rule_grid(card, rows)

    return section


def compliance_tail(card: Any, r: CheckResult) -> QWidget | None:
    if not _compliance_rules(r):
        return None
    box, lay = _box(card, "")
    if r.detail.get("statement"):
        lay.addWidget(label(_s(r.detail.get("statement")), "Muted", parent=box))
    lay.addWidget(label("Choose the profile in Settings; exported audit reports use the same one.", "Muted",
                        parent=box))
    return box


SECTIONS = {
    "mta_sts": [mta_sts_section],
    "tls_rpt": [tls_rpt_section],
    "bimi": [bimi_section],
    "dnssec": [dnssec_section],
    "rdns": [rdns_section],
    "starttls": [starttls_section],
    "checklist": [checklist_head, *(_checklist_chunk(n) for n in range(8)), checklist_tail],
    "compliance": [compliance_head, *(_compliance_chunk(n) for n in range(8)), compliance_tail],
}
