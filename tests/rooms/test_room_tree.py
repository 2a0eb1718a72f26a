"""The room tree in process: a real RoomHost, Room, Connection, Stream and Subscription with a
small real media factory (tests/rooms/parts.py) and recording client sinks. Event order to each
client, the close cascade, peer failures, and the close idiom (idempotent, one close at a time,
failures collected without stopping the cascade)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from archivist.auth.tokens import Role
from archivist.errors import AuthFailed, BadRequest, Conflict, NotFound, Unavailable
from archivist.media.peers import CodecInfo, MediaError
from archivist.rooms.connection import Connection
from archivist.rooms.host import RoomHost
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream, Subscription
from tests.rooms.parts import LoopbackMedia, RecordingObserver, RecordingSink, token

SESSION = "1_room-tree-test"


@dataclass
class Tree:
    rooms: Rooms
    media: LoopbackMedia
    observer: RecordingObserver
    host: RoomHost

    async def join(self, name: str, role: Role = Role.PUBLISHER) -> tuple[Connection, RecordingSink]:
        sink = RecordingSink(name)
        conn = await self.host.join("100", SESSION, False, token(SESSION, name, role), sink)
        return conn, sink

    @property
    def room(self) -> Room:
        room = self.rooms.get(SESSION)
        assert room is not None
        return room

    async def publish(self, conn: Connection, name: str) -> Stream:
        stream, sdp = await conn.publish("offer", name=name)
        assert sdp == "answer to offer"
        await _until(lambda: stream.announced)
        return stream

    async def subscribe(self, conn: Connection, stream: Stream) -> Subscription:
        sub, _ = await conn.subscribe(stream.id, "offer")
        return sub


async def _until(predicate: object, timeout: float = 2.0) -> None:
    async def wait() -> None:
        while True:
            if predicate():  # type: ignore[operator]
                return
            await asyncio.sleep(0.001)

    await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def tree() -> AsyncIterator[Tree]:
    rooms, media, observer = Rooms(), LoopbackMedia(), RecordingObserver()
    host = RoomHost(rooms, media, observers=(observer,), media_timeout=0.2)
    yield Tree(rooms, media, observer, host)
    await host.close()


async def test_join_and_publish_events_in_order(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    _bob, b = await tree.join("bob", Role.SUBSCRIBER)
    assert a.summary() == [("sessionConnected", "alice"), ("connectionCreated", "bob")]
    assert b.summary() == [("sessionConnected", "bob"), ("connectionCreated", "alice")]
    await tree.publish(alice, "cam")
    assert a.summary()[-1] == ("streamCreated", "cam") and a.events[-1]["publisher"] is True
    assert b.summary()[-1] == ("streamCreated", "cam") and "publisher" not in b.events[-1]
    _carol, c = await tree.join("carol")  # a late joiner hears the state first
    assert c.summary() == [("sessionConnected", "carol"), ("connectionCreated", "alice"),
                           ("connectionCreated", "bob"), ("streamCreated", "cam")]
    assert tree.observer.told == [("connection_created", "alice"), ("connection_created", "bob"),
                                  ("stream_created", "cam"), ("connection_created", "carol")]


async def test_stream_is_announced_only_once_media_flows(tree: Tree) -> None:
    tree.media.flow_at_once = False
    alice, _a = await tree.join("alice")
    _, b = await tree.join("bob")
    stream, _ = await alice.publish("offer", name="cam")
    await asyncio.sleep(0.05)
    assert "streamCreated" not in b.types() and tree.room.streams() == []
    tree.media.publishers[0].flowing.set()
    await b.wait(lambda: "streamCreated" in b.types())
    assert tree.room.streams() == [stream]


async def test_a_stream_that_sends_nothing_is_dropped_silently(tree: Tree) -> None:
    tree.media.flow_at_once = False
    alice, a = await tree.join("alice")
    _, b = await tree.join("bob")
    stream, _ = await alice.publish("offer", name="cam")
    await _until(lambda: stream.closed and not alice.streams, timeout=2)
    assert stream.close_reason is CloseReason.MEDIA_STOPPED
    assert tree.media.publishers[0].closes == 1
    assert "streamCreated" not in a.types() + b.types() and "streamDestroyed" not in a.types() + b.types()
    assert not alice.closed


async def test_unpublish_ends_subscriptions_silently(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    await alice.unpublish(stream.id)
    assert a.summary()[-1] == ("streamDestroyed", "cam", "clientDisconnected")
    assert b.summary()[-1] == ("streamDestroyed", "cam", "clientDisconnected")
    assert "subscriptionClosed" not in b.types()
    assert sub.closed and bob.subscriptions == {} and alice.streams == {}
    assert tree.media.closed_order == [f"subscriber {sub.id}", f"publisher {stream.id}"]
    with pytest.raises(NotFound):
        await alice.unpublish(stream.id)


async def test_unsubscribe_tells_the_subscriber(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    bob, b = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    await bob.unsubscribe(sub.id)
    assert b.events[-1] == {"type": "subscriptionClosed", "subscriptionId": sub.id, "streamId": stream.id,
                            "reason": "unsubscribed"}
    assert stream.subscriptions == {} and not stream.closed


async def test_a_connection_closes_its_children_then_the_room_hears(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    bob_cam = await tree.publish(bob, "bob-cam")
    alice_cam = await tree.publish(alice, "alice-cam")
    alice_sub = await tree.subscribe(alice, bob_cam)
    bob_sub = await tree.subscribe(bob, alice_cam)
    before = len(b.events)
    await alice.close(CloseReason.CLIENT_DISCONNECTED)
    # alice: nothing about her own stream (she is gone), then the end of her session
    assert a.summary()[-1] == ("sessionDisconnected", "clientDisconnected")
    assert a.disconnected is CloseReason.CLIENT_DISCONNECTED
    assert b.summary()[before:] == [("streamDestroyed", "alice-cam", "clientDisconnected"),
                                    ("connectionDestroyed", "alice", "clientDisconnected")]
    # children first (her subscription, her stream and the subscription to it), then the room
    assert tree.media.closed_order == [f"subscriber {alice_sub.id}", f"subscriber {bob_sub.id}",
                                       f"publisher {alice_cam.id}"]
    assert tree.observer.told[-2:] == [("stream_destroyed", "alice-cam"), ("connection_destroyed", "alice")]
    assert bob.subscriptions == {} and bob_cam.subscriptions == {} and not bob.closed
    assert list(tree.room.connections) == [bob.id]


async def test_the_last_connection_leaving_closes_the_room(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    room = tree.room
    await alice.close(CloseReason.CLIENT_DISCONNECTED)
    assert room.closed and tree.rooms.get(SESSION) is None and tree.rooms.all() == []
    bob, b = await tree.join("bob")  # a new room for the same session
    assert tree.room is not room and b.summary() == [("sessionConnected", "bob")]
    await bob.close(CloseReason.CLIENT_DISCONNECTED)


async def test_shutdown_closes_every_connection_in_order(tree: Tree) -> None:
    joined = [await tree.join(name) for name in ("alice", "bob", "carol")]
    for conn, _ in joined:
        await tree.publish(conn, f"{conn.data}-cam")
    before = {sink.name: len(sink.events) for _, sink in joined}
    await tree.host.close(CloseReason.SERVER_SHUTDOWN)
    shut = "serverShutdown"
    _, a = joined[0]
    _, b = joined[1]
    _, c = joined[2]
    assert a.summary()[before["alice"]:] == [("sessionDisconnected", shut)]
    assert b.summary()[before["bob"]:] == [("streamDestroyed", "alice-cam", shut),
                                           ("connectionDestroyed", "alice", shut),
                                           ("sessionDisconnected", shut)]
    assert c.summary()[before["carol"]:] == [("streamDestroyed", "alice-cam", shut),
                                             ("connectionDestroyed", "alice", shut),
                                             ("streamDestroyed", "bob-cam", shut),
                                             ("connectionDestroyed", "bob", shut),
                                             ("sessionDisconnected", shut)]
    assert all(sink.disconnected is CloseReason.SERVER_SHUTDOWN for _, sink in joined)
    assert tree.rooms.all() == [] and tree.rooms.take_all() == []
    await tree.host.close()  # idempotent
    with pytest.raises(Unavailable):  # nobody joins a server shutting down
        await tree.join("late")


async def test_a_failing_child_does_not_stop_the_cascade(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    cam = await tree.publish(alice, "alice-cam")
    await tree.subscribe(bob, cam)
    tree.media.publishers[0].close_error = RuntimeError("peer close failed")
    room = tree.room
    with pytest.raises(ExceptionGroup) as caught:
        await tree.host.close(CloseReason.SERVER_SHUTDOWN)
    leaves = _leaves(caught.value)
    assert [str(e) for e in leaves] == ["peer close failed"]
    # everything was closed anyway, and the room forgotten
    assert alice.closed and bob.closed and room.closed and tree.rooms.all() == []
    assert a.disconnected is CloseReason.SERVER_SHUTDOWN and b.disconnected is CloseReason.SERVER_SHUTDOWN
    assert ("streamDestroyed", "alice-cam", "serverShutdown") in b.summary()


async def test_a_failing_stream_still_lets_the_last_client_close_the_room(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    await tree.publish(alice, "cam")
    tree.media.publishers[0].close_error = RuntimeError("peer close failed")
    room = tree.room
    with pytest.raises(ExceptionGroup):
        await alice.close(CloseReason.CLIENT_DISCONNECTED)
    assert room.closed and tree.rooms.get(SESSION) is None
    assert a.disconnected is CloseReason.CLIENT_DISCONNECTED


async def test_a_second_close_waits_for_the_first(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    await tree.join("bob")
    await tree.publish(alice, "cam")
    gate = asyncio.Event()
    tree.media.publishers[0].close_gate = gate
    first = asyncio.create_task(alice.close(CloseReason.CLIENT_DISCONNECTED))
    await _until(lambda: tree.media.publishers[0].closes == 1)
    second = asyncio.create_task(alice.close(CloseReason.FORCE_DISCONNECTED))
    await asyncio.sleep(0.02)
    assert alice.closed and not first.done() and not second.done()
    gate.set()
    await asyncio.gather(first, second)
    assert alice.close_reason is CloseReason.CLIENT_DISCONNECTED  # the first close's reason
    assert a.types().count("sessionDisconnected") == 1


async def test_a_failed_peer_closes_its_owner_then_the_connection(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    bob_cam = await tree.publish(bob, "bob-cam")
    alice_cam = await tree.publish(alice, "alice-cam")
    alice_sub = await tree.subscribe(alice, bob_cam)
    next(s for s in tree.media.subscribers if s.label == f"subscriber {alice_sub.id}").fail()
    await a.wait(lambda: "subscriptionClosed" in a.types())
    assert a.events[-1]["reason"] == "networkDisconnected" and not alice.closed
    next(p for p in tree.media.publishers if p.label == f"publisher {alice_cam.id}").fail()
    await b.wait(lambda: ("connectionDestroyed", "alice", "networkDisconnected") in b.summary())
    assert ("streamDestroyed", "alice-cam", "networkDisconnected") in b.summary()
    assert alice.closed and alice.close_reason is CloseReason.NETWORK_DISCONNECTED
    assert a.disconnected is CloseReason.NETWORK_DISCONNECTED and not bob.closed


async def test_failed_setups_leave_nothing_behind(tree: Tree) -> None:
    alice, _a = await tree.join("alice")
    bob, b = await tree.join("bob")
    cam = await tree.publish(alice, "cam")
    original = tree.media.subscriber

    def failing(publisher: object, label: str) -> object:
        handle = original(publisher, label)  # type: ignore[arg-type]
        handle.answer_error = MediaError("no common codec")
        return handle

    tree.media.subscriber = failing  # type: ignore[assignment]
    with pytest.raises(MediaError):
        await bob.subscribe(cam.id, "offer")
    assert bob.subscriptions == {} and cam.subscriptions == {} and tree.media.subscribers[-1].closed
    assert "subscriptionClosed" not in b.types()


async def test_roles_and_unknown_ids_are_refused(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    viewer, _ = await tree.join("viewer", Role.SUBSCRIBER)
    sender, _ = await tree.join("sender", Role.PUBLISHER_ONLY)
    cam = await tree.publish(alice, "cam")
    with pytest.raises(AuthFailed, match="cannot publish"):
        await viewer.publish("offer")
    with pytest.raises(AuthFailed, match=r"\(publisheronly\) cannot subscribe"):
        await sender.subscribe(cam.id, "offer")
    with pytest.raises(AuthFailed, match=r"\(publisher\) cannot forceUnpublish"):
        await alice.force_unpublish(cam.id)
    with pytest.raises(NotFound):
        await viewer.subscribe("no-such-stream", "offer")
    with pytest.raises(NotFound):
        viewer.request_keyframe("no-such-subscription")
    assert tree.media.subscribers == []


async def test_keyframe_requests_reach_the_publisher(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    bob, _ = await tree.join("bob")
    cam = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, cam)
    bob.request_keyframe(sub.id)
    assert tree.media.publishers[0].keyframe_requests == 1


async def test_an_observer_that_raises_is_skipped(tree: Tree) -> None:
    class Broken(RecordingObserver):
        def connection_created(self, room: Room, connection: Connection) -> None:
            raise RuntimeError("observer bug")

    after = RecordingObserver()
    host = RoomHost(Rooms(), LoopbackMedia(), observers=(Broken(), after))
    conn = await host.join("100", SESSION, False, token(SESSION, "alice"), RecordingSink("alice"))
    assert after.told == [("connection_created", "alice")]
    await conn.close(CloseReason.CLIENT_DISCONNECTED)
    assert after.told[-1] == ("connection_destroyed", "alice")
    await host.close()


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


async def test_republish_puts_the_stream_on_new_media_and_nobody_hears(tree: Tree) -> None:
    alice, a = await tree.join("alice")
    bob, b = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    old = stream.media
    heard = (len(a.events), len(b.events))
    same, sdp = await alice.republish(stream.id, "offer 2")
    assert same is stream and sdp == "answer to offer 2"
    new = tree.media.publishers[-1]
    assert stream.media is new and new.continues is old  # it carries on the old one's timeline
    assert old.closed and not new.closed
    assert sub.media.publisher is new  # type: ignore[attr-defined]
    assert tree.observer.told[-1] == ("stream_media_replaced", "cam")
    assert (len(a.events), len(b.events)) == heard  # the same stream: no event for anyone
    # the new media is watched: when it fails, the stream ends as before
    new.fail()
    await _until(lambda: stream.closed)
    assert stream.close_reason is CloseReason.NETWORK_DISCONNECTED


async def test_resubscribe_puts_the_subscription_on_new_media(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    bob, b = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    sub.change(video=False)
    old = sub.media
    same, sdp = await bob.resubscribe(sub.id, "offer 2")
    assert same is sub and sdp == "answer to offer 2"
    new = tree.media.subscribers[-1]
    assert sub.media is new and old.closed
    assert new.forwarding == {"audio": True, "video": False}  # what the subscriber wanted stays
    assert [e for e in b.events if e["type"] == "subscriptionClosed"] == []


async def test_media_replacement_refusals_leave_the_media_alone(tree: Tree) -> None:
    alice, _ = await tree.join("alice")
    bob, _ = await tree.join("bob")
    stream = await tree.publish(alice, "cam")
    sub = await tree.subscribe(bob, stream)
    with pytest.raises(NotFound):
        await bob.republish(stream.id, "offer")  # not his
    with pytest.raises(NotFound):
        await alice.resubscribe(sub.id, "offer")  # not hers
    tree.media.flow_at_once = False
    pending, _ = await alice.publish("offer", name="not flowing yet")
    with pytest.raises(Conflict):
        await alice.republish(pending.id, "offer")
    tree.media.flow_at_once = True
    # a new offer that fails, or negotiates other codecs, is closed; the old media goes on
    old = stream.media
    tree.media.answer_error = MediaError("bad offer", status=400)
    with pytest.raises(MediaError):
        await alice.republish(stream.id, "offer")
    tree.media.answer_error = None
    assert tree.media.publishers[-1].closed and stream.media is old and not old.closed
    tree.media.codecs = {"video": CodecInfo("video", "video/H264", 90000)}
    with pytest.raises(BadRequest, match="codecs"):
        await alice.republish(stream.id, "offer")
    assert tree.media.publishers[-1].closed and stream.media is old and not old.closed
