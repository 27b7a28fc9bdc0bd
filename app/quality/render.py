"""The quality report as CSV (for spreadsheets) and as a printable HTML page with inline SVG bars.

Every piece of text in the HTML is escaped, and the CSV neutralises cells a spreadsheet would
run as a formula: team and district names come from agency systems, not from us.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from app.pages import csv_cell, html_page, label
from app.pages import html_text as _e
from app.quality.report import QualityReport, Scope

NOT_RECORDED = "(not recorded)"


# --- CSV -------------------------------------------------------------------------------------


def _scope_rows(section: str, scope: Scope) -> Iterator[tuple[str, str, str, object]]:
    group = "" if section == "overall" else scope.group or NOT_RECORDED
    delay = scope.submission_delay
    yield section, group, "ppns", scope.ppns
    yield section, group, "no_findings", scope.no_findings.count
    yield section, group, "no_findings_rate", scope.no_findings.rate
    yield section, group, "ethnicity_recorded", scope.ethnicity_recorded.count
    yield section, group, "ethnicity_recorded_rate", scope.ethnicity_recorded.rate
    yield section, group, "delay_measured", delay.measured
    yield section, group, "delay_median_hours", delay.median_hours
    yield section, group, "delay_p90_hours", delay.p90_hours
    for rule in scope.rules:
        yield section, group, f"failures:{rule.rule_id}", rule.failures
        yield section, group, f"rate:{rule.rule_id}", rule.rate


def to_csv(report: QualityReport) -> str:
    """One figure per row (section, group, measure, value) under a single header row."""
    rows: list[tuple[str, str, str, object]] = [
        ("period", "", "from", report.period_from.isoformat()),
        ("period", "", "to", report.period_to.isoformat()),
        ("period", "", "timezone", report.timezone),
        ("period", "", "group_by", report.group_by or ""),
    ]
    rows += _scope_rows("overall", report.overall)
    for scope in report.groups:
        rows += _scope_rows("group", scope)
    missing = report.incidents_without_ppn
    for measure in ("window_hours", "eligible_incidents", "incidents", "children", "rate"):
        rows.append(("incidents_without_ppn", "", measure, getattr(missing, measure)))
    for share in report.disproportionality.groups:
        for measure in (
            "reference_percent",
            "ppn_children",
            "ppn_percent",
            "ppn_ratio",
            "incident_children",
            "incident_percent",
            "incident_ratio",
        ):
            rows.append(("disproportionality", share.group, measure, getattr(share, measure)))
    for measure, count in report.disproportionality.not_stated.items():
        rows.append(("disproportionality", "Not stated", measure, count))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "group", "measure", "value"])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


# --- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:2rem;color:#0b0c0c;font-size:14px}
h1{font-size:1.6rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem} caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #b1b4b6;padding:.25rem .5rem;text-align:left;vertical-align:middle}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#505a5f}
svg{display:block} .track{fill:#f3f2f1} .bar{fill:#1d70b8} .ref{fill:#b1b4b6} .inc{fill:#d4351c}
.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .25rem 0 .75rem;vertical-align:middle}
.key .k-ref{background:#b1b4b6} .key .k-ppn{background:#1d70b8} .key .k-inc{background:#d4351c}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;font-size:11px} *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 table{page-break-inside:avoid}}
"""


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f}%"


def _num(value: float | None, digits: int | None = None) -> str:
    """A figure for the page: with ``digits`` decimals, so that a column's figures line up."""
    if value is None:
        return "–"
    return f"{value:g}" if digits is None else f"{value:.{digits}f}"


def _bar(rate: float | None, width: int = 160) -> str:
    filled = 0.0 if rate is None else max(0.0, min(1.0, rate)) * width
    return (
        f'<svg width="{width}" height="12" role="img" aria-label="{_e(_pct(rate))}">'
        f'<rect class="track" width="{width}" height="12"/><rect class="bar" width="{filled:.1f}" height="12"/></svg>'
    )


def _title(rule_id: str) -> str:
    """A rule id as a heading: "send_not_recorded" is "SEND not recorded" (``pages.label``)."""
    title = label(rule_id)
    return title[:1].upper() + title[1:]


def _summary(report: QualityReport) -> str:
    o, missing = report.overall, report.incidents_without_ppn
    delay = o.submission_delay
    rows = [
        ("PPNs submitted", f"{o.ppns}"),
        ("With no findings", f"{o.no_findings.count} ({_pct(o.no_findings.rate)})"),
        ("Self-defined ethnicity recorded", f"{o.ethnicity_recorded.count} ({_pct(o.ethnicity_recorded.rate)})"),
        (
            "Hours from incident to submission",
            f"median {_num(delay.median_hours, 1)}, 90th percentile {_num(delay.p90_hours, 1)} "
            f"(over {delay.measured} PPNs with an incident time)",
        ),
        (
            f"Incidents with an arrested or injured child and no PPN within {_num(missing.window_hours)} hours",
            f"{missing.incidents} of {missing.eligible_incidents} ({_pct(missing.rate)}); {missing.children} children",
        ),
    ]
    body = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><caption>Summary</caption>{body}</table>"


def _rules(report: QualityReport) -> str:
    rows = "".join(
        f"<tr><td>{_e(_title(r.rule_id))}<br><code class='muted'>{_e(r.rule_id)}</code></td><td>{_e(r.severity)}</td>"
        f"<td class='n'>{r.failures}</td><td class='n'>{_e(_pct(r.rate))}</td><td>{_bar(r.rate)}</td></tr>"
        for r in report.overall.rules
    )
    head = "<tr><th>Rule</th><th>Severity</th><th class='n'>PPNs failing</th><th class='n'>Rate</th><th></th></tr>"
    return f"<table><caption>Findings by rule (share of PPNs)</caption>{head}{rows}</table>"


def _groups(report: QualityReport) -> str:
    if not report.groups:
        return ""
    by = _e(report.group_by)
    head = (
        f"<tr><th>{by.capitalize()}</th><th class='n'>PPNs</th><th class='n'>No findings</th><th></th>"
        "<th class='n'>Ethnicity recorded</th><th class='n'>Median hours</th><th class='n'>90th pct hours</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{_e(g.group or NOT_RECORDED)}</td><td class='n'>{g.ppns}</td>"
        f"<td class='n'>{_e(_pct(g.no_findings.rate))}</td><td>{_bar(g.no_findings.rate, 120)}</td>"
        f"<td class='n'>{_e(_pct(g.ethnicity_recorded.rate))}</td>"
        f"<td class='n'>{_e(_num(g.submission_delay.median_hours, 1))}</td>"
        f"<td class='n'>{_e(_num(g.submission_delay.p90_hours, 1))}</td></tr>"
        for g in report.groups
    )
    matrix_head = "<tr><th>Rule</th>" + "".join(
        f"<th class='n'>{_e(g.group or NOT_RECORDED)}</th>" for g in report.groups
    )
    matrix = "".join(
        f"<tr><td>{_e(_title(rule.rule_id))}</td>"
        + "".join(f"<td class='n'>{_e(_pct(g.rules[i].rate))}</td>" for g in report.groups)
        + "</tr>"
        for i, rule in enumerate(report.overall.rules)
    )
    return (
        f"<h2>By {by}</h2><table>{head}{rows}</table>"
        f"<table><caption>Share of PPNs failing each rule, by {by}</caption>{matrix_head}</tr>{matrix}</table>"
    )


def _disproportionality(report: QualityReport) -> str:
    d = report.disproportionality
    top = max(
        [g.reference_percent for g in d.groups]
        + [g.ppn_percent or 0 for g in d.groups]
        + [g.incident_percent or 0 for g in d.groups]
        + [1.0]
    )

    def chart(ref: float, ppn: float | None, incident: float | None) -> str:
        bars = "".join(
            f'<rect class="{cls}" y="{y}" width="{200 * (value or 0) / top:.1f}" height="6"/>'
            for cls, y, value in (("ref", 0, ref), ("bar", 7, ppn), ("inc", 14, incident))
        )
        return f'<svg width="200" height="20" role="img" aria-label="reference, PPNs, incidents">{bars}</svg>'

    head = (
        "<tr><th>Group</th><th class='n'>Reference %</th><th class='n'>Children in PPNs</th><th class='n'>%</th>"
        "<th class='n'>Ratio</th><th class='n'>Children in incidents</th><th class='n'>%</th><th class='n'>Ratio</th>"
        "<th></th></tr>"
    )
    rows = "".join(
        f"<tr><td>{_e(g.group)}</td><td class='n'>{_e(_num(g.reference_percent, 1))}</td>"
        f"<td class='n'>{g.ppn_children}</td><td class='n'>{_e(_num(g.ppn_percent, 1))}</td>"
        f"<td class='n'>{_e(_num(g.ppn_ratio, 2))}</td><td class='n'>{g.incident_children}</td>"
        f"<td class='n'>{_e(_num(g.incident_percent, 1))}</td><td class='n'>{_e(_num(g.incident_ratio, 2))}</td>"
        f"<td>{chart(g.reference_percent, g.ppn_percent, g.incident_percent)}</td></tr>"
        for g in d.groups
    )
    key = (
        "<p class='key muted'>Bars:<span class='k-ref'></span>reference population"
        "<span class='k-ppn'></span>children in PPNs<span class='k-inc'></span>children in incidents</p>"
    )
    not_stated = (
        f"<p class='muted'>{_e(d.note)} Not stated: {d.not_stated['ppn_children']} children in PPNs, "
        f"{d.not_stated['incident_children']} in incidents. Reference: {_e(d.source)}.</p>"
    )
    return f"<h2>Disproportionality</h2><table>{head}{rows}</table>{key}{not_stated}"


def to_html(report: QualityReport) -> str:
    """A self-contained printable page: no scripts, no external assets, every text escaped."""
    period = f"{report.period_from.isoformat()} to {report.period_to.isoformat()}"
    grouped = f"; grouped by {report.group_by}" if report.group_by else ""
    return html_page(
        f"PPN quality, {period}",
        _STYLE,
        f"<h1>PPN quality</h1><p class='muted'>PPNs submitted {_e(period)} ({_e(report.timezone)}){_e(grouped)}. "
        "Aggregate figures only; a finding never stops a PPN.</p>"
        f"{_summary(report)}{_rules(report)}{_groups(report)}{_disproportionality(report)}",
    )
