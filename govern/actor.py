"""Who is acting, and from where: every state change names one, from the web, the API, the CLI or a job."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; every service call that changes state takes one."""

    id: str
    name: str
    request_id: str | None = None
    client_addr: str | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(id=f"system:{name}", name=name)
