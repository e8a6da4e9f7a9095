"""Product rules: waterfall, penalty, grace, overpayment policy, reminder offsets.

When a product's rules take effect on a loan:
- penalty rate and grace days are snapshotted onto the loan when it is booked (`loans.penalty_rate`,
  `loans.grace_days`, and each installment's end of grace): changing them later does not move the
  terms of loans already booked, only of loans booked afterwards;
- waterfall, component order and overpayment policy are read from the product every time a loan is
  replayed (each posting, reversal and detail view), so a change applies to every loan of the product
  from then on, including to the allocation of its earlier repayments when they are replayed;
- due offsets (the `payment-due` reminders) are read by each close of day;
- shift_due_dates moves the installments of the product's loans to business days: at booking, and
  when it changes, for every installment not yet due (README, "business calendar").
A product without a row uses the platform defaults (docs/domain.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from postloan_common.web import DbSession, ProblemError, require_roles
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.api.deps import CurrentCaller, PageCursor, PageLimit, Reader, ServiceConfig, cursor_key
from postloan_repayment_monitor.api.problems import READ_PAGE
from postloan_repayment_monitor.api.schemas import ProductIn, ProductOut, ProductsOut
from postloan_repayment_monitor.service import products as service
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.queries import encode_cursor

router = APIRouter(tags=["products"])
Admin = Depends(require_roles("admin"))
Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.get(
    "/products",
    response_model=ProductsOut,
    dependencies=[Reader],
    operation_id="listProducts",
    responses=READ_PAGE,
)
async def list_products(
    session: DbSession,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    """Configured products by code (a product without a row uses the defaults and is not listed)."""
    items, last = await service.list_products(session, after=cursor_key(cursor, str), limit=limit)
    return {"items": items, "next_cursor": encode_cursor([last]) if last is not None else None}


@router.get(
    "/products/{code}",
    response_model=ProductOut,
    dependencies=[Reader],
    operation_id="getProduct",
    responses=problems(401, 403, 404, 422),
)
async def get_product(code: Code, session: DbSession) -> dict[str, Any]:
    """The product's rules, or the defaults with `configured: false` when it has none.

    Penalty rate and grace days shown here apply to loans booked from now on (loans keep those of
    their booking); waterfall, overpayment and due offsets apply to every loan of the product.
    """
    return await service.get_product(session, code=code)


@router.put(
    "/products/{code}",
    response_model=ProductOut,
    dependencies=[Admin],
    responses={**problems(401, 403, 422), 201: {"model": ProductOut, "description": "The product had no rules yet"}},
    operation_id="putProduct",
)
async def put_product(
    code: Code,
    body: ProductIn,
    response: Response,
    session: DbSession,
    settings: ServiceConfig,
    caller: CurrentCaller,
) -> dict[str, Any]:
    """Replace the product's rules (201 when it had none); audited with the old and new values.

    Penalty rate and grace days are snapshotted by loans at booking, so a change reaches only loans
    booked afterwards. Waterfall, component order and overpayment policy apply from the product at
    every posting, reversal and replay of its loans; due offsets apply from the next close of day.
    Turning shift_due_dates on or off moves the due dates of the product's loans not yet due.
    """
    try:
        rules = service.build_rules(**body.model_dump(exclude={"shift_due_dates"}))
    except service.InvalidProduct as exc:
        raise ProblemError(
            422,
            "Invalid product",
            str(exc),
            type_="/problems/invalid-product",
            extra={"errors": [{"field": f"body.{exc.field}", "message": exc.message}]},
        ) from exc
    async with session.begin():
        # Held while a change of shift_due_dates moves due dates: no booking, posting or close in between.
        today = await business_date(session, initial=settings.first_business_date(), lock="update")
        view, created = await service.put_product(
            session,
            code=code,
            rules=rules,
            shift_due_dates=body.shift_due_dates,
            business_date=today,
            weekend=settings.weekend(),
            actor=caller.actor,
            correlation_id=caller.correlation_id,
        )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return view
