"""The client's address for login throttling (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind PARITY_TRUSTED_PROXIES reverse proxies every request comes from the nearest proxy, so the
client is read from X-Forwarded-For, counted from the right: each trusted proxy appends the
address it saw, while anything to the left of those came from the client and may be forged.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    trusted = int(getattr(settings, "PARITY_TRUSTED_PROXIES", 0))
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return remote  # not through the proxies as configured: the connecting address it is
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # a proxy that appends no address (e.g. "unknown"): do not store garbage
