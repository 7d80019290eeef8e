"""Custom HTTP tools: fill the request from the arguments and prompt variables, call it.

Timeouts and HTTP errors become a tool result the LLM reads; they never end the call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from openrevox.domain.templating import PLACEHOLDER
from openrevox.runtime.tools.base import ToolContext, ToolHandler, ToolResult, error

MAX_BODY_CHARS = 4000


def custom_http_tool(tool: Mapping[str, Any]) -> ToolHandler:
    """The handler of one configured custom tool."""

    async def handle(args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        values: dict[str, Any] = {**ctx.config.variables, **args}
        try:
            url = fill_text(tool["url"], values, escape=lambda v: quote(str(v), safe=""))
            headers = {kv["key"]: fill_text(kv["value"], values) for kv in tool["headers"]}
            params = {kv["key"]: fill_text(kv["value"], values) for kv in tool["query_params"]}
            body = fill_json(tool["body_template"], values) if tool.get("body_template") else None
        except KeyError as exc:
            return error(f"missing argument {exc.args[0]!r}")
        except ValueError as exc:
            return error(f"the request body is not valid JSON once filled: {exc}")
        timeout = ctx.settings.custom_tool_timeout_secs
        try:
            response = await ctx.http.request(
                tool["method"],
                url,
                headers=headers,
                params=params,
                json=body if tool["method"] != "GET" else None,
                timeout=timeout,
            )
        except httpx.TimeoutException:
            return error(f"the service did not answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return error(f"could not reach the service: {type(exc).__name__}")
        content = _content(response)
        if response.is_success:
            return ToolResult({"status": response.status_code, "body": content})
        return error(f"the service answered HTTP {response.status_code}", body=content)

    return handle


def fill_text(template: str, values: Mapping[str, Any], escape: Any = str) -> str:
    """Fill placeholders in plain text; raises ``KeyError`` for an unknown name."""
    return PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), template)


def fill_json(template: str, values: Mapping[str, Any]) -> Any:
    """Fill a JSON body template: inside strings values are escaped text, elsewhere they
    are JSON values (numbers stay numbers). Returns the parsed document."""
    out: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(template):
        out.append(template[position : match.start()])
        value = values[match.group(1)]
        if _inside_string(template, match.start()):
            out.append(json.dumps(str(value))[1:-1])
        else:
            out.append(json.dumps(value))
        position = match.end()
    out.append(template[position:])
    return json.loads("".join(out))


def _inside_string(text: str, index: int) -> bool:
    inside = False
    escaped = False
    for char in text[:index]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
    return inside


def _content(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:MAX_BODY_CHARS]
