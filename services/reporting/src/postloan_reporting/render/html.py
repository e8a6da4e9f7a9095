"""The management report as one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

from html import escape

from postloan_reporting.render.content import (
    agency_table,
    arm_table,
    collateral_line,
    columns,
    default_rule_line,
    effectiveness_period_line,
    experiment_heading,
    fund_use_tables,
    funnel,
    headline,
    heat_rows,
    kpi_table,
    period_line,
    programme_table,
    provision_line,
    recovery_tables,
    review_table,
    stage_table,
    summary,
)
from postloan_reporting.render.i18n import amount, label, pct
from postloan_reporting.service.management import Management

WIDTH, HEIGHT = 640, 220
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _lines(series: list[tuple[str, list[float]]], x_labels: list[str]) -> str:
    top = max((v for _, values in series for v in values), default=0) or 1
    count = max((len(v) for _, v in series), default=1)
    step = (WIDTH - 60) / max(count - 1, 1)
    parts = [f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">']
    parts.append(f'<line x1="40" y1="{HEIGHT - 30}" x2="{WIDTH - 10}" y2="{HEIGHT - 30}" stroke="#999"/>')
    for index, (name, values) in enumerate(series):
        points = " ".join(
            f"{40 + i * step:.1f},{HEIGHT - 30 - v / top * (HEIGHT - 60):.1f}" for i, v in enumerate(values)
        )
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{50 + index * 150}" y="14" fill="{colour}" font-size="12">{escape(name)}</text>')
    for i, text in enumerate(x_labels):
        if i % max(1, len(x_labels) // 7) == 0:
            parts.append(f'<text x="{40 + i * step:.1f}" y="{HEIGHT - 12}" font-size="10">{escape(text)}</text>')
    parts.append(f'<text x="2" y="34" font-size="10">{top * 100:.1f}%</text></svg>')
    return "".join(parts)


def _titled(rows: list[list[str]]) -> str:
    """A table whose first row is its header."""
    return _table(rows[0], rows[1:])


def _risk_sections(report: Management, lang: str) -> str:
    """By product and branch, the ECL and stage mix with provision coverage, and the reviews."""
    book = report.portfolio
    return (
        f"<h2>{escape(label('by_product', lang))}</h2>{_titled(kpi_table('product', book.by_product, lang))}"
        f"<h2>{escape(label('by_branch', lang))}</h2>{_titled(kpi_table('branch', book.by_branch, lang))}"
        f"<h2>{escape(label('provisions', lang))}</h2>{_titled(stage_table(report, lang))}"
        f"<p>{escape(provision_line(report, lang))}</p>"
        f"<p>{escape(collateral_line(report, lang))}</p>"
        f"<h2>{escape(label('reviews', lang))}</h2>{_titled(review_table(report, lang))}"
    )


def _recovery_sections(report: Management, lang: str) -> str:
    """Recoveries after write-off by product, branch and cohort, the agencies, and the fund-use flags."""
    parts = [f"<h2>{escape(label('recoveries', lang))}</h2><p>{escape(period_line(report, lang))}</p>"]
    parts += [
        f"<h3>{escape(label(heading, lang))}</h3>{_titled(rows)}" for heading, rows in recovery_tables(report, lang)
    ]
    parts.append(f"<h3>{escape(label('agencies', lang))}</h3>{_titled(agency_table(report, lang))}")
    parts.append(f"<h2>{escape(label('fund_use', lang))}</h2>")
    rules = [(label(s.key, lang), float(s.open_flags), str(s.open_flags)) for s in report.fund_use.by_rule]
    parts.append(_bars(rules))
    parts += [
        f"<h3>{escape(label(heading, lang))}</h3>{_titled(rows)}" for heading, rows in fund_use_tables(report, lang)
    ]
    parts.append(f"<p><small>{escape(label('fund_use_note', lang))}</small></p>")
    return "".join(parts)


def _effectiveness_section(report: Management, lang: str) -> str:
    """The programme view of the month's bookings, then each experiment's arms (or one line: none)."""
    parts = [f"<h2>{escape(label('effectiveness', lang))}</h2>"]
    parts.append(f"<p>{escape(effectiveness_period_line(report, lang))}</p>")
    parts.append(f"<h3>{escape(label('programme', lang))}</h3>{_titled(programme_table(report, lang))}")
    parts.append(f"<p><small>{escape(default_rule_line(report, lang))}</small></p>")
    experiments = report.effectiveness.experiments
    if not experiments:
        parts.append(f'<p class="no-experiment">{escape(label("no_experiment", lang))}</p>')
    for experiment in experiments:
        parts.append(f"<h3>{escape(experiment_heading(experiment, lang))}</h3>{_titled(arm_table(experiment, lang))}")
    if experiments:
        parts.append(f"<p><small>{escape(label('effectiveness_note', lang))}</small></p>")
    return "".join(parts)


def _bars(items: list[tuple[str, float, str]]) -> str:
    top = max((v for _, v, _ in items), default=0) or 1
    rows = "".join(
        f'<div class="bar"><span class="name">{escape(name)}</span>'
        f'<span class="fill" style="width:{v / top * 60:.1f}%"></span><span>{escape(text)}</span></div>'
        for name, v, text in items
    )
    return f'<div class="bars">{rows}</div>'


def _heat(report: Management, lang: str) -> str:
    header = "".join(f"<th>{escape(c)}</th>" for c in columns(lang))
    body = ""
    for name, rates in heat_rows(report):
        cells = ""
        for rate in rates:
            shade = 255 - int((rate or 0) * 200)
            text = "–" if rate is None else f"{rate * 100:.1f}%"
            cells += f'<td style="background:rgb(255,{shade},{shade})">{text}</td>'
        body += f"<tr><th>{escape(name)}</th>{cells}</tr>"
    return (
        f'<table class="heat"><thead><tr><th>{escape(label("from_to", lang))}</th>{header}</tr></thead>{body}</table>'
    )


def render_html(report: Management, lang: str) -> str:
    """The full HTML page."""
    trend_labels = [p.day.isoformat() for p in report.trend]
    trend = _lines(
        [
            (label("overdue_rate", lang), [float(p.kpis.overdue_rate or 0) for p in report.trend]),
            (label("npl_ratio", lang), [float(p.kpis.npl_ratio or 0) for p in report.trend]),
        ],
        trend_labels,
    )
    aging = _bars(
        [(s.key, float(s.balance), f"{amount(s.balance)} ({pct(s.share)})") for s in report.portfolio.by_bucket]
    )
    vintage = _lines(
        [(c.vintage.strftime("%Y-%m"), [float(p.share_30 or 0) for p in c.points]) for c in report.vintage[-8:]],
        [str(m) for m in range(max((len(c.points) for c in report.vintage), default=0))],
    )
    steps = funnel(report, lang)
    funnel_html = _bars([(name, float(count), str(count)) for name, count in steps])
    classes = [
        [label(s.key, lang), str(s.loans), amount(s.balance), pct(s.share)] for s in report.portfolio.by_classification
    ]
    cei = report.collections.cei
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(label("title", lang))}</title>
<style>
body{{font-family:"Noto Sans CJK SC","PingFang SC",sans-serif;margin:24px;color:#222}}
table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
.bars .bar{{display:flex;align-items:center;gap:8px;margin:2px 0}} .bar .name{{width:140px}}
.bar .fill{{display:inline-block;height:14px;background:#1f77b4}}
</style></head><body>
<h1>{escape(label("title", lang))}</h1>
<p>{escape(label("as_of", lang))}: {report.as_of.isoformat()} · {escape(label("previous", lang))}: {
        report.previous.isoformat()
    }</p>
<h2>{escape(label("summary", lang))}</h2>
<ul class="summary">{"".join(f"<li>{escape(line)}</li>" for line in summary(report, lang))}</ul>
<h2>{escape(label("headline", lang))}</h2>
{_table(["", label("as_of", lang), label("previous", lang), label("change", lang)], headline(report, lang))}
<h2>{escape(label("trend", lang))}</h2>{trend}
{
        _table(
            [label("date", lang), label("overdue_rate", lang), label("npl_ratio", lang), label("par30", lang)],
            [
                [p.day.isoformat(), pct(p.kpis.overdue_rate), pct(p.kpis.npl_ratio), pct(p.kpis.par30)]
                for p in report.trend
            ],
        )
    }
<h2>{escape(label("aging", lang))}</h2>{aging}
{
        _table(
            [label("bucket", lang), label("loans", lang), label("balance", lang), label("share", lang)],
            [[s.key, str(s.loans), amount(s.balance), pct(s.share)] for s in report.portfolio.by_bucket],
        )
    }
<h2>{escape(label("classification", lang))}</h2>
{_table(["", label("loans", lang), label("balance", lang), label("share", lang)], classes)}
{_risk_sections(report, lang)}
<h2>{escape(label("roll_rates", lang))} ({report.previous.isoformat()} → {report.as_of.isoformat()})</h2>
{_heat(report, lang)}
<h2>{escape(label("vintage", lang))}</h2>{vintage}
<h2>{escape(label("collections", lang))}</h2>{funnel_html}
<p>{escape(label("cei", lang))}: {pct(None if cei.cei is None else cei.cei / 100)}</p>
<p><small>{escape(label("cei_variant", lang))}</small></p>
{_recovery_sections(report, lang)}
{_effectiveness_section(report, lang)}
</body></html>"""
