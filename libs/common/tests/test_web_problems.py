"""Every error leaves the app as application/problem+json."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from structlog.contextvars import get_contextvars

from postloan_common.settings import ServiceSettings
from postloan_common.web import CorrelationId, ProblemError, create_app

router = APIRouter(prefix="/v1")


class Installment(BaseModel):
    seq: int
    due_date: date


class Loan(BaseModel):
    loan_id: str
    installments: list[Installment]


@router.post("/loans", status_code=201)
async def register(loan: Loan) -> dict[str, str]:
    return {"loan_id": loan.loan_id}


@router.post("/conflict")
async def conflict() -> None:
    raise ProblemError(409, "Conflict", "loan L-1 already exists", extra={"loan_id": "L-1"})


@router.get("/db-dropped")
async def db_dropped() -> None:
    raise OperationalError("SELECT 1", {}, ConnectionResetError("server closed the connection"))


@router.get("/key-taken")
async def key_taken() -> None:
    raise asyncpg.UniqueViolationError('duplicate key value violates unique constraint "pk_repayments"')


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@router.get("/correlation")
async def correlation(correlation_id: CorrelationId) -> dict[str, str]:
    return {"correlation_id": correlation_id, "logged": get_contextvars().get("correlation_id")}


@pytest.fixture
async def client():
    settings = ServiceSettings(
        service_name="test-problems", database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    app = create_app(settings=settings, title="t", routers=[router], check_broker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


async def test_validation_error_names_the_field(client):
    payload = {"loan_id": "L-1", "installments": [{"seq": 1, "due_date": "not-a-date"}]}
    body = assert_problem(await client.post("/v1/loans", json=payload), 422)
    fields = [error["field"] for error in body["errors"]]
    assert fields == ["body.installments[0].due_date"]
    assert "body.installments[0].due_date" in body["detail"]
    assert "not-a-date" not in str(body)


async def test_valid_body_passes(client):
    payload = {"loan_id": "L-1", "installments": [{"seq": 1, "due_date": "2026-02-05"}]}
    assert (await client.post("/v1/loans", json=payload)).status_code == 201


async def test_malformed_json_is_422(client):
    response = await client.post(
        "/v1/loans", content=b'{"loan_id": "L-1", ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert "not valid JSON" in body["detail"]


async def test_unhandled_exception_is_500_problem(client):
    response = await client.get("/v1/boom", headers={"X-Request-ID": "req-123"})
    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert body["request_id"] == "req-123"
    assert response.headers["x-request-id"] == "req-123"


async def test_a_dropped_database_connection_is_a_retryable_503(client):
    response = await client.get("/v1/db-dropped")
    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert "retry" in body["detail"]


async def test_a_key_taken_by_a_concurrent_request_is_a_retryable_503(client):
    response = await client.get("/v1/key-taken")
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"


async def test_unknown_route_is_404_problem(client):
    body = assert_problem(await client.get("/v1/nothing-here"), 404)
    assert body["instance"] == "/v1/nothing-here"


async def test_wrong_method_is_405_problem(client):
    response = await client.delete("/v1/loans")
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


async def test_problem_error_keeps_its_status_and_extras(client):
    body = assert_problem(await client.post("/v1/conflict"), 409)
    assert body["detail"] == "loan L-1 already exists"
    assert body["loan_id"] == "L-1"


async def test_request_and_correlation_ids_are_echoed(client):
    response = await client.get("/v1/correlation", headers={"X-Correlation-ID": "corr-1"})
    assert response.json() == {"correlation_id": "corr-1", "logged": "corr-1"}
    assert response.headers["x-correlation-id"] == "corr-1"
    assert response.headers["x-request-id"]
    generated = await client.get("/v1/correlation")
    assert generated.json()["correlation_id"] == generated.headers["x-request-id"]
