"""A clean DMARC record for a policy (RFC 9989 §4.7): ``build_record`` keeps the useful tags of the
domain's current record and drops historic, unknown and invalid ones, with plain-words notes about what
changed. The DMARC check's suggested record, BIMI's "DMARC at enforcement" fix and the report summary's
next record are written by it.
"""

from __future__ import annotations

from typing import Any

from .dmarc_parse import DmarcRecord, format_record

REPORT_MAILBOX = "dmarc-reports"
# Report addresses: receivers only have to support mailto: and need send to no more than two per tag
# (RFC 7489 §6.2, kept by RFC 9989). A suggested record keeps at most that many.
KEEP_URIS = 2


def build_record(domain: str, p: str, base: DmarcRecord | None, *, testing: bool = False,
                 keep_sub_policies: bool = True, np: str | None = None,
                 mail: str | None = None) -> tuple[str, list[str]]:
    """A clean record for ``_dmarc.<domain>`` with policy ``p``, keeping the useful tags of ``base``
    (``sp``, ``np``, ``adkim``, ``aspf``, ``psd=n``, ``rua``, ``ruf``, ``fo``) and dropping historic,
    unknown and invalid ones. Returns the value and plain-English notes about what changed.

    ``mail`` is ``mx.mail_use`` of the domain: a domain that sends no mail (``no-mail``, ``unused``) gets
    no made-up report address; one that can't receive mail (``no-inbox``) is told so in the note."""
    notes: list[str] = []
    tags: list[tuple[str, str]] = [("p", p)]
    b = base
    if b is not None and keep_sub_policies:
        if b.sp:
            tags.append(("sp", b.sp))
        if np or b.np:
            tags.append(("np", np or b.np or ""))
    elif np:
        tags.append(("np", np))
    if testing:
        tags.append(("t", "y"))
    if b is not None:
        for t in ("adkim", "aspf"):
            v = getattr(b, t)
            if v:
                tags.append((t, v))
        if b.psd == "n" and keep_sub_policies:
            tags.append(("psd", "n"))
        elif b.psd == "y":
            notes.append("psd=y is left out: it is only for registries that run a public suffix.")
    rua = _kept_uris(b.rua, "rua", notes) if b is not None else []
    ruf = _kept_uris(b.ruf, "ruf", notes) if b is not None else []
    if rua:
        tags.append(("rua", ",".join(rua)))
        if b is not None and any(u.trailing_dot for u in b.rua):
            notes.append("The dot at the end of the report address is removed.")
    elif mail in ("no-mail", "unused"):
        pass  # nothing legitimate to report on, and nowhere at this domain to receive reports
    elif mail == "no-inbox":
        tags.append(("rua", f"mailto:{REPORT_MAILBOX}@{domain}"))
        notes.append(f"Reports will go to {REPORT_MAILBOX}@{domain}, but {domain} can't receive mail yet (see "
                     "MX): set up its mail service and that mailbox first, or replace the address with the one a "
                     "DMARC report service gives you.")
    else:
        tags.append(("rua", f"mailto:{REPORT_MAILBOX}@{domain}"))
        notes.append(f"Reports will go to {REPORT_MAILBOX}@{domain}: create that mailbox first, or replace the "
                     "address with the one a DMARC report service gives you.")
    if b is not None and ruf:
        tags.append(("ruf", ",".join(ruf)))
        if any(u.trailing_dot for u in b.ruf) and not any(u.trailing_dot for u in b.rua):
            notes.append("The dot at the end of the failure-report address is removed.")
        if b.fo:
            tags.append(("fo", ":".join(x for x in b.fo if not ("0" in b.fo and "1" in b.fo and x == "0"))))
    if b is not None:
        if b.historic:
            names = ", ".join(sorted(b.historic))
            many = len(b.historic) > 1
            notes.append(f"{names} {'are' if many else 'is'} left out: RFC 9989 removed "
                         f"{'these tags' if many else 'this tag'} and current receivers ignore "
                         f"{'them' if many else 'it'}.")
        if b.unknown:
            notes.append(f"Unknown tags left out: {', '.join(sorted(b.unknown))}.")
        if any(u.size for u in [*b.rua, *b.ruf]):
            notes.append("The obsolete !size limits on report addresses are left out.")
        dropped = sorted(t for t in b.invalid_tags if t not in ("p", "rua", "ruf"))
        if dropped:
            notes.append(f"Invalid tags left out: {', '.join(dropped)}.")
        bad_uris = [e.value for e in b.errors if e.code == "invalid-uri" and e.value]
        if bad_uris:
            notes.append(f"Invalid report addresses left out: {', '.join(bad_uris)}.")
    return format_record(tags), notes


def _kept_uris(uris: list[Any], tag: str, notes: list[str]) -> list[str]:
    """The report addresses a suggested record keeps: mailto: only (a javascript:, file: or https: address
    gets no reports and is what the check warns about), without repeats, at most ``KEEP_URIS``."""
    kept: list[str] = []
    dropped = [u.uri for u in uris if not u.is_mailto]
    for u in uris:
        if u.is_mailto and u.uri not in kept:
            kept.append(u.uri)
    if dropped:
        shown = ", ".join(x[:60] for x in dropped[:3]) + (f" and {len(dropped) - 3} more" if len(dropped) > 3 else "")
        notes.append(f"{tag}= addresses that are not mailto: are left out ({shown}): receivers only send reports "
                     "by e-mail.")
    if len(kept) > KEEP_URIS:
        notes.append(f"{tag}= keeps the first {KEEP_URIS} of its {len(kept)} addresses: receivers only promise to "
                     f"send reports to two. Left out: {', '.join(x[:60] for x in kept[KEEP_URIS:KEEP_URIS + 3])}"
                     + (f" and {len(kept) - KEEP_URIS - 3} more" if len(kept) > KEEP_URIS + 3 else "") + ".")
        kept = kept[:KEEP_URIS]
    return kept


__all__ = ["KEEP_URIS", "REPORT_MAILBOX", "build_record"]
