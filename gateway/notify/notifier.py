"""The notifier: turns what happened in the requests and events services into mails.

One round (`run_once(now)`, every few seconds in the gateway when `[mail] enabled`):

1. **follow**: each service's notices after the stored cursor (`NoticeFeed.ListNotices`;
   those over MAX_NOTICE_AGE old are skipped), turned into mails for the people
   concerned, written with the new cursor in one transaction (outbox.py): a request
   arrived here (its `submitted` event on an incoming request, or on a request between
   two states of this node) -> the requested state's editors; any later event of an
   outgoing request -> the person who owns it; a person of this network moved up from a
   waitlist -> that person.
2. **remind** (at most every REMIND_EVERY): open requests due within
   `mail.reminder_days` or overdue (`RequestReminders.ListDue`) -> the owner (requesting
   side) and the requested state's editors (requested side), one mail a day at most per
   request and person (the day is in the dedup key).
3. **digest** (from `mail.digest_hour` UTC): the held mails of each person who chose a
   daily digest, as one mail.
4. **send**: due mails over SMTP; a failure to retry backs off (services/common/backoff.py)
   and ends the round, so a server that is down is not asked once per mail.

A person who opted out gets no mail (checked when a mail is written and again when it is
sent); mails are in the person's language. `now` is a parameter of every step, so tests
move the clock instead of sleeping. Logs hold counts and ids, never addresses or texts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from justnet.common.v1 import common_pb2, notices_pb2, notices_pb2_grpc
from justnet.requests.v1 import reminders_pb2, reminders_pb2_grpc, requests_pb2, requests_pb2_grpc

from gateway.console import mail_texts as texts
from gateway.languages import DEFAULT, LANGUAGES
from gateway.models import MailRow, UserRow
from gateway.notify.outbox import MailOutbox, new_mail
from gateway.notify.smtp import MailFailed, SmtpSender
from services.common.backoff import backoff_seconds
from services.common.identity import Caller
from services.common.loops import background, cancel, stop_if_cancelled
from services.common.settings import NodeSettings
from services.common.timeutil import from_timestamp, to_timestamp, utcnow

log = logging.getLogger(__name__)
ROUND_SECONDS = 2.0
REMIND_EVERY = timedelta(minutes=15)
PAGE = 100
MAX_PAGES = 10  # per feed and round: a long backlog is worked through over several rounds
SEND_BATCH = 50
# Notices older than this are not mailed: a node that enables mail does not send its
# history, and after a long outage reminders still cover what is due.
MAX_NOTICE_AGE = timedelta(days=2)
SEND_LEASE = timedelta(minutes=5)  # a mail being sent is due again after this if not settled
RETRY_CAP = 600.0  # seconds between attempts at most while the SMTP server fails
TIMEOUT = 10.0


@dataclass(frozen=True)
class Feeds:
    """The services' stubs the notifier reads."""

    requests_notices: notices_pb2_grpc.NoticeFeedStub
    events_notices: notices_pb2_grpc.NoticeFeedStub
    requests: requests_pb2_grpc.RequestsServiceStub
    reminders: reminders_pb2_grpc.RequestRemindersStub

    @classmethod
    def over(cls, requests_channel: grpc.aio.Channel, events_channel: grpc.aio.Channel) -> Feeds:
        return cls(
            notices_pb2_grpc.NoticeFeedStub(requests_channel),
            notices_pb2_grpc.NoticeFeedStub(events_channel),
            requests_pb2_grpc.RequestsServiceStub(requests_channel),
            reminders_pb2_grpc.RequestRemindersStub(requests_channel),
        )


class Notifier:
    def __init__(
        self,
        settings: NodeSettings,
        outbox: MailOutbox,
        feeds: Feeds,
        sender: SmtpSender,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.mail = settings.mail
        self.outbox = outbox
        self.feeds = feeds
        self.sender = sender
        self.clock = clock
        self.links = texts.Links(settings.gateway.url, settings.network)
        self.metadata = Caller.node_service("notifier", settings.network).metadata()
        self._reminded_at: datetime | None = None
        self._requests: dict[str, requests_pb2.Request | None] = {}
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self._task = background(self._rounds(), "notifier")

    async def stop(self) -> None:
        await cancel(self._task)

    async def _rounds(self) -> None:
        """A round every ROUND_SECONDS; while a service does not answer (the node is
        starting, a service restarts), rounds back off instead of logging every time."""
        failures = 0
        while True:
            try:
                await self.run_once(self.clock())
                failures = 0
            except grpc.aio.AioRpcError as exc:
                stop_if_cancelled()  # a call cancelled by stop() ends as CANCELLED, not here
                failures += 1
                log.warning("notifier: a service did not answer (%s)", exc.code().name)
            except Exception:
                stop_if_cancelled()
                failures += 1
                log.exception("notifier: the round failed")
            wait = backoff_seconds(failures, cap=RETRY_CAP) if failures else ROUND_SECONDS
            await asyncio.sleep(max(wait, ROUND_SECONDS))

    async def run_once(self, now: datetime) -> None:
        await self.follow(now)
        if self._reminded_at is None or now - self._reminded_at >= REMIND_EVERY:
            await self.remind(now)
            self._reminded_at = now
        await self.digest(now)
        await self.send_due(now)

    # ------------------------------------------------------------ 1. notices

    async def follow(self, now: datetime) -> int:
        """Mails for the notices after each cursor; returns how many were written."""
        written = 0
        for feed, stub in (
            ("requests", self.feeds.requests_notices),
            ("events", self.feeds.events_notices),
        ):
            for _page in range(MAX_PAGES):
                since = await self.outbox.cursor(feed)
                reply = await stub.ListNotices(
                    notices_pb2.ListNoticesRequest(since_seq=since, limit=PAGE),
                    metadata=self.metadata,
                    timeout=TIMEOUT,
                )
                if not reply.notices:
                    break
                # A request's events come several to a page: read each request once a page.
                self._requests = {}
                mails = [m for n in reply.notices for m in await self._mails_for(n, now)]
                written += await self.outbox.record(mails, feed, reply.notices[-1].seq)
                log.info(
                    "notifier: %s notices %d..%d, %d mails",
                    feed,
                    reply.notices[0].seq,
                    reply.notices[-1].seq,
                    len(mails),
                )
                if len(reply.notices) < PAGE:
                    break
        return written

    async def _mails_for(self, notice: notices_pb2.Notice, now: datetime) -> list[MailRow]:
        if now - from_timestamp(notice.at) > MAX_NOTICE_AGE:
            return []  # from before mail was enabled, or a long outage: old news
        if notice.kind == "waitlist_promoted":
            person = await self.outbox.person(notice.subject)
            if person is None:
                return []
            key = f"promoted:{notice.record_id}:{person.id}"
            mail = self._mail(
                person,
                "promoted",
                key,
                lambda: texts.promoted(notice.about_id, notice.title, self.links),
                now,
            )
            return [mail] if mail is not None else []
        if notice.kind == "request_event":
            return await self._request_mails(notice, now)
        return []

    async def _request(self, request_id: str) -> requests_pb2.Request | None:
        """The request as it stands (None: deleted), read once per page of notices."""
        if request_id not in self._requests:
            try:
                self._requests[request_id] = await self.feeds.requests.GetRequest(
                    requests_pb2.GetRequestRequest(id=request_id),
                    metadata=self.metadata,
                    timeout=TIMEOUT,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                self._requests[request_id] = None
        return self._requests[request_id]

    async def _request_mails(self, notice: notices_pb2.Notice, now: datetime) -> list[MailRow]:
        request = await self._request(notice.record_id)
        if request is None:
            return []
        news = _news(request, notice.status)
        out: list[MailRow | None] = []
        if notice.status == "submitted" and _requested_side_here(request):
            for editor in await self.outbox.editors(request.requested_jurisdiction):
                key = f"arrival:{request.id}:{editor.id}"
                out.append(
                    self._mail(editor, "arrival", key, lambda: texts.arrival(news, self.links), now)
                )
        if request.direction == "outgoing" and notice.status != "submitted":
            owner = await self.outbox.person(request.owner)
            if owner is not None:
                key = f"status:{request.id}:{notice.event_seq}:{owner.id}"
                out.append(
                    self._mail(
                        owner, "status", key, lambda: texts.status_changed(news, self.links), now
                    )
                )
        return [m for m in out if m is not None]

    def _mail(
        self,
        person: UserRow,
        kind: str,
        key: str,
        compose: Callable[[], texts.Mail],
        now: datetime,
    ) -> MailRow | None:
        """The mail for one person in their language: held for their digest if they
        chose one, none if they opted out."""
        if person.notifications == "off":
            return None
        mail = texts.in_language(language_of(person), compose)
        state = "held" if person.notifications == "digest" else "pending"
        return new_mail(person.id, kind, key, mail.subject, mail.body, state, now)

    # ------------------------------------------------------------ 2. reminders

    async def remind(self, now: datetime) -> int:
        """One reminder a day per request and person while it is due soon or overdue."""
        before = now + timedelta(days=self.mail.reminder_days)
        cursor, written = "", 0
        for _page in range(MAX_PAGES):
            reply = await self.feeds.reminders.ListDue(
                reminders_pb2.ListDueRequest(
                    before=to_timestamp(before),
                    page=common_pb2.PageRequest(limit=PAGE, cursor=cursor),
                ),
                metadata=self.metadata,
                timeout=TIMEOUT,
            )
            mails: list[MailRow] = []
            for request in reply.items:
                mails += await self._reminders_for(request, now)
            written += await self.outbox.record(mails)
            cursor = reply.next_cursor
            if not cursor:
                break
        if written:
            log.info("notifier: %d reminders", written)
        return written

    async def _reminders_for(self, request: requests_pb2.Request, now: datetime) -> list[MailRow]:
        people: list[UserRow] = []
        if request.direction == "outgoing":
            owner = await self.outbox.person(request.owner)
            people += [owner] if owner is not None else []
        if _requested_side_here(request):
            people += await self.outbox.editors(request.requested_jurisdiction)
        news = _news(request, request.status)
        overdue = is_overdue(request, now)
        out = []
        for person in {p.id: p for p in people}.values():
            key = f"reminder:{request.id}:{person.id}:{now.date().isoformat()}"
            mail = self._mail(
                person, "reminder", key, lambda: texts.reminder(news, overdue, self.links), now
            )
            if mail is not None:
                out.append(mail)
        return out

    # ------------------------------------------------------------ 3. digests

    async def digest(self, now: datetime) -> int:
        if now.hour < self.mail.digest_hour:
            return 0
        made = 0
        for user_id in await self.outbox.held_for():
            person = await self.outbox.person(f"user:{user_id}")
            language = language_of(person) if person is not None else DEFAULT

            def compose(held: Sequence[MailRow], language: str = language) -> tuple[str, str]:
                items = [texts.Mail(m.subject, m.body) for m in held]
                mail = texts.in_language(language, lambda: texts.digest(items, self.links))
                return mail.subject, mail.body

            key = f"digest:{user_id}:{now.date().isoformat()}"
            made += await self.outbox.digest(user_id, key, compose, now)
        return made

    # ------------------------------------------------------------ 4. sending

    async def send_due(self, now: datetime) -> int:
        sent = dropped = 0
        for mail, person in await self.outbox.due(now, SEND_BATCH):
            if person is None or person.disabled_at is not None or person.notifications == "off":
                await self.outbox.settle(mail.id, state="dropped")
                dropped += 1
                continue
            if not await self.outbox.claim(mail, now + SEND_LEASE):
                continue  # another gateway took it
            try:
                await self.sender.send(person.email, mail.subject, mail.body, mail.dedup_key)
            except MailFailed as failed:
                await self._failed(mail, failed, now)
                if failed.retry:
                    break  # the server's trouble, not this mail's: try again later
                continue
            await self.outbox.settle(mail.id, state="sent", sent_at=now, last_error="")
            sent += 1
        if sent or dropped:
            log.info("notifier: %d mails sent, %d dropped (opted out or disabled)", sent, dropped)
        return sent

    async def _failed(self, mail: MailRow, failed: MailFailed, now: datetime) -> None:
        attempts = mail.attempts + 1
        if failed.retry:
            wait = timedelta(seconds=backoff_seconds(attempts, cap=RETRY_CAP))
            values: dict[str, Any] = {"next_attempt_at": now + wait}
        else:
            values = {"state": "failed"}
        await self.outbox.settle(mail.id, attempts=attempts, last_error=failed.code, **values)
        log.warning("notifier: mail %s not sent (%s), attempt %d", mail.id, failed.code, attempts)


def language_of(person: UserRow) -> str:
    return person.language if person.language in LANGUAGES else DEFAULT


def _requested_side_here(request: requests_pb2.Request) -> bool:
    """This node answers the request: it arrived from a peer, or both states are ours."""
    return request.direction == "incoming" or (
        request.requesting_network == request.requested_network
    )


def is_overdue(request: requests_pb2.Request, now: datetime) -> bool:
    """Acknowledgement due and passed while submitted, or the execution date passed."""
    ack = (
        request.status == "submitted"
        and request.HasField("acknowledgement_due")
        and from_timestamp(request.acknowledgement_due) < now
    )
    return ack or bool(request.deadline and request.deadline < now.date().isoformat())


def _news(request: requests_pb2.Request, status: str) -> texts.RequestNews:
    return texts.RequestNews(
        request_id=request.id,
        title=request.title,
        reference=request.reference,
        status=status,
        requesting_jurisdiction=request.requesting_jurisdiction,
        requested_jurisdiction=request.requested_jurisdiction,
        deadline=request.deadline,
        acknowledgement_due=(
            from_timestamp(request.acknowledgement_due)
            if request.HasField("acknowledgement_due")
            else None
        ),
        confidential=request.confidential,
    )
