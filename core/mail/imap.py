"""Reading profile: find a test message by its token (Inbox and Junk), and "Test connection".

    async with Watcher(profile, token, on_progress=print) as w:   # connects, finds the folders
        ...send the message...
        result = await w.wait(timeout=120)                       # WatchResult: folder, raw message

    result = await watch(profile, token, timeout=120)             # the same in one call
    result = await check_connection(profile)                     # sign in, find the Junk folder

The folders watched are INBOX and the Junk/Spam folder, found by its SPECIAL-USE ``\\Junk`` marker
(RFC 6154), else by a common name (Junk, Spam, Bulk, Junk Email, ...); or the profile's own list.
Each folder gets its own connection in a worker thread (imapclient), so a message is seen wherever it
lands. Where the server offers IDLE (RFC 2177) the worker waits for the server's "new message" notice,
searching again at once; otherwise it polls. Messages are fetched with ``BODY.PEEK[]`` so nothing is
marked read, and found by ``SEARCH SUBJECT <token>`` (the token is in the subject in both the Send and
Watch modes), then confirmed in the fetched header. Sizes are bounded whatever the server sends: each
candidate's size (``RFC822.SIZE``) and header are fetched first, only a match is read whole, and only up
to ``MAX_MESSAGE_BYTES`` (the message check's own input limit); a larger one is read as its header only,
and the result says so. Every literal the server sends is refused unread past the size asked for (a
hostile or broken server can't make us hold more), which closes that connection. Optionally the test message is deleted after
(moved to Trash where the server has one, else flagged and expunged by UID).

Progress is reported through a plain callable, always on the event loop's thread. Cancelling ``wait``
or leaving the ``async with`` stops every worker: IDLE is ended with DONE and each connection logs out.
"""

from __future__ import annotations

import logging
import asyncio
import imaplib
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, Callable

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from ..store.credentials import KeyringUnavailable, Secret, reveal, scrub
from .profiles import (
    ConnectionResult, ReadProfile, Security, TransportError, auth_failure, keyring_failure, network_error, no_password, run_blocking, scrub_result, server_closed, shutdown_socket, ssl_context, unexpected,
)
from ..auth import errors as oauth_errors
from ..auth import sasl
from ..auth.flows import access_token, credential, should_retry
from .compose import TOKEN_HEADER

log = logging.getLogger(__name__)

JUNK_NAMES = ("junk", "spam", "junk e-mail", "junk email", "junk mail", "bulk mail", "bulk", "courrier indésirable")
IO_TIMEOUT = 30.0
IDLE_SLICE = 0.25  # how often a waiting worker looks at its stop flag (seconds)
RECHECK_INTERVAL = 25.0  # re-search at least this often even in IDLE (a missed notice can't stall the watch)
FIRST_RECHECK = 1.0  # the first re-search in IDLE; the interval then doubles up to RECHECK_INTERVAL
POLL_INTERVAL = 2.0
MAX_CANDIDATES = 5
MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # a test message larger than this is read as its header only (as `headers`)
MAX_HEADER_BYTES = 1024 * 1024  # a message's header block; a larger one closes the connection
MAX_OTHER_LITERAL = 1024 * 1024  # any other literal the server sends (a folder name, ...)


@dataclass(frozen=True)
class Progress:
    """One step of a round trip or a watch, for live display."""

    stage: str  # connecting | connected | sending | sent | waiting | found | verified | timeout | failed
    message: str
    folder: str | None = None
    role: str | None = None  # inbox | junk | other
    elapsed_ms: float = 0.0


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class FoundMessage:
    folder: str
    role: str  # "inbox" | "junk" | "other"
    uid: int
    raw: bytes
    internal_date: datetime | None  # when the server filed it (the server's clock)
    found_after_ms: float  # from the start of waiting to finding it
    deleted: bool = False
    size: int | None = None  # the message's size as the server gave it (RFC822.SIZE)
    headers_only: bool = False  # too large to read whole: ``raw`` is the header block only
    note: str = ""  # plain words about how it was read (too large, ...)


@dataclass
class WatchResult:
    status: str  # "found" | "timeout" | "failed"
    found: FoundMessage | None = None
    error: ConnectionResult | None = None
    folders: list[tuple[str, str]] = field(default_factory=list)  # (name, role) watched
    mode: str = ""  # "idle" | "poll" | "idle+poll"
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)  # plain words: a folder that couldn't be watched, ...

    @property
    def ok(self) -> bool:
        return self.status == "found"


def folder_role(name: str, flags: tuple[bytes, ...] = ()) -> str:
    if name.upper() == "INBOX":
        return "inbox"
    if b"\\Junk" in flags or b"\\junk" in flags or b"\\Spam" in flags:
        return "junk"
    last = name.replace("\\", "/").replace(".", "/").split("/")[-1].strip().lower()
    return "junk" if last in JUNK_NAMES else "other"


def role_words(role: str | None) -> str:
    return {"inbox": "Inbox", "junk": "Junk (spam)"}.get(role or "", "another folder")


class LiteralTooLarge(Exception):
    """The server started sending more than we asked for or read (an IMAP literal over the limit)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the server sent a literal of {size} bytes; at most {limit} are read")
        self.size = size
        self.limit = limit


class _LiteralLimit:
    """Stands in for imaplib's ``read`` (used for literals only): a literal over ``limit`` is refused before
    a byte of it is read or any memory is set aside for it, and the connection is shut (what follows on it
    can't be read any more)."""

    def __init__(self, imap: Any) -> None:
        self.imap = imap
        self.inner: Callable[[int], bytes] = imap.read
        self.limit = MAX_OTHER_LITERAL

    def __call__(self, size: int) -> bytes:
        if size > self.limit:
            try:
                self.imap.shutdown()
            except Exception:
                log.debug("shutting down after an oversized literal failed", exc_info=True)
            raise LiteralTooLarge(size, self.limit)
        return self.inner(size)


def _bound_literals(client: IMAPClient) -> _LiteralLimit:
    imap = client._imap  # imaplib reads every literal through its read(size)
    limiter = _LiteralLimit(imap)
    imap.read = limiter
    return limiter


class _Limit:
    """``with _Limit(client, n):`` literals of up to ``n`` bytes are read during the block."""

    def __init__(self, client: IMAPClient, limit: int) -> None:
        read = getattr(getattr(client, "_imap", None), "read", None)
        self.limiter = read if isinstance(read, _LiteralLimit) else None
        self.limit = limit
        self.before = MAX_OTHER_LITERAL

    def __enter__(self) -> None:
        if self.limiter is not None:
            self.before, self.limiter.limit = self.limiter.limit, self.limit

    def __exit__(self, *exc: Any) -> None:
        if self.limiter is not None:
            self.limiter.limit = self.before


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


class _Session:
    """Connecting and signing in (used by the watcher and by check_connection)."""

    def __init__(self, profile: ReadProfile, password: Secret | None, io_timeout: float) -> None:
        self.profile = profile
        self.password = password
        self.io_timeout = io_timeout
        self.clients: list[IMAPClient] = []
        self.lock = threading.Lock()
        self.tls_version = ""
        self.exchange: sasl.Exchange | None = None  # the last OAuth SASL exchange, for the error it carries

    def connect(self, stage: list[str]) -> IMAPClient:
        p = self.profile
        if not p.username:
            raise TransportError(ConnectionResult(False, "conn.no-username",
                                                  "Add the mailbox's user name to the reading profile.",
                                                  stage="auth"))
        if self.password is None:
            raise TransportError(no_password(p))
        ctx = ssl_context(p) if p.security is not Security.NONE else None
        stage[0] = "tls" if p.security is Security.SSL else "connect"
        try:
            client = IMAPClient(p.host, p.port, ssl=p.security is Security.SSL, ssl_context=ctx,
                                timeout=self.io_timeout)
        except ssl.SSLError:
            raise
        except OSError:
            stage[0] = "connect"
            raise
        _bound_literals(client)
        with self.lock:
            self.clients.append(client)
        stage[0] = "connect"
        if p.security is Security.STARTTLS:
            if not client.has_capability("STARTTLS"):
                raise TransportError(ConnectionResult(
                    False, "conn.starttls-unsupported",
                    f"{p.host} port {p.port} doesn't offer encryption (STARTTLS). If this port expects encryption "
                    "from the start (993), choose SSL/TLS.", stage="tls"))
            stage[0] = "tls"
            client.starttls(ctx)
        sock = client.socket()
        if hasattr(sock, "version"):
            self.tls_version = sock.version() or ""
        stage[0] = "auth"
        if p.uses_oauth:
            self._oauth_login(client)
        else:
            client.login(p.username, reveal(self.password))
        stage[0] = "connected"
        return client

    def _oauth_login(self, client: IMAPClient) -> None:
        """AUTHENTICATE OAUTHBEARER (RFC 7628) where offered, else XOAUTH2, with the access token."""
        p = self.profile
        caps = [c.decode("ascii", "replace") if isinstance(c, bytes) else str(c) for c in client.capabilities()]
        mechs = [c[5:] for c in caps if c.upper().startswith("AUTH=")]
        mech = sasl.choose(mechs)
        if mech is None:
            raise TransportError(ConnectionResult(
                False, "conn.oauth-not-offered",
                f"{p.host} port {p.port} doesn't offer signing in with a {p.oauth_provider.title()} sign-in "
                "(XOAUTH2 or OAUTHBEARER). Check the server name (Microsoft 365 and Outlook.com: "
                "outlook.office365.com port 993; Gmail: imap.gmail.com port 993).", stage="auth"))
        ex = sasl.exchange(mech, p.username, reveal(self.password), p.host, p.port)
        with self.lock:
            self.exchange = ex
        client.sasl_login(mech, ex)

    def abort(self) -> None:
        with self.lock:
            clients = list(self.clients)
        for c in clients:
            try:
                shutdown_socket(c.socket())
            except Exception:
                log.debug("shutting down an IMAP socket failed", exc_info=True)

    @staticmethod
    def logout(client: IMAPClient | None) -> None:
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            try:
                client.shutdown()
            except Exception:
                log.debug("shutting down an IMAP connection failed", exc_info=True)

    def classify(self, exc: BaseException, stage: str) -> ConnectionResult:
        """Plain words for a failure, with the password scrubbed from every text in every encoding (a
        server may echo the LOGIN command, quoted, or the AUTHENTICATE exchange in base64)."""
        return scrub_result(self._classify(exc, stage), self.password, self.profile.username)

    def _classify(self, exc: BaseException, stage: str) -> ConnectionResult:
        p = self.profile
        text = scrub(f"{type(exc).__name__}: {exc}", self.password)[:500]
        if isinstance(exc, TransportError):
            return exc.result
        if isinstance(exc, KeyringUnavailable):
            return keyring_failure(exc)
        if isinstance(exc, imap_exc.LoginError):
            reply = scrub(str(exc), self.password)
            if reply.startswith("b'") or reply.startswith('b"'):
                reply = reply[2:-1]
            low = reply.lower()
            if p.uses_oauth:
                ex = self.exchange
                extra = f" (server said: {ex.summary})" if ex is not None and ex.summary else ""
                return oauth_errors.server_refused_token(
                    reply + extra, provider=p.oauth_provider, user=p.username, where=f"{p.host} port {p.port}",
                    kind="read", scope_hint="scope" if ex is not None and "scope" in str(ex.error.get("status", "")) else "")
            if "privacyrequired" in low or "plaintext authentication" in low or "logindisabled" in low:
                return auth_failure("530 encryption required: " + reply, p)
            return auth_failure(reply, p)
        if isinstance(exc, LiteralTooLarge):
            return ConnectionResult(
                False, "conn.too-large",
                f"{p.host} started sending {_mb(exc.size)} where at most {_mb(exc.limit)} was asked for or is read, "
                "so we stopped reading and closed the connection. A test message is normally well under 1 MB; "
                "if the server's answer is right, delete the large message from the mailbox, else contact your "
                "mail provider.", text, stage)
        if isinstance(exc, imap_exc.CapabilityError):
            if stage == "tls":
                return ConnectionResult(False, "conn.starttls-unsupported",
                                        f"{p.host} port {p.port} doesn't offer encryption (STARTTLS).", text, stage)
            return ConnectionResult(False, "conn.protocol-error",
                                    f"{p.host} lacks an IMAP feature we need ({exc}).", text, stage)
        if isinstance(exc, (imap_exc.IMAPClientAbortError, imaplib.IMAP4.abort)):
            return server_closed(p, stage, text)
        if isinstance(exc, imaplib.IMAP4.error) and "select" in str(exc).lower():
            return ConnectionResult(False, "conn.folder-missing",
                                    f"The folder couldn't be opened on {p.host}: {scrub(str(exc), self.password)}",
                                    text, stage)
        if isinstance(exc, ssl.SSLError) and stage == "connect":
            stage = "tls"
        net = network_error(exc, p, stage=stage, timeout=self.io_timeout, secret=self.password)
        if net is not None:
            return net
        return unexpected(exc, p, stage, self.password)


def _list_folders(client: IMAPClient) -> list[tuple[tuple[bytes, ...], str]]:
    out = []
    for flags, _delim, name in client.list_folders():
        out.append((tuple(flags), str(name)))
    return out


def plan_folders(profile: ReadProfile, listing: list[tuple[tuple[bytes, ...], str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """(folders to watch as (name, role), notes). INBOX plus the Junk folder, or the profile's list."""
    notes: list[str] = []
    names = {name: flags for flags, name in listing}
    if profile.folders:
        plan = []
        for f in profile.folders:
            match = next((n for n in names if n == f), None) or next((n for n in names if n.lower() == f.lower()), None)
            if match is None and f.upper() != "INBOX":
                notes.append(f"The folder {f!r} doesn't exist on the server; it isn't watched.")
                continue
            name = match or "INBOX"
            plan.append((name, folder_role(name, names.get(name, ()))))
        return plan or [("INBOX", "inbox")], notes
    plan = [("INBOX", "inbox")]
    junk = next((n for fl, n in listing if b"\\Junk" in fl), None)
    if junk is None:
        for wanted in JUNK_NAMES:
            junk = next((n for _fl, n in listing
                         if n.replace(".", "/").split("/")[-1].strip().lower() == wanted
                         and b"\\Noselect" not in _fl and b"\\NonExistent" not in _fl), None)
            if junk:
                break
    if junk is None:
        notes.append("No Junk or Spam folder was found, so only the Inbox is watched; a message filed as spam "
                     "won't be seen.")
    else:
        plan.append((junk, "junk"))
    return plan, notes


def _trash_folder(listing: list[tuple[tuple[bytes, ...], str]]) -> str | None:
    return next((n for fl, n in listing if b"\\Trash" in fl), None)


def _has_token(raw: bytes, token: str) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    t = token.lower()
    for name in ("Subject", TOKEN_HEADER):
        for v in msg.get_all(name, []) or []:
            if t in str(v).lower():
                return True
    try:
        from email.header import decode_header, make_header

        subject = str(make_header(decode_header(str(msg.get("Subject", "")))))
        return t in subject.lower()
    except Exception:
        return False


class Watcher:
    """Watches a reading profile's Inbox and Junk folders for a message carrying ``token``."""

    def __init__(self, profile: ReadProfile, token: str, *, password: str | Secret | None = None,
                 delete: bool = False, use_idle: bool | None = None, poll_interval: float = POLL_INTERVAL,
                 recheck_interval: float = RECHECK_INTERVAL, on_progress: ProgressFn | None = None,
                 io_timeout: float = IO_TIMEOUT, clock_start: float | None = None) -> None:
        self.profile = profile
        self.token = token
        self._password_arg = password
        self.delete = delete
        self.use_idle = use_idle
        self.poll_interval = poll_interval
        self.recheck_interval = recheck_interval
        self.on_progress = on_progress
        self.io_timeout = io_timeout
        self.folders: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.modes: set[str] = set()
        self._session: _Session | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._result: asyncio.Future[FoundMessage] | None = None
        self._errors: list[tuple[str, ConnectionResult]] = []
        self._workers: list[asyncio.Future[None]] = []
        self._listing: list[tuple[tuple[bytes, ...], str]] = []
        self._wait_started = 0.0
        self._started = clock_start or 0.0
        self._found_lock = threading.Lock()
        self._found = False

    # -- public ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, sign in, find the folders and start watching them. ``TransportError`` when the
        profile can't be used (wrong password, certificate, ...): nothing is left open then."""
        self._loop = asyncio.get_running_loop()
        self._result = self._loop.create_future()
        self._result.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if no one waits
        self._started = self._started or time.monotonic()
        self._emit("connecting", f"Connecting to {self.profile.host}...")
        try:
            secret, fresh = await credential(self.profile, self._password_arg)
        except KeyringUnavailable as exc:
            raise TransportError(keyring_failure(exc)) from None
        try:
            client, listing = await self._first(secret)
        except TransportError as exc:
            if not should_retry(self.profile, exc.result, fresh):
                raise
            secret, fresh = await access_token(self.profile, force_refresh=True)  # renewed once, as Thunderbird
            client, listing = await self._first(secret)
        self._listing = listing
        self.folders, self.notes = plan_folders(self.profile, listing)
        where = " and ".join(f"{n} ({role_words(r)})" for n, r in self.folders)
        self._emit("connected", f"Signed in to {self.profile.host}; watching {where}.")
        for i, (name, role) in enumerate(self.folders):
            fut = asyncio.ensure_future(asyncio.to_thread(self._worker, client if i == 0 else None, name, role))
            self._workers.append(fut)

    async def _first(self, secret: Secret | None) -> tuple[IMAPClient, list[tuple[tuple[bytes, ...], str]]]:
        session = self._session = _Session(self.profile, secret, self.io_timeout)

        def first() -> tuple[IMAPClient, list[tuple[tuple[bytes, ...], str]]]:
            stage = ["connect"]
            client = None
            try:
                client = session.connect(stage)
                stage[0] = "select"
                listing = _list_folders(client)
                return client, listing
            except Exception as exc:
                session.logout(client)
                raise TransportError(session.classify(exc, stage[0])) from None

        return await run_blocking(first, abort=session.abort)

    async def wait(self, timeout: float = 120.0) -> WatchResult:
        """Until the message is found in a watched folder, every folder failed, or ``timeout`` seconds."""
        assert self._result is not None, "call start() first"
        self._wait_started = time.monotonic()
        self._emit("waiting", f"Waiting for the message with {self.token} (up to {timeout:g} s)...")
        try:
            found = await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except asyncio.TimeoutError:
            return self._finish("timeout", None, None)
        except TransportError as exc:
            return self._finish("failed", None, exc.result)
        except asyncio.CancelledError:
            await self.close()
            raise
        self._emit("found", f"Found in {role_words(found.role)} ({found.folder}).", folder=found.folder,
                   role=found.role)
        return self._finish("found", found, None)

    async def close(self, grace: float = 2.0) -> None:
        """Stop every worker and let each end IDLE and log out; after ``grace`` seconds the sockets
        still open are shut."""
        self._stop.set()
        pending = {w for w in self._workers if not w.done()}
        if pending:
            _done, pending = await asyncio.wait(pending, timeout=grace)
        if pending and self._session is not None:
            self._session.abort()
            await asyncio.wait(pending, timeout=1.0)

    async def __aenter__(self) -> "Watcher":
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------------------------------
    def _finish(self, status: str, found: FoundMessage | None, error: ConnectionResult | None) -> WatchResult:
        notes = list(self.notes)
        if found is not None and found.note:
            notes.append(found.note)
        for folder, r in self._errors:
            if error is None or r is not error:
                notes.append(f"{folder}: {r.message}")
        mode = "+".join(sorted(self.modes)) if self.modes else ""
        return WatchResult(status=status, found=found, error=error, folders=list(self.folders), mode=mode,
                           elapsed_ms=(time.monotonic() - self._wait_started) * 1000 if self._wait_started else 0.0,
                           notes=notes)

    def _emit(self, stage: str, message: str, *, folder: str | None = None, role: str | None = None) -> None:
        cb = self.on_progress
        if cb is None:
            return
        ev = Progress(stage, message, folder, role, (time.monotonic() - self._started) * 1000 if self._started else 0.0)
        try:
            cb(ev)
        except Exception:
            log.debug("the progress callback failed", exc_info=True)

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:
                pass

    def _set_found(self, found: FoundMessage) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(found)
        self._stop.set()

    def _set_error(self, folder: str, result: ConnectionResult) -> None:
        self._errors.append((folder, result))
        if len(self._errors) >= len(self.folders) and self._result is not None and not self._result.done():
            self._result.set_exception(TransportError(self._errors[0][1]))

    def _worker(self, client: IMAPClient | None, folder: str, role: str) -> None:
        session = self._session
        assert session is not None
        stage = ["connected" if client is not None else "connect"]
        try:
            if client is None:
                client = session.connect(stage)
            if self._stop.is_set():
                return
            stage[0] = "select"
            client.select_folder(folder, readonly=not self.delete)
            idle = self.use_idle is not False and client.has_capability("IDLE")
            self.modes.add("idle" if idle else "poll")
            stage[0] = "watch"
            cycle = 0
            while not self._stop.is_set():
                last_search = time.monotonic()
                if cycle:
                    client.noop()  # SEARCH sees only messages the server has announced; NOOP brings them in
                found = self._search(client, folder, role)
                if found is not None:
                    return
                if idle:
                    # A message filed between the search and the start of IDLE may never be announced,
                    # so search again soon after entering IDLE, then less and less often.
                    self._idle_until_news(client, last_search, min(self.recheck_interval, FIRST_RECHECK * 2 ** cycle))
                elif self._stop.wait(self.poll_interval):
                    break
                cycle += 1
        except Exception as exc:
            if not self._stop.is_set():
                self._post(self._set_error, folder, session.classify(exc, stage[0]))
        finally:
            session.logout(client)

    def _idle_until_news(self, client: IMAPClient, since: float, recheck: float) -> None:
        client.idle()
        quick_empty = 0
        while not self._stop.is_set() and time.monotonic() - since < recheck:
            t0 = time.monotonic()
            responses = client.idle_check(timeout=IDLE_SLICE)
            if any(isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
            if any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses):
                raise imap_exc.IMAPClientAbortError("the server said BYE during IDLE")
            # imapclient returns [] at once when the server has closed the connection (EOF)
            quick_empty = quick_empty + 1 if not responses and time.monotonic() - t0 < IDLE_SLICE / 2 else 0
            if quick_empty >= 3:
                raise imap_exc.IMAPClientAbortError("the server closed the connection during IDLE (EOF)")
        client.idle_done()

    def _search(self, client: IMAPClient, folder: str, role: str) -> FoundMessage | None:
        since = date.today() - timedelta(days=1)
        uids = client.search(["SINCE", since, "SUBJECT", self.token])
        for uid in sorted(uids, reverse=True)[:MAX_CANDIDATES]:
            # the size and the header first: a candidate that isn't ours is never read further
            with _Limit(client, MAX_HEADER_BYTES):
                data = client.fetch([uid], [b"RFC822.SIZE", b"BODY.PEEK[HEADER]", b"INTERNALDATE"])
            item = data.get(uid)
            if not item:
                continue
            head = item.get(b"BODY[HEADER]") or b""
            if not isinstance(head, bytes) or not _has_token(head, self.token):
                continue
            found_ms = (time.monotonic() - self._wait_started) * 1000 if self._wait_started else 0.0
            raw, size, note = self._read_whole(client, uid, head, item.get(b"RFC822.SIZE"))
            with self._found_lock:
                if self._found:
                    return None
                self._found = True
            idate = item.get(b"INTERNALDATE")
            deleted = self._delete(client, folder, uid) if self.delete else False
            found = FoundMessage(folder=folder, role=role, uid=int(uid), raw=raw,
                                 internal_date=idate if isinstance(idate, datetime) else None,
                                 found_after_ms=found_ms, deleted=deleted, size=size, headers_only=raw is head,
                                 note=note)
            self._post(self._set_found, found)
            return found
        return None

    def _read_whole(self, client: IMAPClient, uid: int, head: bytes, size_item: Any) -> tuple[bytes, int | None, str]:
        """(raw, size, note): the whole message when it is at most ``MAX_MESSAGE_BYTES``, else its header."""
        size = size_item if isinstance(size_item, int) and not isinstance(size_item, bool) and size_item >= 0 else None
        if size is not None and size > MAX_MESSAGE_BYTES:
            return head, size, self._too_large(size)
        with _Limit(client, MAX_MESSAGE_BYTES + 1):
            if size is not None:
                body = client.fetch([uid], [b"BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
            else:  # no size given: read one byte past the limit to know whether it is larger
                part = client.fetch([uid], [f"BODY.PEEK[]<0.{MAX_MESSAGE_BYTES + 1}>".encode()]).get(uid, {})
                body = next((v for k, v in part.items() if isinstance(k, bytes) and k.startswith(b"BODY[]")), None)
        if not isinstance(body, bytes):
            return head, size, ("The server didn't send the whole test message, so only its header was read: the "
                                "body (the DKIM body hash, the content) wasn't checked.")
        if len(body) > MAX_MESSAGE_BYTES:
            return head, size if size is not None else len(body), self._too_large(size if size is not None else len(body))
        return body, size if size is not None else len(body), ""

    @staticmethod
    def _too_large(size: int) -> str:
        more = f"is {_mb(size)}" if size > MAX_MESSAGE_BYTES + 1 else "is larger than that"
        return (f"The test message {more}, more than the {_mb(MAX_MESSAGE_BYTES)} we read, so only its header was "
                "read: the authentication results are judged, but the body (the DKIM body hash, the content) "
                "wasn't checked. Send a smaller test message to check those too.")

    def _delete(self, client: IMAPClient, folder: str, uid: int) -> bool:
        try:
            trash = _trash_folder(self._listing)
            if trash and trash != folder and client.has_capability("MOVE"):
                client.move([uid], trash)
                return True
            client.delete_messages([uid])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])
            return True
        except Exception:
            return False


async def watch(profile: ReadProfile, token: str, *, password: str | Secret | None = None, timeout: float = 120.0,
                delete: bool = False, use_idle: bool | None = None, poll_interval: float = POLL_INTERVAL,
                on_progress: ProgressFn | None = None, io_timeout: float = IO_TIMEOUT) -> WatchResult:
    """Watch ``profile``'s Inbox and Junk for a message with ``token`` in its subject."""
    w = Watcher(profile, token, password=password, delete=delete, use_idle=use_idle, poll_interval=poll_interval,
                on_progress=on_progress, io_timeout=io_timeout)
    try:
        await w.start()
    except TransportError as exc:
        await w.close()
        return WatchResult(status="failed", error=exc.result)
    try:
        return await w.wait(timeout)
    finally:
        await w.close()


async def check_connection(profile: ReadProfile, *, password: str | Secret | None = None,
                           timeout: float = 15.0) -> ConnectionResult:
    """Connect, start encryption, sign in, find Inbox and Junk, open the Inbox read-only, log out."""
    started = time.monotonic()
    try:
        secret, fresh = await credential(profile, password)
    except KeyringUnavailable as exc:
        return keyring_failure(exc)
    except TransportError as exc:
        return exc.result
    result = await _check_once(profile, secret, timeout, started)
    if should_retry(profile, result, fresh):  # a token the server no longer takes: renew it, try once more
        try:
            secret, fresh = await access_token(profile, force_refresh=True)
        except TransportError as exc:
            return exc.result
        result = await _check_once(profile, secret, timeout, started)
    return result


async def _check_once(profile: ReadProfile, secret: Secret | None, timeout: float, started: float) -> ConnectionResult:
    session = _Session(profile, secret, timeout)

    def work() -> ConnectionResult:
        stage = ["connect"]
        client = None
        try:
            client = session.connect(stage)
            stage[0] = "select"
            listing = _list_folders(client)
            plan, notes = plan_folders(profile, listing)
            client.select_folder(plan[0][0], readonly=True)
            idle = client.has_capability("IDLE")
            how = f" (encrypted, {session.tls_version})" if session.tls_version else " (NOT encrypted)"
            folders = " and ".join(f"{n} ({role_words(r)})" for n, r in plan)
            how = (f" with your {profile.oauth_provider.title()} sign-in" if profile.uses_oauth else "") + how
            text = (f"Signed in to {profile.host} as {profile.username}{how}. Test messages will be looked for in "
                    f"{folders}; the server {'tells us at once when mail arrives (IDLE)' if idle else 'is checked every few seconds (no IDLE)'}.")
            extra = " ".join(notes + profile.warnings)
            return ConnectionResult(True, "conn.ok", f"{text} {extra}".strip(), stage="done",
                                    detail="folders: " + ", ".join(f"{n}={r}" for n, r in plan),
                                    elapsed_ms=(time.monotonic() - started) * 1000)
        except Exception as exc:
            return replace(session.classify(exc, stage[0]), elapsed_ms=(time.monotonic() - started) * 1000)
        finally:
            session.logout(client)

    return scrub_result(await run_blocking(work, abort=session.abort), secret, profile.username)


__all__ = ["FoundMessage", "LiteralTooLarge", "MAX_MESSAGE_BYTES", "Progress", "ProgressFn", "WatchResult", "Watcher", "check_connection", "folder_role",
           "plan_folders", "role_words", "watch"]
