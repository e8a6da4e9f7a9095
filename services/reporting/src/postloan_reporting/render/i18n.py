"""Labels of the management report in zh-CN and en."""

from __future__ import annotations

from decimal import Decimal

LANGUAGES = ("zh-CN", "en")

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh-CN": "贷后管理经营报告", "en": "Post-loan management report"},
    "as_of": {"zh-CN": "报告日", "en": "As of"},
    "previous": {"zh-CN": "上月末", "en": "Previous month end"},
    "change": {"zh-CN": "变动", "en": "Change"},
    "headline": {"zh-CN": "核心指标", "en": "Headline KPIs"},
    "loans": {"zh-CN": "贷款笔数", "en": "Loans"},
    "outstanding": {"zh-CN": "贷款余额", "en": "Outstanding balance"},
    "overdue_balance": {"zh-CN": "逾期贷款余额", "en": "Overdue balance"},
    "overdue_rate": {"zh-CN": "逾期率", "en": "Overdue rate"},
    "par30": {"zh-CN": "PAR30（逾期30天以上占比）", "en": "PAR30"},
    "npl_ratio": {"zh-CN": "不良贷款率", "en": "NPL ratio"},
    "trend": {"zh-CN": "逾期率与不良率趋势", "en": "Overdue rate and NPL trend"},
    "aging": {"zh-CN": "账龄分布", "en": "Aging by bucket"},
    "classification": {"zh-CN": "五级分类", "en": "Five-category classification"},
    "roll_rates": {"zh-CN": "迁徙率矩阵", "en": "Roll-rate matrix"},
    "vintage": {"zh-CN": "账龄分析（Vintage）30+ 曲线", "en": "Vintage curves (30+)"},
    "collections": {"zh-CN": "催收漏斗", "en": "Collections funnel"},
    "bucket": {"zh-CN": "逾期档", "en": "Bucket"},
    "balance": {"zh-CN": "余额", "en": "Balance"},
    "share": {"zh-CN": "占比", "en": "Share"},
    "date": {"zh-CN": "日期", "en": "Date"},
    "from_to": {"zh-CN": "期初档 → 期末档", "en": "From → to"},
    "mob": {"zh-CN": "账龄月数", "en": "Months on book"},
    "cohort": {"zh-CN": "放款月", "en": "Cohort"},
    "step": {"zh-CN": "环节", "en": "Step"},
    "count": {"zh-CN": "数量", "en": "Count"},
    "cei": {"zh-CN": "催收有效性指数 CEI", "en": "Collection effectiveness index (CEI)"},
    "attempts": {"zh-CN": "催收尝试", "en": "Attempts"},
    "connected": {"zh-CN": "接通", "en": "Connected"},
    "right_party": {"zh-CN": "本人接听", "en": "Right-party contacts"},
    "promises": {"zh-CN": "承诺还款", "en": "Promises to pay"},
    "kept": {"zh-CN": "履约", "en": "Promises kept"},
    "closed": {"zh-CN": "结清", "en": "Closed"},
    "normal": {"zh-CN": "正常", "en": "Normal"},
    "special_mention": {"zh-CN": "关注", "en": "Special mention"},
    "substandard": {"zh-CN": "次级", "en": "Substandard"},
    "doubtful": {"zh-CN": "可疑", "en": "Doubtful"},
    "loss": {"zh-CN": "损失", "en": "Loss"},
    "summary": {"zh-CN": "摘要", "en": "Summary"},
    "filters": {"zh-CN": "筛选", "en": "Filters"},
    "no_data": {"zh-CN": "暂无数据", "en": "No data"},
}


def label(key: str, lang: str) -> str:
    """The label of `key` in `lang`."""
    return LABELS.get(key, {}).get(lang, key)


def pct(value: Decimal | None) -> str:
    """A ratio as a percentage with two decimals, or a dash when undefined."""
    return "–" if value is None else f"{value * 100:.2f}%"


def amount(value: Decimal) -> str:
    """An amount with thousands separators."""
    return f"{value:,.2f}"


def change(now: Decimal | None, before: Decimal | None, *, ratio: bool) -> str:
    """Signed change (percentage points for ratios)."""
    if now is None or before is None:
        return "–"
    diff = now - before
    return f"{diff * 100:+.2f} pp" if ratio else f"{diff:+,.2f}"
