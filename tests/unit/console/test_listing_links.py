"""Sort, pager and export links of a list page point at the list, also when the page is shown again after a form post."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from govern.console.templating import export_url, listing_url, page_url


def _parts(url: str) -> tuple[str, dict[str, list[str]]]:
    split = urlsplit(url)
    return split.path, parse_qs(split.query)


def test_on_a_list_page_the_links_keep_its_filters_and_drop_its_cursor(app):
    with app.test_request_context("/directory/runs?status=held&cursor=abc&sort=source"):
        assert _parts(listing_url(sort="status")) == ("/directory/runs", {"status": ["held"], "sort": ["status"]})
        assert _parts(page_url("cursor", "next1")) == ("/directory/runs", {"status": ["held"], "sort": ["source"], "cursor": ["next1"]})
        assert _parts(page_url("cursor", None)) == ("/directory/runs", {"status": ["held"], "sort": ["source"]})


def test_after_a_refused_form_post_the_links_lead_back_to_the_list_not_the_post_address(app):
    with app.test_request_context("/directory/runs/7/approve", method="POST",
                                  headers={"Referer": "http://localhost/directory/runs?status=held&cursor=abc"}):
        assert _parts(listing_url(sort="status")) == ("/directory/runs", {"status": ["held"], "sort": ["status"]})
        assert _parts(page_url("cursor", "n2")) == ("/directory/runs", {"status": ["held"], "cursor": ["n2"]})
        assert _parts(export_url("console.directory_runs_csv")) == ("/directory/runs/export.csv", {"status": ["held"]})


def test_a_referrer_from_another_site_is_never_followed(app):
    with app.test_request_context("/directory/runs/7/approve", method="POST",
                                  headers={"Referer": "https://evil.example/phish?x=1"}):
        assert _parts(listing_url())[0] == "/directory/runs/7/approve"
