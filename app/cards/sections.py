"""Each card's own sections, in order (each is one step of building a card's body): one module per card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from inboxready.core.model import CheckResult

from . import bimi, checklist, compliance, dkim, dmarc, dnssec, mta_sts, mx, rdns, spf, starttls, tls_rpt

Section = Callable[[Any, CheckResult], "QWidget | None"]

PROTOCOL_SECTIONS: dict[str, list[Section]] = {
    "spf": [spf.spf_section],
    "dkim": [dkim.dkim_section, dkim.dkim_selectors_section],
    "dmarc": [dmarc.dmarc_section],
    "mx": [mx.mx_section],
    "mta_sts": [mta_sts.mta_sts_section],
    "tls_rpt": [tls_rpt.tls_rpt_section],
    "bimi": [bimi.bimi_section],
    "dnssec": [dnssec.dnssec_section],
    "rdns": [rdns.rdns_section],
    "starttls": [starttls.starttls_section],
    "checklist": [checklist.checklist_head, *(checklist._checklist_chunk(n) for n in range(8)),
                  checklist.checklist_tail],
    "compliance": [compliance.compliance_head, *(compliance._compliance_chunk(n) for n in range(8)),
                   compliance.compliance_tail],
}
