"""What the channel processes share: locks, seen ids, rate limits, live updates.

Two implementations of one interface. `RedisCoordinator` lets several service
processes behind a load balancer agree; `LocalCoordinator` keeps the same
guarantees inside one process, so a newcomer needs no Redis to try the
assistant. `make_coordinator` picks one from ``REDIS_URL``.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

logger = logging.getLogger(__name__)


class Coordinator(Protocol):
    def lock(self, name: str, timeout: float) -> AbstractAsyncContextManager[None]:
        """Holds ``name`` exclusively; waiters get it in turn.

        ``timeout`` bounds how long a crashed holder keeps it.
        """

    async def remember(self, key: str, value: str, ttl_seconds: int) -> bool:
        """Stores ``value`` under ``key`` unless it is there; True if stored."""

    async def recall(self, key: str) -> str | None:
        """The value stored under ``key``, if any."""

    async def throttle(self, key: str, interval: float) -> None:
        """Waits until at least ``interval`` seconds after the last call for key."""

    async def publish(self, topic: str, data: str) -> None:
        """Sends ``data`` to every current subscriber of ``topic``."""

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """Messages published on ``topic`` from now on."""

    async def close(self) -> None: ...


class LocalCoordinator:
    """The embedded coordinator: correct for a single process."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._next_slot: dict[str, float] = {}
        self._slot_lock = asyncio.Lock()
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    @asynccontextmanager
    async def lock(self, name: str, timeout: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(name, None)

    async def remember(self, key: str, value: str, ttl_seconds: int) -> bool:
        if await self.recall(key) is not None:
            return False
        self._values[key] = (value, time.monotonic() + ttl_seconds)
        return True

    async def recall(self, key: str) -> str | None:
        stored = self._values.get(key)
        if stored is None:
            return None
        value, expires = stored
        if expires < time.monotonic():
            del self._values[key]
            return None
        return value

    async def throttle(self, key: str, interval: float) -> None:
        async with self._slot_lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def publish(self, topic: str, data: str) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            queue.put_nowait(data)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers[topic].add(queue)

        async def messages() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    async def close(self) -> None:
        self._values.clear()


class RedisCoordinator:
    """Redis-backed coordination for several processes.

    Keys are prefixed so one Redis can serve several deployments (and tests).
    """

    # The slot script keeps the next free time per key on the server, so two
    # processes asking at once get consecutive slots, not the same one.
    _SLOT_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or now)
if slot < now then slot = now end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX',
           math.ceil((slot - now + interval) * 1000) + 1000)
return tostring(slot)
"""

    def __init__(self, url: str, prefix: str = "ipsm") -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._slot = self._redis.register_script(self._SLOT_SCRIPT)

    def _key(self, name: str) -> str:
        return f"{self._prefix}:{name}"

    @asynccontextmanager
    async def lock(self, name: str, timeout: float) -> AsyncIterator[None]:
        lock = self._redis.lock(self._key(f"lock:{name}"), timeout=timeout, sleep=0.02)
        await lock.acquire()
        try:
            yield
        finally:
            try:
                await lock.release()
            except Exception:  # noqa: BLE001 - expired: someone may hold it now
                logger.warning("lock %s expired before it was released", name)

    async def remember(self, key: str, value: str, ttl_seconds: int) -> bool:
        stored = await self._redis.set(self._key(key), value, nx=True, ex=ttl_seconds)
        return bool(stored)

    async def recall(self, key: str) -> str | None:
        return await self._redis.get(self._key(key))

    async def throttle(self, key: str, interval: float) -> None:
        # Redis' clock, not ours: every process agrees on "now".
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1_000_000
        slot = float(
            await self._slot(keys=[self._key(f"slot:{key}")], args=[now, interval])
        )
        if slot > now:
            await asyncio.sleep(slot - now)

    async def publish(self, topic: str, data: str) -> None:
        await self._redis.publish(self._key(f"topic:{topic}"), data)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[str]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._key(f"topic:{topic}"))

        async def messages() -> AsyncIterator[str]:
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
                if message is not None:
                    yield message["data"]

        try:
            yield messages()
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()


def make_coordinator(redis_url: str, prefix: str = "ipsm") -> Coordinator:
    if redis_url:
        return RedisCoordinator(redis_url, prefix)
    return LocalCoordinator()
