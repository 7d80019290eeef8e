"""An attempt carries its call's campaign, kept by the database (migration 0010)
whatever inserts it: the ORM, a Core insert, and when the call's campaign changes."""

from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from openrevox.storage.database import Database
from openrevox.storage.migrate import upgrade_async
from openrevox.storage.models import Call, CallAttempt, Organization, new_id

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)


def _call(org: str, campaign_id: str | None) -> Call:
    return Call(
        id=new_id(),
        organization_id=org,
        assistant_snapshot={},
        to_phone_number="+33612345678",
        status="completed",
        scheduled_at=NOW,
        campaign_id=campaign_id,
    )


async def test_attempts_take_their_calls_campaign(database_url: str) -> None:
    await upgrade_async(database_url)
    db = Database(database_url)
    try:
        async with db.write() as session:
            org = Organization(id=new_id(), name="Acme")
            session.add(org)
            await session.flush()
            in_campaign, alone = _call(org.id, "campaign-1"), _call(org.id, None)
            session.add_all([in_campaign, alone])
            await session.flush()
            session.add(
                CallAttempt(id="orm", call_id=in_campaign.id, attempt_number=1, phone_number="+1")
            )
            await session.execute(
                insert(CallAttempt),
                [
                    {
                        "id": "core",
                        "call_id": in_campaign.id,
                        "attempt_number": 2,
                        "phone_number": "+1",
                        "campaign_id": "a lie",
                    },
                    {"id": "none", "call_id": alone.id, "attempt_number": 1, "phone_number": "+1"},
                ],
            )
        async with db.read() as session:
            found = dict(
                (await session.execute(select(CallAttempt.id, CallAttempt.campaign_id))).all()
            )
        assert found == {"orm": "campaign-1", "core": "campaign-1", "none": None}
        async with db.write() as session:
            await session.execute(
                update(Call).where(Call.id == alone.id).values(campaign_id="campaign-2")
            )
        async with db.read() as session:
            moved = await session.scalar(
                select(CallAttempt.campaign_id).where(CallAttempt.id == "none")
            )
        assert moved == "campaign-2"
    finally:
        await db.dispose()
