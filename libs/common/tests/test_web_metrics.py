"""Request metrics are labelled with route templates, never raw paths."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from prometheus_client import REGISTRY

from postloan_common.settings import ServiceSettings
from postloan_common.web import create_app

SERVICE = "test-metrics"
router = APIRouter(prefix="/v1/things")


@router.get("/{id}")
async def get_thing(id: str) -> dict[str, str]:
    return {"id": id}


def route_labels() -> set[str]:
    return {
        sample.labels["route"]
        for metric in REGISTRY.collect()
        if metric.name == "http_request_duration_seconds"
        for sample in metric.samples
        if sample.labels.get("service") == SERVICE and sample.name.endswith("_count")
    }


async def test_route_label_is_the_template():
    settings = ServiceSettings(
        service_name=SERVICE, database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    app = create_app(settings=settings, title="t", routers=[router], check_broker=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        assert (await client.get("/v1/things/raw-id-qzx1")).status_code == 200
        assert (await client.get("/v1/things/raw-id-qzx2")).status_code == 200
        assert route_labels() == {"/v1/things/{id}"}
        assert (await client.get("/nowhere/raw-id-qzx3")).status_code == 404
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'route="/v1/things/{id}"' in text
    assert f'http_requests_total{{method="GET",route="/v1/things/{{id}}",service="{SERVICE}",status="2xx"}} 2.0' in text
    assert "raw-id-qzx" not in text
    assert route_labels() == {"/v1/things/{id}", "<unmatched>", "/metrics"}
