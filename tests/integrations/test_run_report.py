"""``orchestra runs report RUN``: a real run (scripted model, SQLite) becomes a PDF whose
pages show the steps, the outputs and the charts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli, orchestra
from tests.cli.project import make_project
from tests.integrations.pdf_pages import count_near, pdf_pages, pdf_text, png_pixels

__all__ = ["orchestra"]


def test_a_run_report_has_steps_outputs_and_charts(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout.splitlines()[0])["run_id"]

    out = tmp_path / "report.pdf"
    made = orchestra("runs", "report", run_id, "-o", str(out), cwd=project)
    assert made.returncode == 0, made.stderr
    assert f"wrote {out}" in made.stdout

    text = pdf_text(out)
    assert "Run report: note" in text
    assert run_id in text
    assert "draft" in text and "publish" in text and "succeeded" in text
    assert "Outputs" in text and "Tokens per step" not in text  # chart titles are images
    pixels = [p for page in pdf_pages(out, tmp_path / "pages") for p in png_pixels(page)[2]]
    assert count_near(pixels, (224, 123, 0), tol=30) > 50, "the tokens chart is not drawn"


def test_an_unknown_run_is_an_error(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    missing = orchestra("runs", "report", "nope", cwd=project)
    assert missing.returncode == 2
    assert "nope" in missing.stderr
