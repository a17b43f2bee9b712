"""The CLI never cuts a record where it wraps text (review M5): a value is printed whole on a line of its own,
text wraps at spaces only (never at a hyphen of a host name, never inside a `backticked value`)."""

from __future__ import annotations

import io
import json
import re

from inboxready.app.cli import main
from inboxready.app.demo import load_demo


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_wrap_breaks_at_spaces_only() -> None:
    from inboxready.app.cli.out import wrap_lines

    text = ("At your DNS host: Type `TXT`, Name `_dmarc`, Value `v=DMARC1; p=none; rua=mailto:dmarc-reports@"
            "shop-with-a-long-name.example`, TTL `3600`. The include:news.demo-senders.example costs five lookups.")
    for width in range(20, 120, 7):
        lines = wrap_lines(text, "  ", width)
        assert " ".join(x.strip() for x in lines) == text, width
        assert all(x.count("`") % 2 == 0 for x in lines), (width, lines)
        assert not any(re.search(r"[a-z]-$", x) for x in lines), (width, lines)
    long_word = "v=spf1" + "".join(f" ip4:192.0.2.{i}" for i in range(40))
    assert wrap_lines(f"`{long_word}`", "", 50) == [f"`{long_word}`"]


def test_every_record_of_the_demo_is_printed_whole_on_its_own_line() -> None:
    domains = [d.domain for d in load_demo().domains]
    code, text, err = _run("check", "--demo", *domains, "--color", "never")
    code, js, err = _run("check", "--demo", *domains, "--json")
    lines = text.splitlines()
    values = set()
    for report in json.loads(js):
        for check in report["checks"].values():
            for f in check["findings"]:
                for fx in [f.get("fix")] + list(f.get("alternatives") or []):
                    if fx:
                        values.add(fx["value"])
                        values.update(x["value"] for x in fx.get("also_publish") or [])
    assert len(values) > 10
    stripped = [x.strip() for x in lines]
    for v in values:
        if len(v) > 60 and re.search(r"[A-Za-z0-9+/]{60,}", v):
            continue  # a DKIM key is shortened in the text output (the JSON has it whole)
        assert stripped.count(v) >= 2, v  # the record, and again as the DNS host's form wants it
    assert all(x.count("`") % 2 == 0 for x in lines), [x for x in lines if x.count("`") % 2]
    assert not [x for x in lines if re.search(r"[a-z]-$", x)]
    # the two-SPF fix says to delete the other record, in the host's words too
    i = next(i for i, x in enumerate(lines) if "Your domain has 2 SPF records" in x)
    block = " ".join(x.strip() for x in lines[i:i + 12])
    assert "delete any other SPF record" in block
