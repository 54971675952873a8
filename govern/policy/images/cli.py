"""`govern policy register-image`: add a protected or licensed image to the registry."""

from __future__ import annotations

from pathlib import Path

import click

from govern.cli_support import cli_actor, with_app
from govern.extensions import db
from govern.policy.images.limits import DEFAULT_LIMITS
from govern.policy.images.registry import register_image
from govern.policy.models import RightsStatus


@click.command("register-image")
@click.argument("image_file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--label", required=True, help="What the image is, as the findings will name it.")
@click.option("--status", required=True, type=click.Choice([s.value for s in RightsStatus]),
              help="protected: must not be posted; licensed: may be posted under the license.")
@click.option("--licensor", help="Who licensed it to us (licensed), or who owns it (protected).")
@click.option("--license-ref", help="The license or contract reference.")
@with_app
def register_image_command(image_file: Path, label: str, status: str, licensor: str | None, license_ref: str | None) -> None:
    """Register IMAGE_FILE's fingerprint (the image itself is not stored)."""
    if image_file.stat().st_size > DEFAULT_LIMITS.max_bytes:
        raise click.ClickException(f"{image_file} is larger than {DEFAULT_LIMITS.max_bytes:,} bytes")
    image = register_image(db.session, cli_actor(), image_file.read_bytes(), label, status, licensor, license_ref)
    click.echo(f"registered image #{image.id} '{image.label}' ({image.status.value}), "
               f"{image.width}x{image.height} {image.image_format}, pHash {image.phash}")
