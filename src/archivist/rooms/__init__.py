"""Live sessions on this node: Room -> Connection -> Stream / Subscription."""
