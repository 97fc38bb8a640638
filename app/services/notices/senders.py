"""How a notice leaves the outbox: the pluggable sender.

The default is no sender at all (``sender_from_config`` returns None when ``SMS_GATEWAY_URL`` is not set): the
application then writes nothing outward, and offices hand the waiting notices over in a spreadsheet to their
own SMS service (``outbox.export_outbox``). With a gateway URL, :class:`HttpGateway` posts each notice as JSON:

    POST <SMS_GATEWAY_URL>   {"to": "0912345678", "text": "...", "encoding": "gsm7", "reference": "asxh-notice-42"}

and reads the answer: 2xx sent (``{"id": "<provider id>"}``), 4xx refused for good (bad number, blocked…),
5xx, a time-out or no connection: try again later. ``reference`` is the same on every attempt, so a gateway
that deduplicates never delivers twice a notice whose answer was lost.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SENT, REFUSED, RETRY = "sent", "refused", "retry"


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | refused | retry
    provider_id: str | None = None
    error: str | None = None


class Sender(Protocol):
    def send(self, *, phone: str, text: str, encoding: str, reference: str) -> Outcome: ...


class HttpGateway:
    """An SMS gateway reached over HTTP(S) with a JSON body (see the module docstring)."""

    def __init__(self, url: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None) -> None:
        self.url, self.timeout, self.headers = url, timeout, dict(headers or {})

    def send(self, *, phone: str, text: str, encoding: str, reference: str) -> Outcome:
        body = json.dumps({"to": phone, "text": text, "encoding": encoding, "reference": reference}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                answer = _json(response.read())
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code}: {exc.read()[:200].decode('utf-8', 'replace')}"
            return Outcome(REFUSED if 400 <= exc.code < 500 else RETRY, error=detail[:300])
        except TimeoutError:
            return Outcome(RETRY, error="time-out")
        except (urllib.error.URLError, OSError) as exc:
            return Outcome(RETRY, error=f"connection: {exc}"[:300])
        provider_id = answer.get("id") if isinstance(answer, dict) else None
        return Outcome(SENT, provider_id=str(provider_id)[:100] if provider_id is not None else None)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def sender_from_config(config: Mapping[str, Any]) -> Sender | None:
    """The configured sender; None (the default) when no gateway is configured: notices are exported."""
    url = config.get("SMS_GATEWAY_URL")
    if not url:
        return None
    token = config.get("SMS_GATEWAY_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return HttpGateway(url, timeout=float(config.get("SMS_GATEWAY_TIMEOUT") or 10), headers=headers)
