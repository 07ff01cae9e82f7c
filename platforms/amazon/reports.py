"""Daily metrics through Amazon's asynchronous Reporting v3 (PLATFORM-FACTS 4.4).

A report is requested (`POST /reporting/reports`), polled (`GET /reporting/reports/{id}`)
until it is COMPLETED, then downloaded from the pre-signed `url` it names: gzip-compressed
JSON, an array of rows keyed by column name. `Reports.start` requests every report a range
needs (one per level per span of at most `MAX_SPAN_DAYS` days) and `Reports.rows` waits for
them all, polling with a growing pause, and returns their rows.

The metric columns are the report fields the catalog maps (platforms/amazon/catalog.yaml).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.core.execution import PermanentError, TransientError

MEDIA = "application/vnd.createasyncreportrequest.v3+json"
# One report covers at most 31 days (UNVERIFIED upper bound; larger ranges are split).
MAX_SPAN_DAYS = 31
# An identical request while a report is pending is refused with 425, naming that report.
_DUPLICATE = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)


@dataclass(frozen=True)
class ReportType:
    level: str  # the level of its rows (the targeting report's rows are keywords or product targets)
    type_id: str
    group_by: tuple[str, ...]
    ids: tuple[str, ...]  # the columns naming a row's entity and its parents
    optional: tuple[str, ...] = ()  # those of them a row may lack

    @property
    def required(self) -> tuple[str, ...]:
        return ("date", *(c for c in self.ids if c not in self.optional))


REPORTS: tuple[ReportType, ...] = (
    ReportType("campaign", "spCampaigns", ("campaign",), ("campaignId",)),
    ReportType("ad_group", "spCampaigns", ("campaign", "adGroup"), ("campaignId", "adGroupId")),
    ReportType(
        "keyword", "spTargeting", ("targeting",), ("campaignId", "adGroupId", "keywordId", "matchType"), ("matchType",)
    ),
    ReportType(
        "search_term",
        "spSearchTerm",
        ("searchTerm",),
        ("campaignId", "adGroupId", "keywordId", "searchTerm"),
        ("keywordId",),
    ),
)


@dataclass
class Job:
    report: ReportType
    start: date
    end: date
    report_id: str
    url: str | None = None

    @property
    def what(self) -> str:
        return f"report {self.report_id} ({self.report.level} metrics {self.start}..{self.end})"


@dataclass
class Reports:
    """Requests, waits for and reads reports through the adapter's calls (`api`: JSON; `download`: bytes)."""

    api: Callable[..., Any]
    download: Callable[[str], bytes]
    metric_columns: tuple[str, ...]
    sleep: Callable[[float], None]
    poll_interval: float = 2.0  # the first pause between polls; each next one is 1.5 times longer
    max_pause: float = 60.0
    max_wait: float = 900.0  # the total pause before giving up on a report
    waited: float = field(default=0.0, init=False)

    def start(self, date_from: date, date_to: date, reports: Iterable[ReportType] = REPORTS) -> list[Job]:
        jobs = []
        for start, end in spans(date_from, date_to):
            for report in reports:
                jobs.append(Job(report, start, end, self._create(report, start, end)))
        return jobs

    def rows(self, jobs: list[Job]) -> Iterable[tuple[ReportType, dict[str, Any]]]:
        """Every row of every report (waiting for those not ready), with the report type it came from."""
        self._wait(jobs)
        for job in jobs:
            assert job.url is not None
            for row in parse(self.download(job.url), job):
                yield job.report, row

    # -- internals

    def _create(self, report: ReportType, start: date, end: date) -> str:
        body = {
            "name": f"rulerun {report.level} {start}..{end}",
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "configuration": {
                "adProduct": "SPONSORED_PRODUCTS",
                "groupBy": list(report.group_by),
                "columns": ["date", *report.ids, *self.metric_columns],
                "reportTypeId": report.type_id,
                "timeUnit": "DAILY",
                "format": "GZIP_JSON",
            },
        }
        try:
            answer = self.api("POST", "/reporting/reports", media=MEDIA, body=body)
        except PermanentError as exc:
            # a crashed or concurrent sync asked for the same report: use that one
            found = _DUPLICATE.search(str((exc.details or {}).get("body", ""))) if _status(exc) == 425 else None
            if found is None:
                raise
            return found.group(1)
        report_id = answer.get("reportId") if isinstance(answer, dict) else None
        if not isinstance(report_id, str) or not report_id:
            raise PermanentError("malformed response: a report request answered without a reportId")
        return report_id

    def _wait(self, jobs: list[Job]) -> None:
        pause = self.poll_interval
        while True:
            pending = [job for job in jobs if job.url is None]
            for job in pending:
                self._poll(job)
            pending = [job for job in pending if job.url is None]
            if not pending:
                return
            if self.waited + pause > self.max_wait:
                raise TransientError(
                    f"{pending[0].what} was not ready after {self.waited:.0f} s of waiting "
                    f"({len(pending)} report(s) pending); Amazon may take hours: sync again later"
                )
            self.sleep(pause)
            self.waited += pause
            pause = min(pause * 1.5, self.max_pause)

    def _poll(self, job: Job) -> None:
        status = self.api("GET", f"/reporting/reports/{job.report_id}")
        state = status.get("status") if isinstance(status, dict) else None
        if state == "COMPLETED":
            url = status.get("url")
            if not isinstance(url, str) or not url:
                raise PermanentError(f"malformed response: {job.what} is COMPLETED without a download url")
            job.url = url
        elif state == "FAILED":
            reason = status.get("failureReason") or "no reason given"
            raise TransientError(f"{job.what} failed: {reason}")
        elif state not in ("PENDING", "PROCESSING"):
            raise PermanentError(f"malformed response: {job.what} has status {state!r}")


def spans(date_from: date, date_to: date) -> list[tuple[date, date]]:
    """The inclusive range cut into spans a report may cover."""
    out = []
    start = date_from
    while start <= date_to:
        end = min(date_to, start + timedelta(days=MAX_SPAN_DAYS - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def parse(data: bytes, job: Job) -> list[dict[str, Any]]:
    """A downloaded report (gzip-compressed JSON, or plain JSON when the transport unpacked it) -> its rows."""
    try:
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        rows = json.loads(text)
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError):
        raise PermanentError(f"malformed {job.what}: not gzip-compressed JSON") from None
    if not isinstance(rows, list):
        raise PermanentError(f"malformed {job.what}: expected an array of rows")
    required = job.report.required
    for row in rows:
        missing = [c for c in required if not isinstance(row, dict) or row.get(c) in (None, "")]
        if missing:
            raise PermanentError(f"malformed {job.what}: a row without {', '.join(missing)}")
        try:
            day = date.fromisoformat(str(row["date"])[:10])
        except ValueError:
            raise PermanentError(f"malformed {job.what}: date {row['date']!r}") from None
        if not job.start <= day <= job.end:
            raise PermanentError(f"malformed {job.what}: a row dated {day}, outside {job.start}..{job.end}")
    return rows


def _status(exc: PermanentError) -> int | None:
    return exc.details.get("status") if isinstance(exc.details, dict) else None
