"""Labels and sentences of the management report in zh-CN and en."""

from __future__ import annotations

from decimal import Decimal

from postloan_reporting.domain.collections import CEI_VARIANT
from postloan_reporting.domain.model import CLASSIFICATIONS
from postloan_reporting.domain.summary import Summary

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
    "by_product": {"zh-CN": "分产品指标", "en": "KPIs by product"},
    "by_branch": {"zh-CN": "分机构指标", "en": "KPIs by branch"},
    "product": {"zh-CN": "产品", "en": "Product"},
    "branch": {"zh-CN": "机构", "en": "Branch"},
    "all": {"zh-CN": "合计", "en": "All"},
    "provisions": {"zh-CN": "预期信用损失与 IFRS 9 阶段分布", "en": "ECL and IFRS 9 stage mix"},
    "stage": {"zh-CN": "阶段", "en": "Stage"},
    "stage_1": {"zh-CN": "第一阶段", "en": "Stage 1"},
    "stage_2": {"zh-CN": "第二阶段", "en": "Stage 2"},
    "stage_3": {"zh-CN": "第三阶段", "en": "Stage 3"},
    "exposure": {"zh-CN": "风险敞口", "en": "Exposure"},
    "ecl": {"zh-CN": "预期信用损失", "en": "ECL"},
    "stage_coverage": {"zh-CN": "拨贷比", "en": "ECL ÷ exposure"},
    "npl_balance": {"zh-CN": "不良贷款余额", "en": "NPL balance"},
    "provision_coverage": {"zh-CN": "拨备覆盖率", "en": "Provision coverage"},
    "npl_collateral_coverage": {"zh-CN": "不良贷款抵押覆盖率", "en": "NPL coverage by collateral"},
    "npl_secured": {"zh-CN": "抵押覆盖的不良贷款余额", "en": "NPL balance covered by collateral"},
    "reviews": {"zh-CN": "贷后检查", "en": "Post-loan reviews"},
    "reviews_due": {"zh-CN": "本月到期", "en": "Due this month"},
    "reviews_completed": {"zh-CN": "已完成", "en": "Completed"},
    "reviews_on_time": {"zh-CN": "按期完成", "en": "On time"},
    "reviews_overdue": {"zh-CN": "逾期未查", "en": "Overdue"},
    "completion_rate": {"zh-CN": "完成率", "en": "Completion rate"},
    "cei_variant": {
        "zh-CN": "CEI =（期初应收 + 本期应还 − 期末应收合计）÷（期初应收 + 本期应还 − 期末当期应收）× 100；"
        "应收按期供金额计：期初为起始日前一日日终的逾期金额，本期应还为起始日至截止日到期的期供金额，"
        "期末应收合计为截止日日终的逾期金额加期末当期应收，期末当期应收为截止日当日到期、已出账但尚未逾期的金额。",
        "en": CEI_VARIANT,
    },
    "pp": {"zh-CN": "个百分点", "en": " pp"},
    "recoveries": {"zh-CN": "核销后回收", "en": "Recoveries after write-off"},
    "recoveries_by_product": {"zh-CN": "核销后回收（分产品）", "en": "Recoveries by product"},
    "recoveries_by_branch": {"zh-CN": "核销后回收（分机构）", "en": "Recoveries by branch"},
    "recoveries_by_cohort": {"zh-CN": "核销后回收（按核销月）", "en": "Recoveries by write-off cohort"},
    "write_off_cohort": {"zh-CN": "核销月", "en": "Write-off month"},
    "written_off": {"zh-CN": "核销金额", "en": "Written off"},
    "recovered": {"zh-CN": "回收金额", "en": "Recovered"},
    "recovery_rate": {"zh-CN": "回收率", "en": "Recovery rate"},
    "agencies": {"zh-CN": "委外催收机构与佣金", "en": "Collection agencies and commission"},
    "agency": {"zh-CN": "委外机构", "en": "Agency"},
    "cases_placed": {"zh-CN": "委外案件数", "en": "Cases placed"},
    "amount_recovered": {"zh-CN": "委外期间回收", "en": "Recovered while placed"},
    "commission_owed": {"zh-CN": "应付佣金", "en": "Commission owed"},
    "period": {"zh-CN": "统计期间", "en": "Period"},
    "fund_use": {"zh-CN": "资金流向监测", "en": "Fund use"},
    "fund_use_by_rule": {"zh-CN": "资金流向预警（按规则）", "en": "Fund-use flags by rule"},
    "fund_use_by_product": {"zh-CN": "资金流向预警（分产品）", "en": "Fund-use flags by product"},
    "fund_use_by_branch": {"zh-CN": "资金流向预警（分机构）", "en": "Fund-use flags by branch"},
    "rule": {"zh-CN": "规则", "en": "Rule"},
    "open_flags": {"zh-CN": "未关闭预警", "en": "Open flags"},
    "loans_flagged": {"zh-CN": "涉及贷款笔数", "en": "Loans flagged"},
    "outstanding_flagged": {"zh-CN": "涉及贷款余额", "en": "Their outstanding"},
    "raised": {"zh-CN": "本月新增", "en": "Raised this month"},
    "resolved": {"zh-CN": "本月关闭", "en": "Resolved this month"},
    "fund_forbidden_use": {"zh-CN": "挪用于禁止用途", "en": "Forbidden use"},
    "fund_flow_back": {"zh-CN": "资金回流", "en": "Flow back to the borrower"},
    "fund_untraced": {"zh-CN": "资金去向不明", "en": "Untraced proceeds"},
    "fund_splitting": {"zh-CN": "拆分交易", "en": "Split transfers"},
    "fund_use_note": {
        "zh-CN": "预警不含挪用金额，余额为被标记贷款在报告日的本金余额。",
        "en": "The alerts carry no misused amount: the balance is the flagged loans' outstanding principal.",
    },
    "effectiveness": {"zh-CN": "催收策略成效", "en": "Programme effectiveness"},
    "programme": {
        "zh-CN": "整体成效：一年前同月放款与两年前同月放款的违约率",
        "en": "Default rate: the same month's bookings a year before vs two years before",
    },
    "bookings": {"zh-CN": "放款批次", "en": "Bookings"},
    "cohort_current": {"zh-CN": "一年前同月放款", "en": "A year before"},
    "cohort_year_before": {"zh-CN": "两年前同月放款", "en": "Two years before"},
    "loans_booked": {"zh-CN": "放款笔数", "en": "Loans booked"},
    "defaulted": {"zh-CN": "违约笔数", "en": "Defaulted"},
    "default_rate": {"zh-CN": "违约率", "en": "Default rate"},
    "difference": {"zh-CN": "差异", "en": "Difference"},
    "p_value": {"zh-CN": "p 值", "en": "p-value"},
    "default_rule": {
        "zh-CN": "违约：放款后 {days} 天内逾期超过 {dpd} 天（两批次按相同观察天数计）。",
        "en": "Default: more than {dpd} days past due within {days} days of booking (both cohorts alike).",
    },
    "experiment": {"zh-CN": "策略实验", "en": "Experiment"},
    "arm": {"zh-CN": "分组", "en": "Arm"},
    "role": {"zh-CN": "角色", "en": "Role"},
    "champion": {"zh-CN": "冠军组", "en": "Champion"},
    "challenger": {"zh-CN": "挑战组", "en": "Challenger"},
    "control": {"zh-CN": "对照组", "en": "Control"},
    "cases": {"zh-CN": "案件数", "en": "Cases"},
    "mature_cases": {"zh-CN": "满30天案件数", "en": "Mature cases"},
    "cure_rate_ci": {"zh-CN": "30天回正率 [95% 置信区间]", "en": "Cure rate (30 d) [95 % CI]"},
    "vs_champion": {"zh-CN": "与冠军组之差", "en": "Difference vs champion"},
    "cost_per_yuan": {"zh-CN": "每元回收成本", "en": "Cost per yuan recovered"},
    "no_experiment": {"zh-CN": "本月无策略实验案件。", "en": "No strategy experiment had cases opened this month."},
    "effectiveness_note": {
        "zh-CN": "统计本月新开的案件（截至报告日）；回正率只计30天观察期已满的案件；"
        "p 值为合并比例的双样本 z 检验（双侧）；不按产品或机构筛选。",
        "en": "Cases opened in the month, as known at the report date; cure rates count only cases whose 30-day "
        "window has ended; p-values by the two-sided pooled two-proportion z-test; not filtered by product or branch.",
    },
}

# Sheet names of the workbook (Excel allows 31 characters, none of []:*?/\).
SHEETS: dict[str, dict[str, str]] = {
    "Summary": {"zh-CN": "摘要"},
    "Trend": {"zh-CN": "趋势"},
    "Aging": {"zh-CN": "账龄分布"},
    "Classification": {"zh-CN": "五级分类"},
    "Products": {"zh-CN": "分产品"},
    "Branches": {"zh-CN": "分机构"},
    "Provisions": {"zh-CN": "拨备与阶段"},
    "Reviews": {"zh-CN": "贷后检查"},
    "RollRates": {"zh-CN": "迁徙率"},
    "Vintage": {"zh-CN": "账龄分析"},
    "Collections": {"zh-CN": "催收"},
    "Recoveries": {"zh-CN": "核销后回收"},
    "Agencies": {"zh-CN": "委外机构"},
    "FundUse": {"zh-CN": "资金流向"},
    "Effectiveness": {"zh-CN": "策略成效"},
}

# Column names of the workbook's sheets in zh-CN (in en the sheets keep the export's field names).
COLUMNS_ZH: dict[str, str] = {
    "dimension": "维度",
    "date": "日期",
    "product": "产品",
    "key": "项目",
    "kpi": "指标",
    "value": "本期",
    "loans": "贷款笔数",
    "outstanding": "贷款余额",
    "overdue_balance": "逾期贷款余额",
    "overdue_amount": "逾期金额",
    "overdue_rate": "逾期率",
    "par30": "PAR30",
    "par90": "PAR90",
    "npl_balance": "不良贷款余额",
    "npl_ratio": "不良贷款率",
    "bucket": "逾期档",
    "classification": "五级分类",
    "balance": "余额",
    "share": "占比",
    "from_bucket": "期初档",
    "to": "期末档",
    "rate": "迁徙率",
    "vintage": "放款月",
    "disbursed": "放款金额",
    "mob": "账龄月数",
    "observed_on": "观察日",
    "balance_30": "逾期30天以上余额",
    "share_30": "逾期30天以上占比",
    "balance_90": "逾期90天以上余额",
    "share_90": "逾期90天以上占比",
    "group": "分组",
    "attempts": "催收尝试",
    "contact_rate": "接通率",
    "right_party_contact_rate": "本人接听率",
    "ptp_rate": "承诺还款率",
    "ptp_kept_rate": "履约率",
    "cases_worked": "处理案件数",
    "cure_rate": "回正率",
    "amount_collected_per_case": "案均回收金额",
    "stage": "阶段",
    "exposure": "风险敞口",
    "exposure_share": "敞口占比",
    "ecl": "预期信用损失",
    "coverage": "拨贷比",
    "provision_coverage": "拨备覆盖率",
    "npl_secured": "抵押覆盖的不良贷款余额",
    "npl_collateral_coverage": "不良贷款抵押覆盖率",
    "branch": "机构",
    "due": "本月到期",
    "completed": "已完成",
    "on_time": "按期完成",
    "overdue": "逾期未查",
    "completion_rate": "完成率",
    "on_time_rate": "按期完成率",
    "written_off": "核销金额",
    "recovered": "回收金额",
    "recovery_rate": "回收率",
    "agency_id": "委外机构",
    "cases_placed": "委外案件数",
    "amount_recovered": "委外期间回收",
    "commission_owed": "应付佣金",
    "open_flags": "未关闭预警",
    "loans_flagged": "涉及贷款笔数",
    "outstanding_flagged": "涉及贷款余额",
    "raised": "本月新增",
    "resolved": "本月关闭",
    "cohort": "放款批次",
    "start": "起始日",
    "end": "截止日",
    "horizon_days": "观察天数",
    "defaulted": "违约笔数",
    "default_rate": "违约率",
    "ci_low": "置信区间下限",
    "ci_high": "置信区间上限",
    "difference": "差异",
    "p_value": "p 值",
    "experiment": "策略实验",
    "arm": "分组",
    "role": "角色",
    "cases": "案件数",
    "mature_cases": "满30天案件数",
    "cure_rate_30d": "30天回正率",
    "total_cost": "成本",
    "amount_collected": "案件回收金额",
    "cost_per_yuan_recovered": "每元回收成本",
}


def sheet_name(key: str, lang: str) -> str:
    """The name of sheet `key` in `lang` (the key itself in en)."""
    return SHEETS.get(key, {}).get(lang, key)


def column_name(key: str, lang: str) -> str:
    """A sheet's column name in `lang` (the field name in en)."""
    return COLUMNS_ZH.get(key, key) if lang == "zh-CN" else key


# The executive summary's sentences; {placeholders} are filled by `summary_lines`.
SENTENCES: dict[str, dict[str, str]] = {
    "move": {
        "zh-CN": "较上月末变动最大的指标是{name}：由 {before} 变为 {now}（{change}）。",
        "en": "The largest move since the previous month end: {name} from {before} to {now} ({change}).",
    },
    "no_move": {
        "zh-CN": "各项比率指标较上月末均无变化。",
        "en": "No headline ratio moved since the previous month end.",
    },
    "new_npls": {
        "zh-CN": "本期新增不良贷款 {count} 笔，余额 {balance}；最大的为：{largest}。",
        "en": "Loans newly non-performing: {count}, {balance} in all; the largest: {largest}.",
    },
    "new_npl": {
        "zh-CN": "{loan}（{product}/{branch}，{class_}，{balance}）",
        "en": "{loan} ({product}/{branch}, {class_}, {balance})",
    },
    "no_new_npls": {"zh-CN": "本期无新增不良贷款。", "en": "No loan became non-performing."},
    "worst_segment": {
        "zh-CN": "迁徙最差的是{dimension} {key}：上月末余额的 {rate}（{rolled}）滚入更差的逾期档。",
        "en": "Worst-rolling segment: {dimension} {key}, {rate} of its balance ({rolled}) rolled to a worse bucket.",
    },
    "no_roll": {"zh-CN": "上月末余额均未滚入更差的逾期档。", "en": "No balance rolled to a worse bucket."},
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


def points(value: Decimal | None, lang: str) -> str:
    """A difference of two ratios in signed percentage points, or a dash when undefined."""
    return "–" if value is None else f"{value * 100:+.2f}{label('pp', lang)}"


def fixed(value: Decimal | None) -> str:
    """A p-value or a cost per yuan with four decimals, or a dash when undefined."""
    return "–" if value is None else f"{value:.4f}"


def change(now: Decimal | None, before: Decimal | None, *, ratio: bool, lang: str = "en") -> str:
    """Signed change (percentage points for ratios)."""
    if now is None or before is None:
        return "–"
    diff = now - before
    return f"{diff * 100:+.2f}{label('pp', lang)}" if ratio else f"{diff:+,.2f}"


def summary_lines(summary: Summary, lang: str) -> list[str]:
    """The executive summary in `lang`: the largest move, the new NPLs, the worst-rolling segment."""
    said = {key: texts[lang] for key, texts in SENTENCES.items()}
    move = summary.move
    lines = [
        said["no_move"]
        if move is None
        else said["move"].format(
            name=label(move.key, lang),
            before=pct(move.before),
            now=pct(move.now),
            change=change(move.now, move.before, ratio=True, lang=lang),
        )
    ]
    largest = "、" if lang == "zh-CN" else ", "
    npls = largest.join(
        said["new_npl"].format(
            loan=n.loan_id,
            product=n.product,
            branch=n.branch,
            class_=label(CLASSIFICATIONS[n.class_rank], lang),
            balance=amount(n.balance),
        )
        for n in summary.largest_new_npls
    )
    lines.append(
        said["new_npls"].format(count=summary.new_npl_count, balance=amount(summary.new_npl_balance), largest=npls)
        if summary.new_npl_count
        else said["no_new_npls"]
    )
    worst = summary.worst_segment
    lines.append(
        said["no_roll"]
        if worst is None
        else said["worst_segment"].format(
            dimension=label(worst.dimension, lang).lower() if lang == "en" else label(worst.dimension, lang),
            key=worst.key,
            rate=pct(worst.rate),
            rolled=amount(worst.rolled),
        )
    )
    return lines
