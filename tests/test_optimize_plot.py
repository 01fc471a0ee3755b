"""The chart of an optimize folder: objective and paired differences, the bracket, Young and Daly, from files only."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import tiny

from sim.experiment.optimize import optimize
from sim.experiment.optimize_save import search_block, write_optimum
from sim.plots.optimize import optimize_chart
from sim.results.folder import SweepFolder, load


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> SweepFolder:
    """A written optimize folder of a small scenario with a job MTBF of 5 hours."""
    s = tiny({"failure.0.mtbf_hours": 5.0}, run={"duration_days": 2.0, "replications": 4, "seed": 3})
    best = optimize(s, replications=4, jobs=1)
    out = Path(tmp_path_factory.mktemp("opt")) / "o"
    write_optimum(out, best, None, "2025-01-01T00:00:00Z", 1.0, search_block(best.key, None, None, "ettr"))
    loaded = load(out)
    assert isinstance(loaded, SweepFolder)
    return loaded


def test_two_panels_and_their_marks(folder: SweepFolder) -> None:
    """The objective (top) and the paired difference (bottom) share a log axis; the legend names every mark."""
    fig = optimize_chart(folder)
    top, bottom = fig.axes[:2]
    assert bottom.get_xscale() == "log" and top.get_shared_x_axes().joined(top, bottom)
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert labels[0] == "simulated mean ETTR" and labels[1].startswith("best: ")
    assert any(t.startswith("bracket: ") for t in labels)
    assert any(t.startswith("Young (1974)") for t in labels) and any(t.startswith("Daly (2006)") for t in labels)
    optimum = folder.summary["optimum"]
    assert f"{optimum['best']:.4g} min" in labels[1]


def test_title_and_footnote(folder: SweepFolder) -> None:
    """The question names the key and the objective; the footnote says how the CIs were made."""
    texts = [t.get_text() for t in optimize_chart(folder).texts]
    assert texts[0] == "Which checkpoint interval maximises ETTR, and how sure is the search?"
    assert any("replication by replication on the same failures" in t for t in texts)
