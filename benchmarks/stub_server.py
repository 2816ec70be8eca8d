"""An instant OpenAI-compatible upstream for benchmarks: JSON and SSE, no work per request.

python -m benchmarks.stub_server --port 9100
"""

from __future__ import annotations

import argparse

import orjson
from aiohttp import web

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1747148050,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "positive"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 24, "completion_tokens": 1, "total_tokens": 25},
    }
)
CHUNKS = [
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1747148050,"model":"bench",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    *[
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1747148050,"model":"bench",'
        b'"choices":[{"index":0,"delta":{"content":"tok' + str(i).encode() + b'"},"finish_reason":null}]}\n\n'
        for i in range(8)
    ],
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1747148050,"model":"bench",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
]
USAGE_CHUNK = (
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1747148050,"model":"bench",'
    b'"choices":[],"usage":{"prompt_tokens":24,"completion_tokens":8,"total_tokens":32}}\n\n'
)
# LiteLLM's /v1/messages reaches an OpenAI-compatible backend through the Responses API.
RESPONSE = orjson.dumps(
    {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1747148050,
        "status": "completed",
        "model": "bench",
        "output": [
            {
                "type": "message",
                "id": "msg_bench",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "positive", "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 24, "output_tokens": 1, "total_tokens": 25},
    }
)
MODELS = orjson.dumps({"object": "list", "data": [{"id": "bench", "object": "model", "owned_by": "stub"}]})


async def chat(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    if b'"stream":true' not in raw.replace(b" ", b""):
        return web.Response(body=COMPLETION, content_type="application/json")
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for chunk in CHUNKS:
        await resp.write(chunk)
    if b'"include_usage":true' in raw.replace(b" ", b""):
        await resp.write(USAGE_CHUNK)
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def responses(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=RESPONSE, content_type="application/json")


async def models(request: web.Request) -> web.Response:
    return web.Response(body=MODELS, content_type="application/json")


def app() -> web.Application:
    a = web.Application()
    a.router.add_post("/v1/chat/completions", chat)
    a.router.add_post("/v1/responses", responses)
    a.router.add_get("/v1/models", models)
    a.router.add_get("/health", lambda r: web.Response(text="ok"))
    return a


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
