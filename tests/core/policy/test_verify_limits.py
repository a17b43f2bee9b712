"""Issue 13, item 9: ``verify`` unpacks a PDF's streams within limits; a crafted PDF is refused with a
reason, never a MemoryError or gigabytes of memory. The hostile files are made by the test."""

from __future__ import annotations

import io
import tracemalloc
import zlib
from pathlib import Path

from inboxready.app.cli import main
from inboxready.core.policy import audit as A


def flate_bomb(unpacked_mb: int) -> bytes:
    """A zlib stream of ``unpacked_mb`` MB of zeros (about 1 KB per MB packed)."""
    c = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    return b"".join(c.compress(chunk) for _ in range(unpacked_mb)) + c.flush()


def pdf_with_streams(*bodies: bytes) -> bytes:
    parts = [b"%PDF-1.7\n"]
    for i, body in enumerate(bodies, 1):
        parts.append(b"%d 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n" % (i, len(body)) + body
                     + b"\nendstream\nendobj\n")
    parts.append(b"trailer\n<< /Size 1 >>\nstartxref\n0\n%%EOF\n")
    return b"".join(parts)


def peak_mb(fn) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_stream_is_refused_without_unpacking_it() -> None:
    bomb = pdf_with_streams(flate_bomb(400))  # 400 MB of zeros in about 400 KB
    assert len(bomb) < 2 << 20
    (ok, why), peak = peak_mb(lambda: A.explain(bomb))
    assert not ok and "unpacks to more than 16 MB" in why
    assert peak < 80  # bounded: one stream's limit, not the 400 MB


def test_many_streams_that_together_are_too_much_are_refused() -> None:
    bomb = pdf_with_streams(*[flate_bomb(15)] * 6)  # each under the limit, 90 MB together
    (ok, why), peak = peak_mb(lambda: A.explain(bomb))
    assert not ok and "more than 64 MB" in why and peak < 120


def test_a_pdf_of_countless_tiny_streams_is_refused() -> None:
    data = b"%PDF-1.7\n" + b"1 0 obj\n<< >>\nstream\nx\nendstream\n" * 20_000 + b"%%EOF\n"
    ok, why = A.explain(data)
    assert not ok and "more than 5,000 parts" in why


def test_streams_far_from_any_object_header_cost_no_backward_scans() -> None:
    # "stream" a million times with no "obj" anywhere: each look back is bounded
    data = b"%PDF-1.7\n" + b"stream\n" * 4000 + b"endstream\n"
    ok, _ = A.explain(data)
    assert not ok


def test_the_verify_command_refuses_a_bomb_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_with_streams(flate_bomb(300)))
    out, err = io.StringIO(), io.StringIO()
    code = main(["verify", str(path)], out=out, err=err)
    assert code == 1 and "unpacks to more than" in out.getvalue() and "intact" not in out.getvalue()
    assert A.main(["verify", str(path)]) == 1
