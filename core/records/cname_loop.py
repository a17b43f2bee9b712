"""A name that can't be looked up because of its own CNAME records, in words that say what to change.

A CNAME loop (``_dmarc.example.com`` → ``_d2.example.com`` → ``_dmarc.example.com``) or a chain longer than
resolvers follow fails the same way for every receiver, today and tomorrow: it is "couldn't check", but never
"try again later". ``broken_chain(answer)`` tells such an answer apart from a timeout or SERVFAIL;
``loop_words(answer, domain)`` says it is a loop in the user's DNS (every name of it at or under ``domain``)
or in the DNS of whoever runs the name that points back, and which CNAME record to change. The DMARC, DKIM
and SPF checks and the DMARC tree walk's words share it.
"""

from __future__ import annotations

import re

from ..dns.client import CHAIN_ERROR, LOOP_ERROR, DnsAnswer, Outcome

__all__ = ["broken_chain", "loop_names", "loop_summary", "loop_words", "under"]

_NAMES = re.compile(r"\(([^()]*→[^()]*)\)\s*$")


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def under(name: str, domain: str) -> bool:
    """Is ``name`` ``domain`` itself or a name below it?"""
    n, d = _norm(name), _norm(domain)
    return bool(d) and (n == d or n.endswith("." + d))


def broken_chain(answer: DnsAnswer) -> bool:
    """The lookup failed because of the name's own CNAME records (a loop, or a chain too long to follow):
    waiting won't cure it."""
    return answer.outcome is Outcome.ERROR and answer.error.startswith((LOOP_ERROR, CHAIN_ERROR))


def loop_names(answer: DnsAnswer) -> list[str]:
    """The names of a CNAME loop in the order they point (the first name again at the end:
    ``[a, b, a]``), or [] when the answer is no loop or doesn't name them."""
    if answer.outcome is not Outcome.ERROR or not answer.error.startswith(LOOP_ERROR):
        return []
    m = _NAMES.search(answer.error)
    names = [_norm(n) for n in m.group(1).split("→")] if m else []
    return names if len(names) >= 2 and all(names) else []


def loop_words(answer: DnsAnswer, domain: str) -> str:
    """One or two sentences for a name that can't be looked up because of its CNAME records: what is wrong,
    whose DNS it is in, which record to change, and that waiting won't help ("" when ``answer`` is no such
    failure). ``domain`` is the domain checked: a loop whose names are all at or under it is in the user's
    own DNS."""
    if not broken_chain(answer):
        return ""
    name = _norm(answer.name)
    names = loop_names(answer)
    if answer.error.startswith(LOOP_ERROR) and names:
        owner, target = names[-2], names[-1]
        path = " → ".join(names)
        start = names.index(target)
        cycle, lead = names[start:], names[:start]  # the loop itself, and the CNAMEs that lead into it
        if all(under(n, domain) for n in names):
            return (f"{name} can't be looked up: its CNAME records go round in a loop in your DNS ({path}), so "
                    f"receivers can't read it either. Waiting won't fix it: change the CNAME record at {owner}, "
                    f"which points back to {target}. Point it at the name that holds the record (your mail "
                    "service's, if one keeps it for you), or delete it and publish the record itself instead.")
        mine = [i for i, n in enumerate(cycle[:-1]) if under(n, domain)]
        if mine:  # the loop passes through someone else's names too: change the user's own record in it
            i = mine[0]
            return (f"{name} can't be looked up: its CNAME records go round in a loop ({path}), so receivers "
                    f"can't read it either. Waiting won't fix it: your CNAME record at {cycle[i]} points to "
                    f"{cycle[i + 1]}, which leads back to it. Point yours at the name that holds the record (ask "
                    "the service that runs the other names which one), or delete it and publish the record "
                    "itself instead.")
        yours = [n for n in lead if under(n, domain)]
        return (f"{name} can't be looked up: its CNAME records go round in a loop ({path}), so receivers can't "
                f"read it either. Waiting won't fix it: the CNAME record at {owner}, which points back to {target}, "
                f"needs changing by whoever runs {owner}"
                + (f"; or point your CNAME record at {yours[-1]} at a name that works, or delete it and publish "
                   "the record itself instead." if yours else "."))
    if answer.error.startswith(LOOP_ERROR):
        where = "in your DNS" if under(name, domain) else f"in the DNS of {name}"
        return (f"{name} can't be looked up: its CNAME records go round in a loop {where}, so receivers can't "
                "read it either. Waiting won't fix it: the CNAME records on the way need correcting.")
    last = answer.cname_chain[-1] if answer.cname_chain else ""
    return (f"{name} can't be looked up: {CHAIN_ERROR}, more than receivers follow, so they can't read it either. "
            "Waiting won't fix it: point the CNAME record at " + name + " straight at the name that holds the "
            "record" + (f" (the chain reaches {last})." if last else "."))


def loop_summary(answer: DnsAnswer, domain: str) -> str:
    """A few words for a summary line: "_dmarc.example.com is caught in a CNAME loop in your DNS, which waiting
    won't fix" ("" when ``answer`` is no such failure)."""
    if not broken_chain(answer):
        return ""
    name = _norm(answer.name)
    if not answer.error.startswith(LOOP_ERROR):
        return f"{name} is a chain of CNAME records too long to follow, which waiting won't fix"
    names = loop_names(answer)
    if not names:
        return f"{name} is caught in a CNAME loop, which waiting won't fix"
    cycle = names[names.index(names[-1]):]
    mine = [n for n in cycle[:-1] if under(n, domain)]
    if all(under(n, domain) for n in names):
        where = f"in your DNS (the CNAME record at {names[-2]} points back to {names[-1]})"
    elif mine:
        where = f"through your CNAME record at {mine[0]}"
    else:
        where = f"in the DNS of {names[-2]}"
    return f"{name} is caught in a CNAME loop {where}, which waiting won't fix"
