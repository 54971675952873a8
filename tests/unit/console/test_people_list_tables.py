"""The people list shows its total under the filters and downloads as CSV (every filtered row, formulas defused)."""

from __future__ import annotations

import csv
import html
import io

from govern.auth.roles import Role
from tests import factories
from tests.support.console import signed_in_with_role


def test_the_people_list_counts_and_exports_what_its_filters_select(app, session, actor):
    for name, department in (("Dana Cohen", "Marketing"), ("Omar Haddad", "Marketing"), ("=cmd|' /C calc'!A0", "IT")):
        factories.person(session, actor, display_name=name, department=department)
    session.commit()
    client = signed_in_with_role(app, session, Role.IT)
    page = html.unescape(client.get("/people?department=Marketing").get_data(as_text=True))
    assert "2 people" in page and "/people/export.csv?department=Marketing" in page
    exported = client.get("/people/export.csv?department=Marketing")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert exported.mimetype == "text/csv" and sorted(row[0] for row in rows[1:]) == ["Dana Cohen", "Omar Haddad"]
    every = list(csv.reader(io.StringIO(client.get("/people/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert "'=cmd|' /C calc'!A0" in [row[0] for row in every], "a name never runs as a formula"
