"""Every fix box in the words of the domain's DNS host ("At Cloudflare: Name ``_dmarc``, Content
``v=DMARC1; …``, TTL Auto"), with the generic record one click away (issue 16).

``HostDirectory`` (one per app, ``directory()``) keeps what the DNS walk found for each checked domain: its
zone, the authoritative servers and the host recognised from the NS names (``core.publish.hosts``). The main
window runs the worker's ``detect_host`` job when a check starts and hands the result
(``inspection_from_json``) to ``directory().set_inspection``; fix boxes already on screen then update themselves
(``changed`` signal).

``HostFormPanel`` is what ``FixView.host_form_hook`` puts above a fix box's generic fields: the host's field
names with each value as that form wants it typed (and a Copy button for the name and the value), the notes
that go with it (the domain appended by the form, quotes, too long for the form), and "Show the generic
record" which shows the FixView's own host/type/value/zone-line fields. While the host is not known (still
looking, or a host not in the catalog) the generic fields stay shown and a line says why.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from inboxready.core.model import Fix

from .widgets import CopyButton, code_line, label

DETECT_TIMEOUT = 20.0  # the DNS walk for the host may take this long before the box says it couldn't tell


class HostDirectory(QObject):
    """Zone and DNS host per checked domain (UI thread only)."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._by_zone: dict[str, Any] = {}  # zone → Inspection
        self._pending: set[str] = set()  # domains being looked up
        self._failed: dict[str, str] = {}  # domain → why the host couldn't be told
        # the authoritative servers to ask instead of the NS addresses (the demo's built-in server, tests)
        self.servers: list[str] | None = None
        self.nameservers: list[str] | None = None  # the resolver the checks use (None: the system's)

    def looking_up(self, domain: str) -> None:
        self._pending.add(domain.lower().rstrip("."))
        self._failed.pop(domain.lower().rstrip("."), None)

    def set_inspection(self, domain: str, inspection: Any, why: str = "") -> None:
        d = domain.lower().rstrip(".")
        self._pending.discard(d)
        if inspection is not None and inspection.zone.zone:
            self._by_zone[inspection.zone.zone] = inspection
        else:
            self._failed[d] = why or (inspection.zone.problem if inspection is not None else "") or \
                "the DNS lookup of its zone didn't answer"
        self.changed.emit()

    def find(self, name: str) -> Any:
        """The inspection of the zone that holds ``name`` (longest zone first), or None."""
        n = name.strip().lower().rstrip(".")
        best = None
        for zone, ins in self._by_zone.items():
            if (n == zone or n.endswith("." + zone)) and (best is None or len(zone) > len(best.zone.zone)):
                best = ins
        return best

    def state(self, name: str) -> str:
        """"known" | "looking" | "failed: why" | "unknown" for the domain ``name`` belongs to."""
        if self.find(name) is not None:
            return "known"
        n = name.strip().lower().rstrip(".")
        for d in self._pending:
            if n == d or n.endswith("." + d):
                return "looking"
        for d, why in self._failed.items():
            if n == d or n.endswith("." + d):
                return "failed: " + why
        return "unknown"

    def for_audit(self, domain: str) -> dict[str, Any] | None:
        ins = self.find(domain)
        return ins.for_audit() if ins is not None else None

    def clear(self) -> None:
        self._by_zone.clear()
        self._pending.clear()
        self._failed.clear()
        self.changed.emit()


_DIRECTORY: HostDirectory | None = None


def directory() -> HostDirectory:
    global _DIRECTORY
    if _DIRECTORY is None:
        _DIRECTORY = HostDirectory()
    return _DIRECTORY


def inspection_from_json(domain: str, data: Any) -> Any:
    """The ``Inspection`` the worker's ``detect_host`` job describes (hosts by their catalog id), or None."""
    from inboxready.core.publish.flow import Inspection
    from inboxready.core.publish.hosts import get_host
    from inboxready.core.publish.zone import ZoneInfo

    if not isinstance(data, dict):
        return None
    zone = ZoneInfo(str(data.get("zone") or ""), tuple(str(n) for n in data.get("ns_names") or ()),
                    soa_ttl=data.get("soa_ttl"), soa_minimum=data.get("soa_minimum"),
                    problem=str(data.get("problem") or ""))
    hosts = [h for h in (get_host(str(i)) for i in data.get("hosts") or ()) if h is not None]
    return Inspection(domain, zone, hosts, [])


class HostFormPanel(QFrame):
    """The record as the DNS host's form wants it, above a FixView's generic fields (see the module doc)."""

    def __init__(self, fix: Fix, view: Any) -> None:
        super().__init__(view)
        self.fix = fix
        self.view = view
        self.setObjectName("HostForm")
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(4)
        self._body: QWidget | None = None
        self.host_id = ""
        self.copy_buttons: list[CopyButton] = []
        self.toggle = QPushButton("Show the generic record", self)
        self.toggle.setObjectName("GenericToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName(f"Show the generic record for {fix.host}, for any DNS host")
        self.toggle.toggled.connect(self._show_generic)
        directory().changed.connect(self.refresh)
        self.refresh()

    # -- building -------------------------------------------------------------------------------

    def refresh(self) -> None:
        from inboxready.core.publish.hosts import host_form

        ins = directory().find(self.fix.host)
        host = ins.host if ins is not None else None
        key = f"{ins.zone.zone}:{host.id}" if ins is not None and host is not None else directory().state(self.fix.host)
        if key == self.host_id and self._body is not None:
            return
        self.host_id = key
        if self._body is not None:
            self.toggle.setParent(self)  # keep the toggle: it sat in the old body's layout
            self._lay.removeWidget(self._body)
            self._body.hide()
            self._body.deleteLater()
        self.copy_buttons = []
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        if ins is None or host is None:
            state = directory().state(self.fix.host)
            if state == "looking":
                text = "Finding out who hosts this domain's DNS, to show how to type this record there…"
            elif state.startswith("failed"):
                text = f"Couldn't tell who hosts this domain's DNS ({state[8:]}), so here is the record in general form."
            elif ins is not None:
                text = (f"The DNS host of {ins.zone.zone} (name servers {', '.join(ins.zone.ns_names[:2]) or '?'}) is "
                        "not one InboxReady knows: enter the record below; most forms want the name without the "
                        f"domain ({self._relative(ins.zone.zone)!r}).")
            else:
                text = ""
            if text:
                lay.addWidget(label(text, "Muted", parent=body))
            self.toggle.hide()
            self._body = body
            self._lay.insertWidget(0, body)
            self._show_generic(True)
            body.setVisible(bool(text))
            return
        form = host_form(self.fix, ins.zone.zone, host)
        lead = {"remove": f"At {host.name}, delete this record:"}.get(
            self.fix.action, form.lead + ":" if self.fix.action == "replace" else f"At {host.name}, type it like this:")
        title = label(lead, "FieldLabel", parent=body)
        title.setAccessibleName(form.text)
        lay.addWidget(title)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        for i, (name, value) in enumerate(form.fields):
            cap = label(name, "FieldLabel", wrap=False, parent=body)
            grid.addWidget(cap, i, 0, Qt.AlignmentFlag.AlignTop)
            shown = value if value else "(leave it empty)"
            field = code_line(shown, f"{name} at {host.name} for {self.fix.host}", body)
            cap.setBuddy(field)
            grid.addWidget(field, i, 1)
            if i in (1, 2) and value:  # the name and the value: what is typed
                b = CopyButton(value, f"{name.lower()} for {host.name}", parent=body)
                b.copied.connect(self.view.copied)
                self.copy_buttons.append(b)
                grid.addWidget(b, i, 2, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        for note in form.notes:
            lay.addWidget(label(note, "Muted", parent=body))
        row = QHBoxLayout()
        row.addWidget(label(f"Found from the name servers of {ins.zone.zone}.", "Muted", parent=body), 1)
        row.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignRight)
        lay.addLayout(row)
        self.toggle.show()
        self._body = body
        self._lay.insertWidget(0, body)
        body.show()
        self.toggle.setChecked(False)
        self._show_generic(False)

    def _relative(self, zone: str) -> str:
        from inboxready.core.publish.hosts import relative_name

        return relative_name(self.fix.host, zone) or "@"

    def _show_generic(self, on: bool) -> None:
        generic = getattr(self.view, "generic", None)
        if generic is not None:
            generic.setVisible(on)
        self.toggle.setText("Hide the generic record" if on else "Show the generic record")


def host_form_hook(fix: Fix, view: Any) -> QWidget:
    return HostFormPanel(fix, view)


__all__ = ["HostDirectory", "HostFormPanel", "directory", "inspection_from_json", "host_form_hook"]
