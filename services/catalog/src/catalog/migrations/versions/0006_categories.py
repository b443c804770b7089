"""Categories: the storefront's taxonomy, seeded here, and products' references to it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (slug, name, children): an operator marketplace's shelves, in the storefront's order.
TAXONOMY: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("data-center-cloud", "Дата-центр и облако", [
        ("cloud", "Облачные серверы"),
        ("cloud-infrastructure", "Облачная инфраструктура"),
        ("backup", "Резервное копирование"),
        ("storage", "Облачное хранилище"),
        ("colocation", "Размещение оборудования"),
    ]),
    ("information-security", "Информационная безопасность", [
        ("antivirus", "Антивирусы"),
        ("ddos-protection", "Защита от DDoS-атак"),
        ("security", "Защита сетей и данных"),
        ("electronic-signature", "Электронная подпись"),
    ]),
    ("communications", "Связь и коммуникации", [
        ("telephony", "Виртуальная АТС и телефония"),
        ("internet", "Интернет для бизнеса"),
        ("messaging", "Рассылки и мессенджеры"),
    ]),
    ("video-surveillance", "Видеонаблюдение", [
        ("cloud-video", "Облачное видеонаблюдение"),
        ("video-analytics", "Видеоаналитика"),
    ]),
    ("business-software", "Бизнес-приложения", [
        ("crm", "CRM"),
        ("project-management", "Управление проектами"),
        ("office", "Офис и совместная работа"),
        ("hr", "Кадры и HR"),
    ]),
    ("1c-accounting", "1С и бухгалтерия", [
        ("1c-cloud", "1С в облаке"),
        ("edo", "Электронный документооборот"),
        ("reporting", "Отчётность"),
    ]),
]  # fmt: skip


def upgrade() -> None:
    categories = op.create_table(
        "categories",
        sa.Column("slug", sa.String(100), primary_key=True),
        sa.Column(
            "parent_slug",
            sa.String(100),
            sa.ForeignKey(
                "categories.slug", ondelete="RESTRICT", name="fk_categories_parent_slug_categories"
            ),
            nullable=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    rows: list[dict[str, object]] = []
    for position, (slug, name, children) in enumerate(TAXONOMY):
        rows.append({"slug": slug, "parent_slug": None, "name": name, "position": position})
        rows += [
            {"slug": child, "parent_slug": slug, "name": child_name, "position": index}
            for index, (child, child_name) in enumerate(children)
        ]
    op.bulk_insert(categories, rows)
    # Products made before the taxonomy may name a category it lacks: keep them, under the
    # closest shelf there is, rather than refuse the migration.
    op.execute(
        "UPDATE products SET category = 'business-software' "
        "WHERE category NOT IN (SELECT slug FROM categories)"
    )
    op.create_foreign_key(
        "fk_products_category_categories", "products", "categories", ["category"], ["slug"]
    )
    op.create_index("ix_products_category", "products", ["category"])


def downgrade() -> None:
    op.drop_index("ix_products_category", "products")
    op.drop_constraint("fk_products_category_categories", "products", type_="foreignkey")
    op.drop_table("categories")
