"""Finding and storing the customer of each report of a group, in the caller's transaction, by
the merge rule of domain.customers: look the reports' identities up, decide; if that claims
identities nobody owned, decide again under their locks (a concurrent group may have claimed
them meanwhile), then store new customers, links, possible duplicates and changed details."""

from collections.abc import Sequence
from datetime import datetime

from incident_events.incidents import CustomerRef
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain, repository
from intake.domain import Claim, CustomerChange, Resolution


async def store_customers(
    session: AsyncSession, claims: Sequence[Claim], *, now: datetime
) -> list[CustomerRef]:
    """Each claim's customer as stored once the group's reports are applied."""
    resolution, read = await _resolve(session, claims, now=now)
    changes = domain.merge_customer_changes(resolution.claims)
    stored = await _store_changes(session, changes, resolution, read, now=now)
    if resolution.duplicates:
        await repository.record_duplicates(session, duplicates=resolution.duplicates, now=now)
    return [stored[customer_id] for customer_id in resolution.customer_ids]


async def _resolve(
    session: AsyncSession, claims: Sequence[Claim], *, now: datetime
) -> tuple[Resolution, dict[str, CustomerRef]]:
    """The resolution, and the owners' customers as read with it."""
    identities = {i for claim in claims for i in domain.identities_of(claim.details)}
    owners, read = await repository.identity_owners(session, identities=identities)
    resolution = domain.resolve_customers(claims, owners, now=now)
    if not resolution.claims_identities:
        return resolution, read  # identities only ever gain owners: what we read still holds
    await repository.lock_identities(session, identities=identities)
    owners, read = await repository.identity_owners(session, identities=identities)
    return domain.resolve_customers(claims, owners, now=now), read


async def _store_changes(
    session: AsyncSession,
    changes: Sequence[CustomerChange],
    resolution: Resolution,
    read: dict[str, CustomerRef],
    *,
    now: datetime,
) -> dict[str, CustomerRef]:
    """Write only the rows that change, and the resolution's links (with the new customers,
    if any). Looking first only spares locks; conflicts are still settled by the writes."""
    # The customers the resolution creates are not looked up: one stored meanwhile (or before
    # its identities were) is not inserted, and is then updated like any stale row.
    # Those found by their identities were read with them (`read`).
    looked_up = [c.customer_id for c in changes if c.customer_id not in resolution.created]
    known = {customer_id: read[customer_id] for customer_id in looked_up if customer_id in read}
    unread = [customer_id for customer_id in looked_up if customer_id not in known]
    if unread:
        known |= await repository.get_customers(session, customer_ids=unread)
    missing = [domain.new_customer(c) for c in changes if c.customer_id not in known]
    creators = {customer_id: c.created_by or "" for customer_id, c in resolution.created.items()}
    inserted = (
        await repository.insert_customers(
            session, customers=missing, creators=creators, now=now, links=resolution.links
        )
        if missing
        else {}
    )
    if resolution.links and not missing:
        await repository.link_identities(session, links=resolution.links, now=now)
    # Changed, or stored by a concurrent group since we looked: compared again under lock.
    stale = [
        c
        for c in changes
        if c.customer_id not in inserted
        and (c.customer_id not in known or domain.customer_changed(known[c.customer_id], c))
    ]
    updated = await repository.update_customers(session, changes=stale, now=now) if stale else {}
    # What a concurrent group stored meanwhile, already saying what our reports say.
    unsettled = [c.customer_id for c in stale if c.customer_id not in updated]
    settled = await repository.get_customers(session, customer_ids=unsettled) if unsettled else {}
    return {**known, **inserted, **updated, **settled}
