"""A real network with faults (issue 13, point 7): three nodes in their own network
namespaces, peer traffic through a relay that adds 150 ms +/- 30 ms per chunk and cuts
connections, EJN's link rate limited with `tc qdisc tbf` (conftest.THROTTLE), and WACAP
cut off for 30 s (its wan link down) and healed, under write load on every node.

After the heal, every acknowledged directory write and every submitted request arrives
exactly once, every replica converges to its owner's records (ids and versions), and
WACAP's peers showed it `unreachable` during the partition and `connected` after. The
closing note (printed even without -s) gives the convergence time after the heal.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.netfaults.cluster import Cluster, Node

pytestmark = pytest.mark.slow

PARTITIONED = "WACAP"
PARTITION_SECONDS = 30.0
LOAD_BEFORE = 5.0  # seconds of write load before the partition
INITIAL_SYNC = 120.0  # bound: every peer connected and every replica equal, at start
CONVERGE = 180.0  # bound: the same after the heal
POLL = 0.5
SHARED = ("public", "federation")
KINDS = ("/api/v1/authorities", "/api/v1/contact-points")
# A requesting state of each network, and where its requests go.
HOME = {"SEAJUST": "TH", "EJN": "FR", "WACAP": "NG"}
LANGUAGE = {"SEAJUST": "en", "EJN": "fr", "WACAP": "en"}


# ------------------------------------------------------------------ what the nodes hold


def records(node: Node, origin: str) -> dict[str, tuple[int, str]]:
    """id -> (version, name) of `origin`'s directory records as `node` holds them; on the
    owner itself only those it shares (public and federation)."""
    out: dict[str, tuple[int, str]] = {}
    for path in KINDS:
        for r in node.items(path, network=origin):
            if r["origin"] != origin:
                continue
            if node.network == origin and r["visibility"] not in SHARED:
                continue
            out[r["id"]] = (int(r["version"]), r["name"])
    return out


def replica_problems(cluster: Cluster) -> list[str]:
    """How each node's replicas differ from their owners' records (empty: converged)."""
    problems = []
    for owner in cluster.nodes:
        own = records(owner, owner.network)
        for other in cluster.nodes:
            if other is owner:
                continue
            held = records(other, owner.network)
            missing = own.keys() - held.keys()
            extra = held.keys() - own.keys()
            stale = [i for i in own.keys() & held.keys() if own[i] != held[i]]
            if missing or extra or stale:
                problems.append(
                    f"{other.network} holds {owner.network}'s records: {len(missing)} missing, "
                    f"{len(extra)} not the owner's, {len(stale)} at another version"
                )
    return problems


def peers_connected(cluster: Cluster) -> list[str]:
    return [
        f"{node.network} sees {peer}: {p['state']} ({p['last_error']})"
        for node in cluster.nodes
        for peer, p in node.peer_states().items()
        if p["state"] != "connected"
    ]


# ------------------------------------------------------------------ the write load


@dataclass
class Acked:
    """What the nodes acknowledged (2xx) and the load therefore expects to find."""

    # network -> record id -> (path, version, name); None once its deletion was acked
    records: dict[str, dict[str, tuple[str, int, str] | None]] = field(default_factory=dict)
    # (origin, destination, request id) of every request whose submission was acked
    submitted: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # writes not acknowledged, and why
    writes: Counter[str] = field(default_factory=Counter)


class WriteLoad(threading.Thread):
    """Creates, updates and deletes directory records and submits requests on every node,
    round robin, until stopped; records what each node acknowledged."""

    def __init__(self, cluster: Cluster, seed: int, marker: str) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.marker = marker
        self.acked = Acked({n.network: {} for n in cluster.nodes})
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.serial = 0
        # The contact points it makes belong to a public authority of their state.
        self.authority = {
            n.network: next(
                a["id"]
                for a in n.items(
                    "/api/v1/authorities", network=n.network, jurisdiction=HOME[n.network]
                )
                if a["origin"] == n.network and a["visibility"] == "public"
            )
            for n in cluster.nodes
        }

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for node in self.cluster.nodes:
                    self.one_write(node)
                self.stopping.wait(0.3)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.is_alive(), "the write load did not stop within 60 s"
        if self.error is not None:
            raise self.error

    def next_name(self, node: Node) -> str:
        self.serial += 1
        return f"{self.marker} {node.network} #{self.serial}"

    def _call(self, node: Node, what: str, method: str, path: str, **kw: Any) -> Any:
        """One write; its JSON (or {}) when acknowledged, None (noted) when not."""
        self.acked.writes[what] += 1
        try:
            resp = node.call(method, path, kw.pop("role", "editor"), **kw)
        except requests.RequestException as exc:
            self.acked.failed.append(f"{node.network} {what}: {type(exc).__name__}: {exc}")
            return None
        if resp.status_code >= 300:
            self.acked.failed.append(f"{node.network} {what}: {resp.status_code} {resp.text[:300]}")
            return None
        return resp.json() if resp.content else {}

    def one_write(self, node: Node) -> None:
        mine = self.acked.records[node.network]
        live = [i for i, r in mine.items() if r is not None]
        roll = self.rng.random()
        if roll < 0.2 and live:
            self.update(node, self.rng.choice(live))
        elif roll < 0.3 and live:
            self.delete(node, self.rng.choice(live))
        elif roll < 0.5:
            self.request(node)
        elif roll < 0.75:
            self.create(node, "/api/v1/contact-points")
        else:
            self.create(node, "/api/v1/authorities")

    def _body(self, node: Node, path: str, name: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "jurisdiction": HOME[node.network],
            "name": name,
            "competences": ["mla"],
            "visibility": self.rng.choice(SHARED),
        }
        if path.endswith("authorities"):
            body |= {"kind": "prosecution", "accepted_languages": ["en"]}
        else:
            body |= {
                "authority_id": self.authority[node.network],
                "title": "Prosecutor",
                "languages": ["en"],
            }
        return body

    def create(self, node: Node, path: str) -> None:
        name = self.next_name(node)
        made = self._call(node, "create", "POST", path, json=self._body(node, path, name))
        if made is not None:
            self.acked.records[node.network][made["id"]] = (path, int(made["version"]), name)

    def update(self, node: Node, record_id: str) -> None:
        held = self.acked.records[node.network][record_id]
        assert held is not None
        path, version, name = held
        renamed = f"{name} (v{version + 1})"
        made = self._call(
            node,
            "update",
            "PUT",
            f"{path}/{record_id}",
            json=self._body(node, path, renamed),
            headers={"If-Match": f'"{version}"'},
        )
        if made is not None:
            self.acked.records[node.network][record_id] = (path, int(made["version"]), renamed)

    def delete(self, node: Node, record_id: str) -> None:
        held = self.acked.records[node.network][record_id]
        assert held is not None
        path, version, _ = held
        done = self._call(
            node, "delete", "DELETE", f"{path}/{record_id}", headers={"If-Match": f'"{version}"'}
        )
        if done is not None:
            self.acked.records[node.network][record_id] = None

    def request(self, node: Node) -> None:
        destination = self.rng.choice([n for n in self.cluster.nodes if n is not node])
        draft = {
            "requesting_jurisdiction": HOME[node.network],
            "requested_jurisdiction": HOME[destination.network],
            "measures": ["banking_records"],
            "urgency": "normal",
            "language": LANGUAGE[destination.network],
            "title": self.next_name(node),
            "reference": f"NF-{self.serial}",
            "offences": ["fraud"],
            "summary": "Funds moved abroad during a network partition test.",
            "deadline": "2099-01-31",
        }
        made = self._call(node, "draft", "POST", "/api/v1/requests", role="member", json=draft)
        if made is None:
            return
        assert made["route"]["destination_network"] == destination.network, made["route"]
        sent = self._call(
            node, "submit", "POST", f"/api/v1/requests/{made['id']}/submit", role="member"
        )
        if sent is not None:
            self.acked.submitted.append((node.network, destination.network, made["id"]))


def write_problems(cluster: Cluster, acked: Acked, marker: str) -> list[str]:
    """Every acknowledged write is on its owner and on every peer exactly once, at the
    acknowledged version; nothing the load did not acknowledge is there."""
    problems = []
    for owner, expected in acked.records.items():
        want = {i: (v, name) for i, r in expected.items() if r is not None for _, v, name in [r]}
        for node in cluster.nodes:
            held = records(node, owner)
            ours = {i: r for i, r in held.items() if r[1].startswith(marker)}
            names = Counter(name for _, name in ours.values())
            twice = [n for n, c in names.items() if c > 1]
            missing = want.keys() - ours.keys()
            extra = ours.keys() - want.keys()
            wrong = [i for i in want.keys() & ours.keys() if want[i] != ours[i]]
            if missing or extra or wrong or twice:
                problems.append(
                    f"{node.network} holds {owner}'s acknowledged writes: {len(missing)} "
                    f"missing, {len(extra)} unexpected, {len(wrong)} at another version, "
                    f"{len(twice)} names twice"
                )
    return problems


def request_problems(cluster: Cluster, acked: Acked, marker: str) -> list[str]:
    """Every submitted request is on its destination exactly once (and no other request
    of the load), with a verified history holding one `submitted` event, and its origin
    holds the destination's verified receipt."""
    problems = []
    for dest in cluster.nodes:
        incoming = [
            r
            for r in dest.items("/api/v1/requests", direction="incoming")
            if r["title"].startswith(marker)
        ]
        counted = Counter(r["id"] for r in incoming)
        want = {rid for _, d, rid in acked.submitted if d == dest.network}
        missing = want - counted.keys()
        extra = counted.keys() - want
        twice = [rid for rid, c in counted.items() if c > 1]
        if missing or extra or twice:
            problems.append(
                f"{dest.network}: {len(missing)} submitted requests missing, {len(extra)} "
                f"unexpected, {len(twice)} listed twice"
            )
            continue
        for rid in sorted(want):
            history = dest.get_json(f"/api/v1/requests/{rid}/history")
            submitted = [e for e in history["events"] if e.get("status") == "submitted"]
            if not history["verified"] or len(submitted) != 1:
                problems.append(
                    f"{dest.network}: request {rid} history verified={history['verified']}, "
                    f"{len(submitted)} submitted events"
                )
    for origin, _, rid in acked.submitted:
        got = cluster.node(origin).get_json(f"/api/v1/requests/{rid}", role="member")
        delivery = got["delivery"]
        if delivery["state"] != "delivered" or not delivery.get("receipt_verified"):
            problems.append(f"{origin}: request {rid} delivery {delivery['state']}")
    return problems


# ------------------------------------------------------------------ peer states over time


class PeerWatch(threading.Thread):
    """Polls every node's view of its peers; keeps each change of state with its time."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stopping = threading.Event()
        # (monotonic time, observer, peer, state, last_error), one entry per change
        self.changes: list[tuple[float, str, str, str, str]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        last: dict[tuple[str, str], str] = {}
        while not self.stopping.is_set():
            for node in self.cluster.nodes:
                try:
                    states = node.peer_states()
                except (requests.RequestException, AssertionError) as exc:
                    self.errors.append(f"{node.network}: {exc}"[:300])
                    continue
                now = time.monotonic()
                for peer, p in states.items():
                    if last.get((node.network, peer)) != p["state"]:
                        last[(node.network, peer)] = p["state"]
                        self.changes.append(
                            (now, node.network, peer, p["state"], p["last_error"] or "")
                        )
            self.stopping.wait(POLL)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)

    def states(self, observer: str, peer: str, start: float, end: float) -> list[str]:
        """The states `observer` showed for `peer` from `start` to `end`, in order (the
        one it was in at `start` first)."""
        seen: list[str] = []
        for t, o, p, state, _ in self.changes:
            if o != observer or p != peer:
                continue
            if t <= start:
                seen = [state]
            elif t <= end:
                seen.append(state)
        return seen

    def timeline(self, since: float) -> str:
        return "\n".join(
            f"  {t - since:+7.1f} s  {o} sees {p}: {s}" + (f" ({e[:90]})" if e else "")
            for t, o, p, s, e in self.changes
        )


# ------------------------------------------------------------------ the test


def wait_until(
    checks: dict[str, Callable[[], list[str]]], within: float, what: str
) -> dict[str, float]:
    """Runs the checks (each returns its problems) until none finds any, for at most
    `within` seconds. Returns, for each check, the seconds from the start until it passed
    for good, and under "all" until every check passed in one round."""
    started = time.monotonic()
    passed: dict[str, float] = {}
    problems: dict[str, list[str]] = {}
    while time.monotonic() - started < within:
        problems = {}
        for name, check in checks.items():
            try:
                found = check()
            except (requests.RequestException, AssertionError) as exc:
                found = [f"{type(exc).__name__}: {exc}"[:500]]
            if found:
                problems[name] = found
                passed.pop(name, None)
            else:
                passed.setdefault(name, time.monotonic() - started)
        if not problems:
            return {**passed, "all": time.monotonic() - started}
        time.sleep(1.0)
    raise AssertionError(
        f"{what} not within {within:.0f} s:\n"
        + "\n".join(f"{name}: {p}" for name, found in problems.items() for p in found)
    )


def test_partition_heals_under_write_load(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cluster.relay is not None
    relay = cluster.relay
    cut_off = cluster.node(PARTITIONED)
    others = [n for n in cluster.nodes if n is not cut_off]
    initial = wait_until(
        {"peers": lambda: peers_connected(cluster), "replicas": lambda: replica_problems(cluster)},
        INITIAL_SYNC,
        "every peer connected and every replica equal to its owner's records at start",
    )["all"]

    marker = f"NF{cluster.seed}"
    load = WriteLoad(cluster, cluster.seed, marker)
    watch = PeerWatch(cluster)
    watch.start()
    load.start()
    try:
        time.sleep(LOAD_BEFORE)
        cut_at = time.monotonic()
        cut_off.net.link_down()
        time.sleep(PARTITION_SECONDS)
        cut_off.net.link_up()
        healed_at = time.monotonic()
        load.stop()
        acked = load.acked
        try:
            converged = wait_until(
                {
                    "every peer connected": lambda: peers_connected(cluster),
                    "acknowledged writes once everywhere": lambda: write_problems(
                        cluster, acked, marker
                    ),
                    "replicas equal to the owners'": lambda: replica_problems(cluster),
                    "submitted requests delivered once": lambda: request_problems(
                        cluster, acked, marker
                    ),
                },
                CONVERGE,
                "convergence after the heal",
            )
        except AssertionError as exc:
            watch.stop()
            raise AssertionError(f"{exc}\npeer states:\n{watch.timeline(cut_at)}") from None
    finally:
        load.stopping.set()
        watch.stop()

    timeline = watch.timeline(cut_at)
    # WACAP's peers see it unreachable (after connected, then backing_off: the silence
    # is noticed first), never refused, and connected after the heal; WACAP sees them so.
    pairs = [(n.network, PARTITIONED) for n in others] + [(PARTITIONED, n.network) for n in others]
    for observer, peer in pairs:
        during = watch.states(observer, peer, cut_at, healed_at)
        assert "unreachable" in during, (
            f"{observer} never showed {peer} unreachable during the partition "
            f"({during}):\n{timeline}"
        )
        assert set(during) <= {"connected", "backing_off", "unreachable"}, (
            f"{observer} showed {peer} as {during} during the partition:\n{timeline}"
        )
        after = watch.states(observer, peer, healed_at, time.monotonic())
        assert after[-1:] == ["connected"], f"{observer} sees {peer} after the heal: {after}"
    # The nodes' own users were served throughout: no write depends on a peer.
    assert not acked.failed, "writes not acknowledged:\n" + "\n".join(acked.failed)
    # The faults really happened: connections were cut, and the relay could not reach
    # the partitioned node.
    assert relay.stats.cuts > 0 and relay.stats.connect_failures > 0, relay.stats

    delays = relay.stats.delays
    requests_sent = Counter((o, d) for o, d, _ in acked.submitted)
    note = [
        "",
        f"== network faults (seed {cluster.seed}): {PARTITIONED} cut off for "
        f"{PARTITION_SECONDS:.0f} s; wan links limited: {cluster.throttle}",
        f"initial sync: every peer connected and every replica equal {initial:.1f} s after "
        "every node was healthy",
        f"CONVERGENCE after the heal: {converged.pop('all'):.1f} s (checked in rounds of "
        "every node's records, requests and peers; each passed for good after: "
        + ", ".join(f"{name} {t:.1f} s" for name, t in converged.items())
        + ")",
        f"writes attempted: {dict(load.acked.writes)}; not acknowledged: {len(acked.failed)}",
        *(f"  {f}" for f in acked.failed[:10]),
        f"requests submitted: {sum(requests_sent.values())} "
        + ", ".join(f"{o}->{d} {c}" for (o, d), c in sorted(requests_sent.items())),
        f"relay: {relay.stats.connections} connections, {relay.stats.cuts} cut, "
        f"{relay.stats.connect_failures} could not reach their target, "
        f"{relay.stats.bytes} bytes in {relay.stats.chunks} chunks, delay per chunk "
        f"{min(delays) * 1000:.0f}-{max(delays) * 1000:.0f} ms "
        f"(mean {sum(delays) / len(delays) * 1000:.0f} ms)",
        *(f"tbf on {n}'s link:\n{cluster.node(n).net.qdisc_stats()}" for n in cluster.throttle),
        f"peer states (seconds from the partition; healed at {healed_at - cut_at:+.1f} s):",
        timeline,
    ]
    if watch.errors:
        note.append(f"peer-state polls that failed: {len(watch.errors)}, e.g. {watch.errors[0]}")
    with capsys.disabled():
        print("\n".join(note))
