"""review items at size, again: the reviewer columns lose their foreign keys; the campaign's own index covers its
per-reviewer progress

Opening a campaign over 230,000 grants spent half its INSERT in per-row foreign-key triggers (EXPLAIN ANALYZE:
reviewer 2.1 s, escalated-from 0.1 s, of 10.2 s on a loaded machine). The reviewer is read from `people` in the same
statement and people are never deleted (leavers stay), as decision 0036 argued for person and account. The index on
campaign_id alone becomes (campaign_id, reviewer_person_id, decision): the campaign page's progress per reviewer
is then an index-only scan (83 ms to 44 ms over 230,000 items).

Revision ID: 8b6c7d8e9fa6
Revises: 8b5c6d7e8f95
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "8b6c7d8e9fa6"
down_revision = "8b5c6d7e8f95"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_review_items_reviewer_person_id_people"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_review_items_escalated_from_person_id_people"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_review_items_campaign_id"))
        batch_op.create_index("ix_review_items_campaign_reviewer_decision",
                              ["campaign_id", "reviewer_person_id", "decision"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_campaign_reviewer_decision")
        batch_op.create_index(batch_op.f("ix_review_items_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(op.f("fk_review_items_escalated_from_person_id_people"), "people",
                                    ["escalated_from_person_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_review_items_reviewer_person_id_people"), "people",
                                    ["reviewer_person_id"], ["id"])
