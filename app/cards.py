"""One card per check. A card only displays a ``CheckResult``; it knows nothing about DNS.

A card appears as soon as a check starts (busy bar, "Checking…" badge) and fills in when its result
streams in. Its header is a button (Space or Enter opens it); opened, it shows what changed since the
last check, the protocol's own view (SPF include tree, DKIM keys, DMARC stage, MX hosts), the findings
with their explanation, RFC reference and fix, and the records as seen.

Protocol detail is read defensively: a missing or oddly shaped ``detail`` only hides that section.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)

from inboxready.core.checks import CHECK_TITLES
from inboxready.core.history import CheckDiff
from inboxready.core.model import CheckResult, Fix, Status

from . import theme
from .qtcompat import emit
from .widgets import Badge, CodeText, FindingView, FixView, FlowLayout, KeyButton, compact_table, fit_height, label

SUBTITLES = {
    "spf": "Which servers may send mail for you",
    "dkim": "The keys that sign your mail",
    "dmarc": "What receivers do with mail that fails",
    "mx": "Where your incoming mail goes",
}

STATUS_WORDS = {"pass": "Pass", "warn": "Warning", "fail": "Fail", "error": "Couldn't check", "info": "Info"}


def check_title(name: str) -> str:
    return CHECK_TITLES.get(name, name.upper())


class CardHeader(KeyButton):
    """The always-visible part of a card; a flat button so it is focusable and opens with Space/Enter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CardHeader")
        self.setCheckable(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def sizeHint(self) -> QSize:
        lay = self.layout()
        return lay.sizeHint() if lay is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        lay = self.layout()
        return lay.minimumSize() if lay is not None else super().minimumSizeHint()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        lay = self.layout()
        return lay.totalHeightForWidth(width) if lay is not None else super().heightForWidth(width)


class CheckCard(QFrame):
    """The card of one check (``spf``, ``dkim``, ... or any name the engine adds later)."""

    toggled = Signal(bool)
    copied = Signal(str)
    selectorRequested = Signal(str)  # DKIM: a selector typed by the user, to add and re-check

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.title = check_title(name)
        self.result: CheckResult | None = None
        self.diff: CheckDiff | None = None
        self.scheme = "light"
        self.setObjectName("Card")
        self.setProperty("status", "pending")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(0)

        self.header = CardHeader()
        head = QHBoxLayout(self.header)
        head.setContentsMargins(10, 10, 12, 10)
        head.setSpacing(10)
        self.chevron = QLabel()
        self.chevron.setFixedSize(16, 16)
        head.addWidget(self.chevron, 0, Qt.AlignmentFlag.AlignTop)
        text_col = QVBoxLayout()
        text_col.setSpacing(2)
        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        self.title_label = label(self.title, "CardTitle", wrap=False)
        title_row.addWidget(self.title_label)
        sub = SUBTITLES.get(name, "")
        self.subtitle_label = label(sub, "Muted", wrap=False)
        self.subtitle_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.subtitle_label.setMinimumWidth(0)
        title_row.addWidget(self.subtitle_label, 1)
        self.badge = Badge()
        title_row.addWidget(self.badge)
        text_col.addLayout(title_row)
        self.summary_label = label("Checking…", "CardSummary")
        text_col.addWidget(self.summary_label)
        self.change_label = label("", "Change")
        self.change_label.hide()
        text_col.addWidget(self.change_label)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedHeight(4)
        self.busy.setAccessibleName(f"{self.title} check in progress")
        text_col.addWidget(self.busy)
        head.addLayout(text_col, 1)
        for w in (self.chevron, self.title_label, self.subtitle_label, self.badge, self.summary_label,
                  self.change_label, self.busy):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        outer.addWidget(self.header)

        self.body = QWidget()
        self.body.setObjectName("CardBody")
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(38, 0, 14, 14)
        self.body_layout.setSpacing(8)
        self.body.hide()
        outer.addWidget(self.body)

        self.header.toggled.connect(self._on_toggled)
        self.header.setEnabled(True)
        self._update_chevron()
        self._update_accessible()

    # -- state ----------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        return str(self.result.status) if self.result is not None else "pending"

    @property
    def is_open(self) -> bool:
        return self.header.isChecked()

    def set_open(self, opened: bool) -> None:
        self.header.setChecked(opened)

    def set_pending(self) -> None:
        self.result = None
        self.diff = None
        self.setProperty("status", "pending")
        self.badge.set_status("pending", "Checking…")
        self.summary_label.setText(f"Checking {self.title}…")
        self.change_label.hide()
        self.busy.show()
        self._clear_body()
        theme.repolish(self)
        self._update_accessible()

    def set_result(self, result: CheckResult) -> None:
        self.result = result
        status = str(result.status)
        self.setProperty("status", status)
        self.badge.set_status(status, STATUS_WORDS.get(status, result.status.label))
        self.summary_label.setText(result.summary or f"{self.title}: {result.status.label}.")
        self.busy.hide()
        self._rebuild_body()
        theme.repolish(self)
        self._update_accessible()

    def set_diff(self, diff: CheckDiff | None) -> None:
        self.diff = diff
        if diff is None or diff.previous_status is None:
            self.change_label.hide()
        else:
            self.change_label.setText("Since the last check: " + diff.summary())
            self.change_label.show()
        if self.result is not None and self.is_open:
            self._rebuild_body()
        self._update_accessible()

    def on_theme_changed(self, scheme: str) -> None:
        self.scheme = scheme
        self._update_chevron()

    # -- header ---------------------------------------------------------------------------------

    def _on_toggled(self, opened: bool) -> None:
        if opened and self.result is not None and self.body_layout.count() == 0:
            self._rebuild_body()
        self.body.setVisible(opened)
        self._update_chevron()
        self._update_accessible()
        emit(self.toggled, opened)

    def _update_chevron(self) -> None:
        name = "chevron-down" if self.is_open else "chevron-right"
        self.chevron.setPixmap(theme.themed_icon(name, self.scheme).pixmap(QSize(16, 16),
                                                                              self.devicePixelRatioF()))

    def _update_accessible(self) -> None:
        word = self.badge.word
        summary = self.summary_label.text()
        action = "Press Space to close the details." if self.is_open else "Press Space to open the details."
        self.header.setAccessibleName(f"{self.title}: {word}")
        self.header.setAccessibleDescription(f"{summary} {action}")
        self.header.setToolTip(f"{self.title}: {word}. {action}")

    # -- body -----------------------------------------------------------------------------------

    def _clear_body(self) -> None:
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            w = item.widget()
            if w is not None:
                w.deleteLater()

    def _rebuild_body(self) -> None:
        self._clear_body()
        if self.result is None:
            return
        if not self.is_open:
            return  # built lazily when opened: keeps a check of many domains light
        r = self.result
        add = self.body_layout.addWidget
        if self.diff is not None and self.diff.changed:
            add(self._diff_section(self.diff))
        try:
            section = PROTOCOL_SECTIONS.get(self.name, lambda card, res: None)(self, r)
        except Exception:  # a detail shape we do not know: show the rest anyway
            section = None
        if section is not None:
            add(section)
        if r.findings:
            add(label("What we found", "SectionTitle"))
            for f in r.findings:
                view = FindingView(f)
                view.copied.connect(self.copied)
                add(view)
        elif r.status is Status.PASS:
            add(label("Nothing to fix here.", "Muted"))
        if r.records:
            add(label("Records as seen in DNS", "SectionTitle"))
            add(CodeText("\n".join(r.records), f"{self.title} records as seen in DNS"))
        add(label(f"Checked in {r.elapsed_ms / 1000:.1f} s.", "Muted"))

    def _diff_section(self, d: CheckDiff) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(label("What changed since the last check", "SectionTitle"))
        lines: list[str] = [d.summary()]
        for old, new in d.records_edited:
            lines.append(f"Edited: {old}  →  {new}")
        lines += [f"Added: {x}" for x in d.records_added]
        lines += [f"Removed: {x}" for x in d.records_removed]
        lines += [f"New problem: {c}" for c in d.findings_appeared]
        lines += [f"Gone: {c}" for c in d.findings_gone]
        for text in lines:
            lay.addWidget(label(text, "", selectable=True))
        return box

    # -- keyboard -------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.header.toggle()
            return
        super().keyPressEvent(event)


# -- protocol sections ----------------------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _section(title: str) -> tuple[QWidget, QVBoxLayout]:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    if title:
        lay.addWidget(label(title, "SectionTitle"))
    return box, lay


def spf_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    tree = _as_dict(d.get("tree"))
    if not tree and d.get("lookups") is None:
        return None
    box, lay = _section("Include tree and DNS lookups")
    limit = d.get("lookup_limit") or 10
    lookups = d.get("lookups")
    if isinstance(lookups, int):
        over = lookups > int(limit)
        text = (f"Uses {lookups} of the {limit} DNS lookups SPF allows"
                + (" — over the limit, so receivers treat the record as broken." if over else "."))
        voids = d.get("void_lookups")
        if isinstance(voids, int) and voids:
            text += f" {voids} lookup{'s' if voids != 1 else ''} found nothing (at most 2 are allowed)."
        lay.addWidget(label(text, "", selectable=True))
    if tree:
        view = QTreeWidget()
        view.setColumnCount(4)
        view.setHeaderLabels(["Domain", "Reached by", "Lookups in this branch", "Problem"])
        view.setAccessibleName("SPF include tree with the DNS lookups of each branch")
        view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setRootIsDecorated(True)
        view.setUniformRowHeights(True)

        def add_node(node: dict[str, Any], parent: QTreeWidget | QTreeWidgetItem, depth: int) -> None:
            if depth > 12:
                return
            total = node.get("branch", node.get("total", node.get("lookups")))
            item = QTreeWidgetItem([_text(node.get("domain")), _text(node.get("mechanism")) or "your record",
                                    _text(total), _text(node.get("error"))])
            rec = _text(node.get("record"))
            if rec:
                item.setToolTip(0, rec)
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(item)
            else:
                parent.addChild(item)
            for child in _as_list(node.get("children")):
                if isinstance(child, dict):
                    add_node(child, item, depth + 1)

        add_node(tree, view, 0)
        view.expandAll()
        for c in range(3):
            view.resizeColumnToContents(c)
        fit_height(view)
        lay.addWidget(view)
    return box


def dkim_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    box, lay = _section("Signing keys found")
    found = [k for k in _as_list(d.get("found")) if isinstance(k, dict)]
    if found:
        rows = []
        for k in found:
            kind = _text(k.get("key_type")).upper() or "?"
            bits = k.get("key_bits")
            size = f"{bits}-bit" if isinstance(bits, int) and bits else ""
            notes = []
            if k.get("revoked"):
                notes.append("revoked (empty key)")
            if k.get("testing"):
                notes.append("test mode (t=y)")
            if k.get("provider"):
                notes.append(_text(k.get("provider")))
            if k.get("cname"):
                notes.append(f"via CNAME {_text(k.get('cname'))}")
            rows.append([_text(k.get("selector")), f"{kind} {size}".strip(),
                         STATUS_WORDS.get(_text(k.get("status")), _text(k.get("status"))), "; ".join(notes)])
        lay.addWidget(compact_table(["Selector", "Key", "Verdict", "Notes"], rows, "DKIM keys found"))
    else:
        lay.addWidget(label("No DKIM key was found under the selectors we tried.", ""))
    tried = d.get("selectors_tried")
    if isinstance(tried, list):
        n = len(tried)
    elif isinstance(tried, int):
        n = tried
    else:
        n = 0
    if n:
        lay.addWidget(label(f"We looked under {n} common selector names.", "Muted"))
    unchecked = _as_list(d.get("unchecked"))
    if unchecked:
        lay.addWidget(label("Could not be looked up: " + ", ".join(_text(u) for u in unchecked), "Muted"))
    lay.addWidget(label("Your mail service names the selector in its DKIM set-up page (for example "
                        "“google” or “selector1”). Add it to check that key:", ""))
    row = QHBoxLayout()
    field = QLineEdit()
    field.setPlaceholderText("selector, e.g. mail2024")
    field.setAccessibleName("DKIM selector to add")
    field.setMaxLength(200)
    button = KeyButton("Add and check again")
    button.setAccessibleName("Add this DKIM selector and check again")

    def request() -> None:
        text = field.text().strip()
        if text:
            emit(card.selectorRequested, text)

    button.clicked.connect(request)
    field.returnPressed.connect(request)
    row.addWidget(field, 1)
    row.addWidget(button)
    lay.addLayout(row)
    card.selector_field = field  # type: ignore[attr-defined]
    card.selector_button = button  # type: ignore[attr-defined]
    return box


STAGES = [
    ("none", "No DMARC"),
    ("monitoring", "Monitoring (p=none)"),
    ("quarantine", "Quarantine"),
    ("reject", "Reject"),
]


def dmarc_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    stage = d.get("stage")
    if not isinstance(stage, str) and not d.get("next_record"):
        return None
    box, lay = _section("Rollout stage")
    row = FlowLayout(spacing=6)
    keys = [k for k, _ in STAGES]
    current = keys.index(stage) if stage in keys else -1
    for i, (key, text) in enumerate(STAGES):
        w = QLabel(("● " + text + " (you are here)") if i == current else text)
        w.setObjectName("Stage")
        w.setProperty("current", i == current)
        w.setProperty("done", i < current)
        w.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(w)
        if i < len(STAGES) - 1:
            arrow = QLabel("→")
            arrow.setObjectName("Muted")
            arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
            arrow.setMinimumHeight(w.sizeHint().height())
            row.addWidget(arrow)
    lay.addLayout(row)
    facts = []
    if d.get("policy"):
        facts.append(f"Policy: p={_text(d.get('policy'))}")
    if d.get("subdomain_policy"):
        facts.append(f"subdomains: sp={_text(d.get('subdomain_policy'))}")
    if d.get("np"):
        facts.append(f"names that don't exist: np={_text(d.get('np'))}")
    if d.get("testing"):
        facts.append("test mode (t=y)")
    if d.get("found_at"):
        facts.append(f"found at {_text(d.get('found_at'))}")
    if d.get("rua"):
        facts.append(f"reports to {_text(d.get('rua'))}")
    if facts:
        lay.addWidget(label("; ".join(facts) + ".", "Muted", selectable=True))
    nxt = _as_dict(d.get("next_record"))
    shown = {(f.host, f.type.upper(), f.value) for f in r.fixes}
    if nxt.get("host") and nxt.get("type") and isinstance(nxt.get("value"), str) and (
            str(nxt["host"]), str(nxt["type"]).upper(), str(nxt["value"])) in shown:
        lay.addWidget(label("The record to publish for the next stage is shown below, under “What we found”.", ""))
    elif nxt.get("host") and nxt.get("type") and isinstance(nxt.get("value"), str):
        fix = Fix(host=str(nxt["host"]), type=str(nxt["type"]), value=str(nxt["value"]),
                  action="replace" if d.get("record") else "publish")
        view = FixView(fix, "Next step: publish this record")
        view.copied.connect(card.copied)
        lay.addWidget(view)
    elif current == len(STAGES) - 1:
        lay.addWidget(label("You are at the last stage: spoofed mail is rejected.", ""))
    return box


def mx_section(card: CheckCard, r: CheckResult) -> QWidget | None:
    d = r.detail
    box, lay = _section("Mail servers")
    notes = []
    if d.get("null_mx"):
        notes.append("This domain says it receives no mail (null MX, RFC 7505).")
    if d.get("implicit"):
        notes.append("There is no MX record, so senders fall back to the domain's own address.")
    if d.get("parked"):
        notes.append("This domain looks parked: it neither sends nor receives mail.")
    for n in notes:
        lay.addWidget(label(n, ""))
    hosts = [h for h in _as_list(d.get("hosts")) if isinstance(h, dict)]
    if hosts:
        rows = []
        for h in hosts:
            problem = _text(h.get("error"))
            if h.get("cname"):
                problem = "; ".join(p for p in (problem, f"is an alias (CNAME) of {_text(h.get('cname'))}") if p)
            rows.append([_text(h.get("preference")), _text(h.get("host")), _text(h.get("addresses")), problem])
        lay.addWidget(compact_table(["Priority", "Mail server", "Addresses", "Problem"], rows, "Mail servers"))
    if not notes and not hosts:
        return None
    return box


PROTOCOL_SECTIONS = {"spf": spf_section, "dkim": dkim_section, "dmarc": dmarc_section, "mx": mx_section}

__all__ = ["CheckCard", "check_title"]
