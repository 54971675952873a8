"""`govern jobs relay` and `govern jobs show`: hand over what waits in the job outbox now, and one job's state."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import func, select

from govern.cli_support import with_app
from govern.extensions import db
from govern.outbox.models import UNFINISHED, JobState, OutboxJob


@click.command("relay")
@with_app
def relay_command() -> None:
    """Hand the jobs waiting in the outbox to the broker now (the periodic relay does this every 15 seconds)."""
    from govern.jobs import relay

    outcome = relay(current_app._get_current_object())
    pending = db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.state == JobState.PENDING))
    click.echo(f"delivered {outcome.delivered}; still waiting for the broker: {pending}")
    if outcome.refused:
        raise click.ClickException(f"the broker refused: {outcome.refused}")


@click.command("show")
@click.argument("job_id")
@with_app
def show_command(job_id: str) -> None:
    """One job's state, by the id its endpoint answered with."""
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.job_id == job_id.strip()))
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    click.echo(f"{job.job_id}  {job.task}  {job.state.value}  attempts={job.attempts}  created {job.created_at:%Y-%m-%d %H:%M:%S}")
    if job.delivered_at:
        click.echo(f"  delivered {job.delivered_at:%Y-%m-%d %H:%M:%S}")
    if job.finished_at:
        click.echo(f"  {'ran' if job.state is JobState.DONE else 'failed'} {job.finished_at:%Y-%m-%d %H:%M:%S}")
    if job.last_error:
        click.echo(f"  last error: {job.last_error}")
    if job.state in UNFINISHED:
        click.echo("  not run yet")
