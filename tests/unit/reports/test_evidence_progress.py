"""The CLI's progress bar on a long export goes to standard error, and only on a terminal."""

from __future__ import annotations

import io

from govern.evidence.cli import _ProgressBar
from govern.evidence.builder import ExportProgress


def test_the_bar_counts_events_and_rows_and_names_the_stage():
    stream = io.StringIO()
    bar = _ProgressBar(stream)
    state = ExportProgress(total=0)
    bar(state)  # nothing known yet: no bar
    state.total, state.stage = 4_000, "audit events"
    for done in (1_000, 2_000, 4_000):
        state.done = done
        bar(state)
    state.stage = "done"
    bar(state)
    bar.close()
    assert bar.shown == 4_000
    assert "evidence bundle" in stream.getvalue()
