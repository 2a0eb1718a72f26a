from __future__ import annotations

import pytest

from archivist.archives.status import (
    TRANSITIONS,
    ArchiveStatus,
    IllegalTransition,
    Reason,
    can_transition,
    check_transition,
    reason_text,
)

S = ArchiveStatus


def test_every_status_has_rules() -> None:
    assert set(TRANSITIONS) == set(ArchiveStatus)
    assert {s.value for s in ArchiveStatus} == {"started", "paused", "stopped", "uploaded", "available",
                                                  "expired", "failed", "deleted"}


@pytest.mark.parametrize(("old", "new"), [(S.STARTED, S.STOPPED), (S.STARTED, S.PAUSED), (S.PAUSED, S.STARTED),
                                           (S.STOPPED, S.AVAILABLE), (S.STOPPED, S.UPLOADED), (S.STOPPED, S.FAILED),
                                           (S.AVAILABLE, S.DELETED), (S.UPLOADED, S.DELETED), (S.AVAILABLE, S.EXPIRED)])
def test_legal(old: ArchiveStatus, new: ArchiveStatus) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), [(S.STOPPED, S.STARTED), (S.DELETED, S.AVAILABLE), (S.STARTED, S.AVAILABLE),
                                           (S.FAILED, S.AVAILABLE), (S.AVAILABLE, S.STARTED), (S.STARTED, S.DELETED)])
def test_illegal(old: ArchiveStatus, new: ArchiveStatus) -> None:
    assert not can_transition(old, new)
    with pytest.raises(IllegalTransition):
        check_transition(old, new)


def test_reason_words() -> None:
    assert reason_text(Reason.MAX_DURATION, legacy=True) == "90 mins exceeded"
    assert reason_text(Reason.MAX_DURATION, legacy=False) == "maximum duration exceeded"
    assert reason_text(Reason.SYSTEM_FAILURE, legacy=True) == "system failure"
    assert all(reason_text(r, True) is not None and reason_text(r, False) is not None for r in Reason)
