"""Console pages of the SCIM groups an identity provider pushed (read-only): the list with what each group means in
govern and the configured mapping above it, and one group's members. They sit with the directory pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from marshmallow import fields, validate

from govern import app_services
from govern.auth.roles import Permission
from govern.console import forms, pages
from govern.console.blueprint import ConsolePages
from govern.extensions import db
from govern.pagination import InvalidCursor
from govern.schemas_common import PageArgs
from govern.scim import group_overview
from govern.scim.groups import GroupMeanings
from govern.web.authz import requires

routes = ConsolePages()


class GroupListArgs(PageArgs):
    """The groups list's filter: part of a group's name, any case."""

    q = fields.String(validate=validate.Length(max=255))


def _meanings() -> GroupMeanings:
    settings = app_services.settings()
    return GroupMeanings.of(settings.scim_entitlement_group, settings.scim_role_groups)


@routes.get("/directory/scim-groups")
@requires(Permission.PEOPLE_READ)
def directory_scim_groups():
    meanings = _meanings()
    results, _total, errors = pages.counted_listing(
        db.session, request.args, GroupListArgs(),
        lambda session, chosen, **paging: group_overview.groups_page(session, meanings, chosen, **paging),
        group_overview.GroupFilter)
    configured = group_overview.configured_groups(db.session, meanings)
    page = render_template("directory/scim_groups.html", results=results, errors=errors, configured=configured)
    return page, 400 if errors else 200


@routes.get("/directory/scim-groups/<group_id>")
@requires(Permission.PEOPLE_READ)
def directory_scim_group(group_id: str):
    shown = group_overview.get_group(db.session, _meanings(), group_id)
    args, errors = forms.load(PageArgs(), request.args)
    try:
        members = group_overview.members_page(db.session, group_id, **args) if not errors else None
    except InvalidCursor:
        members, errors = None, {"cursor": forms.problem_with("cursor")}
    page = render_template("directory/scim_group.html", row=shown, members=members, errors=errors)
    return page, 400 if errors else 200


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
