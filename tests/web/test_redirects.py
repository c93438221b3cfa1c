"""Redirect targets and links built from user input are encoded; slash redirects name no host."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from visitors import csrf

from site_api.serving.links import sign_in_link, with_query


@pytest.mark.parametrize(
    "next_url",
    [
        "/x?a=1&next=//evil.example",
        "/topics/x/?a=1&b=2#frag",
        "/topics/x/?q=50%25+off",
        "/",
    ],
)
def test_with_query_keeps_a_value_whole(next_url: str) -> None:
    link = sign_in_link(next_url)
    parts = urlsplit(link)
    assert parts.path == "/sign-in" and parts.fragment == ""
    assert parse_qs(parts.query) == {"next": [next_url]}


def test_with_query_without_parameters_is_the_path() -> None:
    assert with_query("/account") == "/account"


@pytest.mark.parametrize("next_url", ["/x?a=1&next=//evil.example", "/topics/x/?a=1&b=2#frag"])
def test_create_account_confirmation_links_back_to_next_whole(
    client: httpx.Client, next_url: str
) -> None:
    data = {
        "email": "new@example.org",
        "password": "long enough and odd 77",
        "csrf_token": csrf(client),
        "next": next_url,
    }
    # A new account is signed in at once and sent on (issue 14); the confirmation page with its
    # Sign in link is what someone else typing a taken address gets.
    created = client.post("/create-account", data=data, follow_redirects=False)
    assert created.status_code == 303
    client.cookies.clear()
    data = {**data, "password": "another long and odd 88", "csrf_token": csrf(client)}
    response = client.post("/create-account", data=data)
    assert response.status_code == 200
    button = re.search(r'md-button--primary" href="(/sign-in[^"]*)">Sign in<', response.text)
    assert button, response.text
    href = html.unescape(button.group(1))
    assert parse_qs(urlsplit(href).query) == {"next": [next_url]}, href


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/notes/", "/api/notes"),
        ("/api/notes/?q=a&limit=5", "/api/notes?q=a&limit=5"),
        ("/healthz/", "/healthz"),
        ("/readyz/", "/readyz"),
        ("/account/notes.json/", "/account/notes.json"),
    ],
)
def test_slash_redirects_are_relative_whatever_the_host(
    client: httpx.Client, path: str, location: str
) -> None:
    response = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == location


def test_an_unknown_path_is_still_404(client: httpx.Client) -> None:
    assert client.get("/api/nothing-here/", follow_redirects=False).status_code == 404
    assert client.get("/api/notes/a/b/", follow_redirects=False).status_code == 404
