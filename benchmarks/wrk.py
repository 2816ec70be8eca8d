"""wrk, the load generator of `make bench`: a POST script per body, and its output parsed."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk_script(tmp: Path, body: dict[str, Any], key: str | None) -> Path:
    path = tmp / f"wrk-{abs(hash(json.dumps(body, sort_keys=True)))}-{bool(key)}.lua"
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {json.dumps(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if key:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
    path.write_text("\n".join(lines) + "\n")
    return path


async def wrk(url: str, script: Path, *, connections: int, seconds: float, threads: int = 1) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",  # wrk's default 2 s counts a slow answer as an error instead of measuring it
        "10s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await proc.communicate())[0].decode()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out}")
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", out)
    if not (p50 and p99 and rps and total):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    errors = int(non2xx.group(1)) if non2xx else 0
    if errs:
        errors += sum(int(g) for g in errs.groups())
    return {
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "errors": errors,
    }
