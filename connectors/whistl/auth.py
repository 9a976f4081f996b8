"""OAuth2 client credentials (RFC 6749 §4.4) as an httpx auth flow.

The token request goes through the connection's own client — so it is checked against the host
allow-list, rate limited and counted like any call — and a refused token request is answered as
it came (a 401 is a permanent failure, a 503 is retried by the client with its Retry-After).
A token is kept until shortly before it expires; an API call answered 401 fetches a new token
once and tries again (tokens can be revoked early), and a second 401 stands.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx

from connectors.base import ConnectorError

EARLY = 30.0  # seconds before expiry a token is renewed, so none expires in flight


class ClientCredentials(httpx.Auth):
    requires_response_body = True  # the token answer is read inside the flow

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.clock = clock
        self.tokens_fetched = 0
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _token_request(self, call: httpx.Request) -> httpx.Request:
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        # The call's timeouts (the client puts them on each request it builds) hold for the
        # token request too.
        request = httpx.Request("POST", self.token_url, data=data, extensions=call.extensions)
        # The client's id and secret in HTTP Basic auth, as RFC 6749 §2.3.1 prefers.
        return next(httpx.BasicAuth(self.client_id, self.client_secret).auth_flow(request))

    def _store(self, response: httpx.Response) -> str | None:
        """Keep and give the token of a good answer; None when the answer was a refusal."""
        if response.status_code != 200:
            return None
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(
                "the token endpoint answered without a readable access_token", permanent=True
            ) from None
        if not isinstance(token, str) or not token:
            raise ConnectorError(
                "the token endpoint answered an empty access_token", permanent=True
            )
        with self._lock:
            self._token = token
            self._expires = self.clock() + max(lifetime - EARLY, 0.0)
            self.tokens_fetched += 1
        return token

    def _current(self) -> str | None:
        with self._lock:
            return self._token if self._token and self.clock() < self._expires else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        if token is None:
            token = self._store((yield self._token_request(request)))
            if token is None:
                return  # the refusal is the answer: classified and retried by the client
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        # Revoked or expired early: one new token, one more try.
        token = self._store((yield self._token_request(request)))
        if token is None:
            return
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
