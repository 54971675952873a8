"""A console page in Arabic or Hebrew shows no English sentence from govern's own messages: every GET page of the
console, as an admin (who sees every part), on the demo inventory, with the visible text checked against the
catalog's English msgids."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from govern.accounts.models import SocialAccount
from govern.auth.roles import Role
from govern.demo.seed import seed_demo_data
from govern.people.models import Person
from govern.reviews.models import ReviewCampaign
from tests.support.console import signed_in_with_role
from tests.unit.i18n.catalog import extracted_messages

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
_PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdr]|%[sd]", re.I)


def english_sentences() -> list[str]:
    """govern's English messages of at least three words, split at their placeholders (what a page would show)."""
    pieces = set()
    for message in extracted_messages():
        for piece in _PLACEHOLDER.split(message):
            piece = " ".join(piece.split()).strip(" .,:;()")
            if len(piece.split()) >= 3 and re.search("[a-z]{3}", piece):
                pieces.add(piece)
    return sorted(pieces, key=len, reverse=True)


def visible_text(page: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", page)).split())


def console_pages(app, seeded: dict[str, int]) -> list[str]:
    """Every GET page of the console: rules without arguments, and the ones with an id filled from the seed."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith("console.") or rule.endpoint == "console.static":
            continue
        if rule.rule.startswith(("/login", "/logout", "/oauth")) or rule.rule.endswith(("/download", "/search")):
            continue
        try:
            pages.append(rule.build({name: seeded[name] for name in rule.arguments}, append_unknown=False)[1])
        except KeyError:
            continue  # a page about a record the seed does not make
    return sorted(pages)


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def seeded(session) -> dict[str, int]:
    """The demo inventory (`govern demo seed`): people, leavers, accounts, grants, a review campaign, events; and a
    SCIM group with a person and a reference govern does not know."""
    from govern.scim.group_models import ScimGroup, ScimGroupMember

    seed_demo_data(session, 7)
    first = lambda model: session.scalar(sa.select(sa.func.min(model.id)))  # noqa: E731
    session.add(ScimGroup(id="i18n-group", display_name="social-media"))
    session.flush()
    session.add_all([ScimGroupMember(group_id="i18n-group", value="i18n-person", person_id=first(Person)),
                     ScimGroupMember(group_id="i18n-group", value="00g-nested", type="Group")])
    session.commit()
    return {"account_id": first(SocialAccount), "person_id": first(Person), "campaign_id": first(ReviewCampaign),
            "group_id": "i18n-group"}


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_no_console_page_shows_an_english_sentence_of_govern(app, session, seeded, locale):
    client = signed_in_with_role(app, session, Role.ADMIN)
    client.post("/locale", data={"locale": locale})
    refresh()
    sentences = english_sentences()
    pages = console_pages(app, seeded)
    assert f"/reviews/campaigns/{seeded['campaign_id']}" in pages and "/audit" in pages, pages
    assert "/directory/scim-groups/i18n-group" in pages, pages
    english: dict[str, list[str]] = {}
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        text = visible_text(answer.get_data(as_text=True))
        found = [sentence for sentence in sentences if sentence in text]
        if found:
            english[path] = found[:3]
    assert not english, f"English on {locale} pages: {english}"


def test_the_check_finds_an_english_sentence():
    sentences = english_sentences()
    page = "<main><p>أهلًا</p><p>We could not find that</p></main>"
    assert "We could not find that" in sentences
    assert [s for s in sentences if s in visible_text(page)] == ["We could not find that"]
