"""Messages to a chat webhook: a Slack-compatible JSON body ({"text": ...}) posted to a URL the user
configured. Nothing here runs without a URL, so an unconfigured platform sends no network traffic."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlparse

TIMEOUT_SECONDS = 10


def check_webhook_url(url: str) -> str:
    """The URL if it is an http(s) URL with a host; ValueError otherwise."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    return url


def post_message(url: str, text: str) -> str | None:
    """POST {"text": text} as JSON; None when the server accepted it (2xx), else why it did not.

    A failed alert is reported to the caller, not raised: it must not fail the run it reports on."""
    request = urllib.request.Request(check_webhook_url(url), data=json.dumps({"text": text}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as error:
        return str(error)
