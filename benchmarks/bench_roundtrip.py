"""Round-trip benchmark (run by hand; needs Dovecot: apt-get install dovecot-imapd).

    python benchmarks/bench_roundtrip.py [--runs 20] [--delay 1.0]

Starts the same loopback servers as the tests (aiosmtpd receiving side with STARTTLS + AUTH, Dovecot
over IMAPS, the loopback DNS server), then runs ``roundtrip()`` repeatedly. The receiving server files
each message into the Maildir ``--delay`` seconds after accepting it, so the watcher is already waiting
when the message lands. Measured per run, on one monotonic clock:

- delivery → verdict: from the moment the message file is renamed into the mailbox (``new/``) to the
  moment ``roundtrip()`` reports "verified" (IDLE notice, NOOP + SEARCH, FETCH, analysis with DNS).
  Target: under 2 s with IDLE.
- the same with polling (IDLE switched off, 2 s poll interval) for comparison.
- the whole round trip (connect, send, wait, analyse) minus the artificial delay.

Dovecot itself waits 0.5 s after a mailbox change before it tells an IDLE client, so that is the floor
on this setup.
"""

from __future__ import annotations

import argparse
import logging
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from inboxready.core.dns.client import DnsClient
from inboxready.core.dns.server import DnsTestServer
from inboxready.core.mail.imap import Progress  # noqa: E402
from inboxready.core.mail.roundtrip import roundtrip  # noqa: E402
from inboxready.core.mail.profiles import ReadProfile, Security, SendProfile
from tests.mail.servers import (  # noqa: E402
    CertAuthority, Dovecot, ReceivingServer, Scenario, dkim_keypair, dovecot_binary,
)

SENDER, MAILBOX = "news@shop.test", "alice@inbox.test"


def shop_zone(public: str) -> str:
    from inboxready.core.model import quote_txt, split_txt

    key = " ".join(quote_txt(s) for s in split_txt(f"v=DKIM1; k=rsa; p={public}"))
    return ('@ IN TXT "v=spf1 ip4:127.0.0.1 -all"\n'
            f's1._domainkey IN TXT {key}\n'
            '_dmarc IN TXT "v=DMARC1; p=quarantine"\n')


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


async def series(smtp: ReceivingServer, dovecot: Dovecot, sp: SendProfile, rp: ReadProfile, dns_address: str,
                 runs: int, delay: float, use_idle: bool) -> tuple[list[float], list[float]]:
    to_verdict: list[float] = []
    totals: list[float] = []
    for _ in range(runs):
        smtp.scenario = Scenario(deliver_delay=delay)
        n = len(smtp.deliveries)
        verified_at: list[float] = []

        def progress(p: Progress) -> None:
            if p.stage == "verified":
                verified_at.append(time.monotonic())

        started = time.monotonic()
        r = await roundtrip(sp, rp, timeout=15, send_password=smtp.password, read_password=dovecot.password,
                            dns=DnsClient([dns_address], timeout=1.0), on_progress=progress, use_idle=use_idle)
        if r.status != "verified" or not verified_at:
            raise SystemExit(f"run failed: {r.status} {r.error}")
        delivery = smtp.deliveries[n]
        to_verdict.append(verified_at[0] - delivery.delivered_at)
        totals.append(time.monotonic() - started - delay)
    return to_verdict, totals


def report(name: str, values: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(values) * 1000:7.0f} ms   p90 {pct(values, 0.9) * 1000:7.0f} ms"
            f"   max {max(values) * 1000:7.0f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--delay", type=float, default=1.0, help="seconds between accepting and filing a message")
    ap.add_argument("--poll-runs", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's per-session notices
    if dovecot_binary() is None:
        print("Dovecot is not installed (apt-get install dovecot-imapd).", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="ir-bench-"))
    ca = CertAuthority(folder)
    cert, key = ca.issue("server", ["localhost"], ["127.0.0.1"])
    dns_server = DnsTestServer()
    dns_server.start()
    dovecot = Dovecot(cert, key, user=MAILBOX)
    smtp = None
    try:
        dovecot.start()
        pem, public = dkim_keypair()
        dns_server.add_zone("shop.test", shop_zone(public))
        dns_server.add_origin("inbox.test")
        smtp = ReceivingServer(dovecot, dns_server.address, ca.server_context(cert, key), username=SENDER,
                               dkim_key=pem).start()
        sp = SendProfile(name="bench", host="localhost", port=smtp.port, security=Security.STARTTLS, username=SENDER,
                         from_addr=SENDER, ca_file=str(ca.ca_file))
        rp = ReadProfile(name="bench", host="127.0.0.1", port=dovecot.imaps_port, security=Security.SSL,
                         username=MAILBOX, address=MAILBOX, ca_file=str(ca.ca_file), authserv_ids=["inbox.test"])
        idle, idle_total = asyncio.run(series(smtp, dovecot, sp, rp, dns_server.address, args.runs, args.delay, True))
        poll, _ = asyncio.run(series(smtp, dovecot, sp, rp, dns_server.address, args.poll_runs, args.delay, False))
        print(f"{args.runs} round trips with IDLE, {args.poll_runs} with polling; message filed {args.delay:g} s "
              "after the SMTP server accepted it")
        print(report("delivery -> verdict, IDLE", idle))
        print(report("delivery -> verdict, polling (2 s)", poll))
        print(report("whole round trip minus delay, IDLE", idle_total))
        ok = statistics.median(idle) < 2.0 and max(idle) < 2.0
        print("target (< 2 s with IDLE):", "met" if ok else "NOT met")
        return 0 if ok else 1
    finally:
        if smtp is not None:
            smtp.stop()
        dovecot.stop()
        dns_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
