"""`goofs import`, `import-tle` and `demo` as an operator types them: exit codes, the report,
the progress bar."""

from __future__ import annotations

from pathlib import Path

from galactic_goofs.db import utcnow
from tests.orbital import iss_tle
from tests.support import run_goofs


def test_an_import_reports_rejected_rows_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "fleet.csv").write_text(
        "name,cospar_id,norad_id\nISS,1998-067A,25544\nNowhere,1998-67A,\n"
    )

    done = run_goofs(["import", "fleet.csv"], {}, tmp_path)

    assert done.returncode == 2, done.stderr
    assert "line 3: cospar_id: COSPAR ID must look like 1998-067A" in done.stderr
    assert "rows/s" in done.stderr  # the progress bar, with its rate
    assert "imported fleet.csv (csv): 1 new, 0 updated, 0 unchanged, 1 rejected" in done.stdout


def test_a_satcat_file_missing_a_column_is_refused_whole(tmp_path: Path) -> None:
    (tmp_path / "satcat.csv").write_text("OBJECT_NAME,NORAD_CAT_ID\nISS (ZARYA),25544\n")

    done = run_goofs(["import", "--format", "satcat", "satcat.csv"], {}, tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "not a SATCAT CSV: the header has no OBJECT_ID column (it has: OBJECT_NAME, NORAD_CAT_ID)"
    )


def test_orbits_from_a_tle_file_then_the_demo_fleet_beside_them(tmp_path: Path) -> None:
    (tmp_path / "fleet.csv").write_text("International Space Station,1998-067A,25544\n")
    (tmp_path / "stations.tle").write_text(f"ISS (ZARYA)\n{iss_tle(utcnow())}\n")
    assert run_goofs(["import", "fleet.csv"], {}, tmp_path).returncode == 0

    orbits = run_goofs(["import-tle", "stations.tle"], {}, tmp_path)
    demo = run_goofs(["demo"], {}, tmp_path)

    assert orbits.returncode == 0, orbits.stderr
    assert "1 set, 0 unmatched, 0 rejected" in orbits.stdout
    assert demo.returncode == 0, demo.stderr
    assert "spacecraft added" in demo.stdout
    assert "illustrative" in demo.stdout
