"""The served OpenAPI document (``/openapi.json``): what each REST operation takes and answers.

The routers parse their input by hand (the SDKs' quirks: bodiless POSTs labelled JSON, the
spec's single-quoted curl body, XML session replies), so FastAPI cannot infer any of it. This
module states it: request bodies, query and path parameters, every status an operation answers
with its body (errors are always ``{"code", "message"}``), content types and security. Each
router decorator takes one of the ``dict``\\ s below (``@router.post(..., **schemas.START)``).

The description must stay exactly as strict as the server: ``tests/api/test_openapi.py`` runs
schemathesis from this document against a real server and fails on any response the document
does not describe, on valid data refused and on invalid data accepted.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from archivist.archives.options import LAYOUT_TYPES, SCREENSHARE_TYPES
from archivist.sessions.model import RESOLUTIONS
from archivist.webhooks.targets import MAX_URL, URL_PATTERN

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STYLESHEET_PATTERN = (
    r"^([ \n]*(stream|\.[A-Za-z][A-Za-z0-9_-]*)(\.[A-Za-z][A-Za-z0-9_-]*)*[ \n]*\{[ \n]*("
    r"(position:[ ]*(absolute|relative)|(left|top|width|height):[ ]*[0-9]{1,3}(px|%)|z-index:[ ]*[0-9]{1,3}"
    r"|object-fit:[ ]*(contain|cover))[ ]*;[ \n]*)*\}[ \n]*)+$"
)
"""Stylesheets every one of which the layout engine takes (a property test in tests/api checks it)."""

SESSION_ID: Schema = {
    "type": "string",
    "pattern": r"^[12]_[A-Za-z0-9_\-]+={0,2}$",
    "maxLength": 255,
    "description": "A session id this server minted (`1_MX4…`); another well-formed id is not found (404).",
}
NO_NUL = r"^[^\x00]*$"
"""Strings the server stores: no NUL character (PostgreSQL refuses it in text)."""

COMPONENTS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "description": "the HTTP status"},
            "message": {"type": "string", "minLength": 1},
        },
    },
    "Archive": {
        "type": "object",
        "required": ["id", "status", "sessionId", "createdAt", "duration", "size", "partnerId", "projectId",
                     "name", "reason", "url", "hasAudio", "hasVideo", "outputMode", "streamMode", "event"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["started", "paused", "stopped", "uploaded", "available", "expired", "failed",
                                "deleted"]},
            "name": {"type": ["string", "null"]},
            "sessionId": {"type": "string"},
            "createdAt": {"type": "integer", "description": "ms since the epoch"},
            "updatedAt": {"type": "integer"},
            "duration": {"type": "integer", "description": "seconds"},
            "size": {"type": "integer", "description": "bytes"},
            "partnerId": {"type": ["integer", "string"]},
            "projectId": {"type": ["integer", "string"]},
            "reason": {"type": "string"},
            "url": {"type": ["string", "null"], "description": "a signed download URL once available"},
            "hasAudio": {"type": "boolean"},
            "hasVideo": {"type": "boolean"},
            "outputMode": {"enum": ["composed", "individual"]},
            "streamMode": {"enum": ["auto", "manual"]},
            "streams": {"type": "array"},
            "resolution": {"type": "string"},
            "layout": {"type": "object"},
            "maxBitrate": {"type": "integer"},
            "quantizationParameter": {"type": "integer"},
            "multiArchiveTag": {"type": "string"},
            "sha256sum": {"type": "string"},
            "event": {"const": "archive"},
        },
    },
    "ArchiveList": {
        "type": "object",
        "required": ["count", "items"],
        "properties": {
            "count": {"type": "integer", "minimum": 0, "description": "archives in all (not in this page)"},
            "items": {"type": "array", "items": ref("Archive")},
        },
    },
    "ArchiveStart": {
        "type": "object",
        "required": ["sessionId"],
        "description": "Today's fields (the 2013 spec's are a subset). Optional fields may be null. "
                       "Composed (one MP4, every layout) or individual output (a ZIP: one file per stream "
                       "and the manifest), every stream or the ones added by PATCH (streamMode manual), "
                       "several archives of a session at once with multiArchiveTag; no transcription. "
                       "resolution, layout, maxBitrate and quantizationParameter are composed-only.",
        "properties": {
            "sessionId": SESSION_ID,
            "action": nullable({"const": "start", "description": "the spec's body names the action"}),
            "name": nullable({"type": "string", "maxLength": 200, "pattern": NO_NUL}),
            "hasAudio": nullable({"type": "boolean"}),
            "hasVideo": nullable({"type": "boolean"}),
            "outputMode": nullable({"enum": ["composed", "individual"]}),
            "streamMode": nullable({"enum": ["auto", "manual"]}),
            "resolution": nullable({"enum": list(RESOLUTIONS)}),
            "layout": nullable(ref("Layout")),
            "maxBitrate": nullable({"type": "integer", "minimum": 100_000, "maximum": 6_000_000}),
            "quantizationParameter": nullable({"type": "integer", "minimum": 15, "maximum": 40}),
            "multiArchiveTag": nullable({
                "type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[^\x00]*\S[^\x00]*$",
                "description": "one recording archive per session and tag (409 else)",
            }),
            "hasTranscription": {"enum": [False, None], "description": "transcription is not supported"},
            "transcriptionProperties": {"type": "null", "description": "transcription is not supported"},
        },
        "allOf": [
            {"not": {"required": ["outputMode"], "properties": {"outputMode": {"const": "individual"}},
                     "anyOf": [{"required": [k], "properties": {k: {"not": {"type": "null"}}}}
                               for k in ("resolution", "layout", "maxBitrate", "quantizationParameter")]},
             "description": "resolution, layout, maxBitrate and quantizationParameter need composed output"},
            {"not": {"required": ["hasAudio", "hasVideo"],
                     "properties": {"hasAudio": {"const": False}, "hasVideo": {"const": False}}},
             "description": "hasAudio and hasVideo cannot both be false"},
            {"not": {"required": ["maxBitrate", "quantizationParameter"],
                     "properties": {"maxBitrate": {"type": "integer"},
                                    "quantizationParameter": {"type": "integer"}}},
             "description": "maxBitrate and quantizationParameter cannot both be set"},
        ],
    },
    "ArchiveAction": {
        "type": "object",
        "required": ["action"],
        "properties": {"action": {"const": "stop"}},
    },
    "Layout": {
        "type": "object",
        "description": "A predefined layout, or custom with a stylesheet in the subset docs/archives.md "
                       "describes (a stylesheet it does not take is a 400 that says why); screenshareType "
                       "(what bestFit becomes while a screen is shared) needs type bestFit.",
        "properties": {
            "type": nullable({"enum": list(LAYOUT_TYPES)}),
            "stylesheet": nullable({"type": "string", "pattern": STYLESHEET_PATTERN, "description": (
                "the custom layout's stylesheet: the pattern is a conservative part of the subset the "
                "server takes (docs/archives.md), which refuses what it cannot use with a 400")}),
            "screenshareType": nullable({"enum": list(SCREENSHARE_TYPES)}),
        },
        "allOf": [
            {"if": {"required": ["type"], "properties": {"type": {"const": "custom"}}},
             "then": {"required": ["stylesheet"], "properties": {"stylesheet": {"type": "string"}}},
             "else": {"properties": {"stylesheet": {"type": "null"}}}},
            {"if": {"required": ["screenshareType"], "properties": {"screenshareType": {"type": "string"}}},
             "then": {"properties": {"type": {"enum": ["bestFit", None]}}}},
        ],
    },
    "StreamChange": {
        "type": "object",
        "description": "Exactly one of addStream and removeStream (a stream of the archive's session).",
        "properties": {
            "addStream": {"type": "string", "minLength": 1},
            "removeStream": {"type": "string", "minLength": 1},
            "hasAudio": {"type": "boolean", "description": "with addStream: record its audio (default true)"},
            "hasVideo": {"type": "boolean", "description": "with addStream: record its video (default true)"},
        },
        "oneOf": [{"required": ["addStream"], "not": {"required": ["removeStream"]}},
                  {"required": ["removeStream"], "not": {"required": ["addStream"]}}],
        "not": {"required": ["addStream", "hasAudio", "hasVideo"],
                "properties": {"hasAudio": {"const": False}, "hasVideo": {"const": False}}},
    },
    "CallbackRegistration": {
        "type": "object",
        "required": ["group", "event", "url"],
        "description": "Only group `archive` with event `status` receives archive events. The whole body "
                       "is at most 8096 characters.",
        "properties": {
            "group": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL},
            "event": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL},
            "url": {"type": "string", "maxLength": MAX_URL, "pattern": URL_PATTERN,
                    "description": "http(s); not a loopback, link-local or private address unless "
                                   "ARCHIVIST_CALLBACK_ALLOW_PRIVATE=true"},
        },
    },
    "Callback": {
        "type": "object",
        "required": ["id", "group", "event", "url", "createdAt", "updatedAt"],
        "properties": {
            "id": {"type": "string"},
            "group": {"type": "string"},
            "event": {"type": "string"},
            "url": {"type": "string"},
            "createdAt": {"type": "integer"},
            "updatedAt": {"type": "integer"},
        },
    },
    "Attempt": {
        "type": "object",
        "required": ["attempt", "at", "statusCode", "error", "durationMs"],
        "properties": {
            "attempt": {"type": "integer"},
            "at": {"type": "integer"},
            "statusCode": {"type": ["integer", "null"]},
            "error": {"type": ["string", "null"]},
            "durationMs": {"type": "integer"},
        },
    },
    "Delivery": {
        "type": "object",
        "required": ["id", "eventId", "archiveId", "seq", "status", "url", "source", "state", "attempts",
                     "nextAttemptAt", "lastStatusCode", "lastError", "createdAt", "deliveredAt", "log"],
        "properties": {
            "id": {"type": "string"},
            "eventId": {"type": "string"},
            "archiveId": {"type": "string"},
            "seq": {"type": "integer"},
            "status": {"type": "string"},
            "url": {"type": "string"},
            "source": {"type": "string"},
            "state": {"enum": ["pending", "delivered", "failed"]},
            "attempts": {"type": "integer"},
            "nextAttemptAt": {"type": ["integer", "null"]},
            "lastStatusCode": {"type": ["integer", "null"]},
            "lastError": {"type": ["string", "null"]},
            "createdAt": {"type": "integer"},
            "deliveredAt": {"type": ["integer", "null"]},
            "log": {"type": "array", "items": ref("Attempt")},
        },
    },
    "DeliveryList": {
        "type": "object",
        "required": ["count", "items"],
        "properties": {"count": {"type": "integer"}, "items": {"type": "array", "items": ref("Delivery")}},
    },
    "Signal": {
        "type": "object",
        "description": "type at most 128 bytes, data at most 8192 bytes, in UTF-8 (longer: 413)",
        "properties": {
            "type": {"type": ["string", "null"], "maxLength": 128},
            "data": {"type": ["string", "null"], "maxLength": 8192},
        },
    },
    "Stream": {
        "type": "object",
        "required": ["id", "videoType", "name", "layoutClassList"],
        "properties": {
            "id": {"type": "string"},
            "videoType": {"enum": ["camera", "screen", "custom"]},
            "name": {"type": "string"},
            "layoutClassList": {"type": "array", "items": {"type": "string"}},
        },
    },
    "StreamList": {
        "type": "object",
        "required": ["count", "items"],
        "properties": {"count": {"type": "integer"}, "items": {"type": "array", "items": ref("Stream")}},
    },
    "MuteAll": {
        "type": "object",
        "required": ["active"],
        "description": "active: mute every stream but the excluded ones and keep the session muted (streams "
                       "published later start muted), or (false) end that state; excludedStreamIds (the "
                       "Python SDK sends excludedStreams) lists stream ids to leave alone",
        "properties": {
            "active": {"type": "boolean"},
            "excludedStreamIds": nullable({"type": "array", "maxItems": 1000, "items": {"type": "string"}}),
            "excludedStreams": nullable({"type": "array", "maxItems": 1000, "items": {"type": "string"}}),
        },
    },
    "StreamClassLists": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["id", "layoutClassList"],
                    "properties": {
                        "id": {"type": "string"},
                        "layoutClassList": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    },
    "SessionCreate": {
        "type": "object",
        "description": "Form fields; unknown fields are ignored.",
        "properties": {
            "p2p.preference": {"enum": ["enabled", "disabled"], "description": "enabled: relayed (default)"},
            "archiveMode": {"enum": ["manual", "always"], "description": "always needs a routed session"},
            "location": {"anyOf": [{"type": "string", "format": "ipv4"}, {"const": ""}]},
            "e2ee": {"enum": ["true", "false"]},
            "archiveName": {"type": "string", "maxLength": 80, "pattern": NO_NUL},
            "archiveResolution": {"enum": ["", *RESOLUTIONS]},
        },
        "not": {"required": ["archiveMode"], "properties": {"archiveMode": {"const": "always"}},
                "anyOf": [{"not": {"required": ["p2p.preference"]}},
                          {"properties": {"p2p.preference": {"const": "enabled"}}}]},
    },
    "SessionCreated": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["session_id", "project_id", "partner_id", "create_dt", "media_mode", "archive_mode"],
            "properties": {
                "session_id": SESSION_ID,
                "project_id": {"type": "string"},
                "partner_id": {"type": "string"},
                "create_dt": {"type": "string"},
                "media_server_url": {"type": "string"},
                "media_mode": {"enum": ["relayed", "routed"]},
                "archive_mode": {"enum": ["manual", "always"]},
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "version", "rooms", "connections", "streams", "recordings", "loopLagMs"],
        "properties": {
            "status": {"enum": ["ok", "low disk space"],
                       "description": "`low disk space`: less free space than ARCHIVIST_MIN_FREE_MB; "
                                      "archives do not start"},
            "version": {"type": "string"},
            "rooms": {"type": "integer"},
            "connections": {"type": "integer"},
            "streams": {"type": "integer"},
            "recordings": {"type": "integer"},
            "recordingsFailed": {"type": "integer",
                                 "description": "recorders that failed (a full disk) whose archive is not stopped yet"},
            "disk": {
                "type": "object",
                "description": "the file system of the data directory",
                "properties": {"path": {"type": "string"}, "freeBytes": {"type": "integer"},
                               "totalBytes": {"type": "integer"}, "minFreeBytes": {"type": "integer"},
                               "low": {"type": "boolean"}},
            },
            "recordingsBehind": {"type": "object", "additionalProperties": {"type": "number"},
                                 "description": "archive id -> seconds its picture is behind"},
            "loopLagMs": {"type": "object"},
        },
    },
}

PATH_PARAMETERS: dict[str, Schema] = {
    "key": {"type": "string", "description": "the project's API key (the one its credentials name)"},
    "session_id": SESSION_ID,
}
"""Schemas of path parameters by name (FastAPI documents each as a bare string)."""

_REASONS = {
    400: "invalid request",
    401: "missing or invalid bearer token",
    403: "missing or invalid credentials",
    404: "not found",
    405: "not allowed for this resource",
    409: "conflict with the resource's state",
    413: "request body too large",
    503: "storage unavailable, try again later",
}


def _error(status: int, why: str = "") -> dict[str, Any]:
    return {"description": why or _REASONS[status], "content": {JSON: {"schema": ref("Error")}}}


def operation(
    *,
    ok: int = 200,
    ok_schema: Schema | None = None,
    ok_description: str = "",
    ok_content: dict[str, Any] | None = None,
    errors: dict[int, str] | tuple[int, ...] = (),
    body: Schema | None = None,
    body_required: bool = True,
    body_type: str = JSON,
    query: tuple[dict[str, Any], ...] = (),
    public: bool = False,
    extra_responses: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of a FastAPI route decorator describing one operation."""
    responses: dict[int, dict[str, Any]] = {}
    if ok_content is not None:
        responses[ok] = {"description": ok_description or "done", "content": ok_content}
    elif ok_schema is not None:
        responses[ok] = {"description": ok_description or "done", "content": {JSON: {"schema": ok_schema}}}
    else:
        responses[ok] = {"description": ok_description or "done"}
    named = errors if isinstance(errors, dict) else dict.fromkeys(errors, "")
    if not public:
        named = {403: "", **named}
    if body is not None:
        named = {**named, 413: named.get(413, "")}
    for status, why in sorted(named.items()):
        responses[status] = _error(status, why)
    responses.update(extra_responses or {})
    extra: dict[str, Any] = {}
    if body is not None:
        extra["requestBody"] = {"required": body_required, "content": {body_type: {"schema": body}}}
    if query:
        extra["parameters"] = list(query)
    if public:
        extra["security"] = []
    return {"status_code": ok, "responses": responses, "openapi_extra": extra or None}


def query_param(name: str, schema: Schema, description: str = "", *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def install(app: FastAPI) -> None:
    """Serve the document: FastAPI's paths, with our components, security and path parameters,
    without the 422 FastAPI adds to every operation (this server answers 400, never 422)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in spec.get("paths", {}).values():
            for op in operations.values():
                op.get("responses", {}).pop("422", None)
                for param in op.get("parameters", []):
                    if param.get("in") == "path" and param["name"] in PATH_PARAMETERS:
                        param["schema"] = PATH_PARAMETERS[param["name"]]
        components = spec.setdefault("components", {})
        found = components.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            found.pop(name, None)
        found.update(COMPONENTS)
        components["securitySchemes"] = {
            "OpenTokJWT": {"type": "apiKey", "in": "header", "name": "X-OPENTOK-AUTH",
                           "description": "HS256 JWT signed with the project secret (docs/rest-api.md)"},
            "PartnerAuth": {"type": "apiKey", "in": "header", "name": "X-TB-PARTNER-AUTH",
                            "description": "`<api_key>:<api_secret>` (the 2013 spec)"},
        }
        spec["security"] = [{"OpenTokJWT": []}, {"PartnerAuth": []}]
        app.openapi_schema = spec
        return spec

    app.openapi = document  # type: ignore[method-assign]


# ---- the operations ------------------------------------------------------------------------------
ARCHIVE = ref("Archive")
ERROR = ref("Error")

SESSION_CREATE = operation(
    ok_content={
        JSON: {"schema": ref("SessionCreated")},
        "text/xml": {"schema": {"type": "string"}},
    },
    ok_description="the new session: XML unless `Accept` names application/json",
    errors=(400,),
    body=ref("SessionCreate"),
    body_required=False,
    body_type="application/x-www-form-urlencoded",
)
DOWNLOAD = operation(
    ok_content={"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
    ok_description="the MP4 (HTTP Range supported)",
    errors={403: "missing, wrong or expired signature", 404: "", 503: ""},
    query=(
        query_param("expires", {"type": "string"}, "Unix seconds, from the signed URL", required=True),
        query_param("signature", {"type": "string"}, "from the signed URL", required=True),
    ),
    public=True,
    extra_responses={307: {"description": "the file is in object storage: a presigned URL",
                           "headers": {"Location": {"schema": {"type": "string"}}}}},
)
HEALTH = operation(ok_schema=ref("Health"), public=True)
METRICS = operation(
    ok_content={"text/plain": {"schema": {"type": "string"}},
                "application/openmetrics-text": {"schema": {"type": "string"}}},
    ok_description="this node's metrics: the Prometheus text format, or OpenMetrics when asked (docs/operations.md)",
    errors={401: "ARCHIVIST_METRICS_TOKEN is set and `Authorization: Bearer <token>` is missing or wrong",
            404: "metrics are off (ARCHIVIST_METRICS=false)"},
    public=True,  # no API credentials: anonymous by default, an operator's bearer token when set
)
START = operation(
    ok_schema=ARCHIVE,
    errors={400: "invalid body (the message names the field), or no client connected to the session",
            404: "session not found",
            409: "already recording (with this multiArchiveTag), relayed session, or no recorder",
            500: "the recorder could not start (the archive is failed)",
            503: "not enough free disk space (ARCHIVIST_MIN_FREE_MB), or the database cannot be written"},
    body=ref("ArchiveStart"),
)
LIST = operation(
    ok_schema=ref("ArchiveList"),
    errors=(400,),
    query=(
        query_param("offset", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "archives to skip"),
        query_param("count", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    "page size (default 50; at most 1000 are returned)"),
        query_param("sessionId", {"type": "string"}, "only this session's archives"),
    ),
)
GET = operation(ok_schema=ARCHIVE, errors=(404,))
STOP_SPEC = operation(ok_schema=ARCHIVE, errors={400: "", 404: "", 409: "the archive is not recording",
                                                 503: "the database cannot be written now"},
                      body=ref("ArchiveAction"))
STOP = operation(ok_schema=ARCHIVE, errors={404: "", 409: "the archive is not recording",
                                            503: "the database cannot be written now"})
DELETE = operation(ok=204, ok_description="deleted", errors={404: "", 409: "the archive is still recording"})
LAYOUT = operation(ok_schema={"type": "object"},
                   errors={400: "a layout this server cannot use (the message says why), an individual archive, "
                                "or an archive not recording", 404: ""},
                   body=ref("Layout"))
STREAMS = operation(
    ok=204,
    ok_description="the stream is recorded (addStream) or not any more (removeStream)",
    errors={400: "", 404: "archive, or stream of its session, not found",
            405: "the archive uses streamMode auto: streams cannot be added or removed",
            409: "the archive is not recording"},
    body=ref("StreamChange"),
)
REGISTER = operation(ok_schema=ref("Callback"), errors=(400,), body=ref("CallbackRegistration"))
CALLBACKS = operation(ok_schema={"type": "array", "items": ref("Callback")})
UNREGISTER = operation(ok=204, ok_description="removed", errors=(404,))
DELIVERIES = operation(
    ok_schema=ref("DeliveryList"),
    errors=(400,),
    query=(
        query_param("archiveId", {"type": "string"}),
        query_param("state", {"enum": ["pending", "delivered", "failed"]}),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "default 50"),
    ),
)
RETRY = operation(ok_schema=ref("Delivery"), errors={404: "", 409: "only a given-up delivery can be retried"})
SIGNAL = operation(ok=204, ok_description="sent",
                   errors={400: "", 404: "session not found", 413: "type or data too long"},
                   body=ref("Signal"), body_required=False)
SIGNAL_ONE = operation(ok=204, ok_description="sent",
                       errors={400: "", 404: "session or connection not found", 413: "type or data too long"},
                       body=ref("Signal"), body_required=False)
DISCONNECT = operation(ok=204, ok_description="disconnected", errors={400: "", 404: "session or connection not found"})
LIST_STREAMS = operation(ok_schema=ref("StreamList"), errors={400: "", 404: "session not found"})
GET_STREAM = operation(
    ok_content={"text/plain": {"schema": ref("Stream")}},
    ok_description="the stream, as JSON text (text/plain: the Node SDK parses a JSON body twice)",
    errors={400: "", 404: "session or stream not found"},
)
MUTE_ALL = operation(ok_schema={"type": "object"}, ok_description="muted (or the mute state ended)",
                     errors={400: "", 404: "session not found"}, body=ref("MuteAll"))
MUTE_STREAM = operation(ok_schema={"type": "object"}, ok_description="muted",
                        errors={400: "", 404: "session or stream not found"})
CLASS_LISTS = operation(ok_schema={"type": "object"},
                        errors={400: "", 404: "session or stream not found"},
                        body=ref("StreamClassLists"))
