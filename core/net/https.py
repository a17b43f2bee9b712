"""A small HTTPS GET on asyncio streams, for the MTA-STS policy and the BIMI logo and certificate.

- The host is resolved through the run's ``DnsClient`` (A, then AAAA), so tests and the app see the same
  answers as every other check and the queries show up in the DNS log.
- TLS with certificate and host-name verification against the system's CAs plus ``ca_file``; SNI.
- HTTP/1.1, ``Connection: close``; ``Content-Length``, chunked transfer decoding or read-to-close;
  a size cap; one overall time limit (``connect_timeout``) for connecting, TLS and reading.
- Redirects are returned, not followed, unless ``max_redirects`` asks for it (MTA-STS forbids them,
  RFC 8461 §3.3).

Failures raise ``HttpsError`` with a ``kind`` and a plain-English ``message``. ``HttpsError.couldnt_check``
tells "we could not reach it from here" (time-out, refused, DNS failure: Severity.UNKNOWN) from a real
problem of the site (bad certificate, no address, not found, too large: a failure).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

from ..context import CheckContext
from ..dns.client import DnsClient

DEFAULT_MAX_BYTES = 64 * 1024
MAX_HEADER_BYTES = 32 * 1024
USER_AGENT = "InboxReady (mail set-up checker)"


class HttpsErrorKind(StrEnum):
    BAD_URL = "bad-url"  # not an https:// URL we can fetch
    DNS_FAILED = "dns-failed"  # the address lookup timed out / failed: couldn't check
    NO_ADDRESS = "no-address"  # the host name has no A/AAAA record
    REFUSED = "refused"  # nothing listens on the port: couldn't check
    TIMEOUT = "timeout"  # no connection or answer in time: couldn't check
    NETWORK = "network"  # another network error (unreachable, reset): couldn't check
    CERT_NAME = "certificate-name"  # the certificate is for another name
    CERT_EXPIRED = "certificate-expired"
    CERT_NOT_YET_VALID = "certificate-not-yet-valid"
    CERT_SELF_SIGNED = "certificate-self-signed"
    CERT_UNTRUSTED = "certificate-untrusted"  # issued by a CA nobody trusts / chain incomplete
    TLS = "tls"  # the TLS handshake failed for another reason
    PROTOCOL = "protocol"  # the server's answer is not HTTP we understand
    TOO_LARGE = "too-large"
    NOT_FOUND = "not-found"  # HTTP 404 / 410
    HTTP_STATUS = "http-status"  # another non-200 answer
    REDIRECT = "redirect"  # a redirect we were not allowed to follow

    @property
    def couldnt_check(self) -> bool:
        return self in (HttpsErrorKind.DNS_FAILED, HttpsErrorKind.REFUSED, HttpsErrorKind.TIMEOUT,
                        HttpsErrorKind.NETWORK)

    @property
    def certificate(self) -> bool:
        return self.value.startswith("certificate-")


class HttpsError(Exception):
    """A fetch that did not give a usable answer. ``message`` is plain English and names the URL."""

    def __init__(self, kind: HttpsErrorKind, message: str, detail: str = "", *, url: str = "",
                 status: int | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.url = url
        self.status = status
        self.location = location

    @property
    def couldnt_check(self) -> bool:
        return self.kind.couldnt_check


@dataclass
class HttpsResponse:
    url: str
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeated ones joined by ", "
    body: bytes = b""
    address: str = ""  # the IP we talked to
    chunked: bool = False
    redirects: list[str] = field(default_factory=list)  # URLs we were sent through (when following)

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters (``text/plain``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip('"').lower() or None
        return None

    def text(self) -> str:
        enc = self.charset or "utf-8"
        try:
            return self.body.decode(enc, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


async def fetch(ctx: CheckContext, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_redirects: int = 0,
                accept: str = "*/*") -> HttpsResponse:
    """GET ``url`` with the run's DNS client and network options; a 200 answer or ``HttpsError``."""
    return await https_get(url, dns=ctx.dns, port=ctx.options.https_port, ca_file=ctx.options.ca_file,
                           timeout=ctx.options.connect_timeout, max_bytes=max_bytes, max_redirects=max_redirects,
                           accept=accept)


async def https_get(url: str, *, dns: DnsClient, port: int = 443, ca_file: str | None = None,
                    timeout: float = 8.0, max_bytes: int = DEFAULT_MAX_BYTES, max_redirects: int = 0,
                    accept: str = "*/*") -> HttpsResponse:
    """GET ``url``. ``port`` is used when the URL names none (tests point it at a loopback server).

    Returns only a 200 answer; anything else raises ``HttpsError`` (a 3xx with ``kind=REDIRECT`` and
    ``location`` set when ``max_redirects`` is used up)."""
    seen: list[str] = []
    current = url
    while True:
        resp = await _get_once(current, dns=dns, port=port, ca_file=ca_file, timeout=timeout, max_bytes=max_bytes,
                               accept=accept)
        if 300 <= resp.status < 400 and resp.status != 304:
            location = resp.headers.get("location", "")
            target = urljoin(current, location) if location else ""
            if len(seen) >= max_redirects or not target:
                raise HttpsError(HttpsErrorKind.REDIRECT,
                                 f"{current} sends visitors elsewhere (HTTP {resp.status}"
                                 f"{' to ' + target if target else ''}) instead of serving the file itself.",
                                 f"HTTP {resp.status} {resp.reason}; Location: {location or '(none)'}",
                                 url=current, status=resp.status, location=target or None)
            seen.append(current)
            current = target
            continue
        if resp.status in (404, 410):
            raise HttpsError(HttpsErrorKind.NOT_FOUND, f"{current} was not found on the web server (HTTP "
                             f"{resp.status}).", f"HTTP {resp.status} {resp.reason}", url=current, status=resp.status)
        if resp.status != 200:
            raise HttpsError(HttpsErrorKind.HTTP_STATUS, f"The web server answered {current} with an error "
                             f"(HTTP {resp.status} {resp.reason}).", f"HTTP {resp.status} {resp.reason}",
                             url=current, status=resp.status)
        resp.redirects = seen
        return resp


# -- one request -------------------------------------------------------------------------------------


def _split_url(url: str, default_port: int) -> tuple[str, int, str, bool]:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        explicit = parts.port
    except ValueError as exc:
        raise HttpsError(HttpsErrorKind.BAD_URL, f"'{url[:100]}' is not a valid web address.", str(exc),
                         url=url) from None
    if parts.scheme.lower() != "https":
        raise HttpsError(HttpsErrorKind.BAD_URL, f"'{url[:100]}' is not an https:// address; only secure "
                         "addresses can be used here.", f"scheme {parts.scheme!r}", url=url)
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = ""
    if not host or any(c.isspace() for c in host):
        raise HttpsError(HttpsErrorKind.BAD_URL, f"'{url[:100]}' has no valid host name.", url=url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in path):
        raise HttpsError(HttpsErrorKind.BAD_URL, f"'{url[:100]}' contains characters a web address can't "
                         "have.", url=url)
    return host, explicit if explicit is not None else default_port, path, explicit is not None


async def _addresses(dns: DnsClient, host: str, url: str) -> list[str]:
    try:
        import ipaddress

        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    a, aaaa = await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA"))
    ips = [r for r in a.records if a.ok] + [r for r in aaaa.records if aaaa.ok]
    if ips:
        return ips
    failed = a if a.failed else aaaa if aaaa.failed else None
    if failed is not None:
        raise HttpsError(HttpsErrorKind.DNS_FAILED, f"We couldn't look up the address of {host}: "
                         f"{failed.describe}.", f"{host} A: {a.outcome}, AAAA: {aaaa.outcome}", url=url)
    raise HttpsError(HttpsErrorKind.NO_ADDRESS, f"The web server name {host} does not exist in DNS (it has no "
                     "address record), so the file can't be fetched.",
                     f"{host} A: {a.outcome}, AAAA: {aaaa.outcome}", url=url)


_CONTEXTS: dict[tuple[str | None, int], ssl.SSLContext] = {}


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context (system CAs plus ``ca_file``). Loading the system store takes ~0.1 s, so
    contexts are kept per (file, modification time); they are safe to share between connections."""
    try:
        stamp = os.stat(ca_file).st_mtime_ns if ca_file else 0
    except OSError:
        stamp = -1
    key = (ca_file, stamp)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = ssl.create_default_context()
        if ca_file and stamp != -1:
            ctx.load_verify_locations(cafile=ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if len(_CONTEXTS) > 16:
            _CONTEXTS.clear()
        _CONTEXTS[key] = ctx
    return ctx


async def _peer_names(ip: str, port: int, host: str, timeout: float) -> list[str]:
    """The DNS names of the certificate the server presents (fetched without verifying; for wording)."""
    from cryptography import x509

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load: nothing is verified here
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(ip, port, ssl=ctx, server_hostname=host), timeout)
    except (TimeoutError, OSError, ssl.SSLError):
        return []
    try:
        sslobj = writer.get_extra_info("ssl_object")
        der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
        if not der:
            return []
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            names = []
        if not names:
            names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
        return names
    except Exception:
        return []
    finally:
        writer.transport.abort()


def _cert_error(exc: ssl.SSLCertVerificationError, host: str, url: str, names: list[str]) -> HttpsError:
    code = getattr(exc, "verify_code", 0)
    why = getattr(exc, "verify_message", "") or str(exc)
    detail = f"TLS certificate verification failed: {why} (OpenSSL code {code})"
    if code == 62 or "hostname mismatch" in why.lower() or "doesn't match" in why.lower():
        listed = ", ".join(names[:6]) if names else "other names"
        return HttpsError(HttpsErrorKind.CERT_NAME, f"The web server's security certificate is for {listed}, "
                          f"not for {host}, so other servers won't trust it.", detail, url=url)
    if code == 10:
        return HttpsError(HttpsErrorKind.CERT_EXPIRED, f"The security certificate of {host} has expired; renew "
                          "it with your web host or certificate provider.", detail, url=url)
    if code == 9:
        return HttpsError(HttpsErrorKind.CERT_NOT_YET_VALID, f"The security certificate of {host} is not valid "
                          "yet (its start date is in the future, or this computer's clock is wrong).", detail, url=url)
    if code in (18, 19):
        return HttpsError(HttpsErrorKind.CERT_SELF_SIGNED, f"The security certificate of {host} is self-signed "
                          "(made by the server itself), so nobody else trusts it. Get one from a public "
                          "certificate authority such as Let's Encrypt.", detail, url=url)
    return HttpsError(HttpsErrorKind.CERT_UNTRUSTED, f"The security certificate of {host} is not issued by a "
                      "trusted certificate authority (or the server doesn't send the intermediate certificates).",
                      detail, url=url)


async def _get_once(url: str, *, dns: DnsClient, port: int, ca_file: str | None, timeout: float, max_bytes: int,
                    accept: str) -> HttpsResponse:
    host, port, path, explicit = _split_url(url, port)
    ips = await _addresses(dns, host, url)
    sslctx = _ssl_context(ca_file)
    last: HttpsError | None = None
    for ip in ips:
        try:
            return await asyncio.wait_for(
                _exchange(ip, port, host, path, explicit, sslctx, max_bytes, accept, url), timeout)
        except TimeoutError:
            last = HttpsError(HttpsErrorKind.TIMEOUT, f"{host} did not answer within {timeout:g} seconds, so we "
                              "couldn't check it from here.", f"time-out talking to {ip} port {port}", url=url)
        except ssl.SSLCertVerificationError as exc:
            names = await _peer_names(ip, port, host, timeout)
            raise _cert_error(exc, host, url, names) from None
        except ssl.SSLError as exc:
            raise HttpsError(HttpsErrorKind.TLS, f"A secure (TLS) connection to {host} could not be set up.",
                             f"{ip} port {port}: {exc}", url=url) from None
        except ConnectionRefusedError:
            last = HttpsError(HttpsErrorKind.REFUSED, f"{host} refused the connection (no web server answers on "
                              f"port {port}), so we couldn't check it from here.", f"{ip} port {port}: refused",
                              url=url)
        except HttpsError:
            raise
        except OSError as exc:
            last = HttpsError(HttpsErrorKind.NETWORK, f"We couldn't connect to {host} ({exc.strerror or exc}), so "
                              "we couldn't check it from here.", f"{ip} port {port}: {exc}", url=url)
    assert last is not None
    raise last


async def _exchange(ip: str, port: int, host: str, path: str, explicit: bool, sslctx: ssl.SSLContext,
                    max_bytes: int, accept: str, url: str) -> HttpsResponse:
    reader, writer = await asyncio.open_connection(ip, port, ssl=sslctx, server_hostname=host, limit=MAX_HEADER_BYTES)
    try:
        host_header = f"{host}:{port}" if explicit else host
        request = (f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
                   f"Accept: {accept}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n")
        writer.write(request.encode("ascii"))
        await writer.drain()
        status, reason, headers = await _read_head(reader, url, host)
        resp = HttpsResponse(url=url, status=status, reason=reason, headers=headers, address=ip)
        if 300 <= status < 400 or status >= 400:
            return resp  # the body of an error or redirect does not matter
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            resp.chunked = True
            resp.body = await _read_chunked(reader, max_bytes, url, host)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"].split(",")[0].strip())
                if length < 0:
                    raise ValueError
            except ValueError:
                raise _protocol(url, host, f"bad Content-Length {headers['content-length']!r}") from None
            if length > max_bytes:
                raise _too_large(url, host, max_bytes, length)
            try:
                resp.body = await reader.readexactly(length)
            except asyncio.IncompleteReadError as exc:
                raise _protocol(url, host, f"connection closed after {len(exc.partial)} of {length} bytes") from None
        else:
            data = await reader.read(max_bytes + 1)
            chunks = [data]
            total = len(data)
            while data and total <= max_bytes:
                data = await reader.read(max_bytes + 1 - total)
                chunks.append(data)
                total += len(data)
            if total > max_bytes:
                raise _too_large(url, host, max_bytes, None)
            resp.body = b"".join(chunks)
        return resp
    finally:
        writer.transport.abort()  # we have what we need; no TLS close handshake to wait for


def _protocol(url: str, host: str, detail: str) -> HttpsError:
    return HttpsError(HttpsErrorKind.PROTOCOL, f"The web server at {host} gave an answer we couldn't read.",
                      detail, url=url)


def _too_large(url: str, host: str, limit: int, size: int | None) -> HttpsError:
    got = f" ({size} bytes)" if size is not None else ""
    return HttpsError(HttpsErrorKind.TOO_LARGE, f"The file at {url} is too large{got}; at most {limit // 1024} KB "
                      "is expected here.", f"limit {limit} bytes", url=url)


async def _read_line(reader: asyncio.StreamReader, url: str, host: str) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _protocol(url, host, "the connection closed before a complete answer") from None
        return exc.partial
    except asyncio.LimitOverrunError:
        raise _protocol(url, host, "a header line is too long") from None


async def _read_head(reader: asyncio.StreamReader, url: str, host: str) -> tuple[int, str, dict[str, str]]:
    line = (await _read_line(reader, url, host)).decode("latin-1").rstrip("\r\n")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise _protocol(url, host, f"status line {line[:80]!r}")
    status, reason = int(parts[1]), (parts[2] if len(parts) > 2 else "")
    headers: dict[str, str] = {}
    total = 0
    while True:
        raw = await _read_line(reader, url, host)
        total += len(raw)
        if total > MAX_HEADER_BYTES:
            raise _protocol(url, host, "the headers are too long")
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return status, reason, headers


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int, url: str, host: str) -> bytes:
    out = bytearray()
    while True:
        line = (await _read_line(reader, url, host)).decode("latin-1").strip()
        size_text = line.split(";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _protocol(url, host, f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            try:
                while (await _read_line(reader, url, host)).strip():  # trailers
                    pass
            except HttpsError:
                pass  # closed right after the last chunk: the body is complete
            return bytes(out)
        if len(out) + size > max_bytes:
            raise _too_large(url, host, max_bytes, None)
        try:
            out += await reader.readexactly(size)
            await reader.readexactly(2)
        except asyncio.IncompleteReadError:
            raise _protocol(url, host, "the connection closed in the middle of a chunk") from None
