"""Add or edit a sending (SMTP) or reading (IMAP) profile.

A provider preset fills host, port and security and shows its sign-in guidance (app passwords). The
password goes straight to the system keyring through ``ProfileStore.put``; it never reaches
``profiles.json``. "Test connection" runs ``check_profile`` on the engine's loop, never on the UI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from inboxready.core.profiles import (
    INSECURE_WARNING, KeyringUnavailable, Preset, Profile, ProfileError, ProfileStore, ReadProfile, Security,
    SendProfile, get_preset, keyring_status, load_presets,
)

from .engine import Engine
from .widgets import KeyButton, label

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
        self.last_connection: Any = None
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
        self.password_field = self._line("Password", "stored only in your system's keyring")
        self.password_field.setEchoMode(QLineEdit.EchoMode.Password)
        if profile is not None:
            self.password_field.setPlaceholderText("leave empty to keep the saved password")
        form.addRow("Password", self.password_field)
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
        self.test_button.clicked.connect(self.test_connection)
        if engine is not None:
            q = Qt.ConnectionType.QueuedConnection
            engine.taskFinished.connect(self._on_task_finished, q)
            engine.taskFailed.connect(self._on_task_failed, q)
        if profile is not None:
            self._fill(profile)
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
        parts = [f"User name: {preset.username}", preset.password_help]
        if preset.app_password_url:
            parts.append(f"Create it at: {preset.app_password_url}")
        if preset.notes:
            parts.append(preset.notes)
        self.guidance.setText("\n".join(x for x in parts if x))
        self.guidance.show()
        if not self.name_field.text().strip():
            self.name_field.setText(preset.id)
        self._fit()

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
        common: dict[str, Any] = dict(
            name=self.name_field.text(), host=self.host_field.text(), port=self.port_field.value(),
            security=Security(self.security_box.currentData()), username=self.user_field.text(),
            preset=self.preset_box.currentData() or "")
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
        try:
            if self.original is not None and self.original.name != p.name:
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
        from inboxready.core.mail.roundtrip import check_profile

        password = self.password_field.text() or None
        self.test_button.setEnabled(False)
        self.test_result.setText("Connecting…")
        self.test_job = self.engine.run_task(lambda _progress: check_profile(p, password=password))

    def _on_task_finished(self, job: int, result: Any) -> None:
        if job != self.test_job:
            return
        self.test_job = 0
        self.last_connection = result
        self.test_button.setEnabled(True)
        ok = bool(getattr(result, "ok", False))
        self.test_result.setText(("✔ " if ok else "✘ ") + str(getattr(result, "message", result)))

    def _on_task_failed(self, job: int, message: str) -> None:
        if job != self.test_job:
            return
        self.test_job = 0
        self.test_button.setEnabled(True)
        self.test_result.setText(f"The test stopped on an internal error: {message}")

    def done(self, result: int) -> None:
        if self.engine is not None:
            if self.test_job:
                self.engine.cancel_task(self.test_job)
            try:
                self.engine.taskFinished.disconnect(self._on_task_finished)
                self.engine.taskFailed.disconnect(self._on_task_failed)
            except (RuntimeError, TypeError):
                pass
        super().done(result)


__all__ = ["ProfileDialog"]
