"""The console's SCIM groups pages on real PostgreSQL: groups pushed through the SCIM API, listed with what they mean
in govern and the configured mapping, a group's members (an unknown reference marked as such), paging, the name
filter, English and Arabic (right to left), and the roles that may not see them."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from govern import app_services
from govern.auth.roles import Role
from tests.integration.test_scim import create, okta_user, scim_person
from tests.integration.test_scim import scim  # noqa: F401  (the SCIM client fixture)
from tests.support.console import signed_in_with_role

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
GROUP_LINK = re.compile(r'href="/directory/scim-groups/([0-9a-f-]{36})"')


@pytest.fixture
def role_groups(app, monkeypatch):
    """Role groups social-governance (governance) and social-it (it); the entitlement group keeps its default."""
    settings = app_services.settings(app).model_copy(
        update={"scim_role_groups": {"social-governance": "governance", "social-it": "it"}})
    monkeypatch.setitem(app.extensions, "govern.settings", settings)


def push_group(scim, name: str, members: list[str] = (), external_id: str | None = None) -> str:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": member} for member in members]}
    if external_id:
        body["externalId"] = external_id
    response = scim("POST", "/Groups", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)["id"]


def _in(client, language: str, path: str):
    """A request in the reader's language (the test's app context would otherwise keep the language chosen first)."""
    from flask_babel import refresh

    refresh()
    try:
        return client.get(path, headers={"Accept-Language": language})
    finally:
        refresh()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _row(page: str, name: str) -> str:
    """The table row that names a group."""
    found = re.search(rf"<tr>(?:(?!</tr>).)*<bdi>{re.escape(name)}</bdi>(?:(?!</tr>).)*</tr>", page, re.S)
    assert found, f"no row for {name}"
    return found.group(0)


def _listed(page: str) -> str:
    """The groups table (below the mapping, which names the configured groups too)."""
    return page.split('class="data scim-groups"')[1]


def _cursor(forged: list) -> str:
    """A cursor someone wrote by hand: right sort key, wrong types (which must never reach PostgreSQL)."""
    return base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")


def _next(page: str) -> str | None:
    found = re.search(r'rel="next" class="button" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def pushed(scim, role_groups):
    """Okta pushed two people, the entitlement group, one role group with an unknown reference, and a group that means
    nothing; the social-it role group is configured but not pushed."""
    dana = create(scim, okta_user("dana@example.com", externalId="00u1dana", displayName="Dana Levi"))
    omer = create(scim, okta_user("omer@example.com", externalId="00u1omer", displayName="عمر حداد"))
    ids = {
        "social-media": push_group(scim, "social-media", [dana["id"], omer["id"]], external_id="00g1media"),
        "social-governance": push_group(scim, "social-governance", [dana["id"], "00gNESTED"]),
        "marketing": push_group(scim, "marketing"),
    }
    return {"dana": dana, "omer": omer, "groups": ids}


def test_the_groups_list_shows_meaning_counts_and_the_mapping(app, session, pushed):
    client = signed_in_with_role(app, session, Role.IT)
    response = _in(client, "en", "/directory/scim-groups")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>SCIM groups</h1>" in page and 'aria-current="page">SCIM groups' in page
    media = _row(_listed(page), "social-media")
    assert "00g1media" in media and "<td>2</td>" in media
    assert "Entitlement: members are in scope for social media access" in media
    governance = _row(_listed(page), "social-governance")
    assert "<td>2</td>" in governance and "Console role: Governance" in governance
    marketing = _row(_listed(page), "marketing")
    assert "<td>0</td>" in marketing and "No meaning in govern" in marketing
    assert "3 groups" in page
    # the mapping: every configured group, and the one the identity provider has not pushed
    mapping = page.split('id="mapping-title"')[1].split("</section>")[0]
    assert [name for name in re.findall(r"<td><bdi>([^<]+)</bdi></td>", mapping)] == [
        "social-media", "social-governance", "social-it"]
    assert mapping.count("Not pushed yet") == 1 and "Console role: IT" in _row(mapping, "social-it")
    assert "Not pushed yet" in _row(mapping, "social-it") and "Not pushed yet" not in _row(mapping, "social-media")
    # the directory pages link to it
    assert 'href="/directory/scim-groups"' in _text(client.get("/directory/departures"))


def test_the_groups_pages_in_arabic_read_right_to_left(app, session, pushed):
    client = signed_in_with_role(app, session, Role.GOVERNANCE)
    page = _text(_in(client, "ar", "/directory/scim-groups"))
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert "مجموعات SCIM" in page
    assert "الاستحقاق: الأعضاء ضمن نطاق الوصول إلى وسائل التواصل الاجتماعي" in _row(_listed(page), "social-media")
    assert "دور وحدة التحكم: الحوكمة" in _row(_listed(page), "social-governance")
    assert "لا معنى لها في govern" in _row(_listed(page), "marketing")
    group = _text(_in(client, "ar", f"/directory/scim-groups/{pushed['groups']['social-governance']}"))
    assert 'dir="rtl"' in group and "<bdi>Dana Levi</bdi>" in group and "عضو غير معروف" in group


def test_a_group_page_lists_members_and_marks_an_unknown_reference(app, session, pushed):
    client = signed_in_with_role(app, session, Role.AUDITOR)
    dana = scim_person(session, pushed["dana"]["id"])
    response = _in(client, "en", f"/directory/scim-groups/{pushed['groups']['social-governance']}")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1><bdi>social-governance</bdi></h1>" in page and "Console role: Governance" in page
    assert f'<a href="/people/{dana.id}"><bdi>Dana Levi</bdi></a>' in page
    unknown = _row(page, "00gNESTED")
    assert "Unknown member" in unknown and "/people/" not in unknown
    assert "Showing 2 of 2." in page
    omer = scim_person(session, pushed["omer"]["id"])
    media = _text(_in(client, "en", f"/directory/scim-groups/{pushed['groups']['social-media']}"))
    assert f'<a href="/people/{omer.id}"><bdi>عمر حداد</bdi></a>' in media and "Unknown member" not in media
    assert "Entitlement: members are in scope for social media access" in media and "00g1media" in media
    empty = _text(_in(client, "en", f"/directory/scim-groups/{pushed['groups']['marketing']}"))
    assert "This group has no members." in empty and "No meaning in govern" in empty


def test_groups_and_members_page_and_filter_by_name(app, session, scim):
    people = [create(scim, okta_user(f"p{n}@example.com", externalId=f"00u{n}", displayName=f"Person {n}"))
              for n in range(5)]
    for n in range(5):
        push_group(scim, f"team-{n}", [person["id"] for person in people] if n == 0 else [])
    push_group(scim, "100%_sales")
    client = signed_in_with_role(app, session, Role.ADMIN)
    seen, url = [], "/directory/scim-groups?limit=2"
    while url:
        page = _text(client.get(url))
        seen += re.findall(r"<a href=\"/directory/scim-groups/[0-9a-f-]{36}\"><bdi>([^<]+)</bdi>", page)
        url = _next(page)
    assert seen == sorted(seen) and sorted(seen) == sorted(["team-0", "team-1", "team-2", "team-3", "team-4", "100%_sales"])
    assert "6 groups" in page
    filtered = _text(client.get("/directory/scim-groups?q=TEAM-"))
    assert "5 groups" in filtered and "100%_sales" not in filtered
    literal = _text(client.get("/directory/scim-groups?q=0%25_"))  # % and _ match themselves, not anything
    assert "1 group" in literal and "100%_sales" in literal
    assert "No group's name contains this." in _text(client.get("/directory/scim-groups?q=nothing-like-it"))

    [team0] = GROUP_LINK.findall(_text(client.get("/directory/scim-groups?q=team-0")))[:1]
    names, url = [], f"/directory/scim-groups/{team0}?limit=2"
    while url:
        page = _text(client.get(url))
        assert "Showing" in page and "of 5." in page
        names += re.findall(r"<bdi>(Person \d)</bdi>", page)
        url = _next(page)
    assert sorted(names) == [f"Person {n}" for n in range(5)] and len(names) == 5


def test_bad_paging_and_unknown_groups_are_readable_refusals(app, session, pushed):
    client = signed_in_with_role(app, session, Role.IT)
    assert client.get("/directory/scim-groups?cursor=not-a-cursor").status_code == 400
    assert client.get("/directory/scim-groups?limit=0").status_code == 400
    group = pushed["groups"]["social-media"]
    assert client.get(f"/directory/scim-groups/{group}?cursor=not-a-cursor").status_code == 400
    for forged in (["display_name", "x", 1], ["display_name", 5, "x"], ["display_name", None, None]):
        assert client.get("/directory/scim-groups?cursor=" + _cursor(forged)).status_code == 400, forged
    for forged in (["added_at", 5, "x"], ["added_at", "yesterday", "x"], ["added_at", {"t": "2026-01-01T00:00:00"}, 7]):
        assert client.get(f"/directory/scim-groups/{group}?cursor=" + _cursor(forged)).status_code == 400, forged
    leavers = client.get("/directory/departures?cursor=" + _cursor(["first_seen_at", "yesterday", 1]))
    assert leavers.status_code == 200, "every list: a forged cursor never reaches PostgreSQL (it was a 503)"  # page 1 again
    assert client.get("/directory/scim-groups/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/directory/scim-groups/" + "x" * 300).status_code == 404


@pytest.mark.parametrize("role", [Role.REVIEWER])
def test_roles_without_the_directory_pages_are_refused(app, session, pushed, role):
    client = signed_in_with_role(app, session, role)
    assert client.get("/directory/scim-groups").status_code == 403
    assert client.get(f"/directory/scim-groups/{pushed['groups']['social-media']}").status_code == 403
    assert client.get("/directory/departures").status_code == 403  # the same answer as the directory pages

