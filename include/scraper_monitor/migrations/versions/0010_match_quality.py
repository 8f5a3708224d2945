"""TMDB match quality on film item outcomes: per film and try, the listing's title, the best
candidate's confidence, how it was found (``scrapers.tmdb.matching``: "split_exact+page2"), its TMDB
id and title. NULL on every other item (showtimes, films recorded before this revision).

The Matching view and its alert (``reports.matching``) read the film items of a time window, of one
scraper or all; the partial index on ``recorded_at`` serves both without touching the showtime rows,
which outnumber films fifty to one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("item_outcomes", sa.Column("film_title", sa.String(300)))
    op.add_column("item_outcomes", sa.Column("match_confidence", sa.Float))
    op.add_column("item_outcomes", sa.Column("match_method", sa.String(100)))
    op.add_column("item_outcomes", sa.Column("tmdb_id", sa.BigInteger))
    op.add_column("item_outcomes", sa.Column("tmdb_title", sa.String(300)))
    op.create_index(
        "ix_item_outcomes_films",
        "item_outcomes",
        ["recorded_at"],
        postgresql_where=sa.text("entity_type = 'film'"),
    )


def downgrade() -> None:
    op.drop_index("ix_item_outcomes_films", table_name="item_outcomes")
    for column in ("tmdb_title", "tmdb_id", "match_method", "match_confidence", "film_title"):
        op.drop_column("item_outcomes", column)
