"""Reading a received message: how long ``analyze_message`` takes on a typical pasted header block and on
huge or hostile ones (the speed target that used to be a timed unit test; the test now checks only the
result).

    python benchmarks/bench_message.py

Everything is generated here; no DNS (the receiver's verdict and our parsing only). Prints one JSON line per
input: median and worst milliseconds over the runs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxready.core.mail.message import analyze_message  # noqa: E402

TYPICAL = (b"Authentication-Results: mx.google.com;\r\n dkim=pass header.i=@shop.example header.s=s1;\r\n"
           b" spf=pass smtp.mailfrom=bounce@shop.example; dmarc=pass header.from=shop.example\r\n"
           b"Received: from out.shop.example (out.shop.example. [192.0.2.10]) by mx.google.com with ESMTPS id x1\r\n"
           b"From: Shop <news@shop.example>\r\nTo: alice@gmail.example\r\nSubject: Spring sale\r\n"
           b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n\r\nHello!\r\n")

INPUTS = {
    "typical pasted message": TYPICAL,
    # blank lines, a 2 MB From, 100,000 encoded words in the Subject (was tests/mail/test_message.py's
    # test_huge_inputs_stay_quick, target 1.5 s)
    "huge header block (4.4 MB)": (b"\n" * 1_000_000 + b"From: " + b"a" * 2_000_000 + b"@b.example\r\nSubject: "
                                   + b"=?utf-8?q?x?= " * 100_000 + b"\r\n\r\nbody"),
    "10,000 Authentication-Results fields": (b"Authentication-Results: mx.example.net; spf=pass\r\n" * 10_000
                                             + b"From: a@b.example\r\n\r\nbody"),
}
TARGET_MS = {"typical pasted message": 50, "huge header block (4.4 MB)": 1500,
             "10,000 Authentication-Results fields": 1500}


def main(runs: int = 5) -> None:
    for name, raw in INPUTS.items():
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            asyncio.run(analyze_message(raw))
            times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({"input": name, "runs": runs, "median_ms": round(statistics.median(times), 1),
                          "worst_ms": round(max(times), 1), "target_ms": TARGET_MS[name]}))


if __name__ == "__main__":
    main()
