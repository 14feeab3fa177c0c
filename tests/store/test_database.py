import pytest

from orchestra.store.database import normalise_url
from orchestra.store.errors import DatabaseUrlError


def test_urls_map_to_the_drivers_we_run() -> None:
    assert normalise_url("sqlite+aiosqlite:///x/o.db") == "sqlite:///x/o.db"
    assert normalise_url("postgresql://u:p@h:5/d") == "postgresql+asyncpg://u:p@h:5/d"


def test_unsupported_url_says_what_to_use() -> None:
    with pytest.raises(DatabaseUrlError, match="ORCHESTRA_DATABASE_URL"):
        normalise_url("mysql://h/d")
