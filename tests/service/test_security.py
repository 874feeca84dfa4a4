"""Keeping the key secret: redacted access logs, no empty key, the page's cookie, host names, a quiet /health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from outfitter.cli import app as cli
from outfitter.errors import InputError
from outfitter.service import create_app
from outfitter.service.deps import KEY_COOKIE
from outfitter.service.security import RedactKey, checked_key, default_allowed_hosts
from tests.service.conftest import API_KEY

ODD_KEY = "a/b=c+d%e f"


def test_access_log_lines_never_show_the_key():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/?key=s3cret&x=1", "1.1", 200), None)
    RedactKey().filter(record)
    assert "s3cret" not in record.getMessage() and "/?key=***&x=1" in record.getMessage()


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_key_is_refused_instead_of_turning_auth_off(key, store, model):
    with pytest.raises(InputError, match="the API key is empty"):
        checked_key(key)
    with pytest.raises(InputError, match="the API key is empty"):
        create_app(store, model=model, api_key=key)


def test_serve_with_an_empty_key_in_the_environment_says_so_in_one_line(store, monkeypatch):
    monkeypatch.setattr("outfitter.service.serve", lambda *args, **kwargs: pytest.fail("the server started"))
    result = CliRunner().invoke(cli, ["serve", "--store", str(store)], env={"OUTFITTER_API_KEY": ""})
    assert result.exit_code == 2 and "the API key is empty" in result.stderr


@pytest.fixture(scope="module")
def odd_key_client(store, model) -> Iterator[TestClient]:
    with TestClient(create_app(store, model=model, api_key=ODD_KEY)) as client:
        yield client


def test_the_pages_cookie_holds_the_key_uri_encoded_and_is_accepted(odd_key_client):
    item = odd_key_client.get("/items", headers={"X-API-Key": ODD_KEY}).json()["items"][0]["id"]
    odd_key_client.cookies.set(KEY_COOKIE, quote(ODD_KEY, safe=""))
    assert odd_key_client.get(f"/items/{item}/image").status_code == 200
    odd_key_client.cookies.set(KEY_COOKIE, quote("a/b=c+d%e g", safe=""))
    assert odd_key_client.get(f"/items/{item}/image").status_code == 401
    odd_key_client.cookies.clear()


def test_health_tells_strangers_only_that_it_is_alive(keyed_client):
    assert keyed_client.get("/health").json() == {"status": "ok", "auth": True}
    full = keyed_client.get("/health", headers={"X-API-Key": API_KEY}).json()
    assert full["items"] == 12 and full["categories"] and full["backbone"]


def test_other_host_names_are_refused(store, model):
    with TestClient(create_app(store, model=model, allowed_hosts=["127.0.0.1", "localhost"]),
                    base_url="http://localhost") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 400


def test_serve_allows_loopback_names_the_bound_host_or_the_given_list():
    assert default_allowed_hosts("127.0.0.1", None) == ["127.0.0.1", "localhost", "::1", "[::1]"]
    assert "shop.lan" in default_allowed_hosts("shop.lan", None)
    assert default_allowed_hosts("0.0.0.0", None) == ["*"]
    assert default_allowed_hosts("0.0.0.0", ["shop.example"]) == ["shop.example"]


def test_a_body_that_stops_arriving_gets_408_instead_of_hanging(store, model):
    import socket
    import time
    from urllib.parse import urlsplit

    from outfitter.service import running

    with running(create_app(store, model=model, body_timeout_s=0.5)) as url:
        address = urlsplit(url)
        with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
            conn.sendall(b"POST /similar HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"item_id\": ")
            started = time.monotonic()
            answer = ""
            while "stopped arriving" not in answer and (chunk := conn.recv(4096)):
                answer += chunk.decode()
    assert answer.startswith("HTTP/1.1 408") and "stopped arriving" in answer
    assert time.monotonic() - started < 5
