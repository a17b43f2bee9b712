"""Real mail servers on loopback for the round-trip tests (no network, nothing committed but code).

- ``CertAuthority``: a test CA and server certificates (127.0.0.1 / localhost), made at run time.
- ``Dovecot``: Debian's dovecot-imapd started with a generated config in a temporary folder: IMAPS and
  IMAP+STARTTLS on free ports of 127.0.0.1, one passwd-file user with a password generated at run time,
  a Maildir whose Junk folder carries the ``\\Junk`` SPECIAL-USE flag, IDLE on. Mail is delivered by
  writing into the Maildir (tmp/ then rename into new/), as an MDA would.
- ``ReceivingServer``: aiosmtpd with STARTTLS (and an implicit-TLS port) and AUTH PLAIN/LOGIN that plays
  both the sender's provider and the recipient's receiving service: it DKIM-signs for the sending
  domain (dkimpy), may change the body on the way (``Scenario.tamper_body``), then checks SPF (the
  published record against 127.0.0.1), DKIM (dkimpy) and DMARC over real DNS (the loopback
  ``DnsTestServer``), stamps ``Received`` and an ``Authentication-Results`` header in Gmail's format and
  files the message in INBOX or Junk in Dovecot. An "MX" port without AUTH refuses to relay.
- ``SilentServer`` (accepts, never speaks: time-outs) and ``FlakyImapServer`` (closes mid-FETCH).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import dkim
import dns.resolver
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


# -- certificates -----------------------------------------------------------------------------------

class CertAuthority:
    """A throw-away CA; ``issue()`` writes a server certificate and key as PEM files into ``folder``."""

    def __init__(self, folder: Path, name: str = "InboxReady Test CA") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        self.ca_file = folder / f"{name.replace(' ', '-').lower()}.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem: str, dns_names: list[str], ips: list[str], *, expired: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        start, end = (now - dt.timedelta(days=3), now - dt.timedelta(days=1)) if expired else \
            (now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (dns_names or ips)[0])]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        cert_path, key_path = self.folder / f"{stem}.crt", self.folder / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                              + self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        os.chmod(key_path, 0o644)  # Dovecot reads it as root before dropping privileges; a test key
        return cert_path, key_path

    def server_context(self, cert: Path, key: Path) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx


def dkim_keypair() -> tuple[bytes, str]:
    """(private key PEM, the ``p=`` value of the DNS record): RSA 2048, made now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    import base64

    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode("ascii")


# -- Dovecot ----------------------------------------------------------------------------------------

def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None)


DOVECOT_CONF = """\
# generated for a test run; nothing here is read from /etc/dovecot
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login{oauth_mechanisms}
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
mail_privileged_group =
protocol imap {{
  mail_max_userip_connections = 50
}}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/dovecot-oauth2.conf.ext
}}
"""

# Dovecot 2.3's oauth2 passdb asks the authorization server about each token (RFC 7662 introspection, POST)
OAUTH_CONF = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {ca}
"""


class Dovecot:
    """A private Dovecot instance for one test session. With ``oauth`` (introspection URL with the
    client's credentials, CA file), XOAUTH2 and OAUTHBEARER are offered and checked by introspection."""

    def __init__(self, cert: Path, key: Path, user: str = "alice@inbox.test",
                 oauth: tuple[str, Path] | None = None) -> None:
        self.oauth = oauth
        self.binary = dovecot_binary()
        self.dir = Path(tempfile.mkdtemp(prefix="ir-dovecot-"))
        os.chmod(self.dir, 0o755)  # the mail user must reach its home below it
        self.cert, self.key = cert, key
        self.user = user
        self.password = secrets.token_urlsafe(18)  # made now; never written anywhere but the passwd-file
        self.imaps_port = free_port()
        self.imap_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("dovecot")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self.internal_user, self.internal_group = "dovecot", "dovecot"
            self.login_user = "dovenull"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(self.uid).pw_name
            import grp

            self.internal_user, self.internal_group = me, grp.getgrgid(self.gid).gr_name
            self.login_user = me
        self.maildir = self.dir / "home" / user / "Maildir"

    @property
    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> "Dovecot":
        if self.binary is None:
            raise RuntimeError("dovecot is not installed")
        conf = self.dir / "dovecot.conf"
        oauth_passdb = oauth_mechs = ""
        if self.oauth is not None:
            url, ca = self.oauth
            ca_copy = self.dir / "oauth-ca.pem"  # where the auth process (not root) can read it
            ca_copy.write_bytes(Path(ca).read_bytes())
            os.chmod(ca_copy, 0o644)
            ext = self.dir / "dovecot-oauth2.conf.ext"
            ext.write_text(OAUTH_CONF.format(url=url, ca=ca_copy))
            os.chmod(ext, 0o640)
            if os.geteuid() == 0:
                os.chown(ext, 0, self.gid)
            oauth_passdb, oauth_mechs = OAUTH_PASSDB.format(dir=self.dir), " xoauth2 oauthbearer"
        conf.write_text(DOVECOT_CONF.format(
            dir=self.dir, cert=self.cert, key=self.key, uid=self.uid, gid=self.gid,
            internal_user=self.internal_user, internal_group=self.internal_group, login_user=self.login_user,
            imap_port=self.imap_port, imaps_port=self.imaps_port, oauth_passdb=oauth_passdb,
            oauth_mechanisms=oauth_mechs))
        passwd = self.dir / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        os.chmod(passwd, 0o640)
        if os.geteuid() == 0:
            os.chown(passwd, 0, self.gid)
        for folder in ("", ".Junk"):
            for sub in ("cur", "new", "tmp"):
                (self.maildir / folder / sub).mkdir(parents=True, exist_ok=True)
        (self.maildir / ".Junk" / "maildirfolder").touch()
        if os.geteuid() == 0:
            for path in [self.dir / "home", self.dir / "home" / self.user, self.maildir, *self.maildir.rglob("*")]:
                os.chown(path, self.uid, self.gid)
        self.proc = subprocess.Popen([self.binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr.log", "wb"), start_new_session=True)
        try:
            wait_port(self.imaps_port, proc=self.proc)
            wait_port(self.imap_port, proc=self.proc)
        except RuntimeError as exc:
            err = (self.dir / "stderr.log").read_text(errors="replace")
            self.stop(keep=True)
            raise RuntimeError(f"Dovecot did not start: {exc}\n{err}\n{self.log}") from None
        return self

    def stop(self, keep: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> Path:
        """File ``raw`` into ``folder`` the Maildir way: write in tmp/, then rename into new/."""
        base = self.maildir if folder.upper() == "INBOX" else self.maildir / f".{folder}"
        name = f"{time.time_ns()}.{secrets.token_hex(4)}.inboxready-test"
        tmp = base / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(raw)
        if os.geteuid() == 0:
            os.chown(tmp, self.uid, self.gid)
        final = base / "new" / name
        os.rename(tmp, final)
        return final

    def count(self, folder: str = "INBOX") -> int:
        base = self.maildir if folder.upper() == "INBOX" else self.maildir / f".{folder}"
        return sum(1 for sub in ("cur", "new") for _ in (base / sub).iterdir())


# -- the receiving SMTP server ---------------------------------------------------------------------

@dataclass
class Scenario:
    """What the sending provider and the receiving service do with the next messages."""

    sign_domain: str | None = "shop.test"  # the sending provider DKIM-signs with d= this (None: unsigned)
    selector: str = "s1"
    envelope_from: str | None = None  # the provider rewrites MAIL FROM (an ESP's bounce address)
    tamper_body: bool = False  # a gateway appends a footer after signing
    force_junk: bool = False  # the spam filter files it in Junk whatever authentication says
    drop: bool = False  # accepted, never delivered
    close_in_data: bool = False  # the connection is dropped after the message data, before the reply
    auth_reply: str | None = None  # a provider's refusal sent to every AUTH attempt
    deliver_delay: float = 0.0  # seconds between accepting and filing the message


@dataclass
class Delivery:
    accepted_at: float  # time.monotonic()
    delivered_at: float
    folder: str
    path: Path
    raw: bytes
    results: dict[str, str]


class _ImplicitTlsController(Controller):
    """aiosmtpd counts only STARTTLS as TLS and warns about AUTH on this port, which is TLS from the start."""

    def factory(self) -> Any:
        import collections

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            smtp = super().factory()
        smtp.command_size_limits = collections.defaultdict(lambda: smtp.command_size_limit, {"AUTH": 12288})
        return smtp


class _DnsTxt:
    """TXT lookups against the loopback DNS server (dnspython), for dkimpy and the SPF/DMARC checks."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = [host.strip("[]")]
        self.resolver.port = int(port)
        self.resolver.lifetime = 2.0

    def records(self, name: str) -> list[str]:
        try:
            ans = self.resolver.resolve(name.rstrip(".") + ".", "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [b"".join(r.strings).decode("utf-8", "replace") for r in ans]

    def dkim_dnsfunc(self, name: bytes | str, timeout: int = 5) -> bytes | None:
        n = name.decode() if isinstance(name, bytes) else name
        recs = self.records(n)
        return recs[0].encode() if recs else None


def _org(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


class ReceivingServer:
    """aiosmtpd: submission (STARTTLS port and implicit-TLS port, AUTH required) and an MX port."""

    def __init__(self, dovecot: Dovecot, dns_address: str, ctx: ssl.SSLContext, *, username: str, dkim_key: bytes,
                 hostname: str = "mx.inbox.test", local_domains: tuple[str, ...] = ("inbox.test",)) -> None:
        self.dovecot = dovecot
        self.dns = _DnsTxt(dns_address)
        self.ctx = ctx
        self.username = username
        self.password = secrets.token_urlsafe(18)  # made now
        self.dkim_key = dkim_key
        self.hostname = hostname
        self.local_domains = local_domains
        self.scenario = Scenario()
        self.deliveries: list[Delivery] = []
        self.delivered = threading.Condition()
        self.auth_attempts = 0
        # OAuth: (introspection URL, client id, client secret, CA file); the scope that sending needs
        self.oauth: tuple[str, str, str, str] | None = None
        self.oauth_scopes: tuple[str, ...] = ("https://outlook.office.com/SMTP.Send", "https://mail.google.com/")
        self.oauth_logins: list[tuple[str, str]] = []  # (mechanism, user) of each accepted token
        self.port = free_port()
        self.ssl_port = free_port()
        self.mx_port = free_port()
        self._controllers: list[Controller] = []
        self._seq = 0

    def start(self) -> "ReceivingServer":
        common: dict[str, Any] = dict(server_hostname=self.hostname, decode_data=False, ident="ESMTP test")
        submit = _LongAuthController(_Handler(self, submission=True), hostname=LOCALHOST, port=self.port, tls_context=self.ctx,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=self._authenticate, **common)
        implicit = _ImplicitTlsController(_Handler(self, submission=True), hostname=LOCALHOST, port=self.ssl_port,
                                          ssl_context=self.ctx, auth_required=True, auth_require_tls=False,
                                          authenticator=self._authenticate, **common)
        mx = Controller(_Handler(self, submission=False), hostname=LOCALHOST, port=self.mx_port, tls_context=self.ctx,
                        **common)
        for c in (submit, implicit, mx):
            c.start()
            self._controllers.append(c)
        return self

    def stop(self) -> None:
        for c in self._controllers:
            try:
                c.stop()
            except Exception:  # noqa: S110 - a test server that won't stop is not what the test is about
                pass
        self._controllers.clear()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.auth_attempts += 1
        if self.scenario.auth_reply:
            return AuthResult(success=False, handled=False, message=self.scenario.auth_reply)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login.decode() == self.username
              and secrets.compare_digest(auth_data.password, self.password.encode()))
        if ok:
            return AuthResult(success=True, auth_data=auth_data.login.decode())
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted.")

    async def oauth_auth(self, server: Any, args: list[str], mech: str) -> AuthResult:
        """XOAUTH2 / OAUTHBEARER: the token is checked by introspection at the authorization server (as
        Dovecot does); a refused token gets the JSON error challenge, then ``535 5.7.3``."""
        import asyncio
        import base64
        import json

        from aiosmtpd.smtp import MISSING

        from .oauth_server import introspect

        self.auth_attempts += 1
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except Exception:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        fields = blob.decode("utf-8", "replace").split("\x01")
        user = token = ""
        for f in fields:
            if f.startswith("user="):
                user = f[5:]
            elif f.startswith("auth=Bearer "):
                token = f[12:]
            elif f.startswith("n,a="):
                user = f[4:].rstrip(",").replace("=2C", ",").replace("=3D", "=")
        if self.scenario.auth_reply:
            return AuthResult(success=False, handled=False, message=self.scenario.auth_reply)
        if self.oauth is None or not token:
            return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")
        url, client, secret, ca = self.oauth
        info = await asyncio.get_running_loop().run_in_executor(None, introspect, url, client, secret, token, ca)
        scopes = str(info.get("scope", "")).split()
        status = ""
        if not info.get("active") or str(info.get("username", "")).lower() != user.lower():
            status = "invalid_token" if mech == "OAUTHBEARER" else "401"
        elif not any(s in scopes for s in self.oauth_scopes):
            status = "insufficient_scope"
        if not status:
            self.oauth_logins.append((mech, user))
            return AuthResult(success=True, auth_data=user)
        err = {"status": status, "schemes": "Bearer", "scope": " ".join(self.oauth_scopes)}
        await server.challenge_auth(json.dumps(err))  # the client answers (empty, or ^A) before the refusal
        return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")

    def wait_for_delivery(self, n: int, timeout: float = 5.0) -> bool:
        with self.delivered:
            return self.delivered.wait_for(lambda: len(self.deliveries) >= n, timeout)

    # -- what happens to a message -------------------------------------------------------------
    def process(self, raw: bytes, mail_from: str, rcpts: list[str], peer: str, authenticated: bool,
                tls: bool) -> tuple[str, bytes, dict[str, str]] | None:
        sc = self.scenario
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        env_from = sc.envelope_from or mail_from
        if sc.sign_domain:
            sig = dkim.sign(raw, sc.selector.encode(), sc.sign_domain.encode(), self.dkim_key,
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                             b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version",
                                             b"content-type"])
            raw = sig + raw
        if sc.tamper_body:
            raw = raw + b"--\r\nThis message was scanned by ExampleGuard.\r\n"
        self._seq += 1
        qid = f"t{self._seq:04d}{secrets.token_hex(3)}"
        head, results = self._authenticate_message(raw, env_from, peer)
        folder = "Junk" if sc.force_junk or results["junk"] == "yes" else "INBOX"
        now = format_datetime(dt.datetime.now().astimezone())
        proto = ("ESMTPSA" if authenticated else "ESMTPS") if tls else ("ESMTPA" if authenticated else "ESMTP")
        received = (f"Received: from client.shop.test (localhost [{peer}])\r\n"
                    f"        by {self.hostname} with {proto} id {qid}\r\n"
                    f"        for <{rcpts[0]}>; {now}\r\n").encode()
        return folder, head + received + raw, results

    def _authenticate_message(self, raw: bytes, env_from: str, peer: str) -> tuple[bytes, dict[str, str]]:
        from email.parser import BytesHeaderParser
        from email.utils import getaddresses

        headers = BytesHeaderParser().parsebytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
        from_domain = ""
        addrs = getaddresses(headers.get_all("From", []))
        if addrs and "@" in addrs[0][1]:
            from_domain = addrs[0][1].rsplit("@", 1)[1].lower()
        mf_domain = env_from.rsplit("@", 1)[-1].lower() if "@" in env_from else ""

        # SPF: the envelope domain's record, asked about the client's IP (127.0.0.1)
        spf = "none"
        for rec in self.dns.records(mf_domain) if mf_domain else []:
            if not rec.lower().startswith("v=spf1"):
                continue
            terms = rec.split()[1:]
            if f"ip4:{peer}" in terms or "+all" in terms:
                spf = "pass"
            elif "~all" in terms:
                spf = "softfail"
            elif "-all" in terms:
                spf = "fail"
            else:
                spf = "neutral"
        if spf == "pass":
            spf_text = (f"spf=pass ({self.local_domains[0]}: domain of {env_from} designates {peer} as permitted "
                        f"sender) smtp.mailfrom={env_from}")
        elif spf == "none":
            spf_text = (f"spf=none ({self.local_domains[0]}: {mf_domain or 'the sender'} does not designate "
                        f"permitted sender hosts) smtp.mailfrom={env_from}")
        else:
            spf_text = (f"spf={spf} ({self.local_domains[0]}: domain of {env_from} does not designate {peer} as "
                        f"permitted sender) smtp.mailfrom={env_from}")

        # DKIM: dkimpy over the loopback DNS
        dkim_text, dkim_res, dkim_d = "dkim=none", "none", ""
        if b"dkim-signature:" in raw[:20000].lower():
            d = dkim.DKIM(raw)
            try:
                ok = d.verify(dnsfunc=self.dns.dkim_dnsfunc)
            except dkim.DKIMException:
                ok = False
            sig = d.signature_fields if hasattr(d, "signature_fields") else {}
            dkim_d = (sig.get(b"d", b"") or b"").decode()
            s = (sig.get(b"s", b"") or b"").decode()
            b = (sig.get(b"b", b"") or b"").decode().replace(" ", "")[:8]
            if ok:
                dkim_res = "pass"
                dkim_text = f"dkim=pass header.i=@{dkim_d} header.s={s} header.b={b}"
            else:
                dkim_res = "neutral"  # Gmail's word for a signature that doesn't verify
                dkim_text = f"dkim=neutral (body hash did not verify) header.i=@{dkim_d} header.s={s} header.b={b}"

        # DMARC: relaxed alignment of the passing identifiers with the From domain
        policy, dmarc = "", "none"
        recs = [r for r in self.dns.records(f"_dmarc.{from_domain}") if r.lower().startswith("v=dmarc1")]
        if not recs and from_domain and _org(from_domain) != from_domain:
            recs = [r for r in self.dns.records(f"_dmarc.{_org(from_domain)}") if r.lower().startswith("v=dmarc1")]
        if recs:
            tags = dict(t.strip().split("=", 1) for t in recs[0].split(";") if "=" in t)
            policy = tags.get("p", "none").strip().lower()
            aligned = (spf == "pass" and _org(mf_domain) == _org(from_domain)) or \
                (dkim_res == "pass" and _org(dkim_d) == _org(from_domain))
            dmarc = "pass" if aligned else "fail"
        if recs:
            dis = "NONE" if dmarc == "pass" or policy == "none" else policy.upper()
            dmarc_text = (f"dmarc={dmarc} (p={policy.upper()} sp={policy.upper()} dis={dis}) "
                          f"header.from={from_domain}")
        else:
            dmarc_text = f"dmarc=none header.from={from_domain}"
        junk = "yes" if dmarc == "fail" and policy in ("quarantine", "reject") else "no"
        ar = (f"Authentication-Results: {self.hostname};\r\n       {dkim_text};\r\n       {spf_text};\r\n"
              f"       {dmarc_text}\r\n").encode()
        return ar, {"spf": spf, "dkim": dkim_res, "dmarc": dmarc, "junk": junk}


class _LongAuthController(Controller):
    """A submission server that takes AUTH lines up to 12,288 bytes (RFC 4954 §4), as providers do: an
    XOAUTH2 initial response with a Microsoft token is a few kilobytes."""

    def factory(self) -> Any:
        import collections

        smtp = super().factory()
        smtp.command_size_limits = collections.defaultdict(lambda: smtp.command_size_limit, {"AUTH": 12288})
        return smtp


class _Handler:
    def __init__(self, server: ReceivingServer, *, submission: bool) -> None:
        self.server = server
        self.submission = submission

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        return await self.server.oauth_auth(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:
        return await self.server.oauth_auth(server, args, "OAUTHBEARER")

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        domain = address.rsplit("@", 1)[-1].lower()
        if domain not in self.server.local_domains and not session.authenticated:
            return "550 5.7.1 Relaying denied"
        if domain in self.server.local_domains and address.lower() != self.server.dovecot.user:
            return "550 5.1.1 The email account that you tried to reach does not exist."
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        rs = self.server
        sc = rs.scenario
        if sc.close_in_data:
            server.transport.close()
            return "421 4.4.2 closing"
        accepted = time.monotonic()
        local = [r for r in envelope.rcpt_tos if r.rsplit("@", 1)[-1].lower() in rs.local_domains]
        processed = rs.process(bytes(envelope.content), envelope.mail_from, local or envelope.rcpt_tos,
                               session.peer[0], bool(session.authenticated),
                               server.transport.get_extra_info("ssl_object") is not None)
        if processed is None or sc.drop or not local:
            return "250 2.0.0 OK (dropped)"
        folder, final, results = processed

        def file_it() -> None:
            path = rs.dovecot.deliver(final, folder)
            with rs.delivered:
                rs.deliveries.append(Delivery(accepted, time.monotonic(), folder, path, final, results))
                rs.delivered.notify_all()

        if sc.deliver_delay > 0:
            asyncio.get_running_loop().call_later(sc.deliver_delay, file_it)
        else:
            file_it()
        return f"250 2.0.0 OK {int(time.time())} {rs._seq:04d} - gsmtp"


# -- misbehaving servers ----------------------------------------------------------------------------

class SilentServer:
    """Listens on a port and never answers (the TCP handshake completes through the backlog)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


class TinyImapServer:
    """A tiny IMAPS server on loopback that signs anyone in and finds one message; a subclass answers FETCH
    (``_fetch``: True ends the session)."""

    caps = b"IMAP4rev1 AUTH=PLAIN UIDPLUS"
    name = b"tiny"

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        try:
            socket.create_connection((LOCALHOST, self.port), 0.5).close()
        except OSError:
            pass
        self.sock.close()
        self._thread.join(2)

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._stop:
                conn.close()
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _fetch(self, conn: ssl.SSLSocket, tag: bytes, items: bytes) -> bool:
        raise NotImplementedError

    def _session(self, raw_conn: socket.socket) -> None:
        try:
            conn = self.ctx.wrap_socket(raw_conn, server_side=True)
        except (OSError, ssl.SSLError):
            raw_conn.close()
            return
        f = conn.makefile("rb")
        caps = self.caps
        try:
            conn.sendall(b"* OK [CAPABILITY " + caps + b"] " + self.name + b" test server ready\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                parts = line.rstrip(b"\r\n").split(b" ")
                tag, cmd = parts[0], b" ".join(parts[1:3]).upper()
                word = parts[1].upper() if len(parts) > 1 else b""
                if word == b"CAPABILITY":
                    conn.sendall(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
                elif word == b"LOGIN":
                    conn.sendall(tag + b" OK [CAPABILITY " + caps + b"] Logged in\r\n")
                elif word == b"LIST":
                    conn.sendall(b'* LIST (\\HasNoChildren) "/" INBOX\r\n' + tag + b" OK done\r\n")
                elif word in (b"SELECT", b"EXAMINE"):
                    conn.sendall(b"* FLAGS (\\Seen \\Deleted)\r\n* 1 EXISTS\r\n* 0 RECENT\r\n"
                                 b"* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n" + tag +
                                 b" OK [READ-ONLY] done\r\n")
                elif cmd.startswith(b"UID SEARCH") or word == b"SEARCH":
                    conn.sendall(b"* SEARCH 1\r\n" + tag + b" OK done\r\n")
                elif cmd.startswith(b"UID FETCH") or word == b"FETCH":
                    if self._fetch(conn, tag, b" ".join(parts[3:])):
                        return
                elif word == b"LOGOUT":
                    conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                    return
                else:
                    conn.sendall(tag + b" OK done\r\n")
        except (OSError, ssl.SSLError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass


class FlakyImapServer(TinyImapServer):
    """Drops the connection in the middle of sending the message (FETCH)."""

    caps = b"IMAP4rev1 AUTH=PLAIN IDLE UIDPLUS"
    name = b"flaky"

    def __init__(self, ctx: ssl.SSLContext, token: str) -> None:
        self.token = token
        self.closed_mid_fetch = 0
        super().__init__(ctx)

    def _fetch(self, conn: ssl.SSLSocket, tag: bytes, items: bytes) -> bool:
        body = (f"Subject: InboxReady test {self.token}\r\nFrom: a@shop.test\r\n\r\n" + "x" * 3000).encode()
        conn.sendall(b"* 1 FETCH (UID 1 BODY[] {" + str(len(body)).encode() + b"}\r\n" + body[:300])
        self.closed_mid_fetch += 1
        return True


@dataclass
class MailWorld:
    """Everything a round-trip test needs, started once per test session."""

    ca: CertAuthority
    dovecot: Dovecot
    smtp: ReceivingServer
    dns_address: str
    dkim_public: str
    folder: Path
    server_ctx: ssl.SSLContext
    extra: dict[str, Any] = field(default_factory=dict)


class _AcceptAll:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"


def starttls_smtp(ctx: ssl.SSLContext) -> Controller:
    """A bare STARTTLS submission server presenting the certificate of ``ctx`` (for certificate tests)."""
    c = Controller(_AcceptAll(), hostname=LOCALHOST, port=free_port(), tls_context=ctx, require_starttls=True,
                   server_hostname="smtp.other.test", ident="ESMTP cert test")
    c.start()
    return c


class SizedImapServer(TinyImapServer):
    """A tiny IMAPS server holding one message with ``token`` in its subject, answering FETCH for its size,
    its header, the whole message or a part of it. ``lie``: it says the message is small (RFC822.SIZE) but
    answers a FETCH of the body with a literal of ``lie`` bytes and streams data until the client hangs
    up (a hostile or broken server). Records what was asked (``fetches``) and sent (``body_bytes_sent``)."""

    name = b"sized"

    def __init__(self, ctx: ssl.SSLContext, token: str, body_size: int, *, lie: int = 0) -> None:
        self.head = (f"Subject: InboxReady test {token}\r\nFrom: a@shop.test\r\nTo: b@inbox.test\r\n"
                     "Message-ID: <big@shop.test>\r\n\r\n").encode()
        self.message = self.head + b"y" * body_size
        self.lie = lie
        self.fetches: list[bytes] = []
        self.body_bytes_sent = 0
        super().__init__(ctx)

    def _fetch(self, conn: ssl.SSLSocket, tag: bytes, items: bytes) -> bool:
        self.fetches.append(items)
        up = items.upper()
        if b"BODY.PEEK[HEADER]" in up or b"RFC822.SIZE" in up:
            size = 2000 if self.lie else len(self.message)
            conn.sendall(b'* 1 FETCH (UID 1 RFC822.SIZE ' + str(size).encode() +
                         b' INTERNALDATE "07-Dec-2026 10:00:00 +0000" BODY[HEADER] {' + str(len(self.head)).encode() +
                         b"}\r\n" + self.head + b")\r\n" + tag + b" OK done\r\n")
            return False
        if self.lie:
            conn.sendall(b"* 1 FETCH (UID 1 BODY[] {" + str(self.lie).encode() + b"}\r\n" + self.head)
            chunk = b"z" * 65536
            while not self._stop and self.body_bytes_sent < 64 * 1024 * 1024:
                conn.sendall(chunk)
                self.body_bytes_sent += len(chunk)
            return False
        data, key = self.message, b"BODY[]"
        part = re.search(rb"BODY\.PEEK\[\]<(\d+)\.(\d+)>", items, re.I)
        if part:
            start, count = int(part.group(1)), int(part.group(2))
            data, key = data[start:start + count], b"BODY[]<" + part.group(1) + b">"
        conn.sendall(b"* 1 FETCH (UID 1 " + key + b" {" + str(len(data)).encode() + b"}\r\n")
        conn.sendall(data)
        self.body_bytes_sent += len(data)
        conn.sendall(b")\r\n" + tag + b" OK done\r\n")
        return False
