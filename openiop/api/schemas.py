from __future__ import annotations

from ninja import Schema


class Detail(Schema):
    detail: str


class SiteRole(Schema):
    site_id: int
    site_name: str
    time_zone: str
    role: str


class Me(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    credentials: str
    sites: list[SiteRole]
