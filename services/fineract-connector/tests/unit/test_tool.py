"""`postloan fineract decode FILE...`: one JSON line per event, exit 2 on an unknown fingerprint."""

from __future__ import annotations

import io
import json

import pytest

from postloan_dev.cli import main as postloan
from postloan_fineract_connector.tool import decode_files


def test_decode_prints_each_event_and_its_envelopes(records, tmp_path):
    single = tmp_path / "disbursal.bin"
    single.write_bytes(records.message("LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), key="k1"))
    bulk = tmp_path / "cob.bin"
    bulk.write_bytes(
        records.bulk(
            [
                ("LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, records.transaction()),
                ("LoanDelinquencyRangeChangeBusinessEvent", records.LOAN, records.loan_account()),
            ],
            key="k2",
            release="1.13.0",
        )
    )
    out = io.StringIO()
    assert decode_files([str(single), str(bulk)], out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["type"], x["idempotencyKey"], x["bulkIndex"]) for x in lines] == [
        ("LoanDisbursalBusinessEvent", "k1", None),
        ("LoanTransactionMakeRepaymentPostBusinessEvent", "k2", 0),
        ("LoanDelinquencyRangeChangeBusinessEvent", "k2", 1),
    ]
    assert lines[0]["dataschema"] == records.LOAN
    assert lines[0]["payload"]["principal"] == "3000.00000000"
    assert [e["type"] for e in lines[0]["envelopes"]] == ["loan-booked"]
    assert lines[1]["envelopes"][0]["data"]["repayment_id"] == "fineract:default:txn:11"
    assert lines[2]["envelopes"] == []


def test_unknown_fingerprint_exits_2_through_the_postloan_cli(records, tmp_path, capsys):
    raw = bytearray(records.message("ClientCreateBusinessEvent", records.CLIENT, records.client()))
    raw[2:10] = (0xABCDEF0123456789).to_bytes(8, "little")
    path = tmp_path / "unknown.bin"
    path.write_bytes(bytes(raw))
    with pytest.raises(SystemExit) as exit_:
        postloan(["fineract", "decode", str(path)])
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert "unknown Avro schema fingerprint abcdef0123456789" in json.loads(line)["error"]


def test_postloan_up_runs_the_connector_only_when_fineract_is_configured():
    from postloan_common.catalog import SERVICES
    from postloan_dev.connectors import platform_services

    assert platform_services({}) == SERVICES
    assert [s.name for s in platform_services({"FINERACT_TOPIC": "external-events"})][-1] == "fineract-connector"
