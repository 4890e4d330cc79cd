"""The committed SDL matches the code (regenerate with `make schema`)."""

from pathlib import Path

from app.schema.export import export_sdl


def test_committed_sdl_matches_code() -> None:
    committed = (Path(__file__).parent.parent / "graphql_schema.graphql").read_text()
    assert committed == export_sdl(), "graphql_schema.graphql is stale: run `make schema`"
