"""TLS reports in the reports window's domain list and views: every domain a TLS report's policy names is
listed (a report about two domains is under both), and the reports that name no domain are listed under
"no domain named" and with every view of their period, as the import card lists them."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from inboxready.core.reports.store import ReportStore
from inboxready.core.worker.reports import NO_DOMAIN, build_view, list_domains
from tests.reports.reports_util import good_row, report_xml

DAY = 86400
NOW = int(time.time()) // DAY * DAY


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tls_report(report_id: str, policies: list[tuple[str | None, str, int, int]], begin: int = NOW - DAY) -> bytes:
    """An RFC 8460 report; each policy (policy-domain or None for none, type, successful, failed); a failure
    is a certificate-expired one."""
    pols: list[dict[str, Any]] = []
    for domain, ptype, ok, failed in policies:
        pol: dict[str, Any] = {"policy-type": ptype}
        if domain is not None:
            pol["policy-domain"] = domain
        entry: dict[str, Any] = {"policy": pol, "summary": {"total-successful-session-count": ok,
                                                            "total-failure-session-count": failed}}
        if failed:
            entry["failure-details"] = [{"result-type": "certificate-expired", "failed-session-count": failed}]
        pols.append(entry)
    return json.dumps({"organization-name": "Google Inc.", "report-id": report_id, "contact-info": "x@google.test",
                       "date-range": {"start-datetime": _iso(begin), "end-datetime": _iso(begin + DAY - 1)},
                       "policies": pols}).encode()


def fill(store: ReportStore) -> None:
    store.import_bytes("shop.xml", report_xml("google.com", "r1", "shop.test", NOW - DAY,
                                              [good_row("203.0.113.5", 10)]))
    store.import_bytes("nameless.json", tls_report("nameless", [(None, "no-policy-found", 3, 2)]))
    store.import_bytes("two.json", tls_report("two", [("example.org", "sts", 5, 0), ("example.net", "sts", 2, 1)]))


def test_every_domain_a_tls_policy_names_is_listed_and_the_unnamed_ones_last(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "db.sqlite3") as store:
        fill(store)
        infos = list_domains(store)
        assert [(i.domain, i.dmarc_reports, i.tls_reports) for i in infos] == [
            ("shop.test", 1, 0), ("example.net", 0, 1), ("example.org", 0, 1), (NO_DOMAIN, 0, 1)]
        assert infos[-1].caption == "No domain named  (1 TLS report)"
        net = build_view(store, "example.net", 30, infos[1])
        assert [(t.policy_domain, t.successful, t.failed) for t in net.tls] == [("example.net", 2, 1)]
        shop = build_view(store, "shop.test", 30, infos[0])
        (u,) = shop.tls_unnamed
        assert (u.org, u.report_id, u.name, u.successful, u.failed, u.failure_types) == (
            "Google Inc.", "nameless", "nameless.json", 3, 2, {"certificate-expired": 2})
        assert shop.summary.tls["unknown_domain"] == [{"org": "Google Inc.", "report_id": "nameless", "sessions": 5}]
        none = build_view(store, NO_DOMAIN, None, infos[-1])
        assert [x.report_id for x in none.tls_unnamed] == ["nameless"] and not none.tls
        assert none.summary.reports == 0 and none.summary.tls == {}
        # out of the period: not in a view of the last 7 days
        store.import_bytes("old.json", tls_report("old", [(None, "sts", 1, 0)], begin=NOW - 20 * DAY))
        assert [x.report_id for x in build_view(store, "shop.test", 7, infos[0]).tls_unnamed] == ["nameless"]
        assert [x.report_id for x in build_view(store, NO_DOMAIN, None, list_domains(store)[-1]).tls_unnamed] == [
            "old", "nameless"]


def test_a_store_with_only_unnamed_tls_reports_lists_them(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "db.sqlite3") as store:
        store.import_bytes("nameless.json", tls_report("nameless", [(None, "sts", 3, 0)]))
        (info,) = list_domains(store)
        assert info.domain == NO_DOMAIN and info.oldest == NOW - DAY
        assert [x.report_id for x in build_view(store, NO_DOMAIN, 30, info).tls_unnamed] == ["nameless"]
