"""The HTTP backends against fake LibreTranslate and OpenAI servers on loopback: their real
request and answer formats, errors and timeouts, and the client's refusals."""

from __future__ import annotations

from typing import Any

import pytest

from automations.backends.ai import AiError, chat_complete
from automations.backends.http import (
    HttpConnectionError,
    UnsafeUrlError,
    post_json,
    url_check,
)
from automations.backends.translate import TranslationError, translate_text
from tests.automations.fakes import Reply, fake_server, libretranslate, openai_chat


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Any) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = True


def test_translate_maps_our_language_codes() -> None:
    with fake_server(libretranslate()) as server:
        text = translate_text(url=server.url, text="Hi", source="en-us", target="pt-br")
        auto = translate_text(url=server.url, text="Hi", source="auto", target="pl")
    assert text == "[pt] Hi" and auto == "[pl] Hi"
    assert [r.json()["source"] for r in server.requests] == ["en", "auto"]
    assert server.requests[0].headers["content-type"] == "application/json"


def test_translate_errors() -> None:
    cases = [
        (libretranslate(), "xx", "answered 400: xx is not supported"),
        (lambda request: Reply(200, {"detectedLanguage": {}}), "pl", "sent no translation"),
        (lambda request: Reply(502, b"<html>Bad gateway</html>"), "pl", "answered 502"),
        (libretranslate(delay=1), "pl", r"did not answer within 0\.2 seconds"),
    ]
    for handler, target, expected in cases:
        with fake_server(handler) as server, pytest.raises(TranslationError, match=expected):
            translate_text(url=server.url, text="Hi", source="en", target=target, timeout=0.2)
    with pytest.raises(TranslationError, match="Could not reach"):
        translate_text(url=server.url, text="Hi", source="en", target="pl")  # stopped


def test_chat_completions() -> None:
    with fake_server(openai_chat("Hello!", api_key="sk-1")) as server:
        answer = chat_complete(
            base_url=server.url + "/v1/",
            model="m",
            api_key="sk-1",
            messages=[{"role": "user", "content": "Hi"}],
        )
    assert answer == "Hello!"
    request = server.requests[0]
    assert request.headers["authorization"] == "Bearer sk-1"
    assert request.json() == {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, {"choices": []}), "had no message"),
        (Reply(200, {"choices": [{"message": {"content": "  "}}]}), "was empty"),
        (Reply(429, {"error": {"message": "Rate limit reached"}}), "answered 429: Rate limit"),
        (Reply(500, b"oops"), "answered 500"),
    ],
)
def test_chat_completion_errors(reply: Reply, expected: str) -> None:
    with fake_server(lambda request: reply) as server, pytest.raises(AiError, match=expected):
        chat_complete(base_url=server.url, model="m", messages=[])


def test_the_client_refuses_what_it_must_not_call() -> None:
    for url in ("ftp://example.com/", "file:///etc/passwd", "http:///nohost", "http://a:b@x.io/"):
        with pytest.raises(UnsafeUrlError):
            url_check(url)
    with fake_server(lambda request: Reply(200, {})) as server:
        with pytest.raises(UnsafeUrlError, match="private or local"):
            post_json(server.url, {}, timeout=1, allow_private=False)
        assert post_json(server.url, {}, timeout=1, allow_private=True).ok
    assert server.requests and len(server.requests) == 1
    with pytest.raises(HttpConnectionError, match="Could not resolve"):
        post_json("http://does-not-exist.invalid/", {}, timeout=1)
