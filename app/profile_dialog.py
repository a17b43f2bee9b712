"""Add or edit a sending (SMTP) or reading (IMAP) profile.

A provider preset fills host, port and security and shows its sign-in guidance (app passwords, or what
signing in with Microsoft or Google involves). The password goes straight to the system keyring through
``ProfileStore.put``; it never reaches ``profiles.json``. "Test connection" runs ``check_profile`` on the
engine's loop, never on the UI thread.

Sign-in with Microsoft or Google (``core.auth``): the Microsoft 365 / Outlook.com and Gmail presets choose
it by default. "Sign in with ..." runs ``sign_in`` on the engine's loop; the provider's page opens in the
system browser (``QDesktopServices``) and the loopback redirect is awaited there, so the window stays
responsive (Cancel stops the wait). Only the refresh token is kept, in the keyring; "Sign out" removes it.
A connection test or a sign-in that says the sign-in expired or was withdrawn turns the button into
"Sign in again". An organisation's own app registration (client ID, tenant) goes in the fields below.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QVBoxLayout,
    QWidget,
)

from inboxready.core.store.credentials import KeyringUnavailable, keyring_status
from inboxready.core.mail.profiles import (
    INSECURE_WARNING, Preset, Profile, ProfileError, ProfileStore, ReadProfile, Security, SendProfile, get_preset, load_presets,
)
from inboxready.core.worker.protocol import is_refusal
from inboxready.core.worker.values import WireError, from_wire, to_wire

from .engine import Engine
from .widgets import KeyButton, label

SIGN_IN_CHOICES: tuple[tuple[str, str], ...] = (
    ("password", "Password (or app password)"),
    ("microsoft", "Sign in with Microsoft"),
    ("google", "Sign in with Google"),
)
PROVIDER_WORDS = {"microsoft": "Microsoft", "google": "Google"}
ADMIN_NOTE = ("If your organisation allows only apps its admin approved, ask the admin to grant consent, or for "
              "the client ID (and, for Microsoft, the tenant) of the organisation's own app registration, and enter "
              "them here. Leave both empty to use InboxReady's own.")

SECURITY_CHOICES: tuple[tuple[Security, str], ...] = (
    (Security.SSL, "SSL/TLS (encrypted from the start)"),
    (Security.STARTTLS, "STARTTLS (encrypted after connecting)"),
    (Security.NONE, "None (not encrypted)"),
)


class ProfileDialog(QDialog):
    """``kind`` is "send" or "read"; ``profile`` is the one to edit (None: a new one).

    After ``accept()``, ``saved`` is the profile that was stored."""

    def __init__(self, store: ProfileStore, kind: str, profile: Profile | None = None, *,
                 engine: Engine | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.kind = kind
        self.original = profile
        self.engine = engine
        self.saved: Profile | None = None
        self.test_job = 0
        self.signin_job = 0
        self.last_connection: Any = None
        self.last_signin: Any = None
        what = "sending (SMTP)" if kind == "send" else "reading (IMAP)"
        self.setWindowTitle(("Edit" if profile else "Add") + f" a {what} profile")
        self.setAccessibleName(self.windowTitle())
        lay = QVBoxLayout(self)
        lay.setSpacing(8)
        lay.addWidget(label(
            "The account InboxReady sends the test message from." if kind == "send" else
            "The mailbox the test message is delivered to; InboxReady reads it to see where the message "
            "landed and how it was judged.", "Muted"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.preset_box = QComboBox()
        self.preset_box.setAccessibleName("Provider preset")
        self.preset_box.addItem("Other (type the server yourself)", "")
        self.presets: dict[str, Preset] = {}
        for p in load_presets():
            if (p.smtp if kind == "send" else p.imap) is None:
                continue
            self.presets[p.id] = p
            self.preset_box.addItem(p.name, p.id)
        form.addRow("Provider", self.preset_box)
        lay.addLayout(form)
        # wrapped notes live outside the form: a form row does not grow with a wrapped label's height
        self.guidance = label("", "Muted", selectable=True)
        self.guidance.setAccessibleName("Sign-in guidance for this provider")
        self.guidance.hide()
        lay.addWidget(self.guidance)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.name_field = self._line("Profile name", "e.g. newsletter")
        form.addRow("Name", self.name_field)
        self.host_field = self._line("Server host name", "smtp.example.com" if kind == "send" else "imap.example.com")
        form.addRow("Server", self.host_field)
        self.port_field = QSpinBox()
        self.port_field.setRange(1, 65535)
        self.port_field.setValue(587 if kind == "send" else 993)
        self.port_field.setAccessibleName("Server port")
        form.addRow("Port", self.port_field)
        self.security_box = QComboBox()
        self.security_box.setAccessibleName("Connection security")
        for sec, words in SECURITY_CHOICES:
            self.security_box.addItem(words, str(sec))
        self.security_box.setCurrentIndex(1 if kind == "send" else 0)
        form.addRow("Security", self.security_box)
        self.insecure_note = label(INSECURE_WARNING, "InputNote")
        self.insecure_note.setProperty("error", True)
        self.insecure_note.setAccessibleName("Warning: no encryption")
        self.insecure_note.hide()
        self.user_field = self._line("User name", "usually your full e-mail address")
        form.addRow("User name", self.user_field)
        self.auth_box = QComboBox()
        self.auth_box.setAccessibleName("How to sign in")
        for key, words in SIGN_IN_CHOICES:
            self.auth_box.addItem(words, key)
        form.addRow("Sign in", self.auth_box)
        self.password_field = self._line("Password", "stored only in your system's keyring")
        self.password_field.setEchoMode(QLineEdit.EchoMode.Password)
        if profile is not None:
            self.password_field.setPlaceholderText("leave empty to keep the saved password")
        form.addRow("Password", self.password_field)
        self.client_field = self._line("Your organisation's client ID (optional)",
                                       "optional: your organisation's own app registration")
        form.addRow("Client ID", self.client_field)
        self.tenant_field = self._line("Your organisation's tenant (optional)", "optional: e.g. example.com")
        form.addRow("Tenant", self.tenant_field)
        self.form = form
        if kind == "send":
            self.address_field = self._line("From address of test messages", "news@example.com")
            form.addRow("From address", self.address_field)
            self.from_name_field: QLineEdit | None = self._line("From name", "optional, e.g. Example Shop")
            form.addRow("From name", self.from_name_field)
        else:
            self.address_field = self._line("Mailbox address", "where test messages are sent, e.g. test@example.com")
            form.addRow("Mailbox address", self.address_field)
            self.from_name_field = None
        lay.addLayout(form)
        lay.addWidget(self.insecure_note)

        self.admin_note = label(ADMIN_NOTE, "Muted", selectable=True)
        self.admin_note.setAccessibleName("About your organisation's own app registration")
        lay.addWidget(self.admin_note)
        row = QHBoxLayout()
        self.signin_button = KeyButton("Sign in with Microsoft")
        self.signin_button.setAccessibleName("Sign in with the provider in your browser")
        self.signin_button.setEnabled(engine is not None)
        row.addWidget(self.signin_button)
        self.signout_button = QPushButton("Sign out")
        self.signout_button.setAccessibleName("Remove the stored sign-in from the keyring")
        row.addWidget(self.signout_button)
        self.signin_status = label("", "", selectable=True)
        self.signin_status.setAccessibleName("Sign-in status")
        row.addWidget(self.signin_status, 1)
        self.signin_row = QWidget()
        self.signin_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.signin_row)

        ok, words = keyring_status()
        self.keyring_note = label(words, "Muted" if ok else "InputNote", selectable=True)
        self.keyring_note.setAccessibleName("Where passwords are kept")
        if not ok:
            self.keyring_note.setProperty("error", True)
        lay.addWidget(self.keyring_note)

        row = QHBoxLayout()
        self.test_button = KeyButton("Test connection")
        self.test_button.setAccessibleName("Test the connection with these settings")
        self.test_button.setEnabled(engine is not None)
        row.addWidget(self.test_button)
        self.test_result = label("", "", selectable=True)
        self.test_result.setAccessibleName("Connection test result")
        row.addWidget(self.test_result, 1)
        lay.addLayout(row)
        self.error = label("", "InputNote", selectable=True)
        self.error.setProperty("error", True)
        self.error.setAccessibleName("Why the profile was not saved")
        self.error.hide()
        lay.addWidget(self.error)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setAccessibleName("Save the profile")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Close without saving")
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

        self.preset_box.currentIndexChanged.connect(self._on_preset)
        self.security_box.currentIndexChanged.connect(self._on_security)
        self.auth_box.currentIndexChanged.connect(self._on_auth)
        self.test_button.clicked.connect(self.test_connection)
        self.signin_button.clicked.connect(self.sign_in)
        self.signout_button.clicked.connect(self.sign_out)
        if engine is not None:
            engine.taskFinished.connect(self._on_task_finished)
            engine.taskFailed.connect(self._on_task_failed)
            engine.taskProgress.connect(self._on_task_progress)
        if profile is not None:
            self._fill(profile)
        self._on_auth()
        self.setMinimumWidth(600)
        self.resize(600, self.sizeHint().height())

    def _line(self, name: str, placeholder: str = "") -> QLineEdit:
        w = QLineEdit()
        w.setAccessibleName(name)
        w.setPlaceholderText(placeholder)
        return w

    def _fill(self, p: Profile) -> None:
        idx = self.preset_box.findData(p.preset)
        self.preset_box.setCurrentIndex(max(0, idx))
        self.name_field.setText(p.name)
        self.host_field.setText(p.host)
        self.port_field.setValue(p.port)
        self.security_box.setCurrentIndex(max(0, self.security_box.findData(str(p.security))))
        self.user_field.setText(p.username)
        self.auth_box.setCurrentIndex(max(0, self.auth_box.findData(p.oauth_provider if p.uses_oauth else "password")))
        self.client_field.setText(p.oauth_client_id)
        self.tenant_field.setText(p.oauth_tenant)
        if isinstance(p, SendProfile):
            self.address_field.setText(p.from_addr)
            if self.from_name_field is not None:
                self.from_name_field.setText(p.from_name)
        else:
            self.address_field.setText(p.address)

    # -- reactions ------------------------------------------------------------------------------

    def _on_preset(self, _index: int = 0) -> None:
        preset = get_preset(self.preset_box.currentData() or "")
        if preset is None:
            self.guidance.hide()
            self._fit()
            return
        server = preset.smtp if self.kind == "send" else preset.imap
        if server is not None:
            self.host_field.setText(server.host)
            self.port_field.setValue(server.port)
            self.security_box.setCurrentIndex(max(0, self.security_box.findData(str(server.security))))
        if preset.oauth:
            self.auth_box.setCurrentIndex(max(0, self.auth_box.findData(preset.oauth)))
        elif self.auth_box.currentData() != "password":
            self.auth_box.setCurrentIndex(0)
        self._show_guidance(preset)
        if not self.name_field.text().strip():
            self.name_field.setText(preset.id)
        self._fit()

    def _show_guidance(self, preset: Preset | None) -> None:
        if preset is None:
            self.guidance.hide()
            return
        oauth = self.auth_box.currentData() != "password"
        parts = [f"User name: {preset.username}"]
        if oauth and preset.oauth_help:
            parts.append(preset.oauth_help)
        else:
            parts.append(preset.password_help)
            if preset.app_password_url:
                parts.append(f"Create it at: {preset.app_password_url}")
        if preset.notes:
            parts.append(preset.notes)
        self.guidance.setText("\n".join(x for x in parts if x))
        self.guidance.show()

    def _on_auth(self, _index: int = 0) -> None:
        provider = self.auth_box.currentData() or "password"
        oauth = provider != "password"
        self.form.setRowVisible(self.password_field, not oauth)
        self.form.setRowVisible(self.client_field, oauth)
        self.form.setRowVisible(self.tenant_field, provider == "microsoft")
        self.admin_note.setVisible(oauth)
        self.signin_row.setVisible(oauth)
        if oauth:
            words = PROVIDER_WORDS[provider]
            again = self.last_signin is not None and not getattr(self.last_signin, "ok", True)
            self.signin_button.setText(f"Sign in again with {words}" if again else f"Sign in with {words}")
            self._show_signed_in()
        self._show_guidance(get_preset(self.preset_box.currentData() or ""))
        self._fit()

    def _show_signed_in(self) -> None:
        if self.signin_job:
            return
        try:
            p = self.profile()
        except ProfileError:
            self.signin_status.setText("")
            self.signout_button.setEnabled(False)
            return
        from inboxready.core.auth.flows import signed_in

        state = signed_in(p)
        self.signout_button.setEnabled(bool(state))
        if self.last_signin is None:
            self.signin_status.setText("Signed in (kept in the system keyring)." if state else
                                       "Not signed in yet." if state is False else "")

    def _on_security(self, _index: int = 0) -> None:
        self.insecure_note.setVisible(self.security_box.currentData() == str(Security.NONE))
        self._fit()

    def _fit(self) -> None:
        """Grow to show wrapped notes whole (never shrink below what the user made it)."""
        lay = self.layout()
        if lay is None:
            return
        lay.activate()
        want = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.sizeHint().height()
        if want > self.height():
            self.resize(self.width(), want)

    # -- building and saving --------------------------------------------------------------------

    def profile(self) -> Profile:
        """The profile the fields describe (``ProfileError`` says what is wrong)."""
        provider = self.auth_box.currentData() or "password"
        auth: dict[str, Any] = {} if provider == "password" else dict(
            auth="oauth", oauth_provider=provider, oauth_client_id=self.client_field.text(),
            oauth_tenant=self.tenant_field.text() if provider == "microsoft" else "")
        common: dict[str, Any] = dict(
            name=self.name_field.text(), host=self.host_field.text(), port=self.port_field.value(),
            security=Security(self.security_box.currentData()), username=self.user_field.text(),
            preset=self.preset_box.currentData() or "", **auth)
        if self.kind == "send":
            return SendProfile(from_addr=self.address_field.text(),
                               from_name=self.from_name_field.text() if self.from_name_field else "", **common)
        old = self.original if isinstance(self.original, ReadProfile) else None
        return ReadProfile(address=self.address_field.text(), folders=list(old.folders) if old else [],
                           authserv_ids=list(old.authserv_ids) if old else [], ca_file=old.ca_file if old else "",
                           **common)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def _save(self) -> None:
        try:
            p = self.profile()
        except ProfileError as exc:
            self._show_error(str(exc))
            return
        if isinstance(self.original, SendProfile) and self.original.ca_file and isinstance(p, SendProfile):
            p.ca_file = self.original.ca_file
        password = self.password_field.text() or None
        if p.uses_oauth:
            password = None  # an OAuth profile keeps its sign-in (not a password) in the keyring
        try:
            if self.original is not None and self.original.name != p.name and not p.uses_oauth:
                if password is None:
                    self._show_error("Type the password again when you rename a profile (it is stored under "
                                     "the profile's name).")
                    return
            self.store.put(p, password)
            if self.original is not None and self.original.name != p.name:
                self.store.remove(self.original)
        except KeyringUnavailable as exc:
            self._show_error(str(exc))
            return
        except OSError as exc:
            self._show_error(f"The profile could not be saved ({exc.strerror or exc}).")
            return
        self.password_field.clear()
        self.saved = p
        self.accept()

    # -- connection test ------------------------------------------------------------------------

    def test_connection(self) -> None:
        if self.engine is None:
            return
        try:
            p = self.profile()
        except ProfileError as exc:
            self.test_result.setText(str(exc))
            return
        password = self.password_field.text() or None  # typed, not saved yet: used once by the worker
        self.test_button.setEnabled(False)
        self.test_result.setText("Connecting…")
        self.test_job = self.engine.run("profile_test", profile=to_wire(p), password=password)

    def _on_task_progress(self, job: int, data: Any) -> None:
        if job and job == self.signin_job and isinstance(data, dict) and isinstance(data.get("open_url"), str):
            self._open_url(data["open_url"])

    def _on_task_finished(self, job: int, data: Any) -> None:
        if job not in (self.signin_job, self.test_job) or not job:
            return
        try:
            result = from_wire(data)
        except WireError as exc:
            self._on_task_failed(job, f"its answer could not be read ({exc})")
            return
        if job and job == self.signin_job:
            self._on_signed_in(result)
            return
        if job != self.test_job:
            return
        self.test_job = 0
        self.last_connection = result
        self.test_button.setEnabled(True)
        ok = bool(getattr(result, "ok", False))
        self.test_result.setText(("✔ " if ok else "✘ ") + str(getattr(result, "message", result)))
        from inboxready.core.auth.errors import SIGN_IN_AGAIN

        if getattr(result, "code", "") in (SIGN_IN_AGAIN, "conn.oauth-scope"):
            self.last_signin = result
            self._on_auth()
            self.signin_status.setText("")

    def _on_task_failed(self, job: int, message: str) -> None:
        if job and job == self.signin_job:
            self.signin_job = 0
            self.signin_button.setEnabled(True)
            self.signin_status.setText(message if is_refusal(message) else
                                       f"The sign-in stopped on an internal error: {message}")
            return
        if job != self.test_job:
            return
        self.test_job = 0
        self.test_button.setEnabled(True)
        self.test_result.setText(message if is_refusal(message) else  # the engine is busy: said as it is
                                 f"The test stopped on an internal error: {message}")

    # -- sign-in ----------------------------------------------------------------------------------

    def _open_url(self, url: str) -> None:
        """Open the provider's sign-in page in the system browser (on the UI thread)."""
        if not QDesktopServices.openUrl(QUrl(url)):
            self.signin_status.setText(f"Open this address in your browser to sign in: {url}")

    def sign_in(self) -> None:
        if self.engine is None:
            return
        if self.signin_job:  # a second click while waiting: stop waiting
            self.engine.cancel_task(self.signin_job)
            self.signin_job = 0
            self.signin_button.setEnabled(True)
            self._on_auth()
            self.signin_status.setText("Sign-in cancelled.")
            return
        try:
            p = self.profile()
        except ProfileError as exc:
            self.signin_status.setText(str(exc))
            return
        words = PROVIDER_WORDS.get(p.oauth_provider, "")
        # the worker runs the flow (its loopback listener takes the redirect); it sends the page to open
        self.signin_job = self.engine.run("sign_in", profile=to_wire(p))
        self.signin_button.setText("Cancel sign-in")
        self.signin_status.setText(f"Finish signing in with {words} in your browser…")

    def _on_signed_in(self, result: Any) -> None:
        self.signin_job = 0
        self.last_signin = result
        ok = bool(getattr(result, "ok", False))
        self._on_auth()
        self.signin_status.setText(("✔ " if ok else "✘ ") + str(getattr(result, "message", result)))

    def sign_out(self) -> None:
        try:
            p = self.profile()
        except ProfileError as exc:
            self.signin_status.setText(str(exc))
            return
        from inboxready.core.auth.flows import sign_out

        try:
            removed = sign_out(p)
        except KeyringUnavailable as exc:
            self.signin_status.setText(str(exc))
            return
        self.last_signin = None
        self._on_auth()
        self.signin_status.setText("Signed out: the sign-in was removed from the system keyring." if removed else
                                   "Not signed in on this computer.")

    def done(self, result: int) -> None:
        if self.engine is not None:
            if self.test_job:
                self.engine.cancel_task(self.test_job)
            if self.signin_job:
                self.engine.cancel_task(self.signin_job)
            try:
                self.engine.taskFinished.disconnect(self._on_task_finished)
                self.engine.taskFailed.disconnect(self._on_task_failed)
                self.engine.taskProgress.disconnect(self._on_task_progress)
            except (RuntimeError, TypeError):
                pass
        super().done(result)


__all__ = ["ProfileDialog"]
