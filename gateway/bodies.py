"""Request body schemas of API.md (types checked here; meaning checked by the services)."""

from __future__ import annotations

from gateway.schema import Arr, Bool, Int, Obj, Str
from services.common import codes
from services.common.validation import VISIBILITIES

VISIBILITY = Str(max_len=16, enum=VISIBILITIES, description="default: network")
ISO2 = Str(max_len=8, description="ISO 3166-1 alpha-2", example="TH")
LANG = Str(max_len=8, description="ISO 639-1", example="en")
ID = Str(max_len=64, fmt="uuid")

AUTHORITY = Obj(
    "AuthorityInput",
    {
        "jurisdiction": ISO2,
        "name": Str(max_len=300),
        "kind": Str(max_len=32, enum=codes.AUTHORITY_KINDS),
        "competences": Arr(Str(max_len=40, enum=codes.COMPETENCES), max_items=20),
        "accepted_languages": Arr(LANG, max_items=30),
        "email": Str(max_len=320, fmt="email"),
        "phone": Str(max_len=40, description="international form, e.g. +66 2 141 1111"),
        "address": Str(max_len=500),
        "website": Str(max_len=2000, fmt="uri"),
        "available_24_7": Bool(),
        "visibility": VISIBILITY,
    },
    required=("jurisdiction", "name", "kind"),
)

CONTACT_POINT = Obj(
    "ContactPointInput",
    {
        "authority_id": ID,
        "jurisdiction": ISO2,
        "name": Str(max_len=300),
        "title": Str(max_len=300),
        "languages": Arr(LANG, max_items=30),
        "competences": Arr(Str(max_len=40, enum=codes.COMPETENCES), max_items=20),
        "email": Str(max_len=320, fmt="email"),
        "phone": Str(max_len=40),
        "available_24_7": Bool(),
        "visibility": VISIBILITY,
        "term_end": Str(max_len=10, fmt="date"),
        "successor_id": ID,
    },
    required=("authority_id", "jurisdiction", "name"),
)

CHANNEL = Obj(
    "Channel",
    {
        "kind": Str(max_len=32, enum=codes.CHANNEL_KINDS),
        "address": Str(max_len=500),
        "formal": Bool(description="accepts formal requests"),
    },
    required=("kind",),
    allow_read_only=False,
)

MEASURE = Obj(
    "MeasureProfile",
    {
        "code": Str(max_len=64, enum=codes.MEASURES),
        "applicability": Str(max_len=8, enum=codes.APPLICABILITY),
        "notes": Str(max_len=2000),
    },
    required=("code", "applicability"),
    allow_read_only=False,
)

ROUTING_PROFILE = Obj(
    "RoutingProfileInput",
    {
        "jurisdiction": ISO2,
        "central_authority_id": ID,
        "accepted_languages": Arr(LANG, max_items=30),
        "channels": Arr(CHANNEL, max_items=20),
        "legal_bases": Arr(Str(max_len=40, description="instrument code"), max_items=50),
        "measures": Arr(MEASURE, max_items=len(codes.MEASURES)),
        "acknowledgement_days": Int(minimum=0, maximum=365),
        "urgent_procedure": Str(max_len=2000),
        "visibility": VISIBILITY,
    },
)

VERIFY_KEY = Obj(
    "OldVerifyKey",
    {
        "key_id": Str(max_len=64),
        "public_key": Str(max_len=100),
        "expired_at": Str(max_len=40, fmt="date-time"),
        "valid_from": Str(max_len=40, fmt="date-time"),
    },
    required=("key_id", "public_key", "expired_at"),
    allow_read_only=False,
)

PREVIOUS_CERTIFICATE = Obj(
    "PreviousCertificate",
    {
        "certificate_pem": Str(max_len=20000),
        "accepted_until": Str(max_len=40, fmt="date-time"),
    },
    required=("certificate_pem", "accepted_until"),
    description="during a key rotation's overlap: the certificate the node may still present",
    allow_read_only=False,
)

KEY_ANNOUNCEMENT = Obj(
    "KeyAnnouncement",
    {
        "announcement": Str(max_len=20000),
        "key_id": Str(max_len=64),
        "signature": Str(max_len=200),
        "new_key_signature": Str(max_len=200),
    },
    description="how the node's current key was announced by the one before (base64 fields); "
    "informative here: a new peer trusts the descriptor it was given",
    allow_read_only=False,
)

PEER_DESCRIPTOR = Obj(
    "PeerDescriptor",
    {
        "network": Str(max_len=16),
        "name": Str(max_len=300),
        "peer_endpoint": Str(max_len=300, description="host:port of the peer port"),
        "jurisdictions": Arr(ISO2, max_items=100),
        "key_id": Str(max_len=64),
        "public_key": Str(max_len=100, description="base64 Ed25519 public key"),
        "certificate_fingerprint": Str(max_len=100),
        "certificate_pem": Str(max_len=20000),
        "old_keys": Arr(VERIFY_KEY, max_items=50),
        "key_valid_until": Str(max_len=40, fmt="date-time"),
        "key_valid_from": Str(max_len=40, fmt="date-time"),
        "certificate_valid_until": Str(max_len=40, fmt="date-time"),
        "previous_certificates": Arr(PREVIOUS_CERTIFICATE, max_items=10),
        "announcements": Arr(KEY_ANNOUNCEMENT, max_items=100),
        "share": Str(max_len=32, description="sharing policy (default, no_personal_details, ...)"),
        "replace": Bool(
            description="update an existing peer; a new policy withdraws what it no longer shares"
        ),
        # Applies the peer's records only for these states, some of those `jurisdictions`
        # lists (default: all); records for the others go to the quarantine.
        "accepted_jurisdictions": Arr(ISO2, max_items=100),
    },
    required=("network", "peer_endpoint", "key_id", "public_key", "certificate_pem"),
    description="the output of `justnet node-info --json` of the other node",
    allow_read_only=False,
)

INSTRUMENT = Obj(
    "InstrumentInput",
    {
        "title": Str(max_len=500),
        "type": Str(max_len=16, enum=("multilateral", "regional", "bilateral")),
        "parties": Arr(ISO2, max_items=250),
    },
    description="an editor's correction of a legal instrument's parties",
    allow_read_only=False,
)

ROUTE_QUERY_FIELDS = {
    "requesting_jurisdiction": ISO2,
    "requested_jurisdiction": ISO2,
    "measures": Arr(Str(max_len=64, enum=codes.MEASURES), max_items=len(codes.MEASURES)),
    "urgency": Str(max_len=8, enum=("normal", "urgent"), description="default: normal"),
    "language": Str(max_len=8, description="ISO 639-1 of the request as drafted"),
}

ROUTE_QUERY = Obj(
    "RouteQuery",
    ROUTE_QUERY_FIELDS,
    required=("requesting_jurisdiction", "requested_jurisdiction"),
    allow_read_only=False,
)

REQUEST = Obj(
    "RequestInput",
    {
        **ROUTE_QUERY_FIELDS,
        "title": Str(max_len=300),
        "reference": Str(max_len=100, description="the requesting authority's file number"),
        "offences": Arr(Str(max_len=300), max_items=20),
        "summary": Str(max_len=20000, description="facts and purpose; no attachments"),
        "deadline": Str(max_len=10, fmt="date", description="execution asked by this date"),
        "confidential": Bool(description="only the two sides' editors and its author see it"),
    },
    required=("requesting_jurisdiction", "requested_jurisdiction", "title"),
)

STATUS_CHANGE = Obj(
    "StatusChange",
    {
        "status": Str(max_len=32, enum=codes.REQUEST_STATUS_CHANGES),
        "note": Str(max_len=2000),
    },
    required=("status",),
)

EVENT_KINDS = ("plenary", "training", "working_group", "study_visit", "meeting")
DATETIME = Str(
    max_len=40,
    fmt="date-time",
    description="RFC 3339; without an offset, local time in `timezone`",
    example="2026-10-27T09:00:00+07:00",
)

VENUE = Obj(
    "Venue",
    {"city": Str(max_len=200), "country": ISO2},
    allow_read_only=False,
    optional=True,
)

AGENDA_ITEM = Obj(
    "AgendaItem",
    {"title": Str(max_len=300), "starts_at": DATETIME, "description": Str(max_len=2000)},
    required=("title",),
    allow_read_only=False,
)

DOCUMENT = Obj(
    "EventDocument",
    {"title": Str(max_len=300), "url": Str(max_len=2000, fmt="uri"), "language": LANG},
    required=("title", "url"),
    allow_read_only=False,
)

EVENT = Obj(
    "EventInput",
    {
        "title": Str(max_len=300),
        "kind": Str(max_len=32, enum=EVENT_KINDS),
        "description": Str(max_len=5000),
        "starts_at": DATETIME,
        "ends_at": DATETIME,
        "timezone": Str(max_len=64, description="IANA time zone", example="Asia/Bangkok"),
        "venue": VENUE,
        "online_url": Str(max_len=2000, fmt="uri"),
        "languages": Arr(LANG, max_items=30),
        "interpretation": Arr(LANG, max_items=30),
        "agenda": Arr(AGENDA_ITEM, max_items=200),
        "documents": Arr(DOCUMENT, max_items=100),
        # The service names a negative capacity itself; the gateway only checks the type.
        "capacity": Int(minimum=-(2**31), description="places; 0 means no limit"),
        "registration_deadline": DATETIME,
        "visibility": VISIBILITY,
    },
    required=("title", "kind", "starts_at", "ends_at", "timezone"),
)

REGISTRATION = Obj(
    "RegistrationInput",
    {
        "name": Str(max_len=300, description="as it should appear on the list"),
        "email": Str(max_len=320, fmt="email"),
        "contact_point_id": Str(max_len=64, description="the registrant's directory record"),
    },
    required=("name",),
    allow_read_only=False,
)

ATTENDANCE = Obj(
    "AttendanceInput",
    {
        "attended": Bool(),
        "details_confirmed": Bool(
            description="the person confirmed their directory details at the event"
        ),
    },
    allow_read_only=False,
)
