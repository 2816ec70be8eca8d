"""A stand-in for a vLLM server under load, for the integration stack (no GPU here for vLLM).

It speaks vLLM's own formats: `GET /v1/models` as vLLM's OpenAI server lists models,
`GET /metrics` as the recorded vLLM V1 exposition (tests/fixtures/vllm_metrics.txt, copied
from shared/fixtures with its source) with load numbers in place of the idle ones, and it
refuses completions with 503, as an overloaded server would, so that fallbacks happen for real.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RECORDED = (Path(__file__).resolve().parents[1] / "fixtures" / "vllm_metrics.txt").read_text()
MODEL = "Qwen/Qwen1.5-0.5B-Chat"  # the model named in the recorded capture


def loaded_metrics(running: int = 2, waiting: int = 3, kv: float = 0.42) -> str:
    labels = f'{{engine="0",model_name="{MODEL}"}}'
    return (
        RECORDED.replace(f"vllm:num_requests_running{labels} 0.0", f"vllm:num_requests_running{labels} {running}.0")
        .replace(f"vllm:num_requests_waiting{labels} 0.0", f"vllm:num_requests_waiting{labels} {waiting}.0")
        .replace(f"vllm:kv_cache_usage_perc{labels} 0.0", f"vllm:kv_cache_usage_perc{labels} {kv}")
    )


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            data = {
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "owned_by": "vllm", "max_model_len": 32768}],
            }
            self._send(200, json.dumps(data).encode(), "application/json")
        elif self.path == "/metrics":
            self._send(200, loaded_metrics().encode(), "text/plain; version=0.0.4")
        else:
            self._send(404, b'{"detail":"Not Found"}', "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        err = {
            "object": "error",
            "message": "The server is overloaded; try again later.",
            "type": "ServiceUnavailable",
            "param": None,
            "code": 503,
        }
        self._send(503, json.dumps(err).encode(), "application/json")


class VllmStandIn:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> VllmStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
