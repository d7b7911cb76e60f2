"""The real dpkg log, anomalies injected into it, and ContraLog's ranking of a new error above new identifiers."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from services.core.errors import InvalidInputError
from services.logs.data import DPKG_SAMPLE, load_dpkg
from services.logs.detectors.contralog import ContraLogDetector
from services.logs.injection import inject
from services.logs.text import join_sessions, session_lines
from tests.contract.logs_case import SMALL_CONFIGS

ERROR = "dpkg: error processing package {} (--configure):"


def test_dpkg_log_groups_lines_by_package_and_day(tmp_path: Path) -> None:
    text = ("2026-01-02 10:00:00 startup archives unpack\n"
            "2026-01-02 10:00:01 install foo:amd64 <none> 1.0-1\n"
            "2026-01-02 10:00:01 status half-installed foo:amd64 1.0-1\n"
            "2026-01-02 10:00:02 configure bar:all 2.0 <none>\n"
            "2026-01-03 09:00:00 status installed foo:amd64 1.0-1\n")
    (tmp_path / "dpkg.log").write_text(text)
    data = load_dpkg(tmp_path / "dpkg.log")
    assert data.ids == ["2026-01-02 foo:amd64", "2026-01-02 bar:all", "2026-01-03 foo:amd64"]
    assert [len(session_lines(s)) for s in data.sessions] == [2, 1, 1] and not data.labels.any()
    with gzip.open(tmp_path / "dpkg.log.gz", "wt") as handle:
        handle.write(text)
    assert load_dpkg(tmp_path / "dpkg.log.gz").ids == data.ids
    (tmp_path / "empty.log").write_text("not a dpkg line\n")
    with pytest.raises(InvalidInputError, match="date time action package"):
        load_dpkg(tmp_path / "empty.log")


def test_bundled_sample_is_a_real_dpkg_log() -> None:
    data = load_dpkg(DPKG_SAMPLE)
    assert len(data.sessions) == 811
    assert np.median([len(session_lines(s)) for s in data.sessions]) == 7


def test_injection_changes_sessions_as_labelled() -> None:
    base = load_dpkg()
    data, kinds = inject(base, rate=0.06, seed=3)
    again, _ = inject(base, rate=0.06, seed=3)
    assert (data.sessions == again.sessions).all()  # seeded
    assert data.labels.sum() == round(0.06 * len(base.sessions)) == sum(bool(k) for k in kinds)
    for before, after, kind in zip(base.sessions, data.sessions, kinds, strict=True):
        old, new = session_lines(before), session_lines(after)
        if not kind:
            assert old == new
        elif kind == "unseen_error":
            added = [x for x in new if x not in old]
            assert len(new) == len(old) + 1 and len(added) == 1 and [x for x in new if x != added[0]] == old
        elif kind == "missing_step":
            assert len(new) == len(old) - 1 and set(new) <= set(old)
        elif kind == "reordered":
            assert sorted(x[20:] for x in new) == sorted(x[20:] for x in old) and new != old
        else:
            assert len(new) == len(old) and sum(a != b for a, b in zip(old, new, strict=True)) == 1


def test_injection_module_is_apart_from_the_generators() -> None:
    source = Path(sys.modules["services.logs.injection"].__file__).read_text()
    assert "generators" not in source.replace("services.logs.generators`, which it never uses", "")


def test_a_new_error_outranks_sessions_whose_only_novelty_is_a_package_name() -> None:
    """Train on the older 60 % of the real log; the newer standard installs of packages training never saw
    are normal; the same sessions with one dpkg error line added must all rank above all of them."""
    torch.set_num_threads(1)
    train, _, test = load_dpkg().split()
    known = {i.split()[1] for i in train.ids}
    fresh = [s for s, i in zip(test.sessions, test.ids, strict=True)
             if i.split()[1] not in known and str(s).split("\n")[0].split()[2] == "install"
             and len(session_lines(s)) == 7][:30]
    assert len(fresh) == 30
    broken = []
    for session in fresh:
        lines = session_lines(session)
        package = lines[0].split()[3]
        broken.append([*lines[:4], lines[4][:20] + ERROR.format(package), *lines[4:]])
    detector = ContraLogDetector({**SMALL_CONFIGS["logs.contralog"], "train_steps": 150}).fit(train.sessions)
    normal, errors = detector.score(np.asarray(fresh, dtype=object)), detector.score(join_sessions(broken))
    assert errors.min() > normal.max()
