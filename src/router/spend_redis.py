"""The shared budget of replicas on several machines, in Redis (`REDIS_URL`).

Every check-and-reserve is one Lua script, so it is atomic across the fleet; times are the
Redis server's own (`TIME`), so replicas' clocks need not agree. Keys, under a prefix:

    spend:<period>      hash  model -> committed USD (period: "2026-11-27" or "2026-11")
    res                 hash  reservation id -> [day, model, task, amount] (JSON)
    res:exp             zset  reservation id by expiry; the owner renews it every lease/3
    resv:<day>          hash  model -> reserved USD in flight (made that day)
    resv:task           hash  task -> reserved USD in flight
    task:<task>         USD spent by a task (its spend ceiling)
    usage:<task_key>    hash  requests, prompt_tokens, completion_tokens, cost_usd

Each script first drops expired reservations (a replica that died strands nothing for longer
than the lease). The replica's own SQLite ledger stays its durable audit trail: a paid answer is
written there first, then counted in Redis; a count that cannot reach Redis is retried until it
does (held in memory: a replica killed while Redis is away loses those counts from the fleet's
view, never from its ledger). One Redis server (or a primary): the scripts name keys they
compute, which Redis Cluster does not allow.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio import Redis

from src.router.background import cancel, every
from src.router.ledger import Ledger, SpendRow
from src.router.spend_store import Claim, Refusal, SpendView, owner_id

log = structlog.get_logger(__name__)
_Arg = str | int | float  # a script argument

# Shared by the scripts: drop reservation `id` and its amounts from the in-flight sums.
_DROP = """
local function drop(p, id)
  local raw = redis.call('HGET', p..'res', id)
  redis.call('ZREM', p..'res:exp', id)
  if not raw then return end
  redis.call('HDEL', p..'res', id)
  local r = cjson.decode(raw)
  local minus = string.format('%.17g', -r[4])
  local left = tonumber(redis.call('HINCRBYFLOAT', p..'resv:'..r[1], r[2], minus))
  if left < 1e-12 then redis.call('HDEL', p..'resv:'..r[1], r[2]) end
  if r[3] ~= '' then
    left = tonumber(redis.call('HINCRBYFLOAT', p..'resv:task', r[3], minus))
    if left < 1e-12 then redis.call('HDEL', p..'resv:task', r[3]) end
  end
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local function purge(p, t)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', p..'res:exp', '-inf', t, 'LIMIT', 0, 512)) do drop(p, id) end
end
"""

# ARGV: prefix, lease, model, amount, day, task, ceiling, owner, ncaps, then per cap:
# name, period, limit, nmodels, models... -> {"ok", id} | {"cap", name, spent, reserved} | {"task", "", ...}
_RESERVE = (
    _DROP
    + """
local p, lease, model, amount = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local day, task, ceiling = ARGV[5], ARGV[6], ARGV[7]
local t = now()
purge(p, t)
local i = 10
for c = 1, tonumber(ARGV[9]) do
  local name, period, limit, n = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2]), tonumber(ARGV[i+3])
  i = i + 4
  local spent, reserved = 0, 0
  for m = 1, n do
    spent = spent + tonumber(redis.call('HGET', p..'spend:'..period, ARGV[i]) or '0')
    reserved = reserved + tonumber(redis.call('HGET', p..'resv:'..day, ARGV[i]) or '0')
    i = i + 1
  end
  if spent + reserved + amount > limit then
    return {'cap', name, string.format('%.17g', spent), string.format('%.17g', reserved)}
  end
end
if task ~= '' and ceiling ~= '' then
  local spent = tonumber(redis.call('GET', p..'task:'..task) or '0')
  local reserved = tonumber(redis.call('HGET', p..'resv:task', task) or '0')
  if spent + reserved + amount > tonumber(ceiling) then
    return {'task', '', string.format('%.17g', spent), string.format('%.17g', reserved)}
  end
end
local id = redis.call('INCR', p..'res:seq')
redis.call('HSET', p..'res', id, cjson.encode({day, model, task, amount}))
redis.call('ZADD', p..'res:exp', t + lease, id)
redis.call('HINCRBYFLOAT', p..'resv:'..day, model, ARGV[4])
if task ~= '' then redis.call('HINCRBYFLOAT', p..'resv:task', task, ARGV[4]) end
return {'ok', tostring(id)}
"""
)

# ARGV: prefix, id (0: none), model, cost, day, month, task, task_key, prompt, completion, requests,
# settlement id. A settlement sent twice (a retry after a lost reply) is counted once.
_SETTLE = (
    _DROP
    + """
local p = ARGV[1]
if not redis.call('SET', p..'done:'..ARGV[12], '1', 'NX', 'EX', 86400) then return 0 end
if ARGV[2] ~= '0' then drop(p, ARGV[2]) end
local cost = ARGV[4]
if tonumber(cost) ~= 0 then
  redis.call('HINCRBYFLOAT', p..'spend:'..ARGV[5], ARGV[3], cost)
  redis.call('HINCRBYFLOAT', p..'spend:'..ARGV[6], ARGV[3], cost)
  if ARGV[7] ~= '' then redis.call('INCRBYFLOAT', p..'task:'..ARGV[7], cost) end
end
if ARGV[8] ~= '' then
  local u = p..'usage:'..ARGV[8]
  redis.call('HINCRBY', u, 'requests', ARGV[11])
  redis.call('HINCRBY', u, 'prompt_tokens', ARGV[9])
  redis.call('HINCRBY', u, 'completion_tokens', ARGV[10])
  redis.call('HINCRBYFLOAT', u, 'cost_usd', cost)
end
return 1
"""
)

_RELEASE = _DROP + "\ndrop(ARGV[1], ARGV[2])\nreturn 1\n"

# ARGV: prefix, lease, ids...: renew this replica's reservations (only those still there).
_RENEW = (
    _DROP
    + """
local t = now()
purge(ARGV[1], t)
for i = 3, #ARGV do redis.call('ZADD', ARGV[1]..'res:exp', 'XX', t + tonumber(ARGV[2]), ARGV[i]) end
return 1
"""
)

# ARGV: prefix, day, month -> {spend:day, spend:month, resv:day} as flat hashes.
_VIEW = (
    _DROP
    + """
local p = ARGV[1]
purge(p, now())
return {redis.call('HGETALL', p..'spend:'..ARGV[2]), redis.call('HGETALL', p..'spend:'..ARGV[3]),
        redis.call('HGETALL', p..'resv:'..ARGV[2])}
"""
)


def _hash(flat: list[bytes]) -> dict[str, float]:
    return {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}


class RedisSpendStore:
    """Reservations and spend in Redis; the local ledger keeps every row durably."""

    def __init__(
        self,
        client: Redis,
        ledger: Ledger,
        *,
        prefix: str = "mllm:",
        lease_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self._redis = client
        self._prefix = prefix
        self.lease_s = lease_s
        self._clock = clock
        self.owner = owner_id()
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._release = client.register_script(_RELEASE)
        self._renew_script = client.register_script(_RENEW)
        self._view = client.register_script(_VIEW)
        self._mine: set[int] = set()
        self._unsent: list[list[_Arg]] = []  # settlements Redis has not counted yet (it was away)
        self._free: dict[tuple[str, str, str], list[int]] = {}  # (task_key, day, month) -> free usage
        self._pending: set[asyncio.Task[None]] = set()
        self._sending = asyncio.Lock()
        self._away = False
        self._renewer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ledger.open()
        self._renewer = asyncio.get_running_loop().create_task(
            every(self.lease_s / 3, self.renew, what="reservation_renew"), name="reservation-renew"
        )

    async def close(self) -> None:
        await cancel(self._renewer)
        self._renewer = None
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)
        try:
            await self._send_unsent()
            for rid in tuple(self._mine):
                await self._release(args=[self._prefix, rid])
        except Exception as exc:  # Redis away at shutdown: the leases end them; the ledger has the rows
            log.warning("redis_close_incomplete", error=type(exc).__name__, unsent=len(self._unsent))
        await self.ledger.close()
        await self._redis.aclose()

    async def renew(self) -> None:
        """Extend this process's reservations by a lease (run every third of one)."""
        free, self._free = self._free, {}
        for (task_key, day, month), (requests, prompt, completion) in free.items():
            self._unsent.append(
                [self._prefix, 0, "", "0", day, month, "", task_key, prompt, completion, requests, uuid.uuid4().hex]
            )
        try:
            await self._send_unsent()
            await self._renew_script(args=[self._prefix, self.lease_s, *sorted(self._mine)])
        except Exception as exc:  # Redis away: said once (the budget tracker reports it); retried next round
            if not self._away:
                log.warning("redis_unreachable", error=type(exc).__name__, unsent=len(self._unsent))
            self._away = True
            return
        if self._away:
            log.info("redis_back", sent=True)
        self._away = False

    async def _send_unsent(self) -> None:
        if not self._unsent:
            return
        async with self._sending:  # one sender: each is sent until Redis has it, in order
            while self._unsent:
                await self._settle(args=self._unsent[0])
                self._unsent.pop(0)

    async def reserve(self, claim: Claim) -> int | Refusal:
        args: list[_Arg] = [
            self._prefix,
            self.lease_s,
            claim.model,
            repr(claim.amount),
            claim.day,
            claim.task or "",
            "" if claim.ceiling is None else repr(claim.ceiling),
            self.owner,
            len(claim.caps),
        ]
        for cap in claim.caps:
            args += [cap.name, cap.period, repr(cap.limit_usd), len(cap.models), *cap.models]
        result = await self._reserve(args=args)
        kind = result[0].decode()
        if kind == "ok":
            rid = int(result[1])
            self._mine.add(rid)
            return rid
        refused = next((c for c in claim.caps if c.name == result[1].decode()), None) if kind == "cap" else None
        return Refusal(refused, float(result[2]), float(result[3]))

    def release(self, reservation: int) -> None:
        if reservation not in self._mine:
            return
        self._mine.discard(reservation)
        task = asyncio.get_running_loop().create_task(self._release_later(reservation))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _release_later(self, reservation: int) -> None:
        try:
            await self._release(args=[self._prefix, reservation])
        except Exception as exc:  # it expires with the lease instead
            log.warning("reservation_release_failed", error=type(exc).__name__)

    async def settle(self, reservation: int, row: SpendRow, task: str | None = None) -> None:
        await self.ledger.record(row)  # durable first: the audit trail never misses an answer
        self._mine.discard(reservation)
        args: list[_Arg] = [
            self._prefix,
            reservation,
            row.model,
            repr(row.cost_usd),
            row.day,
            row.month,
            task or "",
            row.task_key or "",
            row.prompt_tokens,
            row.completion_tokens,
            row.requests,
            uuid.uuid4().hex,
        ]
        try:
            await self._send_unsent()
            await self._settle(args=args)
        except Exception as exc:  # Redis away: counted when it is back (the reservation holds until then)
            log.error("redis_settle_deferred", error=type(exc).__name__)
            self._unsent.append(args)

    def tally(self, row: SpendRow) -> None:
        """A free answer: counted in the local ledger's tally and, for shared usage, sent to
        Redis with the next renewal round (no Redis call on a free request's path)."""
        self.ledger.tally(row)
        if row.task_key:
            counts = self._free.setdefault((row.task_key, row.day, row.month), [0, 0, 0])
            counts[0] += row.requests
            counts[1] += row.prompt_tokens
            counts[2] += row.completion_tokens

    async def view(self, day: str, month: str) -> SpendView:
        daily, monthly, reserved = await self._view(args=[self._prefix, day, month])
        return SpendView({day: _hash(daily), month: _hash(monthly)}, _hash(reserved))

    async def usage(self, key: str, value: str) -> dict[str, Any]:
        """A task key's usage is the fleet's (from Redis); a session's or an agent's is this
        replica's own ledger's (a session's requests usually reach one replica)."""
        if key != "task_key":
            await self.ledger.flush()
            return await asyncio.to_thread(self.ledger.usage_by, key, value)
        task_key = value
        raw = await self._redis.hgetall(self._prefix + "usage:" + task_key)
        got = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        return {
            "task_key": task_key,
            "requests": int(got.get("requests", 0)),
            "prompt_tokens": int(got.get("prompt_tokens", 0)),
            "completion_tokens": int(got.get("completion_tokens", 0)),
            "cost_usd": float(got.get("cost_usd", 0)),
        }


def redis_client(url: str, *, timeout_s: float = 0.5) -> Redis:
    """A client that fails fast when Redis is away (priced requests wait on it)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),  # one retry: a connection dropped by a restarted Redis
        health_check_interval=5,
    )
    return client
