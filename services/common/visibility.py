"""Who may see which record: one rule, as a SQL clause and as a Python predicate.

- public: everyone, anonymous included;
- federation: any authenticated caller (members of this network and of peers);
- network: authenticated callers of the record's own network;
- private: editors and admins of the owning node only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from services.common.identity import Caller


def can_see(caller: Caller, origin: str, visibility: str, local_network: str) -> bool:
    if visibility == "public":
        return True
    if not caller.authenticated:
        return False
    if visibility == "federation":
        return True
    if visibility == "network":
        return caller.network == origin
    # private
    return origin == local_network and caller.network == local_network and caller.at_least("editor")


def sql_filter(caller: Caller, org: Any, vis: Any, local_network: str) -> ColumnElement[bool]:
    """The same rule as `can_see`, over a table's origin and visibility columns."""
    if not caller.authenticated:
        public: ColumnElement[bool] = vis == "public"
        return public
    clauses: list[ColumnElement[bool]] = [
        vis.in_(("public", "federation")),
        and_(vis == "network", org == caller.network),
    ]
    if caller.network == local_network and caller.at_least("editor"):
        clauses.append(and_(vis == "private", org == local_network))
    return or_(*clauses)
