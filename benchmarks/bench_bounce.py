"""Bounce to fix: how long reading a bounce takes (typical and hostile ones) and the whole act step on loopback.

    python benchmarks/bench_bounce.py

Everything is generated (tests/bounce/dsnmaker.py); the act step runs against a loopback DNS server with
30 ms added to every answer, as the engine benchmark does.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxready.core.bounce import analyze_bounce, read_bounce  # noqa: E402
from inboxready.core.context import CheckOptions  # noqa: E402
from inboxready.core.dns.server import DnsTestServer
from tests.bounce.dsnmaker import (  # noqa: E402
    IP, google_dsn, microsoft_ndr, postfix_dsn, returned_headers,
)
from tests.bounce.test_act import GMAIL, GOOGLE_SPF, REVERSE, UNAUTH, ZONE  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    typical = {
        "Postfix DSN (Gmail 5.7.26)": postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1]),
        "Gmail's DSN (5.1.1)": google_dsn("550 5.1.1 <dave@receiver.example>: User unknown",
                                         recipient="dave@receiver.example"),
        "Microsoft NDR (5.7.509)": microsoft_ndr("550 5.7.509 Access denied, sending domain shop.example does not "
                                                 "pass DMARC verification and has a DMARC policy of reject.",
                                                 recipient="bob@contoso.example"),
    }
    print("| what | median | worst |\n|---|---|---|")
    for name, raw in typical.items():
        med, worst = timed(lambda raw=raw: read_bounce(raw), 200)
        print(f"| read {name} | {med:.2f} ms | {worst:.2f} ms |")
    flood = "".join(f"X-Flood-{i}: \x1b[2Jx\r\n" for i in range(10_000)) + returned_headers()
    nest = "".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(5000))
    hostile = {
        "10 MB of junk": b"From: a@b.example\r\nTo: c@d.example\r\n\r\n" + b"A" * (10 * 1024 * 1024),
        "a returned message with 10,000 header fields": postfix_dsn(UNAUTH.format(ip=IP), recipient=GMAIL[0],
                                                                     remote_mta=GMAIL[1], headers=flood,
                                                                     returned="message"),
        "a returned message nested 5,000 deep": postfix_dsn(
            UNAUTH.format(ip=IP), recipient=GMAIL[0], remote_mta=GMAIL[1], returned="message",
            headers='From: x@evil.example\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n' + nest),
    }
    for name, raw in hostile.items():
        med, worst = timed(lambda raw=raw: read_bounce(raw), 5)
        print(f"| read {name} | {med:.0f} ms | {worst:.0f} ms |")

    server = DnsTestServer(latency=0.03)
    server.start()
    server.add_zone("shop.example", ZONE)
    server.add_zone("2.0.192.in-addr.arpa", REVERSE)
    server.add_zone("google.com", GOOGLE_SPF)
    server.add_origin("example")
    raw = typical["Postfix DSN (Gmail 5.7.26)"]

    def act() -> None:
        opts = CheckOptions(nameservers=[server.address], timeout=2.0)
        r = asyncio.run(analyze_bounce(raw, options=opts))
        assert r.fixes, "the act step found no fix"

    med, worst = timed(act, 10)
    print(f"| the whole act step for a Gmail 5.7.26 bounce (SPF for the sender + the fix checked as if "
          f"published, DKIM at its selector, DMARC, reverse DNS), 30 ms per DNS answer | {med:.0f} ms | "
          f"{worst:.0f} ms |")
    server.stop()


if __name__ == "__main__":
    main()
