"""The message bus on Redis Streams with consumer groups (when Redis is configured).

Keys, under ``<prefix>:bus``:

* ``subs`` (hash: name → subscription JSON) and ``subs:v`` (a counter bumped on every
  change, so publishers rebuild their routing index only then);
* ``q:<subscription>:<band>``: one stream per subscription and priority band
  (band 0 holds priorities 7–9, band 1 4–6, band 2 0–3), each with the consumer
  group ``g``. Consumers read band 0 first, so a high-priority message overtakes a
  backlog of low ones;
* ``ready`` (set of streams that may hold unread entries: a doorbell, so a consumer
  of a thousand subscriptions reads only the streams that have something) and
  ``signal`` (a short stream every publish appends to; waiting consumers block on
  it with XREAD);
* ``dlq`` (stream of dead letters), ``hist`` (the latest messages, capped),
  ``topics`` (hash: topic → count), ``dd:<key>`` (dedupe keys, kept ``retention_s``).

Publishing runs one Lua script: it checks the routing version the client routed
with (else the client refreshes and retries), the dedupe key, and appends the
message to every target stream and the history at once, so a message is routed
completely or not at all. Delivery is XREADGROUP; an ack is XACK + XDEL (so a
stream's length is its unacknowledged depth). A consumer that dies leaves its
entries in the group's pending list: they are claimed again (XPENDING with an
``IDLE`` filter, then XCLAIM) once idle for the visibility timeout, and moved to
``dlq`` when their delivery count reaches ``max_deliveries``. A negative ack sets
the entry's idle time with XCLAIM ``IDLE`` so it comes back after the backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orchestra.messaging.backend import DeliveryPolicy, Envelope, Published, Router
from orchestra.messaging.codec import decode_body
from orchestra.messaging.errors import BackendUnavailable, DeadLetterNotFound
from orchestra.messaging.model import DeadLetter, Delivery, Message, Subscription
from orchestra.messaging.topics import matches

if TYPE_CHECKING:
    from redis.asyncio import Redis

GROUP = "g"
BANDS = 3
HISTORY_MAXLEN = 10_000

_PUBLISH = """
local v = redis.call('GET', KEYS[1]) or '0'
if v ~= ARGV[1] then return {-1, v} end
if ARGV[6] == '1' then
  local first = redis.call('GET', KEYS[2])
  if first then return {0, first} end
  redis.call('SET', KEYS[2], ARGV[8], 'EX', ARGV[5])
end
for i = 7, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'h', ARGV[2], 'b', ARGV[3])
  redis.call('SADD', KEYS[5], KEYS[i])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'h', ARGV[2], 'b', ARGV[3])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
if #KEYS > 6 then redis.call('XADD', KEYS[6], 'MAXLEN', '~', 1000, '*', 's', '1') end
return {1, tostring(#KEYS - 6)}
"""


def band(priority: int) -> int:
    return 0 if priority >= 7 else 1 if priority >= 4 else 2


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _message(fields: dict[bytes, bytes]) -> Message:
    head = json.loads(fields[b"h"])
    body = decode_body(fields[b"b"], bool(head.get("compressed")))
    return Message.model_validate({**head, "body": body})


class RedisStreamsBackend:
    """:class:`~orchestra.messaging.backend.MessageBackend` on Redis Streams."""

    name = "redis"

    def __init__(
        self, url: str, policy: DeliveryPolicy | None = None, *, prefix: str = "orchestra"
    ) -> None:
        from redis.asyncio import Redis

        self.url = url
        self.policy = policy or DeliveryPolicy()
        client: Redis = Redis.from_url(url, decode_responses=False)
        # redis-py's reply types are unions over its decode modes; this client never
        # decodes, and every reply is parsed below, so it is used untyped.
        self.redis: Any = client
        self._p = f"{prefix}:bus"
        self._router = Router(())
        self._version = "-1"
        self._script: Any = None
        self._last_reclaim = 0.0

    def _key(self, *parts: str) -> str:
        return ":".join((self._p, *parts))

    def _stream(self, subscription: str, b: int) -> str:
        return self._key("q", subscription, str(b))

    async def start(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(
                f"cannot reach Redis at {self.url}: {exc}; start redis-server or fix "
                "[messaging] redis_url"
            ) from exc
        self._script = self.redis.register_script(_PUBLISH)
        await self._refresh()

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def _refresh(self, *, force: bool = False) -> Router:
        version = _text(await self.redis.get(self._key("subs:v")) or b"0")
        if force or version != self._version:
            raw = await self.redis.hgetall(self._key("subs"))
            self._router = Router(Subscription.model_validate_json(v) for v in raw.values())
            self._version = version
        return self._router

    # -- subscriptions ---------------------------------------------------------------

    async def save_subscription(
        self, subscription: Subscription, *, replay_since: float | None = None
    ) -> Subscription:
        from redis.exceptions import ResponseError

        existing = await self.redis.hget(self._key("subs"), subscription.name)
        if existing is not None:
            old = Subscription.model_validate_json(existing)
            subscription = subscription.model_copy(update={"created_at": old.created_at})
        for b in range(BANDS):
            try:
                await self.redis.xgroup_create(
                    self._stream(subscription.name, b), GROUP, id="0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._key("subs"), subscription.name, subscription.model_dump_json())
        pipe.incr(self._key("subs:v"))
        await pipe.execute()
        if replay_since is not None and subscription.patterns:
            await self._replay_history(subscription, replay_since)
        return subscription

    async def _replay_history(self, subscription: Subscription, since: float) -> None:
        now = time.time()
        entries = await self.redis.xrange(self._key("hist"), min=f"{int(since * 1000)}-0")
        pipe = self.redis.pipeline(transaction=False)
        for _entry_id, fields in entries:
            message = _message(fields)
            if message.topic is None or message.expired(now):
                continue
            if not any(matches(p, message.topic) for p in subscription.patterns):
                continue
            if subscription.accepts(message):
                stream = self._stream(subscription.name, band(message.priority))
                pipe.xadd(stream, {"h": fields[b"h"], "b": fields[b"b"]})
                pipe.sadd(self._key("ready"), stream)
        await pipe.execute()

    async def delete_subscription(self, name: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self._key("subs"), name)
        for b in range(BANDS):
            pipe.delete(self._stream(name, b))
        pipe.incr(self._key("subs:v"))
        gone = (await pipe.execute())[0]
        await self._refresh()
        return bool(gone)

    async def subscriptions(self) -> list[Subscription]:
        router = await self._refresh()
        return sorted(router.subscriptions.values(), key=lambda s: s.name)

    # -- publishing ------------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> Published:
        message = envelope.message
        head = message.model_dump_json(exclude={"body"})
        for _attempt in range(5):
            router = self._router
            targets = router.targets(message)
            keys = [
                self._key("subs:v"),
                self._key("dd", message.dedupe_key or ""),
                self._key("hist"),
                self._key("topics"),
                self._key("ready"),
                self._key("signal"),
                *(self._stream(t, band(message.priority)) for t in targets),
            ]
            args = [
                self._version,
                head,
                envelope.payload,
                message.target,
                int(self.policy.retention_s),
                "1" if message.dedupe_key else "0",
                HISTORY_MAXLEN,
                message.model_dump_json(),
            ]
            status, value = await self._script(keys=keys, args=args)
            if int(status) == 1:
                return Published(message, True, int(value))
            if int(status) == 0:
                return Published(Message.model_validate_json(value), False, 0)
            await self._refresh(force=True)
        raise BackendUnavailable("subscriptions kept changing while publishing; try again")

    # -- delivering ------------------------------------------------------------------

    def _streams_of(self, names: Sequence[str] | None, b: int) -> list[str]:
        chosen = self._router.subscriptions if names is None else names
        return [self._stream(n, b) for n in chosen if n in self._router.subscriptions]

    def _subscription_of(self, stream: str) -> str:
        return stream[len(self._key("q")) + 1 :].rsplit(":", 1)[0]

    def _deliveries(
        self, replies: Any, now: float, attempts: dict[tuple[str, str], int] | None = None
    ) -> list[Delivery]:
        found: list[Delivery] = []
        for stream_raw, entries in replies or []:
            stream = _text(stream_raw)
            for entry_raw, fields in entries:
                if not fields:  # deleted while pending (purged): nothing to deliver
                    continue
                entry = _text(entry_raw)
                attempt = (attempts or {}).get((stream, entry), 1)
                found.append(
                    Delivery(
                        token=f"{stream}|{entry}",
                        subscription=self._subscription_of(stream),
                        attempt=attempt,
                        delivered_at=now,
                        message=_message(fields),
                    )
                )
        return found

    async def _reclaim(
        self, names: Sequence[str] | None, consumer: str, limit: int
    ) -> list[Delivery]:
        """Entries idle past the visibility timeout: claimed again, or dead-lettered."""
        streams = [s for b in range(BANDS) for s in self._streams_of(names, b)]
        if not streams:
            return []
        idle_ms = int(self.policy.visibility_s * 1000)
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xpending_range(stream, GROUP, min="-", max="+", count=limit, idle=idle_ms)
        pending = await pipe.execute()
        claims: dict[str, list[str]] = {}
        attempts: dict[tuple[str, str], int] = {}
        now = time.time()
        for stream, entries in zip(streams, pending, strict=True):
            sub = self._router.subscriptions.get(self._subscription_of(stream))
            for entry in entries:
                entry_id = _text(entry["message_id"])
                delivered = int(entry["times_delivered"])
                if delivered >= self.policy.limit(sub):
                    await self._bury(stream, entry_id, delivered, "max_deliveries", now)
                    continue
                claims.setdefault(stream, []).append(entry_id)
                attempts[(stream, entry_id)] = delivered + 1
        if not claims:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for stream, ids in claims.items():
            pipe.xclaim(stream, GROUP, consumer, idle_ms, ids)
        claimed = await pipe.execute()
        replies = list(zip(claims, claimed, strict=True))
        return self._deliveries(replies, now, attempts)

    async def _bury(
        self, stream: str, entry_id: str, attempts: int, reason: str, now: float
    ) -> None:
        entries = await self.redis.xrange(stream, min=entry_id, max=entry_id)
        pipe = self.redis.pipeline(transaction=True)
        if entries:
            fields = entries[0][1]
            pipe.xadd(
                self._key("dlq"),
                {
                    "h": fields[b"h"],
                    "b": fields[b"b"],
                    "stream": stream,
                    "sub": self._subscription_of(stream),
                    "attempts": str(attempts),
                    "reason": reason,
                    "dead_at": repr(now),
                },
            )
        pipe.xack(stream, GROUP, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()

    async def _ring(self, streams: Sequence[str]) -> None:
        """Mark ``streams`` as possibly holding unread entries."""
        if streams:
            await self.redis.sadd(self._key("ready"), *streams)

    async def _read(self, names: Sequence[str] | None, consumer: str, limit: int) -> list[Delivery]:
        """New entries of the wanted streams whose doorbell rang, band 0 first.

        The doorbell is taken (SREM) before reading, so an entry published after the
        read rings it again; a stream that gave a full batch may hold more and is rung
        back at once.
        """
        now = time.time()
        ready = {_text(x) for x in await self.redis.smembers(self._key("ready"))}
        found: list[Delivery] = []
        for b in range(BANDS):
            streams = [s for s in self._streams_of(names, b) if s in ready]
            if not streams or len(found) >= limit:
                continue
            await self.redis.srem(self._key("ready"), *streams)
            want = limit - len(found)
            replies = await self.redis.xreadgroup(
                GROUP, consumer, {s: ">" for s in streams}, count=want
            )
            taken = self._deliveries(replies, now)
            found.extend(taken)
            per_stream: dict[str, int] = {}
            for delivery in taken:
                stream = delivery.token.split("|")[0]
                per_stream[stream] = per_stream.get(stream, 0) + 1
            full = [st for st, n in per_stream.items() if n >= want]
            if len(found) >= limit:  # streams not read this time keep their doorbell
                full.extend(st for st in streams if st not in per_stream)
            await self._ring(full)
        return found

    async def fetch(
        self, subscriptions: Sequence[str] | None, *, limit: int, consumer: str, wait_s: float
    ) -> list[Delivery]:
        from redis.exceptions import RedisError

        deadline = time.monotonic() + wait_s
        every = max(0.1, self.policy.visibility_s / 4)
        try:
            while True:
                await self._refresh()
                signal = await self.redis.xrevrange(self._key("signal"), count=1)
                seen = _text(signal[0][0]) if signal else "0-0"
                found: list[Delivery] = []
                if time.monotonic() - self._last_reclaim >= every:
                    self._last_reclaim = time.monotonic()
                    found = await self._reclaim(subscriptions, consumer, limit)
                if len(found) < limit:
                    found.extend(await self._read(subscriptions, consumer, limit - len(found)))
                found = await self._drop_expired(found)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                block = int(min(left, every) * 1000) or 1
                await self.redis.xread({self._key("signal"): seen}, count=1, block=block)
        except RedisError as exc:
            raise BackendUnavailable(f"Redis at {self.url} failed: {exc}") from exc

    async def _drop_expired(self, found: list[Delivery]) -> list[Delivery]:
        """Acknowledge (drop) deliveries whose message's ttl ran out; return the rest."""
        now = time.time()
        expired = [d for d in found if d.message.expired(now)]
        if expired:
            await self.ack(expired)
        return [d for d in found if not d.message.expired(now)]

    async def ack(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for delivery in deliveries:
            stream, entry = delivery.token.split("|")
            pipe.xack(stream, GROUP, entry)
            pipe.xdel(stream, entry)
        results = await pipe.execute()
        return sum(int(r) for r in results[::2])

    async def nack(self, delivery: Delivery, *, reason: str, dead: bool = False) -> None:
        stream, entry = delivery.token.split("|")
        sub = self._router.subscriptions.get(delivery.subscription)
        if dead or delivery.attempt >= self.policy.limit(sub):
            why = reason if dead else f"max_deliveries: {reason}"
            await self._bury(stream, entry, delivery.attempt, why, time.time())
            return
        # Make the entry look idle for (visibility - backoff): it is claimable after the backoff.
        idle_ms = max(
            0, int((self.policy.visibility_s - self.policy.backoff(delivery.attempt)) * 1000)
        )
        await self.redis.xclaim(stream, GROUP, "nacked", 0, [entry], idle=idle_ms, justid=True)

    # -- dead letters ----------------------------------------------------------------

    def _letter(self, entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
        return DeadLetter(
            id=_text(entry_id),
            subscription=_text(fields[b"sub"]),
            attempts=int(fields[b"attempts"]),
            reason=_text(fields[b"reason"]),
            dead_at=float(fields[b"dead_at"]),
            message=_message(fields),
        )

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 100
    ) -> list[DeadLetter]:
        entries = await self.redis.xrevrange(
            self._key("dlq"), count=limit if subscription is None else None
        )
        letters = [self._letter(i, f) for i, f in entries]
        if subscription is not None:
            letters = [x for x in letters if x.subscription == subscription][:limit]
        return letters

    async def dead_letter(self, letter_id: str) -> DeadLetter:
        from redis.exceptions import ResponseError

        try:
            entries = await self.redis.xrange(self._key("dlq"), min=letter_id, max=letter_id)
        except ResponseError as exc:  # not a stream id at all
            raise DeadLetterNotFound(letter_id) from exc
        if not entries:
            raise DeadLetterNotFound(letter_id)
        return self._letter(*entries[0])

    async def replay(self, letter_ids: Sequence[str]) -> int:
        replayed = 0
        for letter_id in letter_ids:
            try:
                letter = await self.redis.xrange(self._key("dlq"), min=letter_id, max=letter_id)
            except Exception:
                continue
            if not letter:
                continue
            fields = letter[0][1]
            pipe = self.redis.pipeline(transaction=True)
            pipe.xadd(_text(fields[b"stream"]), {"h": fields[b"h"], "b": fields[b"b"]})
            pipe.sadd(self._key("ready"), _text(fields[b"stream"]))
            pipe.xdel(self._key("dlq"), letter_id)
            await pipe.execute()
            replayed += 1
        return replayed

    async def purge(self, letter_ids: Sequence[str] | None = None) -> int:
        if letter_ids is None:
            count = int(await self.redis.xlen(self._key("dlq")))
            await self.redis.delete(self._key("dlq"))
            return count
        if not letter_ids:
            return 0
        return int(await self.redis.xdel(self._key("dlq"), *letter_ids))

    # -- views -----------------------------------------------------------------------

    async def depths(self) -> dict[str, int]:
        router = await self._refresh()
        names = sorted(router.subscriptions)
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            for b in range(BANDS):
                pipe.xlen(self._stream(name, b))
        lengths = await pipe.execute()
        return {
            n: sum(int(x) for x in lengths[i * BANDS : (i + 1) * BANDS])
            for i, n in enumerate(names)
        }

    async def dead_count(self) -> int:
        return int(await self.redis.xlen(self._key("dlq")))

    async def history(self, *, limit: int = 100, pattern: str | None = None) -> list[Message]:
        count = limit if pattern is None else max(limit * 20, 1000)
        entries = await self.redis.xrevrange(self._key("hist"), count=count)
        found = [_message(f) for _i, f in entries]
        if pattern is not None:
            found = [m for m in found if m.topic and matches(pattern, m.topic)][:limit]
        return found[::-1]

    async def topic_counts(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self._key("topics"))
        return {_text(k): int(v) for k, v in sorted(raw.items())}
