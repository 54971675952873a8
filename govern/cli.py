"""The `govern` command: serve, db, jobs, token, console, demo, audit, sync, directory, scim, policy, accounts, retention, legal-hold, notifications."""

from __future__ import annotations


import click
from alembic import command as alembic_command

from govern.audit.cli import audit
from govern.auth.cli import console, token
from govern.cli_support import cli_app
from govern.config import ConfigurationError, load_settings
from govern.demo.cli import demo
from govern.directory.cli import directory, sync
from govern.evidence.cli import evidence
from govern.notifications.cli import notifications
from govern.outbox.cli import relay_command, show_command
from govern.policy.cli import policy
from govern.policy.images.cli import register_image_command
from govern.policy.impostors.cli import impostors
from govern.reports.cli import report
from govern.retention.cli import legal_hold, retention
from govern.scim.cli import scim
from govern.migrations_config import alembic_config

def _database_url() -> str:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return settings.effective_database_url


@click.group()
def main() -> None:
    """govern: security and governance for corporate social media accounts."""


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    alembic_command.upgrade(alembic_config(_database_url()), revision)


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    alembic_command.downgrade(alembic_config(_database_url()), revision)


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Generate a new migration from the models (review it before committing)."""
    alembic_command.revision(alembic_config(_database_url()), message=message, autogenerate=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256))
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the console and API with gunicorn (a thread gets a request only once all of it has arrived)."""
    from govern.serve import run

    run(cli_app(), host, port, workers, threads)


@main.group()
def jobs() -> None:
    """Jobs: the job outbox's relay, a job's state, and the in-process schedule (embedded mode)."""


@jobs.command("run")
def jobs_run() -> None:
    """Run the job schedule in this process until interrupted (`govern serve` starts this in embedded mode)."""
    from govern.jobs import run_scheduler_process

    run_scheduler_process(cli_app())


jobs.add_command(relay_command)
jobs.add_command(show_command)


@click.group("accounts")
def accounts() -> None:
    """The account inventory: lookalike handles of our accounts."""


accounts.add_command(impostors)
policy.add_command(register_image_command)

for group in (token, console, demo, audit, evidence, sync, directory, scim, policy, accounts, retention, legal_hold,
              notifications):
    main.add_command(group)
main.add_command(report)
