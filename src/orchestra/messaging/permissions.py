"""Who may publish and subscribe to what, from ``[messaging.permissions]``.

Publish rights are topic patterns the message's topic must match; a direct message
to agent ``x`` is checked as the pseudo-topic ``@x`` and a broadcast as ``@*``
(``@*`` in a list allows both). Subscribe rights are patterns a subscription's
pattern must lie inside (:func:`~orchestra.messaging.topics.covers`). The operator
(CLI, REST with an admin key) publishes as ``operator`` and is never limited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orchestra.messaging.errors import PublishDenied, SubscribeDenied
from orchestra.messaging.model import MessageDraft
from orchestra.messaging.topics import covers, matches

OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Grant:
    publish: tuple[str, ...] = ("#", "@*")
    subscribe: tuple[str, ...] = ("#",)


@dataclass(frozen=True, slots=True)
class Permissions:
    grants: Mapping[str, Grant] = field(default_factory=dict)
    default: Grant = Grant()

    @classmethod
    def of(
        cls,
        grants: Mapping[str, tuple[Sequence[str], Sequence[str]]],
        default_publish: Sequence[str] = ("#", "@*"),
        default_subscribe: Sequence[str] = ("#",),
    ) -> Permissions:
        """From agent → (publish patterns, subscribe patterns)."""
        return cls(
            {name: Grant(tuple(p), tuple(s)) for name, (p, s) in grants.items()},
            Grant(tuple(default_publish), tuple(default_subscribe)),
        )

    def grant(self, agent: str) -> Grant:
        return self.grants.get(agent, self.default)

    def check_publish(self, agent: str, draft: MessageDraft) -> None:
        if agent == OPERATOR:
            return
        allowed = self.grant(agent).publish
        if draft.topic is not None:
            topics = [p for p in allowed if not p.startswith("@")]
            if any(matches(p, draft.topic) for p in topics):
                return
            raise PublishDenied(agent, draft.topic)
        direct = {p[1:] for p in allowed if p.startswith("@")}
        target = "*" if draft.broadcast else str(draft.to)
        if "*" in direct or (not draft.broadcast and target in direct):
            return
        raise PublishDenied(agent, "broadcast" if draft.broadcast else f"@{target}")

    def check_subscribe(self, agent: str, pattern: str) -> None:
        if agent == OPERATOR:
            return
        allowed = [p for p in self.grant(agent).subscribe if not p.startswith("@")]
        if not any(covers(p, pattern) for p in allowed):
            raise SubscribeDenied(agent, pattern)
