"""The report mailbox: read DMARC / TLS report mails from the rua mailbox over IMAP, incrementally.

(One of three things once all called "watch": this is the report mailbox, CLI ``reports watch``; the
monitor re-checks domains on a schedule, ``core/monitor``; awaiting a message waits for one test message,
``mail.roundtrip.await_message``.)

Public API::

    @dataclass class ReportMailboxOutcome(ok: bool, folder: str, uidvalidity: int, last_uid: int, read: int,
                                          moved: int, result: ImportResult, error: ConnectionResult | None)
        .to_json()
    def fetch_reports(store: ReportStore, profile: ReadProfile, *, password: str | Secret | None = None,
                      folder: str = "INBOX", move_to: str | None = None, io_timeout: float = 30.0,
                      max_messages: int = 2000, limits: Limits | None = None,
                      on_progress: Callable[[int, int], None] | None = None) -> ReportMailboxOutcome   # blocking
    async def watch_reports(... same arguments ...) -> ReportMailboxOutcome       # runs fetch_reports in a thread

What is remembered: per account (user@host:port) and folder, the folder's UIDVALIDITY and the highest UID
read, in the report store. A run asks only for UIDs above it; when the server's UIDVALIDITY changed (the
folder was recreated) the folder is read again from the start, and reports already stored count as
duplicates, so nothing is imported twice. Each mail is imported and the UID remembered in its own
transaction, so an interrupted run resumes where it stopped. With ``move_to`` the mails that held a report
(new or already known) are moved to that folder (created when missing; IMAP MOVE, or COPY + delete when the
server lacks MOVE); other mail is left alone. Mails larger than ``limits.max_message_bytes`` are not
downloaded. The password comes from ``password`` or the keyring (``profiles.resolve_password``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from ..mail.imap import _Session
from ..store.credentials import KeyringUnavailable, Secret
from ..mail.profiles import ConnectionResult, ReadProfile, TransportError, keyring_failure, resolve_password
from ..model import JsonShapeError, json_dict, json_int, json_object, json_str
from ..store.sqlitedb import DbProblem
from .extract import DEFAULT_LIMITS, Limits
from .store import ImportResult, ReportStore

FETCH_BATCH = 50


@dataclass
class ReportMailboxOutcome:
    ok: bool
    folder: str
    uidvalidity: int = 0
    last_uid: int = 0
    read: int = 0
    moved: int = 0
    result: ImportResult = field(default_factory=ImportResult)
    error: ConnectionResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "folder": self.folder, "uidvalidity": self.uidvalidity, "last_uid": self.last_uid,
                "read": self.read, "moved": self.moved, "import": self.result.to_json(),
                "error": self.error.to_json() if self.error is not None else None}

    @classmethod
    def from_json(cls, data: Any) -> "ReportMailboxOutcome":
        d = json_object(data, "report mailbox outcome")
        ok, error = d.get("ok"), d.get("error")
        if not isinstance(ok, bool):
            raise JsonShapeError("'ok': expected true or false")
        return cls(ok=ok, folder=json_str(d, "folder"), uidvalidity=json_int(d, "uidvalidity"),
                   last_uid=json_int(d, "last_uid"), read=json_int(d, "read"), moved=json_int(d, "moved"),
                   result=ImportResult.from_json(json_dict(d, "import")),
                   error=ConnectionResult.from_json(error) if error is not None else None)


def account_key(profile: ReadProfile) -> str:
    return f"{profile.username}@{profile.host}:{profile.port}".lower()


def fetch_reports(store: ReportStore, profile: ReadProfile, *, password: str | Secret | None = None,
                  folder: str = "INBOX", move_to: str | None = None, io_timeout: float = 30.0,
                  max_messages: int = 2000, limits: Limits | None = None,
                  on_progress: Callable[[int, int], None] | None = None) -> ReportMailboxOutcome:
    """One pass over ``folder``: import the report mails that arrived since the last pass."""
    lim = limits or DEFAULT_LIMITS
    out = ReportMailboxOutcome(ok=False, folder=folder)
    stage = ["connect"]
    session: _Session | None = None
    client = None
    try:
        from ..auth.flows import credential_blocking

        secret = credential_blocking(profile, password) if profile.uses_oauth else resolve_password(profile, password)
        session = _Session(profile, secret, io_timeout)
        client = session.connect(stage)
        stage[0] = "select"
        info = client.select_folder(folder, readonly=move_to is None)
        uidvalidity = int(info.get(b"UIDVALIDITY", 0) or 0)
        key = account_key(profile)
        state = store.imap_state(key, folder)
        since = state[1] if state is not None and state[0] == uidvalidity else 0
        out.uidvalidity, out.last_uid = uidvalidity, since
        uids = sorted(u for u in client.search(["UID", f"{since + 1}:*"]) if u > since)[:max_messages]
        if not uids:
            store.set_imap_state(key, folder, uidvalidity, since)
            out.ok = True
            return out
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        to_move: list[int] = []
        done = 0
        for i in range(0, len(uids), FETCH_BATCH):
            batch = uids[i:i + FETCH_BATCH]
            small = [u for u in batch if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= lim.max_message_bytes]
            data = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            for uid in batch:
                name = f"{folder} message UID {uid}"
                if uid not in small:
                    out.result.rejected.append((name, "the mail is too large to be a report; not downloaded"))
                else:
                    raw = data.get(uid, {}).get(b"BODY[]", b"")
                    res = store.import_bytes(name, bytes(raw), limits=lim)
                    out.result.merge(res)
                    if res.imported or res.duplicate or res.repeated or res.conflicting:
                        to_move.append(uid)
                out.read += 1
                out.last_uid = uid
                store.set_imap_state(key, folder, uidvalidity, uid)
                done += 1
                if on_progress is not None:
                    on_progress(done, len(uids))
        if move_to and to_move:
            stage[0] = "move"
            if not client.folder_exists(move_to):
                client.create_folder(move_to)
            if client.has_capability("MOVE"):
                client.move(to_move, move_to)
            else:
                client.copy(to_move, move_to)
                client.delete_messages(to_move)
                client.expunge(to_move) if client.has_capability("UIDPLUS") else client.expunge()
            out.moved = len(to_move)
        out.ok = True
        return out
    except KeyringUnavailable as exc:
        out.error = keyring_failure(exc)
        return out
    except TransportError as exc:  # a Microsoft/Google sign-in that is missing or was withdrawn
        out.error = exc.result
        return out
    except DbProblem as exc:  # the report store (busy, full, ...): said as it is, not as a mailbox failure
        out.error = ConnectionResult(False, f"store.{exc.kind}", str(exc), exc.detail, "store")
        return out
    except Exception as exc:  # noqa: BLE001 - every failure becomes a plain-words ConnectionResult
        if session is not None:
            out.error = session.classify(exc, stage[0])
        else:
            out.error = ConnectionResult(False, "conn.unexpected", f"Reading the mailbox failed: {type(exc).__name__}",
                                         str(exc)[:300], stage[0])
        return out
    finally:
        if session is not None:
            _Session.logout(client)


async def watch_reports(store: ReportStore, profile: ReadProfile, *, password: str | Secret | None = None,
                        folder: str = "INBOX", move_to: str | None = None, io_timeout: float = 30.0,
                        max_messages: int = 2000, limits: Limits | None = None,
                        on_progress: Callable[[int, int], None] | None = None) -> ReportMailboxOutcome:
    """``fetch_reports`` in a worker thread (the event loop stays free)."""
    return await asyncio.to_thread(fetch_reports, store, profile, password=password, folder=folder, move_to=move_to,
                                   io_timeout=io_timeout, max_messages=max_messages, limits=limits,
                                   on_progress=on_progress)


__all__ = ["ReportMailboxOutcome", "fetch_reports", "watch_reports", "account_key"]
