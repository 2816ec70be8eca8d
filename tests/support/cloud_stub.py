"""Paid-cloud stand-ins for the integration stack: OpenAI and Anthropic speaking their recorded formats.

No cloud key exists here, so LiteLLM is pointed (via `api_base`) at this one small HTTP server:
`POST /v1/chat/completions` answers as OpenAI does (JSON, or the recorded stream in
`tests/fixtures/openai_sse_1.txt`), `POST /v1/messages` as Anthropic does (JSON, or the
recorded stream in `/work/shared/fixtures/anthropic_sse_1.txt`, copied to tests/fixtures).
Every request is recorded with its path and body, so a test can prove what LiteLLM really
called — and what it did not.

Behaviour is chosen per requested model name (`modes[model]`, default "ok"):

    ok | status:<code> | cut:<n> (stream: close the connection after n events)
    | slow:<seconds> (stream: pause before each event) | long (a 400-token answer)
    | wait:<seconds> (answer after that long: a cloud model still thinking)
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROMPT_TOKENS = 12
COMPLETION_TOKENS = 5
LONG_COMPLETION_TOKENS = 400


def recorded_events(name: str) -> list[bytes]:
    """A recorded stream's events (`event:`/`data:` lines), each with its blank-line terminator."""
    text = (FIXTURES / name).read_bytes()
    body = b"\n".join(line for line in text.split(b"\n") if not line.startswith(b": "))
    return [e.strip(b"\n") + b"\n\n" for e in body.split(b"\n\n") if e.strip()]


@dataclass(frozen=True)
class Seen:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


def openai_completion(model: str, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": 1747148050,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "word " * completion_tokens},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens,
        },
    }


def anthropic_message(model: str, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"msg_stub{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "word " * completion_tokens}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": PROMPT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": completion_tokens,
        },
    }


class CloudStub:
    def __init__(self) -> None:
        self.modes: dict[str, str] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # liveness probes (GET {api_base}/models)
                self._json(200, {"object": "list", "data": []})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with stub._lock:
                    stub.seen.append(Seen(self.path.partition("?")[0], body, dict(self.headers)))
                mode = stub.modes.get(str(body.get("model")), "ok")
                anthropic = self.path.startswith("/v1/messages")
                if mode.startswith("status:"):
                    code = int(mode.partition(":")[2])
                    error = {"message": f"stub says {code}", "type": "api_error"}
                    self._json(code, {"type": "error", "error": error} if anthropic else {"error": error})
                    return
                if mode.startswith("wait:"):
                    time.sleep(float(mode.partition(":")[2]))
                tokens = LONG_COMPLETION_TOKENS if mode == "long" else COMPLETION_TOKENS
                if not body.get("stream"):
                    model = str(body.get("model"))
                    self._json(200, anthropic_message(model, tokens) if anthropic else openai_completion(model, tokens))
                    return
                events = recorded_events("anthropic_sse_1.txt" if anthropic else "openai_sse_1.txt")
                cut = int(mode.partition(":")[2]) if mode.startswith("cut:") else None
                pause = float(mode.partition(":")[2]) if mode.startswith("slow:") else 0.0
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for i, event in enumerate(events):
                    if cut is not None and i == cut:
                        return  # the connection closes mid-stream: no usage, no end event
                    time.sleep(pause)
                    try:
                        self.wfile.write(event)
                    except OSError:  # the caller hung up
                        return
                    self.wfile.flush()

            def _json(self, status: int, data: object) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> CloudStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, model: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.body.get("model") == model]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
        self.modes.clear()
