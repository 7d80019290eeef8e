"""The ceiling for bench/api.py: a bare FastAPI app served the way ``openrevox serve`` serves.

GET and PATCH ``/assistants/{id}`` answer a fixed assistant (``assistant.json``, a real
~3 KB response) with no authentication and no database: what is left is uvicorn (uvloop
and httptools), FastAPI routing and body parsing, and one orjson encoding per request.

    python bench/ceiling.py --port 8001
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Response

ASSISTANT: dict[str, Any] = orjson.loads(Path(__file__).with_name("assistant.json").read_bytes())


def json_response(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/assistants/{assistant_id}")
    async def get_assistant(assistant_id: str) -> Response:
        return json_response(ASSISTANT)

    @app.patch("/assistants/{assistant_id}")
    async def update_assistant(assistant_id: str, body: dict[str, Any]) -> Response:
        return json_response({"assistant": ASSISTANT})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    # The same call as openrevox.cli.main.serve, with its log settings under the bench.
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
