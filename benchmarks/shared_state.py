"""What the shared budget state costs one priced request, without HTTP around it.

    python -m benchmarks.shared_state [--n 2000]

For each store (this machine's SQLite ledger; Redis, started here on a free port, without
persistence), times sequential `reserve` + `settle` pairs, and, as the baseline a priced
request paid before the state was shared, the durable ledger write alone (`Ledger.record`).
The difference of the p50s is what the shared state adds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from src.router.ledger import Ledger, SpendRow
from src.router.spend_redis import RedisSpendStore, redis_client
from src.router.spend_store import Cap, Claim, SpendStore, SqliteSpendStore
from src.stack.redis_server import ensure_redis_server, redis_argv, redis_env, wait_redis
from src.stack.services import ServiceSpec, free_port, start


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


async def measure(store: SpendStore, n: int) -> tuple[float, float, float]:
    """p50 and p99 of reserve + settle, and the p50 of the ledger write alone (ms)."""
    await store.open()
    day = time.strftime("%Y-%m-%d", time.gmtime())
    claim = Claim("paid", 1e-4, day, (Cap("total/daily", day, ("paid",), 1e9),))
    shared, alone = [], []
    try:
        for i in range(n + 100):
            t0 = time.perf_counter()
            rid = await store.reserve(claim)
            assert isinstance(rid, int)
            await store.settle(rid, SpendRow(time.time(), "paid", "cloud", 12, 5, 1e-4))
            t1 = time.perf_counter()
            await store.ledger.record(SpendRow(time.time(), "paid", "cloud", 12, 5, 1e-4))
            t2 = time.perf_counter()
            if i >= 100:  # warm-up
                shared.append((t1 - t0) * 1000)
                alone.append((t2 - t1) * 1000)
    finally:
        await store.close()
    p50, p99 = _p50_p99(shared)
    return p50, p99, _p50_p99(alone)[0]


def _line(name: str, n: int, p50: float, p99: float, base: float) -> str:
    return (
        f"{name}: reserve + settle p50 {p50:.3f} ms (p99 {p99:.3f}); the ledger write alone {base:.3f} ms;"
        f" the shared state adds {p50 - base:.3f} ms ({n} sequential)"
    )


async def main_async(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="shared-state-") as tmp:
        print(_line("SQLite ledger", n, *await measure(SqliteSpendStore(Ledger(Path(tmp) / "l.sqlite3")), n)))
        port = free_port()
        argv = [*redis_argv(ensure_redis_server(), port, Path(tmp) / "redis"), "--appendonly", "no"]
        redis = start(ServiceSpec("redis", argv, "", redis_env()), Path(tmp) / "logs")
        try:
            wait_redis(redis, port)
            store = RedisSpendStore(redis_client(f"redis://127.0.0.1:{port}/0"), Ledger(Path(tmp) / "r.sqlite3"))
            print(_line("Redis (this host)", n, *await measure(store, n)))
        finally:
            redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_state", description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
