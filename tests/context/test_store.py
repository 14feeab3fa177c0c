"""The context store on SQLite and PostgreSQL: provenance kept, filters, ranked full-text
search (stemmed, every word required, punctuation harmless), edits re-indexed, deletes
leave the index, and size limits refused with the field named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.context import ContextDraft, ContextFilter, ContextNotFound, ContextPatch
from orchestra.context.entries import MAX_DATA_BYTES, Provenance, validate_draft
from orchestra.context.errors import ContextInputError
from orchestra.store.context import ContextRepository
from orchestra.store.database import Database, connect


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/o.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def repo(database_url: str) -> AsyncIterator[ContextRepository]:
    database: Database = await connect(database_url)
    yield ContextRepository(database)
    await database.aclose()


USER = Provenance(kind="user", by="ada")
STEP = Provenance(kind="step", by="engine", run_id="r1", step_id="find", agent="lincoln")


def draft(job_id: str, job_type: str, data: object, *tags: str) -> ContextDraft:
    return ContextDraft(job_id=job_id, job_type=job_type, context_data=data, tags=tags)


async def test_add_get_keeps_data_tags_and_provenance(repo: ContextRepository) -> None:
    entry = await repo.add(draft("j1", "prospecting", {"city": "Berlin", "n": 3}, "crm"), STEP)
    got = await repo.get(entry.id)
    assert got.context_data == {"city": "Berlin", "n": 3}
    assert got.tags == ("crm",)
    assert got.provenance == STEP
    assert got.provenance.label() == "step find of run r1 (agent lincoln)"
    with pytest.raises(ContextNotFound):
        await repo.get(entry.id + 100)


async def test_filters(repo: ContextRepository) -> None:
    a = await repo.add(draft("j1", "prospecting", {"q": "a"}, "crm"), USER)
    b = await repo.add(draft("j2", "prospecting", {"q": "b"}), STEP)
    c = await repo.add(draft("j2", "billing", {"q": "c"}, "crm", "eu"), USER)
    ids = lambda rows: [row.id for row in rows]  # noqa: E731
    assert ids(await repo.list()) == [c.id, b.id, a.id]  # newest first
    assert ids(await repo.list(ContextFilter(job_type="prospecting"))) == [b.id, a.id]
    assert ids(await repo.list(ContextFilter(job_id="j2"))) == [c.id, b.id]
    assert ids(await repo.list(ContextFilter(tag="crm"))) == [c.id, a.id]
    assert ids(await repo.list(ContextFilter(tag="cr"))) == []  # a whole tag, not a prefix
    assert ids(await repo.list(ContextFilter(run_id="r1"))) == [b.id]
    assert ids(await repo.list(ContextFilter(since=c.created_at))) == [c.id]
    assert ids(await repo.list(ContextFilter(until=a.created_at))) == []
    assert await repo.count(ContextFilter(job_id="j2")) == 2
    assert ids(await repo.list(limit=1, offset=1)) == [b.id]


async def test_search_is_ranked_stemmed_and_requires_every_word(repo: ContextRepository) -> None:
    berlin = await repo.add(
        draft("j1", "prospecting", {"title": "CTO", "role": "founder", "city": "Berlin"}),
        USER,
    )
    munich = await repo.add(
        draft("j2", "prospecting", {"title": "CTO", "role": "founder", "city": "Munich"}), USER
    )
    await repo.add(draft("j3", "billing", {"invoice": 42}), USER)

    hits = await repo.search("Founders")  # stemmed: founders finds founder
    assert {h.id for h in hits} == {berlin.id, munich.id}
    assert all(h.rank is not None for h in hits)

    assert [h.id for h in await repo.search("cto berlin")] == [berlin.id]  # AND
    assert await repo.search("berlin munich") == []
    assert [h.id for h in await repo.search('berlin" -( * : ^')] == [berlin.id]
    assert await repo.search("!!! ???") == []
    assert [h.id for h in await repo.search("cto", ContextFilter(job_id="j2"))] == [munich.id]
    assert [h.id for h in await repo.search("42")] != []


async def test_search_ranks_the_better_match_first(repo: ContextRepository) -> None:
    weak = await repo.add(
        draft("j1", "t", {"text": "berlin startup list with many other words"}), USER
    )
    strong = await repo.add(draft("j2", "t", {"text": "berlin berlin berlin"}), USER)
    hits = await repo.search("berlin")
    assert [h.id for h in hits] == [strong.id, weak.id]
    assert hits[0].rank is not None and hits[1].rank is not None
    assert hits[0].rank > hits[1].rank


async def test_update_reindexes_and_delete_removes(repo: ContextRepository) -> None:
    entry = await repo.add(draft("j1", "prospecting", {"city": "Berlin"}), USER)
    changed = await repo.update(entry.id, ContextPatch(context_data={"city": "Hamburg"}))
    assert changed.context_data == {"city": "Hamburg"}
    assert changed.job_type == "prospecting"
    assert await repo.search("berlin") == []
    assert [h.id for h in await repo.search("hamburg")] == [entry.id]
    tagged = await repo.update(entry.id, ContextPatch(tags=("hot",)))
    assert tagged.context_data == {"city": "Hamburg"} and tagged.tags == ("hot",)
    await repo.delete(entry.id)
    assert await repo.search("hamburg") == []
    with pytest.raises(ContextNotFound):
        await repo.delete(entry.id)
    with pytest.raises(ContextNotFound):
        await repo.update(entry.id, ContextPatch(tags=()))


def test_limits_name_the_field() -> None:
    with pytest.raises(ContextInputError, match="context_data") as big:
        validate_draft({"job_id": "j", "job_type": "t", "context_data": "x" * (MAX_DATA_BYTES + 1)})
    assert "limit" in str(big.value)
    with pytest.raises(ContextInputError, match="tags"):
        validate_draft({"job_id": "j", "job_type": "t", "context_data": 1, "tags": ["a b"]})
    with pytest.raises(ContextInputError, match="job_type"):
        validate_draft({"job_id": "j", "job_type": "bad type", "context_data": 1})
    with pytest.raises(ContextInputError, match="job_id"):
        validate_draft({"job_type": "t", "context_data": 1})
