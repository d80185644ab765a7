"""The SQL the channels need beyond reporting and changing: an incident by the reference a
customer quotes, and whether a comment (an e-mail's, by its id) is already on its timeline."""

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain import Incident
from intake.repository.incidents import get_incident
from intake.tables import IncidentRow, TimelineRow

COMMENTED = "incident.commented.v1"


async def incident_by_reference(session: AsyncSession, *, reference: str) -> Incident | None:
    incident_id = await session.scalar(
        select(IncidentRow.incident_id).where(IncidentRow.reference == reference)
    )
    return await get_incident(session, incident_id=incident_id) if incident_id else None


async def has_comment(session: AsyncSession, *, incident_id: str, comment_id: str) -> bool:
    query = select(
        exists().where(
            TimelineRow.incident_id == incident_id,
            TimelineRow.event_type == COMMENTED,
            TimelineRow.data["comment_id"].astext == comment_id,
        )
    )
    return bool(await session.scalar(query))
