"""Live sessions on this node, an ownership tree: RoomHost -> Room -> Connection -> Stream /
Subscription.

``host`` opens rooms (with the media factory and the observers they are given) and closes them
all at shutdown; ``registry`` is the lookup the archive layer and the REST API read;
``connection`` makes every peer connection (through the ``media`` factory protocol) and watches
it; ``stream`` owns and closes them; ``events`` holds the client sink and room observer
protocols; ``reasons`` the typed close reasons. Every close follows ``archivist.lifecycle``."""
