"""The one HTTP client every connector uses: timeouts, retries, Retry-After, rate limits, paging,
the host allow-list and the transient/permanent classification of failures.

Usage, for connector authors::

    from connectors.http import HttpClient, RateLimit

    client = HttpClient(
        settings.base_url,                       # checked against PARITY_CONNECTOR_ALLOWED_HOSTS
        auth=httpx.BasicAuth(key, secret),       # or headers={"api-auth-accountid": ...}
        rate_limit=RateLimit(60, 60.0),          # e.g. Cin7: 60 calls a minute per credential
        rate_key=settings.name,                  # the bucket is shared by every client of this key
    )
    orders = client.get_json("/wp-json/wc/v3/orders/1")
    for page in client.pages("/wp-json/wc/v3/orders", params={"status": "any"}, size=100,
                             total_pages="X-WP-TotalPages", unique_by=lambda o: o["id"]):
        progress(page.number, page.total_pages)  # page.items: the records of this page
    for page in client.cursor_pages("/orders", cursor_param="after",
                                    next_cursor=lambda response, body: body.get("next")):
        ...
    root = client.get_xml("/prima/ws", params=...)   # ElementTree element
    body = client.post_json("/graphql", json={...}, idempotent=True)   # a read over POST
    client.requests                                   # requests sent, retries included

A connector class says how its client is built by overriding `Connector.client_options(settings)`
(auth, headers, rate_limit, timeouts); `client_for(settings)` builds it, with the rate limit
bucket keyed by the credential, and `connector_for(settings)` gives the connector over it.

- Every failure is a `connectors.base.ConnectorError`: `permanent=True` for 400/401/403/404/other
  4xx, redirects, malformed JSON or XML and refused URLs; `permanent=False` for timeouts, network
  errors, 5xx and 429 once the retries are spent. `status` holds the HTTP status when there was one.
- GET/HEAD/PUT/DELETE are retried; POST only with `idempotent=True` (reads over POST such as
  GraphQL, or pushes carrying an idempotency key).
- Retries come from httpx-retries (exponential backoff with jitter, Retry-After in seconds or as an
  HTTP-date on 429/503); `sleep` is injectable so tests need not wait.
- Every request, retries included, takes a token from the per-credential bucket first and is
  checked against the allow-list, so neither a retry nor a "next" link can bypass either.
- Error messages never include query strings (some APIs take keys there) or credentials.
- An answer larger than PARITY_CONNECTOR_MAX_RESPONSE_MB (default 20) is refused as it arrives
  (its Content-Length, else the bytes read so far): a permanent failure, never a process that
  eats its memory.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from httpx_retries import Retry, retry_request

from connectors.base import ConnectionSettings, Connector, ConnectorError, connector_class


class _RedactQueries(logging.Filter):
    """httpx logs each request's URL at INFO; some APIs take keys in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                safe_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


# On the logger itself, so it holds whatever the deployer's LOGGING says.
logging.getLogger("httpx").addFilter(_RedactQueries())

DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_ALLOWED_SCHEMES = ("http", "https")
# 408 and every 5xx are worth another try, as is 429 once its Retry-After has passed.
RETRY_STATUSES = frozenset([408, 429, *range(500, 600)])

Sleep = Callable[[float], None]
# Real API pages are kilobytes to a few megabytes; this is far above them and far below trouble.
DEFAULT_MAX_RESPONSE_MB = 20


def max_response_bytes() -> int:
    megabytes = getattr(settings, "PARITY_CONNECTOR_MAX_RESPONSE_MB", DEFAULT_MAX_RESPONSE_MB)
    return int(megabytes) * 1024 * 1024


class ResponseTooLarge(Exception):
    """An answer went over the client's size cap (not an httpx error: never retried)."""


class _CappedStream(httpx.SyncByteStream):
    """The transport's byte stream, stopped once more than `limit` bytes have come."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self.inner:
            received += len(chunk)
            if received > self.limit:
                raise ResponseTooLarge(f"more than {self.limit:,} bytes sent")
            yield chunk

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Timeouts:
    """Seconds: connecting, waiting for each read, writing, waiting for a pooled connection."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


# -- the host allow-list -------------------------------------------------------------------------


def allowed_hosts() -> list[str]:
    return [h.lower() for h in getattr(settings, "PARITY_CONNECTOR_ALLOWED_HOSTS", None) or []] or [
        *DEFAULT_ALLOWED_HOSTS
    ]


def allowed_schemes() -> list[str]:
    configured = getattr(settings, "PARITY_CONNECTOR_ALLOWED_SCHEMES", None)
    return [s.lower() for s in configured or DEFAULT_ALLOWED_SCHEMES]


def host_allowed(host: str, patterns: list[str]) -> bool:
    """`host` matches an entry exactly, or a `*.example.com` entry as a subdomain."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def check_url(url: str | httpx.URL) -> httpx.URL:
    """The URL, parsed, if the deployer's allow-list admits it; else a permanent ConnectorError.

    The check is on the name as written, not on what it resolves to: the deployer lists the
    systems' own host names, and loopback only by default, so a connection cannot be pointed at
    a database, a metadata service or an admin port on the internal network.
    """
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConnectorError("the base URL is not a valid URL", permanent=True) from None
    if parsed.scheme.lower() not in allowed_schemes():
        raise ConnectorError(
            f"scheme {parsed.scheme or '(none)'!r} is not allowed for connections "
            f"(allowed: {', '.join(allowed_schemes())})",
            permanent=True,
        )
    if parsed.userinfo:
        # Credentials belong in the encrypted credentials, not in a URL that is shown and logged.
        raise ConnectorError(
            "the base URL must not contain a user name or password", permanent=True
        )
    if not parsed.host or not host_allowed(parsed.host, allowed_hosts()):
        raise ConnectorError(
            f"host {parsed.host or '(none)'!r} is not in PARITY_CONNECTOR_ALLOWED_HOSTS",
            permanent=True,
        )
    return parsed


def safe_url(url: httpx.URL) -> str:
    """A URL for messages: no query string (API keys travel there), no user info."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


# -- rate limiting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` requests in any window of `period` seconds.

    The token bucket holds `burst` tokens and refills at (calls - burst) / period a second, so a
    full bucket plus one period's refill is exactly `calls`: no window ever sees more.
    """

    calls: int
    period: float = 60.0
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.calls < 1 or self.period <= 0:
            raise ValueError("a rate limit needs calls >= 1 and period > 0")
        if self.burst is not None and not 1 <= self.burst <= max(1, self.calls - 1):
            raise ValueError("burst must be at least 1 and below calls")

    @property
    def capacity(self) -> int:
        if self.burst is not None:
            return self.burst
        return max(1, self.calls // 10) if self.calls > 1 else 1

    @property
    def refill_per_second(self) -> float:
        # One call a period: the single token comes back once the period has passed.
        return max(self.calls - self.capacity, 1) / self.period


class TokenBucket:
    """A thread-safe token bucket; `acquire()` waits (with the caller's sleep) for a token."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens = float(limit.capacity)
        self._stamp = clock()

    def reserve(self) -> float:
        """Take a token now, possibly on credit; the seconds to wait before using it."""
        with self._lock:
            now = self.clock()
            rate = self.limit.refill_per_second
            self._tokens = min(self.limit.capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            self._tokens -= 1
            # Waiters queue up by going into debt, so threads are served in arrival order.
            return 0.0 if self._tokens >= 0 else -self._tokens / rate

    def acquire(self, sleep: Sleep = time.sleep) -> float:
        wait = self.reserve()
        if wait > 0:
            sleep(wait)
        return wait


_BUCKETS: dict[tuple[str, RateLimit], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(key: str, limit: RateLimit) -> TokenBucket:
    """The process-wide bucket for one credential: every client and thread of it shares it."""
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get((key, limit))
        if bucket is None:
            bucket = _BUCKETS[(key, limit)] = TokenBucket(limit)
        return bucket


def credential_key(base_url: str, credentials: Mapping[str, str]) -> str:
    """A bucket key for a credential that does not reveal it (the limit is per credential)."""
    digest = hashlib.sha256(base_url.encode())
    for name in sorted(credentials):
        digest.update(f"\0{name}\0{credentials[name]}".encode())
    return digest.hexdigest()[:32]


# -- retries -------------------------------------------------------------------------------------


class _Retry(Retry):
    """httpx-retries' policy with an injectable sleep (tests) and a record of what was waited."""

    def __init__(self, *args: Any, sleeper: Sleep = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleeper = sleeper

    def copy_with(self, **kwargs: Any) -> _Retry:
        copy = super().copy_with(**kwargs)
        copy.sleeper = self.sleeper
        return copy

    def wait_for(self, outcome: httpx.Response | Exception) -> float:
        """Retry-After (seconds or HTTP-date) when the server sent one, else backoff with jitter."""
        if isinstance(outcome, httpx.Response) and self.respect_retry_after_header:
            header = outcome.headers.get("Retry-After", "").strip()
            if header:
                try:
                    return min(self.parse_retry_after(header), self.max_backoff_wait)
                except ValueError:
                    pass  # unreadable: fall back to our own backoff
        return self.backoff_strategy()

    def sleep(self, response: httpx.Response | Exception) -> None:
        seconds = self.wait_for(response)
        if self.total_timeout is not None:
            seconds = min(seconds, max(0.0, self.total_timeout - self.elapsed_sleep))
        if seconds > 0:
            self.sleeper(seconds)
        self.elapsed_sleep += seconds


class _GuardedTransport(httpx.BaseTransport):
    """Under the retry loop, so every attempt is checked, rate limited and counted."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        bucket: TokenBucket | None,
        sleep: Sleep,
        on_request: Callable[[], None],
        max_bytes: int,
    ) -> None:
        self.inner = inner
        self.bucket = bucket
        self.sleep = sleep
        self.on_request = on_request
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url)
        if self.bucket is not None:
            self.bucket.acquire(self.sleep)
        self.on_request()
        response = self.inner.handle_request(request)
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            response.close()
            raise ResponseTooLarge(f"{int(length):,} bytes announced")
        # Counted as read, for answers without a length (chunked, or until the server closes).
        response.stream = _CappedStream(response.stream, self.max_bytes)
        return response

    def close(self) -> None:
        self.inner.close()


# -- paging --------------------------------------------------------------------------------------

TotalFrom = str | Callable[[httpx.Response, Any], int | None] | None


@dataclass
class Page:
    """One page of a listing: its records, and the totals when the API gives them."""

    number: int
    items: list[Any]
    total_pages: int | None = None
    total_records: int | None = None
    duplicates: int = 0  # records dropped because an earlier page already had them
    body: Any = None


def _total(source: TotalFrom, response: httpx.Response, body: Any) -> int | None:
    if source is None:
        return None
    if callable(source):
        return source(response, body)
    value = response.headers.get(source, "").strip()
    return int(value) if value.isdigit() else None


def _default_items(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    raise ConnectorError("expected a JSON list of records", permanent=True)


# -- the client ----------------------------------------------------------------------------------


class HttpClient:
    """One connection's HTTP client. Thread-safe; close it (or use `with`) when done."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass, safe as a default
        retries: int = 4,
        backoff: float = 0.5,
        jitter: float = 0.5,
        max_wait: float = 60.0,
        total_wait: float = 300.0,
        rate_limit: RateLimit | None = None,
        rate_key: str | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.base_url = check_url(base_url)
        self.max_bytes = max_bytes if max_bytes is not None else max_response_bytes()
        self.requests = 0
        self.sleep = sleep
        self._lock = threading.Lock()
        bucket = None
        if rate_limit is not None:
            bucket = shared_bucket(rate_key or safe_url(self.base_url), rate_limit)
        self.bucket = bucket
        self.retry = _Retry(
            total=retries,
            backoff_factor=backoff,
            backoff_jitter=jitter,
            max_backoff_wait=max_wait,
            total_timeout=total_wait,
            status_forcelist=RETRY_STATUSES,
            sleeper=sleep,
        )
        guarded = _GuardedTransport(
            transport or httpx.HTTPTransport(),
            bucket=bucket,
            sleep=sleep,
            on_request=self._count,
            max_bytes=self.max_bytes,
        )
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            auth=auth,
            timeout=timeouts.to_httpx(),
            transport=guarded,
            follow_redirects=False,  # a redirect could lead off the allow-list; refuse it instead
        )

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    # -- requests ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send with retries; the final 2xx response, or ConnectorError."""
        retry = self.retry
        if idempotent:
            retry = retry.copy_with(allowed_methods=[*retry.allowed_methods, method.upper()])
        url = self._client.build_request(method, path).url
        try:
            response = retry_request(
                self._client,
                method,
                path,
                params=params,
                json=json,
                content=content,
                headers=headers,
                retry=retry,
            )
        except ConnectorError:
            raise
        except ResponseTooLarge as exc:
            raise ConnectorError(
                f"{method} {safe_url(url)}: the answer is larger than the "
                f"{self.max_bytes / 1024 / 1024:g} MB limit ({exc}); refused "
                "(PARITY_CONNECTOR_MAX_RESPONSE_MB)",
                permanent=True,
            ) from None
        except httpx.TimeoutException as exc:
            raise ConnectorError(
                f"{method} {safe_url(url)}: timed out ({type(exc).__name__}) after retries"
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects) as exc:
            raise ConnectorError(
                f"{method} {safe_url(url)}: {type(exc).__name__}", permanent=True
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(
                f"{method} {safe_url(url)}: {type(exc).__name__} after retries"
            ) from None
        return self._classify(method, response)

    def _classify(self, method: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        where = f"{method} {safe_url(response.request.url)}"
        detail = _error_detail(response)
        if status in RETRY_STATUSES:
            raise ConnectorError(
                f"{where}: HTTP {status}{detail} after retries", permanent=False, status=status
            )
        if 300 <= status < 400:
            message = f"{where}: HTTP {status} redirect not followed (check the base URL)"
        elif status in (401, 403):
            message = f"{where}: HTTP {status}, credentials refused{detail}"
        else:
            message = f"{where}: HTTP {status}{detail}"
        raise ConnectorError(message, permanent=True, status=status)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return parse_json(self.get(path, **kwargs))

    def post_json(self, path: str, **kwargs: Any) -> Any:
        return parse_json(self.post(path, **kwargs))

    def get_xml(self, path: str, **kwargs: Any) -> ET.Element:
        return parse_xml(self.get(path, **kwargs))

    def post_xml(self, path: str, **kwargs: Any) -> ET.Element:
        return parse_xml(self.post(path, **kwargs))

    # -- paging -----------------------------------------------------------------------------------

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        page_param: str = "page",
        size_param: str = "per_page",
        size: int = 100,
        first: int = 1,
        items: Callable[[Any], list[Any]] = _default_items,
        total_pages: TotalFrom = "X-WP-TotalPages",
        total_records: TotalFrom = "X-WP-Total",
        unique_by: Callable[[Any], Any] | None = None,
        max_pages: int = 100_000,
    ) -> Iterator[Page]:
        """Numbered pages until the last: the total when the API gives one (a header name, or a
        callable reading the response and body), else the first short page.

        `unique_by` drops records an earlier page already returned (offset paging repeats
        records when the listing shifts under it); `Page.duplicates` counts them.
        """
        seen: set[Any] = set()
        number = first
        while number - first < max_pages:
            query = {**(params or {}), page_param: number, size_param: size}
            response = self.get(path, params=query)
            body = parse_json(response)
            records = items(body)
            pages_total = _total(total_pages, response, body)
            page = Page(
                number=number,
                items=records,
                total_pages=pages_total,
                total_records=_total(total_records, response, body),
                body=body,
            )
            if unique_by is not None:
                page.items, page.duplicates = _unique(records, unique_by, seen)
            yield page
            if not records or (pages_total is not None and number - first + 1 >= pages_total):
                return
            if pages_total is None and len(records) < size:
                return
            number += 1
        raise ConnectorError(f"{path}: more than {max_pages} pages; stopping", permanent=True)

    def cursor_pages(
        self,
        path: str,
        *,
        next_cursor: Callable[[httpx.Response, Any], str | None],
        params: Mapping[str, Any] | None = None,
        cursor_param: str = "cursor",
        items: Callable[[Any], list[Any]] = _default_items,
        total_records: TotalFrom = None,
        unique_by: Callable[[Any], Any] | None = None,
        max_pages: int = 100_000,
    ) -> Iterator[Page]:
        """Pages linked by a cursor: `next_cursor(response, body)` gives the next one or None."""
        seen: set[Any] = set()
        cursor: str | None = None
        for number in range(1, max_pages + 1):
            query = {**(params or {})}
            if cursor is not None:
                query[cursor_param] = cursor
            response = self.get(path, params=query)
            body = parse_json(response)
            records = items(body)
            page = Page(
                number=number,
                items=records,
                total_records=_total(total_records, response, body),
                body=body,
            )
            if unique_by is not None:
                page.items, page.duplicates = _unique(records, unique_by, seen)
            yield page
            following = next_cursor(response, body)
            if not following or following == cursor or not records:
                return
            cursor = following
        raise ConnectorError(f"{path}: more than {max_pages} pages; stopping", permanent=True)

    # -- lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpClient({safe_url(self.base_url)!r})"


def _unique(records: list[Any], key: Callable[[Any], Any], seen: set[Any]) -> tuple[list[Any], int]:
    kept = []
    for record in records:
        try:
            identity = key(record)
        except (KeyError, TypeError, IndexError):
            kept.append(record)  # no readable id: the connector quarantines it
            continue
        if identity in seen:
            continue
        seen.add(identity)
        kept.append(record)
    return kept, len(records) - len(kept)


def _error_detail(response: httpx.Response) -> str:
    """A short reason from an error body's usual fields, never the raw body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for name in ("message", "error_description", "error", "code"):
            value = body.get(name)
            if isinstance(value, str) and value:
                return f" ({value[:160]})"
    return ""


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON; a body that is not JSON is a permanent failure (retrying won't fix it)."""
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise ConnectorError(
            f"{response.request.method} {safe_url(response.request.url)}: malformed JSON "
            f"in the answer ({len(response.content)} bytes)",
            permanent=True,
            status=response.status_code,
        ) from None


def parse_xml(response: httpx.Response) -> ET.Element:
    """The body as XML. Documents with a DTD are refused: no entity expansion from a server."""
    where = f"{response.request.method} {safe_url(response.request.url)}"
    if b"<!DOCTYPE" in response.content[:4096].upper() or b"<!ENTITY" in response.content.upper():
        raise ConnectorError(f"{where}: XML with a DTD refused", permanent=True)
    try:
        return ET.fromstring(response.content)
    except (ET.ParseError, LookupError, ValueError) as exc:  # an unknown or multi-byte encoding
        raise ConnectorError(
            f"{where}: malformed XML in the answer ({exc})",
            permanent=True,
            status=response.status_code,
        ) from None


def client_for(settings: ConnectionSettings, **overrides: Any) -> HttpClient:
    """The HTTP client for a connection, as its connector class asks (`client_options`)."""
    options = {**connector_class(settings.kind).client_options(settings), **overrides}
    options.setdefault("rate_key", credential_key(settings.base_url, settings.credentials))
    return HttpClient(settings.base_url, **options)


def connector_for(settings: ConnectionSettings, **overrides: Any) -> Connector:
    """A connector for a connection over its own client (close it with `connector.client.close()`)."""
    return connector_class(settings.kind)(settings, client_for(settings, **overrides))
