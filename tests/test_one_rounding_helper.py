"""Money and ratios round through postloan_common.money only (one rule, half-up; docs/domain.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "libs/common/src/postloan_common/money.py"
# Places that quantize to *check* a value's places (and refuse it), never to round it.
CHECKS = {
    ROOT / "libs/common/src/postloan_common/contracts/common.py",
    ROOT / "services/fineract-connector/src/postloan_fineract_connector/domain/payloads.py",
}


def test_production_code_rounds_only_through_the_money_helper() -> None:
    sources = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("libs/*/src/**/*.py")]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        if path != HOME and path not in CHECKS
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\.quantize\(", line)
    ]
    assert not offenders, f"round with postloan_common.money (quantize_money / quantize_ratio): {offenders}"
