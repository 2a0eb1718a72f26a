"""Every archive call of the official opentok SDK (3.15), success and error paths."""

from __future__ import annotations

import time

import pytest
from opentok import Client, MediaModes, OutputModes
from opentok.exceptions import ArchiveError, AuthError, NotFoundError, RequestError

from archivist.archives.status import ArchiveStatus, Reason
from tests.seed import seed_archive
from tests.servers import Server


@pytest.fixture(scope="module")
def routed(ot: Client) -> str:
    return str(ot.create_session(media_mode=MediaModes.routed).session_id)


def test_start_with_no_client_connected_is_refused(ot: Client, routed: str) -> None:
    with pytest.raises(RequestError, match="no clients are actively connected"):
        ot.start_archive(routed, name="nobody here")


def test_start_errors(ot: Client, server: Server, routed: str) -> None:
    relayed = ot.create_session().session_id
    with pytest.raises(ArchiveError, match="relayed"):
        ot.start_archive(relayed)
    from archivist.sessions import ids

    with pytest.raises(NotFoundError):
        ot.start_archive(ids.mint(server.project.api_key))
    with pytest.raises(RequestError):
        ot.start_archive("not-a-session")
    with pytest.raises(RequestError, match="layout cannot be set with individual output"):
        ot.start_archive(routed, output_mode=OutputModes.individual, layout={"type": "pip"})
    with pytest.raises(RequestError, match="both be false"):
        ot.start_archive(routed, has_audio=False, has_video=False)
    with pytest.raises(RequestError, match=r"layout.*stylesheet"):
        ot.start_archive(routed, layout={"type": "custom"})
    with pytest.raises(RequestError, match=r"layout.*screenshareType"):
        ot.start_archive(routed, layout={"type": "pip", "screenshareType": "pip"})
    with pytest.raises(RequestError, match="hasTranscription"):
        ot.start_archive(routed, has_transcription=True)
    with pytest.raises(RequestError, match="maxBitrate"):
        ot.start_archive(routed, max_bitrate=10)


def test_start_when_already_recording_is_409(ot: Client, server: Server, routed: str) -> None:
    running = seed_archive(server, routed, ArchiveStatus.STARTED)
    with pytest.raises(ArchiveError, match="already being recorded"):
        ot.start_archive(routed)
    ot.stop_archive(running.id)


def test_get_list_stop_delete(ot: Client, server: Server, routed: str) -> None:
    other_session = ot.create_session(media_mode=MediaModes.routed).session_id
    base = int(time.time() * 1000) - 100_000
    older = seed_archive(server, routed, ArchiveStatus.AVAILABLE, name="older", created_at=base,
                         reason=Reason.USER_INITIATED)
    newer = seed_archive(server, other_session, ArchiveStatus.STARTED, name="newer", created_at=base + 1000)

    got = ot.get_archive(older.id)
    assert got.id == older.id and got.status == "available" and got.name == "older"
    assert int(got.created_at.timestamp()) == older.created_at // 1000 and got.duration == 12 and got.size == 3456
    assert got.url and f"/archives/{older.id}/download?expires=" in got.url and "&signature=" in got.url
    assert got.session_id == routed and got.output_mode == OutputModes.composed
    assert got.partner_id == int(server.project.api_key)

    listed = ot.list_archives()
    ids_in_order = [a.id for a in listed.items]
    assert ids_in_order.index(newer.id) < ids_in_order.index(older.id)
    assert listed.count >= 2
    only = ot.list_archives(session_id=other_session)
    assert [a.id for a in only.items] == [newer.id] and only.count == 1
    paged = ot.list_archives(offset=1, count=1)
    assert len(paged.items) == 1 and paged.items[0].id == ids_in_order[1]

    with pytest.raises(RequestError):  # 409: only available/uploaded archives can be deleted
        ot.delete_archive(newer.id)
    stopped = ot.stop_archive(newer.id)
    # the duration runs from its creation (99 s ago) to the stop
    assert stopped.status == "stopped"
    assert abs(stopped.duration - (time.time() * 1000 - newer.created_at) / 1000) <= 1, stopped.duration
    with pytest.raises(ArchiveError):  # 409: not recording any more
        ot.stop_archive(newer.id)

    ot.delete_archive(older.id)
    assert ot.get_archive(older.id).status == "deleted"
    assert ot.get_archive(older.id).url is None


def test_unknown_archive_ids(ot: Client) -> None:
    import uuid

    ghost = str(uuid.uuid4())
    with pytest.raises(NotFoundError):
        ot.get_archive(ghost)
    with pytest.raises(NotFoundError):
        ot.stop_archive(ghost)
    with pytest.raises(NotFoundError):
        ot.delete_archive(ghost)
    with pytest.raises(NotFoundError):
        ot.get_archive("not-a-uuid")


def test_layout_and_streams(ot: Client, server: Server, routed: str) -> None:
    # a started archive whose recorder does not run here (seeded): the live calls say so; the
    # real ones are tests/recording/test_archive_options.py's
    running = seed_archive(server, ot.create_session(media_mode=MediaModes.routed).session_id, ArchiveStatus.STARTED)
    with pytest.raises(RequestError):  # 409: its recorder is not running here
        ot.set_archive_layout(running.id, "pip")
    with pytest.raises(ArchiveError, match="invalid layout"):  # 400: a custom layout needs a stylesheet
        ot.set_archive_layout(running.id, "custom")
    with pytest.raises(RequestError) as err:
        ot.add_archive_stream(running.id, "some-stream")
    assert err.value.args[1] == 405  # streamMode auto
    ot.stop_archive(running.id)


def test_auth_errors(server: Server, routed: str) -> None:
    bad = Client(server.project.api_key, "y" * 40, api_url=server.url)
    with pytest.raises(AuthError):
        bad.list_archives()
    with pytest.raises(AuthError):
        bad.start_archive(routed)


def test_projects_are_isolated(ot: Client, server: Server, routed: str) -> None:
    mine = seed_archive(server, routed, ArchiveStatus.AVAILABLE)
    other = server.create_project("isolated")
    theirs = Client(other.api_key, other.api_secret, api_url=server.url)
    assert theirs.list_archives().count == 0
    with pytest.raises(NotFoundError):
        theirs.get_archive(mine.id)
    with pytest.raises(NotFoundError):
        theirs.delete_archive(mine.id)
    with pytest.raises(NotFoundError):  # the session belongs to another project
        theirs.start_archive(routed)
    # using our key in the URL with their credentials is an auth failure
    theirs_as_us = Client(server.project.api_key, other.api_secret, api_url=server.url)
    with pytest.raises(AuthError):
        theirs_as_us.get_archive(mine.id)
