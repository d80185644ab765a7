"""HTTP routes: the customer status page (by its secret link) and customer preferences."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse
from incident_events.types import DeliveryChannel
from incident_kit.fields import EmailAddress, NoNul
from incident_kit.problems import Problem
from incident_kit.service import Runtime
from pydantic import BaseModel, ConfigDict, Field

from notifier import repository
from notifier.domain import Preferences, customer_language
from notifier.preferences_cache import PreferencesCache
from notifier.rendering import render_status_page

# The link is the only credential: keep it out of caches, referrers and search engines.
STATUS_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
CustomerId = Annotated[str, Path(min_length=1, max_length=64), NoNul]
StatusToken = Annotated[str, Path(max_length=128), NoNul]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="BCP 47 tag; messages use en, cs, pl or ru and fall back to en.",
    )
    email: EmailAddress | None = Field(default=None, description="Overrides the reported address.")
    channels: list[DeliveryChannel] = Field(default=[DeliveryChannel.EMAIL], max_length=3)


class PreferencesOut(BaseModel):
    customer_id: str
    language: str | None
    email: str | None
    channels: list[DeliveryChannel]
    updated_at: datetime


def status_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["customers"])

    @router.get(
        "/status/{token}",
        response_class=HTMLResponse,
        summary="Customer status page",
        responses={404: {"description": "No incident has this status link"}},
    )
    async def status_page(token: StatusToken) -> HTMLResponse:
        async with runtime.sessions() as session:
            view = await repository.incident_by_token(session, token=token)
            customer_id = view.customer_id if view else None
            preferences = await repository.preferences_of(session, customer_id=customer_id)
        if view is None or view.reference is None:
            raise Problem(404, "Status page not found", "no incident has this status link")
        page = render_status_page(view, customer_language(view, preferences))
        return HTMLResponse(page, headers=STATUS_PAGE_HEADERS)

    return router


def preferences_router(
    runtime: Runtime, guard: Callable[..., Awaitable[str]], cache: PreferencesCache
) -> APIRouter:
    router = APIRouter(prefix="/v1/customers", tags=["preferences"], dependencies=[Depends(guard)])

    @router.put("/{customer_id}/preferences", response_model=PreferencesOut)
    async def put_preferences(customer_id: CustomerId, body: PreferencesIn) -> PreferencesOut:
        preferences = Preferences(
            language=body.language,
            email=str(body.email) if body.email else None,
            channels=frozenset(channel.value for channel in body.channels),
        )
        now = runtime.clock.now()
        async with runtime.sessions.begin() as session:
            await repository.save_preferences(
                session, customer_id=customer_id, preferences=preferences, now=now
            )
        cache.forget(customer_id)
        return _preferences_out(customer_id, preferences, now)

    @router.get(
        "/{customer_id}/preferences",
        response_model=PreferencesOut,
        responses={404: {"description": "The customer has set no preferences"}},
    )
    async def get_preferences(customer_id: CustomerId) -> PreferencesOut:
        async with runtime.sessions() as session:
            stored = await repository.stored_preferences(session, customer_id=customer_id)
        if stored is None:
            raise Problem(404, "Preferences not found", f"customer {customer_id} has none")
        preferences, updated_at = stored
        return _preferences_out(customer_id, preferences, updated_at)

    return router


def _preferences_out(
    customer_id: str, preferences: Preferences, updated_at: datetime
) -> PreferencesOut:
    return PreferencesOut(
        customer_id=customer_id,
        language=preferences.language,
        email=preferences.email,
        channels=[DeliveryChannel(channel) for channel in sorted(preferences.channels)],
        updated_at=updated_at,
    )
