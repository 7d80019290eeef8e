"""Twilio REST errors as the fake answers them, on its Voice and Messaging APIs alike."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import JSONResponse


@dataclass(frozen=True)
class RestError:
    """``Calls.json`` itself answers an error (no call is created); also what
    ``Messages.json`` answers for a message made to fail (none is sent)."""

    status: int = 400
    code: int = 21211
    message: str = "The 'To' number is not a valid phone number."


def error_response(status: int, code: int, message: str) -> JSONResponse:
    """Twilio's JSON error body, with its HTTP status."""
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )
