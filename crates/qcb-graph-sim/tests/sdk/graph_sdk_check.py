"""Microsoft's Graph SDK for Python (msgraph-sdk) against the emulator.

Run by tests/integration/sdk.rs with the venv that scripts/bootstrap.sh
creates: python graph_sdk_check.py GRAPH_URL TOKEN_URL CLIENT_ID CLIENT_SECRET USER

Lists users (paged with $top), the user's mail folders (paged), the inbox
through messages/delta (small pages, following every @odata.nextLink to the
@odata.deltaLink, then one more round on the deltaLink), contacts and
events, all through the SDK's request builders, models and middleware (its
RetryHandler included). Prints one JSON object with what it saw; any SDK
error ends the script with a non-zero status.
"""

import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlparse

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder


class EmulatorTokenProvider(AccessTokenProvider):
    """Client credentials against the emulator's token endpoint (azure-identity
    only talks to https authorities, so this plays its part)."""

    def __init__(self, token_url: str, client_id: str, secret: str, graph_url: str):
        self.token_url = token_url
        self.client_id = client_id
        self.secret = secret
        self.token: str | None = None
        self.token_requests = 0
        self.hosts = AllowedHostsValidator([urlparse(graph_url).hostname or ""])

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] = {}
    ) -> str:
        if not self.hosts.is_url_host_valid(uri):
            return ""
        if self.token is None:
            async with httpx.AsyncClient() as http:
                resp = await http.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.secret,
                        "scope": "https://graph.microsoft.com/.default",
                    },
                )
                resp.raise_for_status()
                self.token = resp.json()["access_token"]
                self.token_requests += 1
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.hosts


def config(headers: dict[str, str] | None = None, query: Any = None) -> RequestConfiguration:
    rc = RequestConfiguration(query_parameters=query)
    for k, v in (headers or {}).items():
        rc.headers.add(k, v)
    return rc


async def main() -> None:
    graph_url, token_url, client_id, secret, user = sys.argv[1:6]
    tokens = EmulatorTokenProvider(token_url, client_id, secret, graph_url)
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(tokens))
    adapter.base_url = graph_url
    client = GraphServiceClient(request_adapter=adapter)
    out: dict[str, Any] = {}

    # Users, two per page.
    users, pages = [], 0
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        top=2, select=["id", "displayName", "mail", "userPrincipalName"]
    )
    page = await client.users.get(config(query=query))
    while page is not None:
        pages += 1
        users += [(u.id, u.user_principal_name, u.mail) for u in page.value or []]
        if not page.odata_next_link:
            break
        page = await client.users.with_url(page.odata_next_link).get()
    out["users"] = [upn for _, upn, _ in users]
    out["user_pages"] = pages
    me = client.users.by_user_id(user)

    # Mail folders (the default page of 10 has a nextLink: 11 visible roots).
    folders, pages = [], 0
    fpage = await me.mail_folders.get()
    while fpage is not None:
        pages += 1
        folders += [(f.display_name, f.total_item_count) for f in fpage.value or []]
        if not fpage.odata_next_link:
            break
        fpage = await me.mail_folders.with_url(fpage.odata_next_link).get()
    out["folders"] = [name for name, _ in folders]
    out["folder_pages"] = pages

    # Inbox messages through delta, 7 per page.
    inbox = me.mail_folders.by_mail_folder_id("inbox")
    small_pages = {"Prefer": "odata.maxpagesize=7"}
    ids, pages, delta_link = [], 0, None
    dpage = await inbox.messages.delta.get(config(headers=small_pages))
    while dpage is not None:
        pages += 1
        for m in dpage.value or []:
            assert m.id and m.received_date_time is not None, m
            ids.append(m.id)
        if dpage.odata_next_link:
            dpage = await inbox.messages.delta.with_url(dpage.odata_next_link).get(
                config(headers=small_pages)
            )
        else:
            delta_link = dpage.odata_delta_link
            break
    assert delta_link, "the last delta page carries @odata.deltaLink"
    again = await inbox.messages.delta.with_url(delta_link).get()
    out["inbox_delta_ids"] = sorted(set(ids))
    out["inbox_delta_pages"] = pages
    out["inbox_delta_again"] = len(again.value or []) if again else -1
    out["inbox_delta_link_is_absolute"] = delta_link.startswith(graph_url)

    # Contacts and events (every page).
    contacts = []
    cpage = await me.contacts.get()
    while cpage is not None:
        contacts += [c.id for c in cpage.value or []]
        if not cpage.odata_next_link:
            break
        cpage = await me.contacts.with_url(cpage.odata_next_link).get()
    out["contacts"] = len(contacts)
    events, subjects = [], []
    epage = await me.events.get()
    while epage is not None:
        for e in epage.value or []:
            assert e.start is not None and e.start.date_time, e
            events.append(e.id)
            subjects.append(e.subject)
        if not epage.odata_next_link:
            break
        epage = await me.events.with_url(epage.odata_next_link).get()
    out["events"] = len(events)
    out["event_subjects"] = subjects
    out["token_requests"] = tokens.token_requests
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
