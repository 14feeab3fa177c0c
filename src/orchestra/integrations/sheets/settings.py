"""``[plugins.sheets]``: limits of the sheet tools and the Google service account."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SheetsSettings(BaseModel):
    """The ``[plugins.sheets]`` table of ``orchestra.toml``; every field has a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    google_service_account: str | None = None
    """The service-account key (its JSON text), usually ``"os.environ/GOOGLE_SERVICE_ACCOUNT_JSON"``.
    Without it only workspace files (CSV, XLSX) can be used."""
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    """Largest sheet read, and most rows one call may add or change."""
    max_columns: int = Field(default=200, ge=1, le=16_384)
    max_cell_chars: int = Field(default=50_000, ge=1, le=1_000_000)
    max_file_mb: float = Field(default=20.0, gt=0, le=1024)
    """Largest CSV or XLSX file the tools open."""
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Wall clock of one call (Google Sheets requests included)."""
