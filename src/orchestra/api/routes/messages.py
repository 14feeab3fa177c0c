"""The message bus over HTTP: send and publish, history, topics, the dead-letter queue.

Roles: viewers read (history, topics, dead letters); operators send, publish, replay
and purge. A message is sent as ``operator`` (never limited) unless the body names a
``sender`` agent, whose ``[messaging.permissions]`` then apply. A refused permission
answers **422** ``validation_error`` with ``details.error`` = ``publish_denied``:
the error families (``orchestra.errors``) have no "forbidden" family, and 403 stays
reserved for the key's role. Bad topics answer 422 with ``details.error`` =
``invalid_topic``, unknown dead letters 404 ``dead_letter_not_found``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from orchestra.api import message_schemas as schemas
from orchestra.api.deps import Operator, Services, Viewer, audit
from orchestra.api.routes import ERRORS
from orchestra.messaging import OPERATOR, DeadLetter
from orchestra.messaging.topics import pattern_words

router = APIRouter(prefix="/messages", tags=["messages"], responses=ERRORS)


@router.post("", response_model=schemas.SentMessage, status_code=201)
async def send_message(
    body: schemas.SendMessage, who: Operator, services: Services, response: Response
) -> schemas.SentMessage:
    """Send to an agent (``to``), publish on a ``topic``, or ``broadcast``. A repeated
    ``dedupe_key`` returns the first message (200, ``created: false``)."""
    sender = body.sender or OPERATOR
    published = await services.messages.publish(body.draft(), sender=sender)
    if published.created:
        await audit(
            services,
            who,
            "message.publish",
            published.message.id,
            {"target": published.message.target, "sender": sender},
        )
    else:
        response.status_code = 200
    return schemas.SentMessage(
        created=published.created, routed=published.routed, message=published.message
    )


@router.get("", response_model=schemas.MessagePage)
async def message_history(
    who: Viewer,
    services: Services,
    topic: Annotated[
        str | None, Query(max_length=500, description="A topic pattern, e.g. review.#")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.MessagePage:
    """The latest retained messages, oldest first; ``topic`` keeps those it matches."""
    if topic is not None:
        pattern_words(topic)  # InvalidTopic: 422 with the syntax to use
    found = await services.messages.history(limit=limit, pattern=topic)
    return schemas.MessagePage(items=found)


@router.get("/topics", response_model=schemas.TopicStats)
async def message_topics(who: Viewer, services: Services) -> schemas.TopicStats:
    """Messages per topic, queue depth per subscription and the dead-letter count."""
    bus = services.messages
    return schemas.TopicStats(
        topics=await bus.topic_counts(),
        depths=await bus.depths(),
        dead_letters=await bus.backend.dead_count(),
    )


@router.get("/dlq", response_model=schemas.DeadLetterPage)
async def list_dead_letters(
    who: Viewer,
    services: Services,
    subscription: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.DeadLetterPage:
    """Dead letters, newest first, optionally of one subscription."""
    letters = await services.messages.dead_letters(subscription, limit=limit)
    return schemas.DeadLetterPage(items=letters)


@router.get("/dlq/{letter_id}", response_model=DeadLetter)
async def show_dead_letter(letter_id: str, who: Viewer, services: Services) -> DeadLetter:
    """One dead letter with its message, attempts and the reason it died."""
    return await services.messages.dead_letter(letter_id)


@router.post("/dlq/replay", response_model=schemas.Count)
async def replay_dead_letters(
    body: schemas.LetterIds, who: Operator, services: Services
) -> schemas.Count:
    """Put dead letters back on their subscriptions with fresh attempt counts."""
    for letter_id in body.ids:  # 404 for an unknown id before anything moves
        await services.messages.dead_letter(letter_id)
    count = await services.messages.replay(body.ids)
    await audit(services, who, "message.dlq.replay", ",".join(body.ids)[:500], {"count": count})
    return schemas.Count(count=count)


@router.post("/dlq/purge", response_model=schemas.Count)
async def purge_dead_letters(
    body: schemas.PurgeLetters, who: Operator, services: Services
) -> schemas.Count:
    """Delete the named dead letters, or every one when ``ids`` is omitted."""
    count = await services.messages.purge(body.ids)
    target = "*" if body.ids is None else ",".join(body.ids)[:500]
    await audit(services, who, "message.dlq.purge", target, {"count": count})
    return schemas.Count(count=count)
