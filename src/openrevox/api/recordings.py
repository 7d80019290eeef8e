"""``GET /recordings/{attempt_id}``: an attempt's stereo recording (caller left, agent
right, 16-bit WAV), for the organization that placed the call."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from openrevox.api.deps import Caller, Db
from openrevox.config import Settings
from openrevox.errors import NotFound
from openrevox.runtime.audio.recording import recording_path
from openrevox.storage.models import Call, CallAttempt

router = APIRouter(tags=["recordings"])


@router.get("/recordings/{attempt_id}", response_class=FileResponse)
async def get_recording(attempt_id: str, caller: Caller, db: Db, request: Request) -> FileResponse:
    """The WAV of one attempt; 404 for another organization's attempt or no recording."""
    settings: Settings = request.app.state.settings
    async with db.read() as session:
        found = await session.scalar(
            select(CallAttempt.id)
            .join(Call, Call.id == CallAttempt.call_id)
            .where(CallAttempt.id == attempt_id, Call.organization_id == caller.organization_id)
        )
    path = recording_path(settings, attempt_id)
    if found is None or not path.is_file():
        raise NotFound(f"no recording for call attempt {attempt_id}")
    return FileResponse(path, media_type="audio/wav", filename=f"{attempt_id}.wav")
