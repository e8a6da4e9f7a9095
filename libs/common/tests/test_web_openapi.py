"""The shared OpenAPI shapes: operationIds, ProblemDetails in components, typed decimals and instants."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from postloan_common.settings import ServiceSettings
from postloan_common.web import create_app
from postloan_common.web.openapi import DecimalText, Page, Timestamp, is_camel, problems

router = APIRouter(prefix="/v1", tags=["things"])


class Thing(BaseModel):
    ratio: DecimalText
    seen_at: Timestamp


@router.get("/things", responses=problems(401, 404))
async def list_recent_things() -> Page[Thing]:
    return Page[Thing](items=[], next_cursor=None)


@router.get("/things/{thing_id}", operation_id="getThing")
async def thing(thing_id: str) -> Thing:
    return Thing(ratio=Decimal("0.5"), seen_at=datetime(2026, 1, 2, tzinfo=UTC))


def _document() -> dict:
    app = create_app(settings=ServiceSettings(service_name="demo"), title="demo", routers=(router,))
    return app.openapi()


def test_operation_ids_are_camel_case_unless_named():
    paths = _document()["paths"]
    assert paths["/v1/things"]["get"]["operationId"] == "listRecentThings"
    assert paths["/v1/things/{thing_id}"]["get"]["operationId"] == "getThing"
    assert is_camel("getCustomerOverview")
    assert not is_camel("get_customer_overview_v1_customers__customer_id__overview_get")


def test_problem_responses_resolve_to_components():
    document = _document()
    responses = document["paths"]["/v1/things"]["get"]["responses"]
    ref = responses["404"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ProblemDetails"
    assert "title" in document["components"]["schemas"]["ProblemDetails"]["properties"]
    assert responses["4XX"]["content"]["application/problem+json"]["schema"]["$ref"] == ref


def test_decimals_and_instants_keep_their_text():
    schemas = _document()["components"]["schemas"]
    assert schemas["Thing"]["properties"]["ratio"]["pattern"]
    assert schemas["Thing"]["properties"]["seen_at"]["format"] == "date-time"
    body = Thing(ratio=Decimal("1E+1"), seen_at=datetime(2026, 1, 2, tzinfo=UTC)).model_dump(mode="json")
    assert body == {"ratio": "10", "seen_at": "2026-01-02T00:00:00+00:00"}
