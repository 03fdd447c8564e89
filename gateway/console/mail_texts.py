"""The texts of the mails the notifier sends (gateway/notify/), in the person's language.

They live beside the console's pages so the same catalogue (and the test that finds a
missing French text) covers them. Plain text. A confidential request's mail says only
that there is news, with a link: a mailbox is not the console, and the console decides
who sees what.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.console import i18n
from gateway.console.i18n import _, ngettext
from gateway.console.names import status_tags


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


@dataclass(frozen=True)
class Links:
    """Where the mails point: the node's console."""

    base_url: str  # e.g. https://justnet.example.org
    network: str

    def request(self, request_id: str) -> str:
        return f"{self.base_url}/console/requests/{request_id}"

    def event(self, event_id: str) -> str:
        return f"{self.base_url}/console/events/{event_id}"

    @property
    def account(self) -> str:
        return f"{self.base_url}/console/account"


@dataclass(frozen=True)
class RequestNews:
    """What a mail may say about a request (nothing of it when it is confidential)."""

    request_id: str
    title: str
    reference: str
    status: str
    requesting_jurisdiction: str
    requested_jurisdiction: str
    deadline: str  # YYYY-MM-DD or ""
    acknowledgement_due: datetime | None
    confidential: bool


def in_language(language: str, compose: Callable[[], Mail]) -> Mail:
    """`compose()` with the console's texts in `language` (English when unknown)."""

    def run() -> Mail:
        i18n.set_language(language)
        return compose()

    return contextvars.copy_context().run(run)


def _footer(links: Links) -> str:
    return _(
        "You receive this because of your JustNet account on the {network} node. "
        "To stop these mails, or to get one digest a day instead, change your "
        "account settings: {url}"
    ).format(network=links.network, url=links.account)


def _confidential(news: RequestNews, links: Links) -> Mail:
    body = _("There is news on a confidential request. Sign in to the console to see it:")
    return Mail(
        _("News on a confidential request"),
        f"{body}\n{links.request(news.request_id)}\n\n{_footer(links)}\n",
    )


def _details(news: RequestNews, links: Links) -> str:
    lines = [
        _("Title: {title}").format(title=news.title),
        _("From {requesting} to {requested}").format(
            requesting=news.requesting_jurisdiction, requested=news.requested_jurisdiction
        ),
    ]
    if news.reference:
        lines.append(_("Reference: {reference}").format(reference=news.reference))
    lines.append(_("Status: {status}").format(status=_status(news.status)))
    if news.acknowledgement_due is not None and news.status == "submitted":
        due = i18n.format_date(news.acknowledgement_due)
        lines.append(_("Acknowledgement due: {date}").format(date=due))
    if news.deadline:
        lines.append(_("Execution asked by: {date}").format(date=i18n.format_date(news.deadline)))
    lines.append(_("Open it in the console: {url}").format(url=links.request(news.request_id)))
    return "\n".join(lines)


def _status(status: str) -> str:
    return status_tags().get(status, (status, ""))[0]


def _mail(subject: str, intro: str, news: RequestNews, links: Links) -> Mail:
    return Mail(subject, f"{intro}\n\n{_details(news, links)}\n\n{_footer(links)}\n")


def arrival(news: RequestNews, links: Links) -> Mail:
    if news.confidential:
        return _confidential(news, links)
    return _mail(
        _("New request received: {title}").format(title=news.title),
        _("A mutual legal assistance request has arrived for {requested}.").format(
            requested=news.requested_jurisdiction
        ),
        news,
        links,
    )


def status_changed(news: RequestNews, links: Links) -> Mail:
    if news.confidential:
        return _confidential(news, links)
    status = _status(news.status)
    return _mail(
        _("Your request {title} is now: {status}").format(title=news.title, status=status),
        _("The status of your request changed to: {status}.").format(status=status),
        news,
        links,
    )


def reminder(news: RequestNews, overdue: bool, links: Links) -> Mail:
    if news.confidential:
        return _confidential(news, links)
    if overdue:
        subject = _("Overdue: {title}").format(title=news.title)
        intro = _("This request is overdue: its acknowledgement or execution date has passed.")
    else:
        subject = _("Due soon: {title}").format(title=news.title)
        intro = _("This request is due soon: its acknowledgement or execution date is near.")
    return _mail(subject, intro, news, links)


def promoted(event_id: str, title: str, links: Links) -> Mail:
    body = _("You have moved up from the waitlist and now have a place at {title}.").format(
        title=title
    )
    more = _("The event in the console: {url}").format(url=links.event(event_id))
    return Mail(
        _("You have a place at {title}").format(title=title),
        f"{body}\n{more}\n\n{_footer(links)}\n",
    )


def digest(items: Sequence[Mail], links: Links) -> Mail:
    """One mail with the day's news (the held mails, each without its footer)."""
    n = len(items)
    subject = ngettext("JustNet: %(num)d notification", "JustNet: %(num)d notifications", n) % {
        "num": n
    }
    intro = _("Here is what happened since your last digest.")
    parts = [f"* {m.subject}\n{_without_footer(m.body, links)}" for m in items]
    return Mail(subject, f"{intro}\n\n" + "\n\n".join(parts) + f"\n\n{_footer(links)}\n")


def _without_footer(body: str, links: Links) -> str:
    footer = _footer(links)
    return body.replace(footer, "").strip()
