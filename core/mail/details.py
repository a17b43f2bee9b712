"""The typed ``detail`` shapes of a received message's report (``MessageReport``): one per card, its parts,
and the report's own ``detail``.

They describe what ``verdict`` (the SPF, DKIM, DMARC, ARC and compauth cards), ``delivery``, ``content``
and ``message`` (the report) write, and what comes back from JSON (the worker process sends the report as
JSON, the CLI's ``headers --json`` prints it). Front ends read a card's detail through them
(``cast(MessageDkimDetail, card.detail)``), as the domain check's cards read ``SpfDetail`` and the rest;
``tests/mail/test_message_details.py`` checks every shape against the reports of many messages (and of
hostile ones) after a trip through JSON, so a key the code stops writing or a value of another type fails
there, not on a user's screen.

A key that only some cards of a kind have sits in a ``total=False`` base (as in ``checks/spf.py``: Python
3.11 can't see ``NotRequired`` in postponed annotations). Every card always has ``result``,
``authserv_id`` and ``header``; the card of a message we couldn't read at all (``msg.internal-error``)
has only those.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "ArcDetail", "ArcSetDetail", "CompauthDetail", "ContentDetail", "DeliveryDetail", "DkimSignatureRow",
    "DmarcDkimDetail", "DmarcOtherDomainDetail", "DmarcSpfDetail", "MessageCardDetail", "MessageDetail",
    "MessageDkimDetail", "MessageDmarcDetail", "MessageSpfDetail", "OurDmarcDetail", "SpfOwnCheckDetail",
    "TrustedHeaderDetail",
]


class _CardBaseSometimes(TypedDict, total=False):
    # what the receiver wrote for this method: every card built from a believed header (or none)
    comment: str | None  # its comment, e.g. "body hash did not verify"
    reason: str | None  # its reason= property
    properties: dict[str, str]  # ptype.property = value (smtp.mailfrom, header.d, ...)


class MessageCardDetail(_CardBaseSometimes):
    """What every card of a message has."""

    result: str | None  # the receiver's result word (pass, fail, softfail, ...); None: not reported
    authserv_id: str | None  # the receiving service we believed; None: none
    header: str | None  # the header field the result was read from, as written


class SpfForwardDetail(TypedDict):
    """An older hop whose address the domain's SPF record allows (``message._earlier_pass``): a forward or a
    relay, said as a hint, never as evidence of a pass."""

    ip: str
    received: str  # that hop's Received line
    received_by: str | None
    relay: str | None  # the server that delivered the message to the receiver
    recipient_changed: bool  # the envelope recipient changed on the way: a forward, not an outbound relay
    first_recipient: str  # "" when the line names none


class SpfOwnCheckDetail(TypedDict, total=False):
    """Our own SPF check of the delivering server (``message._spf_recheck``)."""

    ip: str
    ip_source: str  # "received" (the receiver's Received line) or "top-received" (nothing believed)
    received_by: str | None
    said_ip: str | None  # the address the receiver's header named, if any (never believed alone)
    domain: str
    domain_source: str  # "receiver", "return-path" or "from"
    result: str  # check_host()'s result
    mechanism: str | None
    explanation: str | None
    forwarded: SpfForwardDetail | None  # only when the receiver's and our result both fail


class MessageSpfDetail(MessageCardDetail, total=False):
    """The SPF card: the receiver's result, which domain it was for, alignment with From, our own check."""

    source: str | None  # "Authentication-Results", "Received-SPF"; None: SPF not reported
    from_domain: str | None
    mailfrom: str | None
    mailfrom_domain: str | None
    helo: str | None
    client_ip: str | None
    aligned: bool | None  # None: no domain to compare
    alignment_mode: str  # "strict" or "relaxed"
    alignment: str  # alignment with From, in words
    org_domain_method: str  # "dns-tree-walk" or "simple-rule"
    received_spf: dict[str, Any] | None  # the Received-SPF header read (result, comment, params)
    receiver_said: str  # "spf=pass (...)": the receiver's own words
    our_check: SpfOwnCheckDetail


class _DkimSignatureRowSometimes(TypedDict, total=False):
    # only for a signature in the message (a result the receiver reported for none has none of these)
    i: str
    c: str
    l: int | None  # noqa: E741 - the tag's name
    h: list[str]
    t: str | None
    x: str | None
    b: str  # the start of the signature, to tell two apart
    our_detail: str
    body_hash_ok: bool | None
    key_bits: int | None
    suspects: list[dict[str, str]]


class DkimSignatureRow(_DkimSignatureRowSometimes):
    """One row of the DKIM card's signatures: a DKIM-Signature of the message, or a result the receiver
    reported for a signature we don't see (``index`` None)."""

    index: int | None  # 0 = the topmost DKIM-Signature; None: not in the message
    d: str | None
    s: str | None
    a: str | None
    result: str | None  # the receiver's result for it (None: it reported none)
    receiver_result: str | None
    receiver_comment: str | None
    aligned: bool | None  # d= belongs to the From domain
    our_result: str | None  # our own re-verification (None: not re-checked)
    our_reason: str | None
    our_explanation: str | None
    agree: bool | None  # the receiver and we agree (None: nothing to compare)


class MessageDkimDetail(MessageCardDetail, total=False):
    """The DKIM card: the receiver's results, every signature with our own re-verification, alignment."""

    results: list[str]  # the receiver's result words, in its order
    signatures: list[DkimSignatureRow]
    receiver_said: str | None  # its words for a result that didn't pass (None: all passed / none)
    from_domain: str | None
    aligned_pass: bool
    alignment_mode: str
    alignment: str
    reverified: bool  # we re-verified the signatures ourselves (a body and DNS)
    org_domain_method: str


class DmarcSpfDetail(TypedDict):
    domain: str | None
    result: str | None
    aligned: bool | None


class DmarcDkimDetail(TypedDict):
    d: str | None
    result: str
    aligned: bool


class OurDmarcDetail(TypedDict):
    """DMARC counted ourselves (``verdict.our_dmarc``)."""

    result: str  # pass, fail, none, temperror, permerror
    aligned_by: list[str]  # "spf", "dkim:<domain>"
    dkim_source: str  # "ours" or "receiver"
    policy: str | None
    record: str | None
    record_domain: str | None
    looked_up: bool


class DmarcOtherDomainDetail(TypedDict):
    """A DMARC result of the receiver about another domain than the message's From."""

    header_from: str
    result: str
    receiver_said: str
    header: str


class MessageDmarcDetail(MessageCardDetail, total=False):
    """The DMARC card: the receiver's result, the policy, what aligned, and our own count."""

    from_domain: str | None
    from_addresses: list[str]
    header_from: str | None
    policy: str | None
    subdomain_policy: str | None
    disposition: str | None
    spf: DmarcSpfDetail
    dkim: list[DmarcDkimDetail]
    alignment: str
    our_result: str
    ours: OurDmarcDetail
    receiver_said: str | None
    alignment_modes: dict[str, str]  # "spf"/"dkim" → "r" or "s"
    org_domains: dict[str, str]
    org_domain_method: str
    other_domain: DmarcOtherDomainDetail  # only when the receiver's result is about another domain


class ArcSetDetail(TypedDict, total=False):
    """One ARC set of the message (``message.arc_chain``): the seal's tags and the AAR's authserv-id."""

    i: str
    d: str | None
    s: str | None
    cv: str | None
    authserv_id: str | None


class ArcDetail(MessageCardDetail):
    chain: list[ArcSetDetail]


class CompauthDetail(MessageCardDetail):
    reason_code: str | None  # Microsoft's reason= code
    meaning: str | None  # that code in words


class DeliveryDetail(TypedDict):
    """The format and delivery card (``delivery.delivery_card``)."""

    tls: bool | None  # the hop into the receiver used TLS (None: can't tell)
    received: str | None  # the receiver's Received line for that hop
    list_unsubscribe: list[str]  # the List-Unsubscribe URIs
    one_click: bool  # RFC 8058 one-click unsubscribe (an https URI, List-Unsubscribe-Post, both DKIM-signed)
    one_click_signed: bool | None  # a valid DKIM signature covers both headers (None: not asked, or unverified)


class ContentDetail(TypedDict, total=False):
    """The content card (``content.analyze_content``); a body that couldn't be read has only ``result``."""

    result: None
    subject: str
    marketing: bool
    html: bool
    text_part: bool
    text_chars: int
    links: int
    link_domains: list[str]
    foreign_link_domains: list[str]
    from_org_domain: str | None
    images: int
    shorteners: list[str]
    visible_unsubscribe: bool
    postal_address: bool
    postal_address_heuristic: bool
    attachments: int
    problems: list[str]
    spamassassin: dict[str, Any] | None  # the score and rules; {"available": False}: not installed


class TrustedHeaderDetail(TypedDict):
    index: int  # the header field's position in the message (0 = the topmost)
    authserv_id: str | None
    header: str


class _MessageDetailSometimes(TypedDict, total=False):
    # everything but the report of a message we couldn't read at all (msg.internal-error: an empty detail)
    trusted_headers: list[TrustedHeaderDetail]
    ignored_headers: list[dict[str, Any]]  # index, authserv_id, reason, header
    unreadable_headers: list[dict[str, Any]]  # index, error, header
    received_spf: str | None
    boundary_index: int | None
    headers_only: bool
    dkim_reverified: bool
    org_domain_method: str
    header_count: int
    sending_ip: str | None  # the address the receiver's own Received line names
    sending_ip_received: str | None


class MessageDetail(_MessageDetailSometimes):
    """``MessageReport.detail``: which headers were believed or ignored, and why."""
