"""Twilio request signatures: which URL Twilio signed, and whether the signature matches."""

from __future__ import annotations

from typing import Any

from flask import Request
from twilio.request_validator import RequestValidator


def signed_url(request: Request, public_url: str = "") -> str:
    """The URL Twilio called, as it signed it, even behind a TLS-terminating proxy.

    A configured public base URL wins; else the proxy's X-Forwarded-Proto and -Host headers;
    else the request as it reached us.
    """
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    if public_url:
        return public_url.rstrip("/") + path
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username is not None:
        # Twilio signs a URL with basic-auth credentials in it, as it was configured.
        host = f"{auth.username}:{auth.password or ''}@{host}"
    return f"{proto}://{host}{path}"


def base_url(request: Request, public_url: str = "") -> str:
    """The scheme and host Twilio reaches us on, for absolute URLs in TwiML."""
    if public_url:
        return public_url.rstrip("/")
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}"


def is_signed(request: Request, auth_token: str, public_url: str = "") -> bool:
    """True when X-Twilio-Signature matches this request under `auth_token`."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    params: Any = request.form if request.method == "POST" else {}
    if "bodySHA256" in request.args:
        params = request.get_data(as_text=True)  # a JSON body is signed by its hash in the URL
    return bool(RequestValidator(auth_token).validate(signed_url(request, public_url), params, signature))
