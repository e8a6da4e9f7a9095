"""Classification proposals over the API: four eyes, rules refuse, the judgement applies and survives the day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ra_testkit import open_database
from sqlalchemy import select, text

from postloan_common.contracts import parse_data
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.store.tables import audit_log, outbox

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)
SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, disbursed_on,
    maturity_date, installment_count, overdue_since, episode_started_on, episode_max, overdue)
VALUES ('L-ok', 'C-1', 'consumer-12m', 'retail', 12000, 6000, '2025-12-01', '2026-12-01', 12, NULL, NULL, 0, 0),
       ('L-late', 'C-2', 'consumer-12m', 'retail', 12000, 6000, '2025-12-01', '2026-12-01', 12,
        CAST(:late AS date), CAST(:late AS date), 20, 500)
"""


async def test_judgement_under_four_eyes_applies_and_survives_the_daily_run(ra_api, token, devstack) -> None:
    async with ra_api() as (client, url):
        settings, engine, sessions = open_database(url, devstack.kafka_bootstrap)
        async with sessions.begin() as session:
            await session.execute(text(SEED), {"late": D1 - timedelta(days=20)})
            await rescore(session, business_date=D1, settings=settings)
        rm, ro, ro2 = (
            token("relationship_manager", sub="rm-1"),
            token("risk_officer", sub="ro-1"),
            token("risk_officer", sub="ro-2"),
        )
        url_of = "/v1/loans/{}/classification-proposals".format
        assert (
            await client.post(url_of("L-none"), json={"classification": "loss", "reason": "x"}, headers=rm)
        ).status_code == 404
        assert (
            await client.post(url_of("L-ok"), json={"classification": "loss", "reason": "x"}, headers=token("analyst"))
        ).status_code == 403
        refused = await client.post(url_of("L-late"), json={"classification": "normal", "reason": "paid"}, headers=rm)
        assert refused.status_code == 422
        assert refused.json()["rule"] == "dpd_floor"

        body = {"classification": "substandard", "reason": "site visit: factory idle"}
        created = await client.post(url_of("L-ok"), json=body, headers=rm)
        assert created.status_code == 201, created.text
        proposal = created.json()
        assert proposal["status"] == "pending" and proposal["proposed_by"] == "rm-1"
        again = await client.post(url_of("L-ok"), json=body, headers=rm)
        assert again.status_code == 200 and again.json() == proposal
        other = await client.post(url_of("L-ok"), json={**body, "classification": "doubtful"}, headers=rm)
        assert other.status_code == 409

        approve = f"/v1/classification-proposals/{proposal['proposal_id']}/approve"
        assert (await client.post(approve, headers=rm)).status_code == 403, "a relationship manager cannot approve"
        own = await client.post(url_of("L-late"), json={"classification": "doubtful", "reason": "fraud"}, headers=ro)
        own_approve = await client.post(f"/v1/classification-proposals/{own.json()['proposal_id']}/approve", headers=ro)
        assert own_approve.status_code == 403
        assert "proposer" in own_approve.json()["detail"]
        rejected = await client.post(f"/v1/classification-proposals/{own.json()['proposal_id']}/reject", headers=ro2)
        assert rejected.json()["status"] == "rejected"

        approved = await client.post(approve, json={"note": "agreed"}, headers=ro2)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "ro-2"
        assert (await client.post(approve, json={"note": "agreed"}, headers=ro2)).status_code == 200
        risk = (await client.get("/v1/risk/loans/L-ok", headers=ro)).json()
        assert risk["classification"] == "substandard"
        assert risk["classification_reason"] == "judgement"
        assert risk["classification_proposal_id"] == proposal["proposal_id"]
        listed = await client.get("/v1/classification-proposals", params={"status": "approved"}, headers=rm)
        assert [p["proposal_id"] for p in listed.json()["items"]] == [proposal["proposal_id"]]

        # The daily re-classification keeps the judgement (the rules alone say normal) ...
        async with sessions.begin() as session:
            await rescore(session, business_date=D1 + timedelta(days=1), settings=settings, everything=True)
        risk = (await client.get("/v1/risk/loans/L-ok", headers=ro)).json()
        assert (risk["classification"], risk["classification_reason"]) == ("substandard", "judgement")
        assert risk["ifrs9_stage"] == 3, "an NPL by judgement is credit-impaired at the next close of day"
        # ... until the rules worsen past it: 300 days past due is doubtful, and the judgement lapses.
        async with sessions.begin() as session:
            await session.execute(
                text(
                    "UPDATE loan_features SET overdue_since = :d, episode_started_on = :d, overdue = 500, dirty = true WHERE loan_id = 'L-ok'"
                ),
                {"d": D1 - timedelta(days=300)},
            )
            await rescore(session, business_date=D1 + timedelta(days=2), settings=settings)
        risk = (await client.get("/v1/risk/loans/L-ok", headers=ro)).json()
        assert (risk["classification"], risk["classification_reason"]) == ("doubtful", "dpd_floor")
        assert risk["classification_proposal_id"] is None
        lapsed = await client.get("/v1/classification-proposals", params={"status": "superseded"}, headers=rm)
        assert [p["proposal_id"] for p in lapsed.json()["items"]] == [proposal["proposal_id"]]

        async with sessions() as session:
            envelopes = [Envelope.from_bytes(p) for p in (await session.execute(select(outbox.c.payload))).scalars()]
            actions = (await session.execute(select(audit_log.c.action))).scalars().all()
        await engine.dispose()
        changed = [e for e in envelopes if e.type == "classification-changed" and e.subject == "L-ok"]
        assert [e.data["reason"] for e in changed][:1] == ["judgement"]
        for envelope in changed:
            parse_data(envelope)
        assert {
            "classification-proposal.create",
            "classification-proposal.approve",
            "classification-proposal.reject",
        } <= set(actions)
