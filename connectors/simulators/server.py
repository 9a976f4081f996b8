"""The simulator framework: a threaded HTTP server on loopback serving one system's API over a world.

A simulator is a `SimulatorApp` subclass in `connectors/simulators/<kind>.py`, registered with
`@register`. It declares its routes with `@route`, says how a request authenticates, and builds
its answers from the world (a `Bundle`)::

    from connectors.simulators.server import (
        SimRequest, SimResponse, SimulatorApp, json_response, register, route,
    )

    @register
    class WooCommerceSimulator(SimulatorApp):
        kind = "woocommerce"
        role = "store"                      # the world's role this system serves

        def load(self, world):              # index the world once (also on handle.load(...))
            super().load(world)
            self.orders = self.rows("orders")   # plain dicts: money Decimal, times datetime

        def authenticate(self, request):    # a credential id (rate limits are per credential)
            key, secret = request.basic_auth() or (None, None)
            return key if (key, secret) == (self.credentials["consumer_key"], ...) else None

        @route("GET", "/wp-json/wc/v3/orders")
        def list_orders(self, request):
            page, pages = self.paginate(self.orders, request.int("page", 1),
                                        request.int("per_page", 10))
            return json_response(page, headers={"X-WP-TotalPages": str(pages)})

        @route("GET", "/wp-json/wc/v3/orders/{id}")
        def get_order(self, request, id):
            ...

        @route("POST", "/oauth/token", public=True)   # public: no authenticate(), no expiry
        def token(self, request): ...

The server applies the shared faults (`Faults`) around every route, so each simulator gets them
for free: latency, hangs (timeouts), 5xx, 429 with Retry-After (seconds or HTTP-date), malformed
bodies (JSON or XML, cut in half), garbage bodies, truncated transfers (the length announced, half
sent), oversized answers (padded to tens of megabytes), duplicated pages (through
`self.paginate`), expired credentials (401 for every authenticated route) and a per-credential
rate limit. Set them at start, on the
handle (`handle.set_faults(fail_next=2)`) or over HTTP (`POST /__sim__/faults` with a JSON object,
loopback only; `GET /__sim__/stats`; `POST /__sim__/reset`).

Start one in a test::

    handle = start_simulator("woocommerce", bundle, credentials={...}, rate_limit=10)
    handle.url; handle.requests; handle.app; handle.set_faults(...); handle.stop()
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import logging
import pkgutil
import random
import re
import threading
import time
from base64 import b64decode
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from reconciliation.frames import MONEY, SCHEMAS, TIME, Bundle, money_str

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/__sim__/"


# -- faults --------------------------------------------------------------------------------------


# What a broken proxy or a crashed server may send with a 200: no format a client can read.
GARBAGE = b"\x89\xfe\x00<html><body>502 Bad Gateway</body></html>\x13\x37"


@dataclass
class Faults:
    """Switches every simulator honours. `*_next` counters are exact (tests); `*_rate` are random
    (seeded by `seed`, for demos and benches)."""

    latency: float = 0.0  # seconds added before every answer
    hang_next: int = 0  # the next N requests hang (the client's read timeout fires)
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    fail_next: int = 0  # the next N requests answer `error_status`
    fail_after: int = -1  # after N more good answers, every request fails (-1: off)
    error_rate: float = 0.0
    error_status: int = 503
    throttle_next: int = 0  # the next N requests answer 429 with Retry-After
    retry_after: float = 1.0  # seconds sent in Retry-After (429s and rate limiting)
    retry_after_date: bool = False  # send Retry-After as an HTTP-date instead of seconds
    malformed_next: int = 0  # the next N answers have their body cut in half
    malformed_rate: float = 0.0
    garbage_next: int = 0  # the next N answers are bytes in no format at all (status kept)
    truncate_next: int = 0  # the next N answers announce their length, send half and hang up
    oversize_next: int = 0  # the next N answers are padded to `oversize_mb`
    oversize_mb: float = 50.0
    oversize_length: bool = False  # announce the padded length (else none: read until close)
    spare_next: int = 0  # the next N good answers escape the four faults above (aim at page N+1)
    duplicate_pages: bool = False  # each page repeats the previous page's last record
    expired_credentials: bool = False  # every authenticated route answers 401
    rate_limit: int = 0  # requests per credential per `rate_period` (0: unlimited)
    rate_period: float = 60.0
    rate_status: int = 429  # what exceeding the limit answers (Cin7 also uses 503)
    seed: int = 0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def coerce(cls, name: str, value: Any) -> Any:
        """A value for field `name` from JSON or a command line string."""
        if name not in cls.names():
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(cls.names())})")
        kind = type(getattr(cls(), name))
        if kind is bool and isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return kind(value)


# -- requests and responses ----------------------------------------------------------------------


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str
    credential: str | None = None  # what authenticate() returned

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int(self, name: str, default: int) -> int:
        value = self.arg(name)
        try:
            return int(value) if value is not None else default
        except ValueError:
            raise HttpError(400, f"{name} must be an integer") from None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise HttpError(400, "request body is not JSON") from None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def bearer(self) -> str | None:
        value = self.header("Authorization") or ""
        return value[7:].strip() if value.lower().startswith("bearer ") else None

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.header("Authorization") or ""
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, password = b64decode(value[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False  # send half the body, then close (faults)
    pad_to: int = 0  # bytes to pad the body to with whitespace, streamed (faults)


class HttpError(Exception):
    """Raise from a route to answer an error (JSON body {"code", "message"})."""

    def __init__(self, status: int, message: str, *, code: str = "", headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or HTTPStatus(status).phrase.lower().replace(" ", "_")
        self.headers = headers or {}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> SimResponse:
    """JSON; Decimals as strings, datetimes as ISO 8601."""
    data = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
    return SimResponse(status, data, "application/json; charset=utf-8", dict(headers or {}))


def xml_response(
    body: str | bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> SimResponse:
    data = body.encode() if isinstance(body, str) else body
    return SimResponse(status, data, "application/xml; charset=utf-8", dict(headers or {}))


def text_response(
    body: str, status: int = 200, content_type: str = "text/plain; charset=utf-8"
) -> SimResponse:
    return SimResponse(status, body.encode(), content_type)


# -- routing and registration --------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: str
    public: bool


def route(method: str, path: str, *, public: bool = False) -> Callable[[Callable], Callable]:
    """Mark a method as the handler of `method path`; `{name}` segments become keyword args."""
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if odd else re.escape(part)
        for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
    )

    def mark(func: Callable) -> Callable:
        func._sim_routes = [*getattr(func, "_sim_routes", []), (method.upper(), regex, public)]
        return func

    return mark


SIMULATORS: dict[str, type[SimulatorApp]] = {}


def register(cls: type[SimulatorApp]) -> type[SimulatorApp]:
    """Class decorator: make a simulator kind available to start_simulator and `manage.py simulate`."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    SIMULATORS[cls.kind] = cls
    return cls


def simulator_class(kind: str) -> type[SimulatorApp]:
    """The registered simulator; `connectors.simulators.<kind>` is imported on demand, and failing
    that every simulator module (a kind may live in a module of another name, e.g. cin7_core)."""
    if kind not in SIMULATORS:
        try:
            importlib.import_module(f"connectors.simulators.{kind}")
        except ModuleNotFoundError as exc:
            if exc.name != f"connectors.simulators.{kind}":
                raise
    if kind not in SIMULATORS:
        load_simulators()
    try:
        return SIMULATORS[kind]
    except KeyError:
        raise LookupError(f"no simulator for {kind!r}") from None


def load_simulators() -> dict[str, type[SimulatorApp]]:
    """Import every module of connectors.simulators; the registry of all simulators."""
    package = importlib.import_module("connectors.simulators")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "server":
            importlib.import_module(f"connectors.simulators.{module.name}")
    return SIMULATORS


# -- the app base --------------------------------------------------------------------------------


class SimulatorApp:
    """One system's API over a world. Subclasses set `kind` and `role` and add `@route` methods."""

    kind: ClassVar[str] = ""
    role: ClassVar[str] = ""
    routes: ClassVar[list[Route]] = []
    # Credentials the simulator accepts unless start_simulator(credentials=...) says otherwise.
    default_credentials: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: list[Route] = []
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                for method, regex, public in getattr(member, "_sim_routes", []):
                    found.append(Route(method, re.compile(f"^{regex}$"), name, public))
        cls.routes = found

    def __init__(
        self,
        world: Bundle,
        *,
        credentials: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.credentials = dict(credentials or self.default_credentials)
        self.options = dict(options or {})
        self.faults = Faults()  # the server's own object, set by the server before any request
        self.lock = threading.RLock()  # for apps whose routes change their state
        self.load(world)

    def load(self, world: Bundle) -> None:
        """Take a (new) world; override to index it, calling super().load(world) first."""
        self.world = world

    def authenticate(self, request: SimRequest) -> str | None:
        """The credential's id when the request's auth is good, else None (answered 401)."""
        return "anonymous"

    # -- helpers for routes --------------------------------------------------------------------

    def frame(self, file: str) -> pd.DataFrame | None:
        return self.world.frame(self.role, file)

    def rows(self, file: str, role: str | None = None) -> list[dict[str, Any]]:
        """A world file as dicts of plain values: money Decimal, times aware datetimes, NA None."""
        frame = self.world.frame(role or self.role, file)
        return frame_records(frame, file) if frame is not None else []

    def paginate(self, items: list[Any], page: int, per_page: int) -> tuple[list[Any], int]:
        """One page and the page count; with `duplicate_pages`, page k repeats page k-1's last."""
        return page_window(items, page, per_page, overlap=self.faults.duplicate_pages)

    def handle(self, request: SimRequest) -> SimResponse:
        """Dispatch to a route (the server calls this after applying the faults)."""
        allowed = []
        for candidate in self.routes:
            match = candidate.pattern.match(request.path)
            if not match:
                continue
            allowed.append(candidate.method)
            if candidate.method == request.method:
                return self._call(candidate, request, match.groupdict())
        if allowed:
            raise HttpError(405, f"{request.method} not allowed here")
        raise HttpError(404, f"no route for {request.path}")

    def route_for(self, request: SimRequest) -> Route | None:
        for candidate in self.routes:
            if candidate.method == request.method and candidate.pattern.match(request.path):
                return candidate
        return None

    def _call(self, candidate: Route, request: SimRequest, args: dict[str, str]) -> SimResponse:
        return getattr(self, candidate.handler)(request, **args)

    def error_body(self, error: HttpError) -> SimResponse:
        """How this system spells an error; JSON by default, override for XML systems."""
        return json_response(
            {"code": error.code, "message": str(error)}, error.status, headers=error.headers
        )


def frame_records(frame: pd.DataFrame, file: str) -> list[dict[str, Any]]:
    schema = SCHEMAS.get(file, {})
    columns = {}
    for col in frame.columns:
        kind = schema.get(col)
        series = frame[col]
        if kind == MONEY:
            # Plain decimals with at least two places ("190.00"), never exponents ("1.9E+2").
            values = [
                None if (text := money_str(v)) is None else Decimal(text)
                for v in series.astype(object)
            ]
        elif kind == TIME:
            values = [
                None if pd.isna(v) else v.to_pydatetime() for v in pd.to_datetime(series, utc=True)
            ]
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
        columns[col] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def page_window(
    items: list[Any], page: int, per_page: int, *, overlap: bool = False
) -> tuple[list[Any], int]:
    """Page `page` (from 1) of `items` and the number of pages.

    With `overlap`, page k ≥ 2 starts at the previous page's last record, as an offset listing
    does when a record is inserted ahead of the cursor: nothing is lost, one record per page is
    seen twice, and the page count grows to fit.
    """
    per_page = max(per_page, 1)
    total = len(items)
    if not overlap or per_page == 1:
        pages = -(-total // per_page)
        start = (page - 1) * per_page
    else:
        step = per_page - 1
        pages = 1 + -(-max(total - per_page, 0) // step) if total else 0
        start = 0 if page <= 1 else (page - 1) * step
    if page < 1 or page > pages or start >= total:
        return [], pages
    return items[start : start + per_page], pages


# -- the server ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging request must not keep stop() waiting
    allow_reuse_address = True


class Simulator:
    """A running simulator: an app behind a loopback HTTP server with shared faults."""

    def __init__(self, app: SimulatorApp, *, port: int = 0, host: str = LOOPBACK) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("simulators listen on loopback only")
        self.app = app
        self.faults = app.faults
        self.requests = 0
        self.log: deque[tuple[float, str, str, int, str | None]] = deque(maxlen=200_000)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._random = random.Random(self.faults.seed)
        self._server = _Server((host, port), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"simulator-{app.kind}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Simulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging requests
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> Faults:
        with self._lock:
            for name, value in changes.items():
                setattr(self.faults, name, Faults.coerce(name, value))
            if "seed" in changes:
                self._random.seed(self.faults.seed)
            return replace(self.faults)

    def reset(self) -> None:
        """Faults off, counters and rate windows cleared."""
        with self._lock:
            for name, value in asdict(Faults()).items():
                setattr(self.faults, name, value)
            self.requests = 0
            self.log.clear()
            self._windows.clear()
            self._random.seed(0)

    def load(self, world: Bundle) -> None:
        with self.app.lock:
            self.app.load(world)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            statuses: dict[str, int] = defaultdict(int)
            for entry in self.log:
                statuses[str(entry[3])] += 1
            return {
                "kind": self.app.kind,
                "requests": self.requests,
                "statuses": dict(statuses),
                "faults": asdict(self.faults),
            }

    def max_in_window(self, seconds: float, statuses: Iterable[int] | None = None) -> int:
        """The most requests seen in any window of `seconds` (for rate-limit assertions)."""
        wanted = set(statuses) if statuses is not None else None
        stamps = sorted(e[0] for e in self.log if wanted is None or e[3] in wanted)
        best, first = 0, 0
        for last, stamp in enumerate(stamps):
            while stamp - stamps[first] >= seconds:
                first += 1
            best = max(best, last - first + 1)
        return best

    # -- the request path ------------------------------------------------------------------------

    def _take(self, counter: str, rate: str) -> bool:
        """Consume one from a `*_next` counter, or draw against a `*_rate`."""
        with self._lock:
            remaining = getattr(self.faults, counter)
            if remaining > 0:
                setattr(self.faults, counter, remaining - 1)
                return True
            chance = getattr(self.faults, rate) if rate else 0.0
            return chance > 0 and self._random.random() < chance

    def _exhausted(self) -> bool:
        """`fail_after`: count down the good answers left, then fail for good."""
        with self._lock:
            if self.faults.fail_after < 0:
                return False
            if self.faults.fail_after == 0:
                return True
            self.faults.fail_after -= 1
            return False

    def _retry_after(self, seconds: float) -> dict[str, str]:
        if self.faults.retry_after_date:
            moment = datetime.fromtimestamp(time.time() + seconds, tz=UTC)
            return {"Retry-After": format_datetime(moment, usegmt=True)}
        return {"Retry-After": str(max(int(seconds + 0.999), 0))}

    def _rate_limited(self, credential: str) -> float:
        """0 when the request fits the credential's window; else seconds until it would."""
        limit = self.faults.rate_limit
        if limit <= 0:
            return 0.0
        period = self.faults.rate_period
        now = time.monotonic()
        with self._lock:
            window = self._windows[credential]
            while window and now - window[0] >= period:
                window.popleft()
            if len(window) >= limit:
                return period - (now - window[0])
            window.append(now)
            return 0.0

    def respond(self, request: SimRequest) -> SimResponse:
        """Faults, then authentication and the route, then body corruption."""
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        if self._take("hang_next", "hang_rate"):
            self._stopping.wait(self.faults.hang_seconds)
            return SimResponse(504, b'{"code":"hung"}')
        if self._take("fail_next", "error_rate") or self._exhausted():
            status = self.faults.error_status
            return self.app.error_body(HttpError(status, "simulated server error"))
        if self._take("throttle_next", ""):
            return self.app.error_body(
                HttpError(
                    429,
                    "simulated throttling",
                    code="rate_limited",
                    headers=self._retry_after(self.faults.retry_after),
                )
            )
        try:
            target = self.app.route_for(request)
            if target is not None and not target.public:
                if self.faults.expired_credentials:
                    raise HttpError(401, "the access token has expired", code="token_expired")
                credential = self.app.authenticate(request)
                if credential is None:
                    raise HttpError(401, "invalid credentials", code="unauthorized")
                request.credential = credential
                wait = self._rate_limited(credential)
                if wait > 0:
                    raise HttpError(
                        self.faults.rate_status,
                        "rate limit exceeded",
                        code="rate_limited",
                        headers=self._retry_after(wait),
                    )
            with self.app.lock:
                response = self.app.handle(request)
        except HttpError as error:
            response = self.app.error_body(error)
        if response.status >= 400 or self._take("spare_next", ""):
            return response
        if self._take("malformed_next", "malformed_rate"):
            response = replace(response, body=response.body[: len(response.body) // 2] or b"{")
        if self._take("garbage_next", ""):
            response = replace(response, body=GARBAGE)
        if self._take("truncate_next", ""):
            response = replace(response, truncate=True)
        if self._take("oversize_next", ""):
            size = max(int(self.faults.oversize_mb * 1024 * 1024), len(response.body))
            response = replace(response, pad_to=size)
            if self.faults.oversize_length:
                response.headers = {**response.headers, "Content-Length": str(size)}
        return response

    def _control(self, request: SimRequest) -> SimResponse:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        if action == "faults" and request.method == "POST":
            changes = request.json() or {}
            if not isinstance(changes, dict):
                raise HttpError(400, "send a JSON object of faults")
            try:
                return json_response(asdict(self.set_faults(**changes)))
            except (ValueError, TypeError) as exc:
                raise HttpError(400, str(exc)) from None
        if action == "faults":
            return json_response(asdict(self.faults))
        if action == "reset" and request.method == "POST":
            self.reset()
            return json_response({"reset": True})
        if action == "stats":
            return json_response(self.stats())
        raise HttpError(404, "unknown control endpoint")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs and httpx's pool expect
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms
            # for the client's delayed ACK.
            disable_nagle_algorithm = True
            server_version = f"parity-sim-{simulator.app.kind}"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = SimRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=self.headers,
                    body=body,
                    client=self.client_address[0],
                )
                if request.path.startswith(CONTROL_PREFIX):
                    response = simulator._serve_control(request)
                else:
                    with simulator._lock:
                        simulator.requests += 1
                    try:
                        response = simulator.respond(request)
                    except Exception:
                        logger.exception("simulator %s failed", simulator.app.kind)
                        response = json_response(
                            {"code": "internal_error", "message": "simulator bug"}, 500
                        )
                    simulator.log.append(
                        (
                            time.monotonic(),
                            request.method,
                            request.path,
                            response.status,
                            request.credential,
                        )
                    )
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    if "Content-Length" in response.headers:
                        pass  # announced by the fault itself
                    elif response.pad_to:
                        self.send_header("Connection", "close")  # the body ends when we close
                        self.close_connection = True
                    else:
                        self.send_header("Content-Length", str(len(response.body)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if self.command == "HEAD":
                        pass
                    elif response.truncate:
                        self.wfile.write(response.body[: len(response.body) // 2])
                        self.close_connection = True
                    elif response.pad_to:
                        self._write_padded(response.body, response.pad_to)
                    else:
                        self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout): fine

            def _write_padded(self, body: bytes, size: int) -> None:
                """The body with whitespace before its last byte (still valid JSON), in
                megabyte writes so the simulator never holds the whole answer."""
                self.wfile.write(body[:-1])
                remaining = max(size - len(body), 0)
                chunk = b" " * (1024 * 1024)
                while remaining > 0:
                    self.wfile.write(chunk[:remaining])
                    remaining -= len(chunk)
                self.wfile.write(body[-1:])

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                # The path without its query: clients may send keys there.
                path = urlsplit(self.path).path
                logger.debug("%s %s %s %s", simulator.app.kind, self.command, path, code)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("%s %s", simulator.app.kind, format % args)

        return Handler

    def _serve_control(self, request: SimRequest) -> SimResponse:
        if not ipaddress.ip_address(request.client).is_loopback:
            return json_response({"code": "forbidden"}, 403)
        try:
            return self._control(request)
        except HttpError as error:
            return json_response({"code": error.code, "message": str(error)}, error.status)


def start_simulator(
    kind: str,
    world: Bundle,
    *,
    port: int = 0,
    credentials: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    **faults: Any,
) -> Simulator:
    """A running simulator of `kind` serving `world` on loopback (port 0: any free port)."""
    app = simulator_class(kind)(world, credentials=credentials, options=options)
    simulator = Simulator(app, port=port)
    simulator.set_faults(**faults)
    return simulator.start()
