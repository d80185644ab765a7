"""Intake's HTTP API for customers: one customer's integrated record across channels, its
incidents on every channel, and the changes an admin makes to its record (the tier above all,
which reports without the admin scope cannot set).

Reading needs `agent` or `admin`; changing, `admin`. A customer is found by its id or by any
external id linked to it (a report that named it), and answered under its own id.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from incident_events.types import IncidentStatus
from incident_kit.problems import Problem
from incident_kit.service import Runtime

from intake import domain, repository
from intake.api import PageCursor, PageLimit, incident_page
from intake.auth import AUTH_RESPONSES, Authenticator
from intake.domain import Client, Scope
from intake.schemas import CustomerAmendmentIn, CustomerDetailOut, IncidentPage
from intake.schemas.fields import CustomerId

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No customer has this id or external id"}
}


def customers_router(runtime: Runtime, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=AUTH_RESPONSES)
    reader, admin = auth.requiring(*domain.READERS), auth.requiring(Scope.ADMIN)

    async def found(named: str) -> str:
        async with runtime.sessions() as session:
            customer_id = await repository.find_customer_id(session, named=named)
        if customer_id is None:
            raise Problem(404, "Customer not found", f"no customer {named!r}")
        return customer_id

    async def record(customer_id: str) -> CustomerDetailOut:
        async with runtime.sessions() as session:
            stored = await repository.customer_record(session, customer_id=customer_id)
        if stored is None:
            raise Problem(404, "Customer not found", f"no customer {customer_id!r}")
        return CustomerDetailOut.of_record(stored)

    @router.get("/{customer_id}", responses=NOT_FOUND)
    async def read_customer(
        customer_id: CustomerId, _: Annotated[Client, Depends(reader)]
    ) -> CustomerDetailOut:
        """The customer's record, identities, possible duplicates, and how many incidents it has
        on each channel and in each status."""
        return await record(await found(customer_id))

    @router.get("/{customer_id}/incidents", responses=NOT_FOUND)
    async def customer_incidents(
        customer_id: CustomerId,
        _: Annotated[Client, Depends(reader)],
        status: Annotated[list[IncidentStatus] | None, Query()] = None,
        limit: PageLimit = 50,
        cursor: PageCursor = None,
    ) -> IncidentPage:
        """The customer's incidents from every channel, newest first, optionally by status;
        `next_cursor` fetches the next page."""
        where = repository.IncidentFilter(
            statuses=status or (), customer_id=await found(customer_id)
        )
        return await incident_page(runtime, where, limit=limit, cursor=cursor)

    @router.patch("/{customer_id}", responses=NOT_FOUND)
    async def amend_customer(
        customer_id: CustomerId,
        body: CustomerAmendmentIn,
        _: Annotated[Client, Depends(admin)],
    ) -> CustomerDetailOut:
        """Set the customer's tier, language, time zone or name. Later reports carry the new
        values in their events; incidents already reported keep theirs."""
        target = await found(customer_id)
        async with runtime.sessions.begin() as session:
            await repository.amend_customer(
                session, customer_id=target, values=body.columns(), now=runtime.clock.now()
            )
        return await record(target)

    return router
