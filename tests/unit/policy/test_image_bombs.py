"""Image bombs: pixels per image and per request, and decode time, are bounded; refusals are 413 problem+json naming the limit.

The bomb is the one from the issue: 7999x7999 1-bit PNGs, about 8 KB each, that decode to 64 million pixels.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from govern import create_app
from govern.auth.roles import Role
from govern.policy.images.checks import scan_media
from govern.policy.images.fingerprints import RegistrySnapshot
from govern.policy.images.limits import ImageLimits, ImageRejected


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def one_bit_png(width: int, height: int) -> bytes:
    """A real, fully decodable black 1-bit PNG: tiny on the wire, width*height pixels once decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then the packed bits
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def small_photo(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_mandelbrot((320, 240), (-2 + seed / 10, -1.2, 1, 1.2), 60).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


BOMB = one_bit_png(7999, 7999)


def _evaluate(client, headers, images):
    body = {"text": "our new office", "media": [base64.b64encode(image).decode() for image in images]}
    return client.post("/api/v1/policy/evaluate", json=body, headers=headers)


def _assert_refused(response, limit):
    assert response.status_code == 413, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["limit"] == limit and isinstance(problem["limit_value"], (int, float))
    assert limit in problem["detail"] or f"{problem['limit_value']:,}" in problem["detail"]
    return problem


def test_ten_bombs_in_one_post_are_refused_before_any_is_decoded(client, auth_headers):
    assert len(BOMB) < 30_000 and Image.open(io.BytesIO(BOMB)).size == (7999, 7999)
    problem = _assert_refused(_evaluate(client, auth_headers(Role.AUDITOR), [BOMB] * 10), "media_max_pixels_per_image")
    assert problem["media_index"] == 0 and "7999x7999" in problem["detail"]


def test_one_image_over_the_per_image_limit_is_refused(client, auth_headers):
    problem = _assert_refused(_evaluate(client, auth_headers(Role.AUDITOR), [small_photo(1), BOMB]), "media_max_pixels_per_image")
    assert problem["media_index"] == 1


def test_images_each_under_the_limit_are_refused_together_from_their_headers(client, auth_headers):
    sixteen_megapixels = one_bit_png(4000, 4000)
    problem = _assert_refused(_evaluate(client, auth_headers(Role.AUDITOR), [sixteen_megapixels] * 10), "media_max_pixels_per_request")
    assert "160,000,000" in problem["detail"]  # the sum of the headers' dimensions
    assert problem["media_index"] is None
    assert _evaluate(client, auth_headers(Role.AUDITOR), [sixteen_megapixels] * 2).status_code == 200


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """An app with the given settings on a database of this module's own (its token is committed for real)."""
    from alembic import command as alembic_command

    from govern.actor import Actor
    from govern.auth.service import create_api_client
    from govern.cli import alembic_config
    from govern.extensions import db

    folder = tmp_path_factory.mktemp("media-limits")
    url = f"sqlite:///{folder / 'govern.sqlite'}"
    alembic_command.upgrade(alembic_config(url), "head")

    def build(**settings):
        app = create_app({"database_url": url, "secret_key": "m" * 40, "instance_path": folder, **settings})
        with app.app_context():
            _, token = create_api_client(db.session, Actor.system("tests"), f"media-{len(settings)}-{id(app)}", Role.AUDITOR)
            db.session.commit()
        return app.test_client(), {"Authorization": f"Bearer {token.reveal()}"}

    return build


def test_the_limits_are_settings(configured):
    client, headers = configured(media_max_pixels_per_image=100_000, media_max_pixels_per_request=150_000)
    assert _evaluate(client, headers, [small_photo(1)]).status_code == 200  # 76,800 pixels
    _assert_refused(_evaluate(client, headers, [small_photo(1), small_photo(2)]), "media_max_pixels_per_request")
    _assert_refused(_evaluate(client, headers, [one_bit_png(400, 400)]), "media_max_pixels_per_image")


def test_decoding_stops_when_the_requests_time_budget_is_spent(configured):
    client, headers = configured(media_max_decode_seconds=0.000001)
    problem = _assert_refused(_evaluate(client, headers, [small_photo(1), small_photo(2)]), "media_max_decode_seconds")
    assert problem["media_index"] == 1


def test_the_media_checks_bound_the_request_themselves():
    limits = ImageLimits(max_pixels=64_000_000, max_pixels_per_request=100_000_000)
    with pytest.raises(ImageRejected) as refused:
        scan_media([BOMB, BOMB], RegistrySnapshot(), limits=limits)
    assert refused.value.limit == "max_pixels_per_request" and refused.value.media_index is None


def test_the_console_test_bench_explains_the_refusal_in_the_users_language(app, monkeypatch):
    import uuid

    from govern.actor import Actor
    from govern.auth.service import ensure_console_user
    from govern.extensions import db
    from tests.support.console import signed_in_client

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    with app.app_context():  # left before the requests: each must build its own context (and chosen language)
        user = ensure_console_user(db.session, Actor.system("tests"), f"bombs-{uuid.uuid4().hex[:8]}@console.test", "bombs", Role.IT)
        db.session.commit()
        user_id = user.id
    expected = {
        "en": "The attached images are too large to check",
        "ar": "الصور المرفقة أكبر من أن تُفحص",
        "he": "התמונות המצורפות גדולות מכדי לבדוק אותן",
    }
    for locale, sentence in expected.items():
        client = signed_in_client(app, user_id)
        with client.session_transaction() as cookie:
            cookie["locale"] = locale
        response = client.post("/policy/test", data={"text": "hello", "images": [(io.BytesIO(BOMB), "bomb.png")]},
                               content_type="multipart/form-data")
        assert response.status_code == 413
        page = response.get_data(as_text=True)
        assert sentence in page and "media_max_pixels_per_image" in page
