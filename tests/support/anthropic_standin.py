"""A stand-in for Anthropic's Messages API (no cloud keys here), for the integration stack.

LiteLLM reaches it exactly as it reaches api.anthropic.com (an `anthropic/...` model whose
`api_base` points here). It answers in the recorded format: a stream is the recorded Anthropic
stream `anthropic_sse_1.txt` (ping events, padded `data:` JSON and all) with the model name and
the token counts of this request put in; a non-streamed answer is the same message as JSON;
`/v1/messages/count_tokens` counts (4 characters a token, as the router estimates). Every
request is kept in `requests` so that a test can see what LiteLLM forwarded.

With `tool_call` set to (name, input), a streamed request that does not yet carry a tool result
is answered with that tool call instead, in the recorded tool-use stream's format
(`anthropic_sse_3.txt`): an agent then runs the tool and comes back with its result.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic_sse_1.txt"
RECORDED = "".join(line for line in _FIXTURE.read_text().splitlines(keepends=True) if not line.startswith(": "))
_TOOL_FIXTURE = _FIXTURE.with_name("anthropic_sse_3.txt")
RECORDED_TOOL_USE = "".join(
    line for line in _TOOL_FIXTURE.read_text().splitlines(keepends=True) if not line.startswith(": ")
)
RECORDED_MODEL = "claude-sonnet-4-5-20250929"
ANSWER = "- Captain\n- Scoop"  # the recorded stream's text deltas, joined
MODELS = [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5 (stand-in)"}]


def _input_tokens(body: dict[str, Any]) -> int:
    return max(1, len(json.dumps(body.get("messages", [])) + json.dumps(body.get("system", ""))) // 4)


def recorded_stream(model: str, input_tokens: int) -> bytes:
    text = RECORDED.replace(RECORDED_MODEL, model)
    text = re.sub(r'"input_tokens":\d+', f'"input_tokens":{input_tokens}', text)
    return text.encode()


def tool_use_stream(model: str, input_tokens: int, name: str, arguments: dict[str, Any]) -> bytes:
    text = RECORDED_TOOL_USE.replace("claude-haiku-4-5-20251001", model)
    text = text.replace('"name":"pelican_name_generator"', f'"name":{json.dumps(name)}')
    text = text.replace('"partial_json":""', f'"partial_json":{json.dumps(json.dumps(arguments))}')
    text = re.sub(r'"input_tokens":\d+', f'"input_tokens":{input_tokens}', text)
    return text.encode()


def _has_tool_result(body: dict[str, Any]) -> bool:
    return any(
        isinstance(block, dict) and block.get("type") == "tool_result"
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith("/models"):
            self._send(200, json.dumps({"data": MODELS, "has_more": False}).encode())
        else:
            self._send(404, b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}')

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        path = self.path.split("?")[0]
        self.server.requests.append((path, dict(self.headers.items()), body))
        tokens = _input_tokens(body)
        if path.endswith("/messages/count_tokens"):
            self._send(200, json.dumps({"input_tokens": tokens}).encode())
        elif not path.endswith("/messages"):
            self._send(404, b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}')
        elif body.get("stream") and self.server.tool_call is not None and not _has_tool_result(body):
            name, arguments = self.server.tool_call
            stream = tool_use_stream(str(body.get("model")), tokens, name, arguments)
            self._send(200, stream, "text/event-stream; charset=utf-8")
        elif body.get("stream"):
            self._send(200, recorded_stream(str(body.get("model")), tokens), "text/event-stream; charset=utf-8")
        else:
            message = {
                "id": "msg_017A4s3HAsrqf5d2WvBmrpLr",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 10,
                },
            }
            self._send(200, json.dumps(message).encode())


class _Server(ThreadingHTTPServer):
    requests: list[tuple[str, dict[str, str], dict[str, Any]]]
    tool_call: tuple[str, dict[str, Any]] | None


class AnthropicStandIn:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.requests = []
        self.server.tool_call = None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        return self.server.requests

    def start(self) -> AnthropicStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
