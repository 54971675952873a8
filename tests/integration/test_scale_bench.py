"""benches/scale.py at its smoke size: the organisation is built through govern, cached as a template, reused, and a
run on a clone verifies the trail it built. (Figures are the bench's business; this checks the harness works.)"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches"))

pytestmark = pytest.mark.integration


@pytest.fixture
def scale(scratch_postgres, tmp_path, monkeypatch):
    """The bench modules, with template databases and signing keys of this test's own."""
    import _scale_org
    import scale as scale_bench

    prefix = f"govern_scale_t{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(_scale_org, "PREFIX", prefix)
    monkeypatch.setattr(_scale_org, "CACHE_DIR", tmp_path / "cache")
    yield scale_bench
    for suffix in ("org_quick", "org_quick_building", "quick", "quick_building", "run_quick"):
        _scale_org.drop_database(f"{prefix}_{suffix}")


def test_the_quick_organisation_is_built_through_govern_cached_and_verifiable(scale, tmp_path):
    import _scale_org

    built = _scale_org.build_events("quick", say=lambda message: None)
    size = _scale_org.ORGS["quick"]
    counts = built.counts
    assert (counts["people"], counts["accounts"], counts["grants"]) == (size.people, size.accounts, size.grants)
    assert counts["leavers"] == size.leavers
    assert counts["grants_in_force"] == size.in_force  # the leavers' grants were revoked by their departure
    assert counts["grants_expired"] == size.expired
    assert counts["events"] == 20_000 and counts["checkpoints"] >= 20

    again = _scale_org.build_events("quick", say=lambda message: None)
    assert again.key == built.key and again.seconds == built.seconds  # reused, not built again

    assert scale.main(["--quick", "--only", "verify", "--results", str(tmp_path / "results")]) == 0
    result = json.loads((tmp_path / "results" / "scale-quick.json").read_text())
    assert result["upgrade"]["ok"]
    assert result["verify"]["ok"], result["verify"]
    assert result["verify"]["checkpoints"] >= 20
    assert "| `govern audit verify` |" in (tmp_path / "results" / "scale-quick.md").read_text()
