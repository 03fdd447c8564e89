"""The code lists of API.md, in one place for validation, OpenAPI and the CLI."""

from __future__ import annotations

AUTHORITY_KINDS = ("central_authority", "prosecution", "court", "ministry", "police", "other")
COMPETENCES = (
    "mla",
    "extradition",
    "transfer_sentenced_persons",
    "asset_recovery",
    "cybercrime",
    "terrorism",
    "corruption",
    "trafficking",
    "urgent_24_7",
)
MEASURES = (
    "service_of_documents",
    "witness_statement",
    "search_and_seizure",
    "banking_records",
    "freezing",
    "confiscation",
    "electronic_evidence",
    "preservation_of_data",
    "hearing_by_videoconference",
    "transfer_of_persons_in_custody",
    "location_of_persons",
)
APPLICABILITY = ("yes", "no", "partial")
CHANNEL_KINDS = (
    "post",
    "email",
    "email_encrypted",
    "fax",
    "e_codex",
    "iber_a",
    "ejn_sc",
    "globe",
    "interpol",
    "diplomatic",
    "justnet",
)
INSTRUMENTS = (
    "UNTOC",
    "UNCAC",
    "VIENNA_1988",
    "ASEAN_MLAT_2004",
    "ECOWAS_MLA_1992",
    "COE_MLA_1959",
    "EU_EIO_2014",
    "MINSK_1993",
    "ICGLR_JUDICIAL_2006",
    "RECIPROCITY",
)
# BILATERAL:<AA>-<BB> is validated separately (two ISO 3166-1 codes).
BILATERAL_PREFIX = "BILATERAL:"
KINDS = ("authority", "contact_point", "routing_profile")
# MLA request statuses (services/requests/chain.py): who authors which (one writer per event).
REQUESTING_STATUSES = ("submitted", "withdrawn", "information_supplied")
REQUESTED_STATUSES = (
    "acknowledged",
    "more_information_needed",
    "in_execution",
    "executed",
    "partially_executed",
    "refused",
)
REQUEST_STATUSES = ("draft", *REQUESTING_STATUSES, *REQUESTED_STATUSES)
# What POST /requests/{id}/status may set (`submitted` has its own endpoint).
REQUEST_STATUS_CHANGES = (*REQUESTING_STATUSES[1:], *REQUESTED_STATUSES)
# The lifecycle: status -> the statuses that may follow it. Enforced by the requests
# service (services/requests/chain.py); the console reads it to offer only those actions.
REQUEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted",),
    "submitted": (
        "acknowledged",
        "more_information_needed",
        "in_execution",
        "refused",
        "withdrawn",
    ),
    "acknowledged": (
        "more_information_needed",
        "in_execution",
        "executed",
        "partially_executed",
        "refused",
        "withdrawn",
    ),
    "more_information_needed": ("information_supplied", "refused", "withdrawn"),
    "information_supplied": (
        "acknowledged",
        "more_information_needed",
        "in_execution",
        "executed",
        "partially_executed",
        "refused",
        "withdrawn",
    ),
    "in_execution": (
        "more_information_needed",
        "executed",
        "partially_executed",
        "refused",
        "withdrawn",
    ),
    "executed": (),
    "partially_executed": (),
    "refused": (),
    "withdrawn": (),
}
