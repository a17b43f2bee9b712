"""How a domain stands against the Google / Yahoo / Microsoft bulk-sender rules that DNS can show.

Only what a domain check can see is judged here (records published, DMARC stage). Rules that need a real
message (alignment, one-click unsubscribe, TLS, spam rate) are not: the round-trip check covers those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .model import CheckResult, Status

MET = "met"
NOT_MET = "not-met"
UNKNOWN = "unknown"  # couldn't check
PENDING = "pending"  # the check has not finished yet

# Who asks for what, and since when. Google and Yahoo: February 2024; Microsoft (Outlook.com, Hotmail,
# Live): May 2025. All three ask bulk senders (about 5,000+ messages a day) for SPF and DKIM and a
# DMARC record (p=none is enough), with From aligned to SPF or DKIM.
SOURCES = (
    "Google email sender guidelines (February 2024); Yahoo Sender Hub best practices (February 2024); "
    "Microsoft Outlook.com requirements for high-volume senders (May 2025)"
)


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    state: str  # met | not-met | unknown | pending
    detail: str
    required: bool = True  # False: recommended, not required by the providers

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "state": self.state, "detail": self.detail,
                "required": self.required}


def _state(result: CheckResult | None) -> str | None:
    if result is None:
        return PENDING
    if result.status is Status.ERROR:
        return UNKNOWN
    return None


def bulk_sender_readiness(checks: Mapping[str, CheckResult]) -> list[Requirement]:
    """The bulk-sender requirements a domain check can judge, in the order people fix them."""
    out: list[Requirement] = []

    spf = checks.get("spf")
    state = _state(spf)
    if state is None and spf is not None:
        record = spf.detail.get("record")
        if not record:
            state, text = NOT_MET, "No SPF record is published."
        elif spf.status is Status.FAIL:
            state, text = NOT_MET, "An SPF record exists but receivers will treat it as broken."
        else:
            state, text = MET, "An SPF record is published and valid."
    else:
        text = "Waiting for the SPF check." if state == PENDING else "The SPF record could not be looked up."
    out.append(Requirement("spf", "SPF record", state, text))

    dkim = checks.get("dkim")
    state = _state(dkim)
    if state is None and dkim is not None:
        found = [k for k in dkim.detail.get("found", []) if not k.get("revoked")]
        usable = [k for k in found if k.get("status") != "fail"]
        if usable:
            names = ", ".join(sorted({str(k.get("selector")) for k in usable}))
            state, text = MET, f"DKIM key found (selector {names})."
        elif found:
            state, text = NOT_MET, "A DKIM key was found but it is too weak or broken to be trusted."
        else:
            tried = dkim.detail.get("selectors_tried", 0)
            state = UNKNOWN
            text = (f"No DKIM key found among the {tried} selectors we tried; it may use one we don't know. "
                    "Add your selector to check it.")
    else:
        text = "Waiting for the DKIM check." if state == PENDING else "The DKIM keys could not be looked up."
    out.append(Requirement("dkim", "DKIM signing key", state, text))

    dmarc = checks.get("dmarc")
    state = _state(dmarc)
    if state == UNKNOWN and dmarc is not None and dmarc.detail.get("policy"):
        state = None  # the record and its policy are known; only a side lookup (report address) failed
    policy = None
    if state is None and dmarc is not None:
        policy = dmarc.detail.get("policy")
        if dmarc.detail.get("record") and policy in ("none", "quarantine", "reject"):
            state, text = MET, f"A DMARC record is published (p={policy})."
        elif dmarc.detail.get("record"):
            state, text = NOT_MET, "A DMARC record exists but it is not valid."
        else:
            state, text = NOT_MET, "No DMARC record is published."
    else:
        text = "Waiting for the DMARC check." if state == PENDING else "The DMARC record could not be looked up."
    out.append(Requirement("dmarc", "DMARC record", state, text))

    if dmarc is None:
        enf_state, enf_text = PENDING, "Waiting for the DMARC check."
    elif dmarc.status is Status.ERROR and not dmarc.detail.get("policy"):
        enf_state, enf_text = UNKNOWN, "The DMARC record could not be looked up."
    elif policy in ("quarantine", "reject") and not dmarc.detail.get("testing"):
        enf_state, enf_text = MET, f"DMARC is enforced (p={policy}): spoofed mail is stopped."
    else:
        stage = dmarc.detail.get("stage") or "none"
        enf_state = NOT_MET
        enf_text = ("DMARC is in monitoring mode: allowed for bulk senders, but spoofed mail is not stopped yet."
                    if stage in ("monitoring", "quarantine") else "DMARC is not enforced.")
    out.append(Requirement("enforcement", "DMARC enforcement", enf_state, enf_text, required=False))
    return out


def readiness_headline(reqs: list[Requirement], checks: Mapping[str, CheckResult] | None = None) -> str:
    """One sentence for the top of the window or report. With ``checks``, a domain that sends no mail
    (or looks unused: no MX and no SPF) is told the rules don't apply, rather than to fix SPF and DKIM."""
    required = [r for r in reqs if r.required]
    if any(r.state == PENDING for r in required):
        return "Checking against the Google, Yahoo and Microsoft sender rules…"
    mx = checks.get("mx") if checks is not None else None
    if mx is not None and any(f.code == "mx.domain-not-found" for f in mx.findings):
        return "This domain does not exist in DNS, so it can't send mail at all; check the spelling."
    if mx is not None and mx.detail.get("parked"):
        spf = checks.get("spf") if checks is not None else None
        if (spf is not None and spf.detail.get("record")) or mx.detail.get("null_mx"):
            return "This domain says it sends no mail, so the bulk-sender rules don't apply to it."
        return ("This domain looks unused for email (no MX and no SPF record); the bulk-sender rules only "
                "matter once it sends mail.")
    missing = [r.label for r in required if r.state == NOT_MET]
    unknown = [r.label for r in required if r.state == UNKNOWN]
    if missing:
        return "Not ready for the Google, Yahoo and Microsoft bulk-sender rules yet: fix the " + \
            _join(missing) + "."
    if unknown:
        return "Could not confirm everything for the bulk-sender rules: " + ", ".join(unknown) + " unknown."
    return "Meets the Google, Yahoo and Microsoft bulk-sender rules that DNS can show."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
