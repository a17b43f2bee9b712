"""Publishing from the app: "Publish at <host>…" on every fix box, the plan dialog (plan → Apply → live on
each authoritative server → checked again), Undo, the history of changes, and "Set up publishing" with the
token steps for each host.

The core work (``inboxready.core.publish.flow.Publisher``) runs in the engine process (the worker's publish
jobs, ``core/worker/publish.py``); results and each polling round come back as its events, so the window
never waits on the network. The plan stays in the worker until it is applied. Clicking Apply is the
confirmation: nothing is applied before it.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QTextBrowser, QVBoxLayout, QWidget)

from inboxready.core.model import Fix
from inboxready.core.worker.values import WireError, from_wire, to_wire

from .engine import Engine, shared
from .queryop import WorkerOp

NAMESERVERS: list[str] | None = None  # tests point the dialogs at their own server; the app uses the system's


def domain_of(host: str) -> str:
    """The domain a record belongs to: ``_dmarc.example.com`` and ``s1._domainkey.example.com`` → ``example.com``."""
    labels = host.strip().rstrip(".").lower().split(".")
    if "_domainkey" in labels:
        labels = labels[labels.index("_domainkey") + 1:]
    while labels and labels[0].startswith("_"):
        labels = labels[1:]
    return ".".join(labels)


class JobFailed(Exception):
    """A publish job that failed or was stopped (its plain-words reason)."""


def run_job(owner: QObject, engine: Engine, kind: str, params: dict[str, Any], callback: Callable[[Any], None],
            progress: Callable[[Any], None] | None = None) -> WorkerOp:
    """Run the worker's job ``kind``; ``callback(result)`` with its result rebuilt (``from_wire``; a dict's
    ``"run"`` is rebuilt, an ``"error"`` becomes a ``JobFailed``), or with a ``JobFailed``; ``progress(value)``
    with each progress value rebuilt."""
    def done(data: Any) -> None:
        try:
            if isinstance(data, dict) and data.get("error"):
                callback(JobFailed(str(data["error"])))
            elif isinstance(data, dict) and "run" in data:
                callback(from_wire(data["run"]))
            else:
                callback(from_wire(data))
        except WireError as exc:
            callback(JobFailed(f"its answer could not be read ({exc})"))

    def progressed(data: Any) -> None:
        if progress is not None:
            try:
                progress(from_wire(data))
            except WireError:
                pass

    op = WorkerOp(engine, owner, kind, params, success=done, progress=progressed,
                  failure=lambda why: callback(JobFailed(why)), cancelled=lambda: callback(JobFailed("stopped")))
    op.run()
    return op


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text if text is not None else ""))


class PublishDialog(QDialog):
    """The plan for one fix (or every fix of a domain) at an account's DNS host; Apply, watch it go live, Undo."""

    def __init__(self, account: Any, domain: str, fixes: list[tuple[Fix, str, str]] | None = None,
                 parent: QWidget | None = None, *, nameservers: list[str] | None = None, wait: float = 120.0,
                 engine: Engine | None = None) -> None:
        super().__init__(parent)
        self.engine = engine if engine is not None else shared(self)
        self.plan_key = ""
        from inboxready.core.publish.hosts import host_for_provider

        self.account = account
        self.domain = domain
        self.fixes = fixes
        self.nameservers = nameservers if nameservers is not None else NAMESERVERS
        self.wait = wait
        host = host_for_provider(account.provider)
        self.host_name = host.name if host else account.provider
        self.setWindowTitle(f"Publish at {self.host_name} — {domain}")
        self.setObjectName("PublishDialog")
        self.resize(760, 520)
        self.run: Any = None
        self.undo_run: Any = None
        self.state = "planning"
        lay = QVBoxLayout(self)
        self.status = QLabel(f"Reading what {self.host_name} has now and making the plan…", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Publishing status")
        lay.addWidget(self.status)
        self.view = QTextBrowser(self)
        self.view.setAccessibleName("Plan")
        lay.addWidget(self.view, 1)
        self.live = QLabel("", self)
        self.live.setWordWrap(True)
        self.live.setAccessibleName("Propagation per server")
        lay.addWidget(self.live)
        row = QHBoxLayout()
        self.apply_button = QPushButton(f"Apply at {self.host_name}", self)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        row.addStretch(1)
        for b in (self.undo_button, self.apply_button, self.close_button):
            row.addWidget(b)
        lay.addLayout(row)
        self._start_plan()

    def _params(self, **more: Any) -> dict[str, Any]:
        return {"account": to_wire(self.account), "nameservers": self.nameservers, **more}

    def _start_plan(self) -> None:
        def planned(data: Any) -> None:
            if isinstance(data, dict) and "key" in data:
                self.plan_key = str(data["key"])
                try:
                    self._planned(from_wire(data["run"]))
                except WireError as exc:
                    self._planned(JobFailed(f"its answer could not be read ({exc})"))
            else:
                self._planned(data)

        op = WorkerOp(self.engine, self, "publish_plan",
                      self._params(domain=self.domain, fixes=to_wire(self.fixes)), success=planned,
                      failure=lambda why: self._planned(JobFailed(why)),
                      cancelled=lambda: self._planned(JobFailed("stopped")))
        op.run()

    def _planned(self, run: Any) -> None:
        if isinstance(run, Exception):
            self._fail(f"The plan couldn't be made: {run}")
            return
        self.run = run
        if run.error is not None:
            self._fail(str(run.error))
            return
        plan = run.plan
        parts = [f"<p>Zone <b>{_esc(plan.zone)}</b> at <b>{_esc(self.host_name)}</b> (account {_esc(self.account.name)}).</p>"]
        if plan.changes:
            parts.append("<table cellpadding='4'><tr><th align='left'>Change</th><th align='left'>Record</th>"
                         "<th align='left'>Old</th><th align='left'>New</th><th align='left'>Solves</th></tr>")
            for c in plan.changes:
                parts.append(f"<tr><td>{_esc(c.action)}</td><td>{_esc(c.type)} {_esc(c.host)}</td>"
                             f"<td><code>{_esc(c.old or '—')}</code></td><td><code>{_esc(c.new or '—')}</code></td>"
                             f"<td>{_esc(c.finding)}</td></tr>")
            parts.append("</table>")
        for lo, _codes in plan.left_out_once():
            how = " Publish it from its fix box if it fits." if lo.include else ""
            parts.append(f"<p>Not published for you: {_esc(lo.fix.type)} {_esc(lo.fix.host)}: {_esc(lo.reason)}."
                         f"{how}</p>")
        if plan.predicted is not None:
            words = ", ".join(f"{n} {r.status.label.lower()}" for n, r in plan.predicted.checks.items())
            parts.append(f"<p>Tried first, as if published: {_esc(words)}.</p>")
        self.view.setHtml("".join(parts))
        if plan.problem:
            self._fail(plan.problem)
            return
        if not plan.changes:
            self.state = "nothing"
            self.status.setText("Nothing to publish: the DNS host already has these records.")
            return
        self.state = "planned"
        self.status.setText(f"{len(plan.changes)} change(s) to make at {self.host_name}. Nothing is changed until "
                            "you click Apply.")
        self.apply_button.setEnabled(True)
        self.apply_button.setDefault(True)

    def _fail(self, text: str) -> None:
        self.state = "failed"
        self.status.setText(text)
        self.apply_button.setEnabled(False)

    def _progress(self, text: str) -> None:
        self.live.setText(text)

    def _on_round(self, p: Any) -> None:
        lines = [p.summary()]
        for s in p.servers:
            v = p.server_live(s)
            lines.append(f"{'✓' if v else ('?' if v is None else '…')} {s.label}: "
                         f"{'serves it' if v else ('could not be asked' if v is None else 'not yet')}")
        self._progress("\n".join(lines))

    def apply(self) -> None:
        if self.run is None or self.state != "planned":
            return
        self.state = "applying"
        self.apply_button.setEnabled(False)
        self.status.setText(f"Applying at {self.host_name}, then checking until it is live…")
        run_job(self, self.engine, "publish_apply", self._params(key=self.plan_key, wait=self.wait), self._applied,
                self._on_round)

    def _applied(self, run: Any) -> None:
        if isinstance(run, Exception):
            self._fail(f"Publishing stopped: {run}")
            return
        self.run = run
        res = run.result
        if run.error is not None or res is None:
            self._fail(str(run.error))
            return
        text = res.message
        if run.after is not None:
            text += f" Checked again: {run.after.status.label}."
        if res.change_id:
            text += f" Change {res.change_id} is in the history; Undo reverses it."
            self.undo_button.setEnabled(True)
        self.state = "applied" if res.applied else "failed"
        self.status.setText(text)

    def undo(self) -> None:
        if self.run is None or self.run.result is None or not self.run.result.change_id:
            return
        change_id = self.run.result.change_id
        self.undo_button.setEnabled(False)
        self.state = "undoing"
        self.status.setText(f"Undoing {change_id}…")
        run_job(self, self.engine, "publish_undo", self._params(change_id=change_id, wait=self.wait), self._undone,
                self._on_round)

    def _undone(self, run: Any) -> None:
        if isinstance(run, Exception) or run.error is not None or run.result is None:
            self._fail(f"Undo stopped: {run if isinstance(run, Exception) else run.error}")
            return
        self.undo_run = run
        self.state = "undone" if run.result.applied else "failed"
        self.status.setText(run.result.message)


class SetupDialog(QDialog):
    """Add a DNS-host account: the provider, its options, every secret it needs (each into the keyring), with
    the host's token steps and the least permission to give. Nothing is saved until every secret is given."""

    def __init__(self, parent: QWidget | None = None, provider: str = "") -> None:
        super().__init__(parent)
        from inboxready.core.publish.hosts import load_hosts

        self.setWindowTitle("Set up publishing")
        self.hosts = [h for h in load_hosts() if h.can_publish]
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setAccessibleName("Account name")
        self.provider = QComboBox(self)
        self.provider.setAccessibleName("DNS host")
        for h in self.hosts:
            self.provider.addItem(h.name, h.lexicon)
        if provider:
            i = self.provider.findData(provider)
            if i >= 0:
                self.provider.setCurrentIndex(i)
        self.options = QLineEdit(self)
        self.options.setAccessibleName("Options")
        form.addRow("Name", self.name)
        form.addRow("DNS host", self.provider)
        form.addRow("Options", self.options)
        lay.addLayout(form)
        self.secrets_box = QWidget(self)  # one password field per secret of the chosen host
        self.secrets_form = QFormLayout(self.secrets_box)
        self.secrets_form.setContentsMargins(0, 0, 0, 0)
        self.secret_fields: dict[str, QLineEdit] = {}
        lay.addWidget(self.secrets_box)
        self.steps = QLabel(self)
        self.steps.setWordWrap(True)
        lay.addWidget(self.steps)
        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.provider.currentIndexChanged.connect(self._show_steps)
        self._show_steps()

    @property
    def secret(self) -> QLineEdit | None:
        """The first secret's field (most hosts have one: the API token)."""
        return next(iter(self.secret_fields.values()), None)

    def _host(self) -> Any:
        return self.hosts[self.provider.currentIndex()] if self.hosts else None

    def _show_steps(self) -> None:
        h = self._host()
        if h is None:
            return
        while self.secrets_form.rowCount():
            self.secrets_form.removeRow(0)
        self.secret_fields = {}
        for name in h.secrets:
            f = QLineEdit(self.secrets_box)
            f.setEchoMode(QLineEdit.EchoMode.Password)
            f.setAccessibleName(f"{name} (kept in the system keyring only)")
            self.secrets_form.addRow(name, f)
            self.secret_fields[name] = f
        self.options.setPlaceholderText(", ".join(f"{o}=…" for o in h.options) or "none needed")
        self.steps.setText(f"<b>Token at {_esc(h.name)}</b>: {_esc(h.token_steps)}<br><b>Give it only</b>: "
                           f"{_esc(h.permission)}.<br>Secrets (kept in the system keyring only): "
                           f"{_esc(', '.join(h.secrets))}; options: {_esc(', '.join(h.options) or 'none')}.")

    def save(self) -> None:
        from inboxready.core.store.credentials import KeyringUnavailable
        from inboxready.core.publish.accounts import AccountError, AccountStore, DnsAccount, looks_secret
        from inboxready.core.publish.lexicon_adapter import PublishError, provider_option_names

        h = self._host()
        if h is None:
            return
        try:
            known = provider_option_names(h.lexicon)
            opts = {}
            for item in filter(None, (p.strip() for p in self.options.text().split(","))):
                k, eq, v = item.partition("=")
                k = k.strip()
                if not eq or not k:
                    raise AccountError(f"Write each option as KEY=VALUE ({item!r} isn't).")
                if k not in known:
                    raise AccountError(f"{h.name} has no option {k!r}; its options are: {', '.join(known)}.")
                if looks_secret(k) or k in h.secrets:
                    raise AccountError(f"{k} is a secret: type it in its own field, so it goes to the keyring only.")
                opts[k] = v.strip()
            missing = [n for n, f in self.secret_fields.items() if not f.text()]
            if missing:
                raise AccountError(f"Give {', '.join(missing)}: {h.name} needs it to sign in.")
            account = DnsAccount(self.name.text() or h.id, h.lexicon, opts, list(h.secrets))
            AccountStore().put(account, {n: f.text() for n, f in self.secret_fields.items()})
        except (AccountError, KeyringUnavailable, PublishError, OSError) as exc:
            self.error.setText(str(exc))
            return
        finally:
            dns_accounts().changed()  # the next fix box offers the new account (or reads what is there now)
        for f in self.secret_fields.values():
            f.clear()
        self.accept()


def open_live_check(fix: Fix, parent: QWidget) -> Any:
    """"Check until live" for ``fix`` (published by hand or not): the zone and servers the host detection
    found (``dns_host_forms.directory()``), else found now."""
    from .dns_host_forms import directory
    from .live_check import LiveCheckDialog

    d = directory()
    ins = d.find(fix.host)
    dlg = LiveCheckDialog(fix, parent.window(), zone=ins.zone if ins is not None else None,
                          nameservers=d.nameservers, servers=d.servers)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.show()
    return dlg


class DnsAccounts:
    """The DNS accounts file as the app knows it, for the fix boxes' publish bars: read once, and again only
    when the file is another one (``INBOXREADY_HOME``) or changed since (an account saved in "Set up
    publishing", which also says so with ``changed()``, or by ``inboxready dns-account`` in a terminal:
    every save replaces the file, so its inode, size or time differ). A fix box costs a ``stat``, not a read
    and parse of the file on the UI thread (a card's body makes several fix boxes)."""

    def __init__(self) -> None:
        self._seen: object = None  # the file's identity when it was read (None: not read yet)
        self._accounts: list[Any] = []
        self.loads = 0  # how many times the file was read (tests)

    @staticmethod
    def _identity(path: Any) -> object:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return (str(path), "none")
        except OSError as exc:  # unreadable folder: read (and fail) again next time, the reader says why
            return (str(path), "error", object(), exc.errno)
        return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)

    def changed(self) -> None:
        """The accounts were saved by this app: the next fix box reads them again."""
        self._seen = None

    def all(self) -> list[Any]:
        """Every account (``DnsAccount``), sorted by name; none when the file is missing or unreadable."""
        from inboxready.core.publish.accounts import ACCOUNTS_FILE, AccountStore
        from inboxready.core.store.settings import config_dir

        path = config_dir() / ACCOUNTS_FILE
        seen = self._identity(path)
        if seen != self._seen:
            self.loads += 1
            try:
                self._accounts = AccountStore(path).all()
            except OSError:
                self._accounts = []
            self._seen = seen
        return list(self._accounts)


_DNS_ACCOUNTS = DnsAccounts()


def dns_accounts() -> DnsAccounts:
    """The app's one copy of the DNS accounts (shared by every window's fix boxes)."""
    return _DNS_ACCOUNTS


def publish_bar(fix: Fix, parent: QWidget) -> QWidget | None:
    """The row under a fix box: "Check until live…" (for a record published by hand too), and "Publish at
    <host>…" when a DNS account exists, else "Set up publishing…". The accounts come from ``dns_accounts()``
    (the file is not read again for every fix box)."""
    from inboxready.core.publish.hosts import host_for_provider

    accounts = dns_accounts().all()
    domain = domain_of(fix.host)
    chosen = next((a for a in accounts if any(domain == d or domain.endswith("." + d) for d in a.domains)),
                  accounts[0] if accounts else None)
    w = QWidget(parent)
    row = QHBoxLayout(w)
    row.setContentsMargins(0, 0, 0, 0)
    row.addStretch(1)
    live = QPushButton("Check until live…", w)
    live.setObjectName("LiveCheckButton")
    live.setAccessibleName(f"Check until {fix.type} {fix.host} is live on every authoritative server")
    live.setToolTip("Once you have published it at your DNS host: ask each of its servers directly until all "
                    "serve it")
    live.clicked.connect(lambda: open_live_check(fix, w))
    row.addWidget(live)
    if chosen is not None:
        host = host_for_provider(chosen.provider)
        button = QPushButton(f"Publish at {host.name if host else chosen.provider}…", w)
        button.setObjectName("PublishButton")

        def open_dialog() -> None:
            dlg = PublishDialog(chosen, domain, [(fix, "", fix.note)], w.window())
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dlg.show()
        button.clicked.connect(open_dialog)
    else:
        button = QPushButton("Set up publishing…", w)
        button.setObjectName("SetupPublishingButton")
        button.clicked.connect(lambda: SetupDialog(w.window()).exec())
    row.addWidget(button)
    return w
