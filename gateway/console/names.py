"""The words people read for the codes of the API (competences, measures, statuses ...), in the
page's language. One place, so every page names a code the same way; a code without words
here is shown as it is (a newer peer may send codes this node does not know yet)."""

from __future__ import annotations

from gateway.console.i18n import _
from services.common import codes


def competence_names() -> dict[str, str]:
    names = {
        "mla": _("Mutual legal assistance"),
        "extradition": _("Extradition"),
        "transfer_sentenced_persons": _("Transfer of sentenced persons"),
        "asset_recovery": _("Asset recovery"),
        "cybercrime": _("Cybercrime"),
        "terrorism": _("Terrorism"),
        "corruption": _("Corruption"),
        "trafficking": _("Trafficking"),
        "urgent_24_7": _("Urgent matters, 24/7"),
    }
    return {code: names.get(code, code) for code in codes.COMPETENCES}


def measure_names() -> dict[str, str]:
    names = {
        "service_of_documents": _("Service of documents"),
        "witness_statement": _("Witness statement"),
        "search_and_seizure": _("Search and seizure"),
        "banking_records": _("Banking records"),
        "freezing": _("Freezing of assets"),
        "confiscation": _("Confiscation"),
        "electronic_evidence": _("Electronic evidence"),
        "preservation_of_data": _("Preservation of data"),
        "hearing_by_videoconference": _("Hearing by videoconference"),
        "transfer_of_persons_in_custody": _("Transfer of persons in custody"),
        "location_of_persons": _("Location of persons"),
    }
    return {code: names.get(code, code) for code in codes.MEASURES}


def authority_kind_names() -> dict[str, str]:
    return {
        "central_authority": _("Central authority"),
        "prosecution": _("Prosecution"),
        "court": _("Court"),
        "ministry": _("Ministry"),
        "police": _("Police"),
        "other": _("Other"),
    }


def record_type_names() -> dict[str, str]:
    return {"authority": _("Authority"), "contact_point": _("Contact point")}


def visibility_names() -> dict[str, str]:
    """Short, for a record's page."""
    return {
        "public": _("Public"),
        "network": _("This network only"),
        "federation": _("Networks of the federation"),
        "private": _("Private"),
    }


def visibility_choices() -> dict[str, str]:
    """Long, for an editor choosing who may see a record."""
    return {
        "public": _("Public: anyone"),
        "network": _("Network: this network's members"),
        "federation": _("Federation: this network and its peers"),
        "private": _("Private: this node's editors"),
    }


def channel_names() -> dict[str, str]:
    return {
        "post": _("Post"),
        "email": _("Email"),
        "email_encrypted": _("Encrypted email"),
        "fax": _("Fax"),
        "e_codex": "e-CODEX",
        "iber_a": "Iber@",
        "ejn_sc": _("EJN secure connection"),
        "globe": "GlobE",
        "interpol": "INTERPOL",
        "diplomatic": _("Diplomatic channel"),
        "justnet": "JustNet",
    }


def applicability_tags() -> dict[str, tuple[str, str]]:
    """A measure's applicability: its words and its tag colour."""
    return {
        "yes": (_("Available"), "green"),
        "partial": (_("Partly available"), "yellow"),
        "no": (_("Not available"), "red"),
        "unknown": (_("Not known"), "grey"),
    }


def basis_kind_names() -> dict[str, str]:
    return {
        "bilateral": _("Bilateral treaty"),
        "regional": _("Regional treaty"),
        "multilateral": _("Multilateral convention"),
        "reciprocity": _("Reciprocity"),
    }


def warning_names() -> dict[str, str]:
    return {
        "no_peer": _("No node covers this state"),
        "no_routing_profile": _("No routing profile"),
        "stale_data": _("Data may be out of date"),
        "no_24_7_contact": _("No 24/7 contact"),
        "measure_unavailable": _("Measure not available"),
        "measure_unknown": _("Measure not known"),
        "translation_required": _("Translation needed"),
        "reciprocity_only": _("Reciprocity only"),
        "not_a_member": _("Not a member"),
    }


def reason_names() -> dict[str, str]:
    """Why a contact was ranked where it is."""
    return {
        "competence": _("competence"),
        "language": _("language"),
        "available_24_7": _("available 24/7"),
    }


def status_tags() -> dict[str, tuple[str, str]]:
    """A request's status: its words and its tag colour (the words carry the meaning)."""
    return {
        "draft": (_("Draft"), "grey"),
        "submitted": (_("Submitted"), "blue"),
        "acknowledged": (_("Acknowledged"), "blue"),
        "more_information_needed": (_("More information needed"), "yellow"),
        "information_supplied": (_("Information supplied"), "purple"),
        "in_execution": (_("In execution"), "purple"),
        "executed": (_("Executed"), "green"),
        "partially_executed": (_("Partially executed"), "green"),
        "refused": (_("Refused"), "red"),
        "withdrawn": (_("Withdrawn"), "grey"),
    }


def action_names() -> dict[str, str]:
    """The button that sets each request status."""
    return {
        "acknowledged": _("Acknowledge"),
        "more_information_needed": _("Ask for more information"),
        "in_execution": _("Start execution"),
        "executed": _("Mark as executed"),
        "partially_executed": _("Mark as partially executed"),
        "refused": _("Refuse"),
        "withdrawn": _("Withdraw"),
        "information_supplied": _("Supply information"),
    }


def delivery_tags() -> dict[str, tuple[str, str]]:
    return {
        "none": (_("Not sent"), "grey"),
        "local": (_("On this node"), "grey"),
        "pending": (_("Pending"), "yellow"),
        "delivered": (_("Delivered"), "green"),
        "failed": (_("Failed"), "red"),
    }


def direction_names() -> dict[str, str]:
    return {"incoming": _("Incoming"), "outgoing": _("Outgoing")}


def urgency_names() -> dict[str, str]:
    return {"normal": _("Normal"), "urgent": _("Urgent")}


def role_names() -> dict[str, str]:
    return {"admin": _("Administrator"), "editor": _("Editor"), "member": _("Member")}


def quarantine_reason_names() -> dict[str, str]:
    """Why a record a peer sent was held back (GET /api/v1/federation/quarantine)."""
    return {
        "jurisdiction_not_accepted": _("The peer does not speak for this state here"),
        "last_verified_in_future": _("Confirmed at a time still to come"),
        "refused": _("Refused by this node's checks"),
        "unreadable": _("Could not be read"),
    }


def document_kind_names() -> dict[str, str]:
    return {
        "letter_of_request": _("Letter of request"),
        "court_order": _("Court order"),
        "translation": _("Translation"),
        "annex": _("Annex"),
    }
