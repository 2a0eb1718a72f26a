"""Mute state in the room tree: publishAudio/publishVideo travel as streamPropertyChanged to
everyone (the publisher too), subscriptions forward only what is on, and moderation mutes
(one stream, all but some, the session's mute state for later streams)."""

from __future__ import annotations

from typing import Any

from archivist.auth.tokens import Role
from tests.rooms.parts import LoopbackSubscriber
from tests.rooms.test_room_tree import Tree, _until, tree  # noqa: F401  (the fixture)


def _changes(events: list[dict[str, Any]]) -> list[tuple[str, str, object, object]]:
    return [(e["stream"]["streamId"], e["changedProperty"], e["oldValue"], e["newValue"])
            for e in events if e["type"] == "streamPropertyChanged"]


async def test_publish_video_off_reaches_everyone_and_stops_forwarding(tree: Tree) -> None:  # noqa: F811
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    media = sub.media
    assert isinstance(media, LoopbackSubscriber)
    assert media.forwarding == {"audio": True, "video": True}

    await alice.change_stream(stream.id, has_audio=None, has_video=False)
    assert stream.has_video is False
    assert media.forwarding == {"audio": True, "video": False}
    for sink in (a, b):
        assert _changes(sink.events) == [(stream.id, "hasVideo", True, False)]
        last = [e for e in sink.events if e["type"] == "streamPropertyChanged"][-1]
        assert last["stream"]["hasVideo"] is False
    assert ("stream_changed", "cam") in tree.observer.told

    # unchanged: nothing is sent
    await alice.change_stream(stream.id, has_audio=True, has_video=None)
    assert len(_changes(b.events)) == 1

    # the subscriber turns its audio off; the publisher turns video back on
    bob.change_subscription(sub.id, audio=False, video=None)
    assert media.forwarding == {"audio": False, "video": False}
    await alice.change_stream(stream.id, has_audio=None, has_video=True)
    assert media.forwarding == {"audio": False, "video": True}
    assert _changes(b.events)[-1] == (stream.id, "hasVideo", False, True)

    # a late subscriber sees the current state in streamCreated
    _carol, c = await tree.join("carol")
    created = [e for e in c.events if e["type"] == "streamCreated"]
    assert created[0]["stream"]["hasVideo"] is True


async def test_only_the_owner_changes_its_stream(tree: Tree) -> None:  # noqa: F811
    alice, _ = await tree.join("alice")
    bob, _ = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    try:
        await bob.change_stream(stream.id, has_audio=False, has_video=None)
    except Exception as exc:
        assert type(exc).__name__ == "NotFound"
    else:
        raise AssertionError("another connection changed the stream")
    assert stream.has_audio is True


async def test_force_mute_stream_and_all(tree: Tree) -> None:  # noqa: F811
    mod, m = await tree.join("mod", Role.MODERATOR)
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    sa = await tree.publish(alice, "a")
    sb = await tree.publish(bob, "b")
    sub = await tree.subscribe(mod, sa)
    media = sub.media
    assert isinstance(media, LoopbackSubscriber)

    await tree.room.force_mute_stream(sa.id)
    assert sa.has_audio is False and sb.has_audio is True
    assert media.forwarding["audio"] is False
    assert [e for e in a.events if e["type"] == "muteForced"] == [
        {"type": "muteForced", "active": True, "streamIds": [sa.id]}]
    assert not [e for e in b.events if e["type"] == "muteForced"]
    assert (sa.id, "hasAudio", True, False) in _changes(m.events)

    # the publisher may unmute itself
    await alice.change_stream(sa.id, has_audio=True, has_video=None)
    assert media.forwarding["audio"] is True

    await tree.room.force_mute_all({sb.id})
    assert sa.has_audio is False and sb.has_audio is True
    forced = {name: [e for e in s.events if e["type"] == "muteForced"][-1] for name, s in
              (("mod", m), ("alice", a), ("bob", b))}
    assert forced["alice"] == {"type": "muteForced", "active": True, "streamIds": [sa.id]}
    assert forced["bob"] == {"type": "muteForced", "active": True, "streamIds": []}
    assert forced["mod"] == {"type": "muteForced", "active": True, "streamIds": []}

    # while the mute state is on, a new stream starts muted and its publisher hears so
    sc = await tree.publish(bob, "c")
    assert sc.has_audio is False
    bob_events = [e["type"] for e in b.events]
    assert bob_events[-2:] == ["streamCreated", "muteForced"]
    created = [e for e in m.events if e["type"] == "streamCreated" and e["stream"]["streamId"] == sc.id]
    assert created[0]["stream"]["hasAudio"] is False

    await tree.room.disable_force_mute()
    assert [e for e in m.events if e["type"] == "muteForced"][-1] == {
        "type": "muteForced", "active": False, "streamIds": []}
    sd = await tree.publish(bob, "d")
    await _until(lambda: sd.announced)
    assert sd.has_audio is True


async def test_force_mute_unknown_stream_is_not_found(tree: Tree) -> None:  # noqa: F811
    await tree.join("mod", Role.MODERATOR)
    try:
        await tree.room.force_mute_stream("nope")
    except Exception as exc:
        assert type(exc).__name__ == "NotFound"
    else:
        raise AssertionError("muted an unknown stream")
