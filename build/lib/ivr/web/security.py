"""Twilio request signatures: which URL Twilio signed, and whether the signature matches.

Twilio signs "the exact URL your application supplied to Twilio" and the parameters it sent,
GET or POST (https://www.twilio.com/docs/usage/webhooks/webhooks-security). A JSON body is
signed instead by its SHA-256 in the URL's `bodySHA256` (https://www.twilio.com/docs/api/errors/57012).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Request
from werkzeug.datastructures import MultiDict

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _forwarded(request: Request) -> tuple[str, str]:
    """The scheme and host the proxy says Twilio called (first X-Forwarded-* values), else the request's own."""
    # Lower-case, as Twilio's URLs and every signature checker spell a scheme.
    proto = (request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip() or request.scheme).lower()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or request.host
    return proto, host


def request_host(request: Request) -> str:
    """The host this request's URL names (X-Forwarded-Host, else Host), lower-cased for comparison."""
    return _forwarded(request)[1].lower()


def host_is_trusted(request: Request, trusted_hosts: Collection[str]) -> bool:
    """True when the host the request names is one of `trusted_hosts` (exactly, with its port if it has one)."""
    return request_host(request) in trusted_hosts


def signed_url(request: Request, public_url: str = "") -> str:
    """The URL Twilio called, as it signed it, even behind a TLS-terminating proxy.

    A configured public base URL wins; else the proxy's X-Forwarded-Proto and -Host headers;
    else the request as it reached us. Without a public URL, the caller must have checked the host.
    """
    query = request.query_string.decode("latin-1")
    path = _path_as_sent(request) + (f"?{query}" if query else "")
    if public_url:
        return public_url.rstrip("/") + path
    proto, host = _forwarded(request)
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username is not None:
        # Twilio signs a URL with basic-auth credentials in it, as it was configured.
        host = f"{auth.username}:{auth.password or ''}@{host}"
    return f"{proto}://{host}{path}"


def _path_as_sent(request: Request) -> str:
    """The path as the request line had it: werkzeug's `request.path` drops repeated leading slashes, Twilio's URL keeps them."""
    path = str(request.environ.get("PATH_INFO") or "").encode("latin-1").decode("utf-8", "replace")  # as werkzeug decodes it
    return path if path.startswith("/") else "/" + path


def base_url(request: Request, public_url: str = "") -> str:
    """The scheme and host Twilio reaches us on, for absolute URLs in TwiML."""
    if public_url:
        return public_url.rstrip("/")
    proto, host = _forwarded(request)
    return f"{proto}://{host}"


def signed_params(request: Request) -> Any:
    """What the signature must cover besides the URL, or None when the request cannot be checked.

    JSON: the raw body, whose hash is in the URL. POST: the form the handlers read. Any other
    method: nothing, so it may carry no body (a GET's form would otherwise reach the handlers unsigned).
    """
    if request.mimetype == "application/json":
        # The validator only checks the body when the URL carries a non-blank bodySHA256; without
        # one it would treat the body as form fields (and fail on a string).
        if not parse_qs(request.query_string.decode("latin-1")).get("bodySHA256"):
            return None
        try:
            return request.get_data().decode("utf-8")  # strict: two bodies must never hash alike
        except UnicodeDecodeError:
            return None
    if request.method == "POST":
        return request.form  # even with ?bodySHA256=: a form is signed field by field
    return None if request.get_data() else {}


def is_signed(request: Request, auth_token: str, public_url: str = "") -> bool:
    """True when X-Twilio-Signature matches this request, and covers everything its handler can read.

    One HMAC for a request signed as it names itself; a second only on a mismatch, for the other
    spelling of the URL's default port (see below).
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not auth_token:
        return False
    params = signed_params(request)
    if params is None:
        return False
    url = signed_url(request, public_url)
    if not _parses(url):  # a host the URL parser rejects ("[::1", a port that is not a number): not a URL Twilio called
        return False
    if isinstance(params, str):  # a JSON body is signed by its SHA-256 in the URL; the HMAC then covers the URL alone
        hashed = parse_qs(request.query_string.decode("latin-1"))["bodySHA256"][0]
        if not _same(hashlib.sha256(params.encode("utf-8")).hexdigest(), hashed):
            return False
        params = {}
    key = auth_token.encode("utf-8")
    if _same(signature_of(key, url, params), signature):
        return True
    # Only on a mismatch: the same URL with its default port spelled the other way (https://x:443/...).
    # Werkzeug drops a default port from Host and a proxy may add one; and Twilio has signed some
    # requests with the port and others without for the same configured URL (its status callbacks,
    # github.com/twilio/twilio-node/issues/411), which is why its own validator accepts both. A
    # refused webhook costs a caller the whole menu, so an exact IVR_PUBLIC_URL is no reason to be stricter.
    other = _other_default_port_spelling(url)
    return other is not None and _same(signature_of(key, other, params), signature)


def signature_of(key: bytes, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature for `url` and form `params`: base64 HMAC-SHA1 under the auth token `key`.

    The signed text is the URL, then each parameter name (sorted) followed by each of its values
    (sorted, each once) (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
    """
    if isinstance(params, MultiDict):
        # Each name's values read once (a repeated name is rare: sorting and de-duplicating only then).
        pairs = (
            name + value
            for name, values in sorted(params.lists())
            for value in (values if len(values) == 1 else sorted(set(values)))
        )
    else:
        pairs = (name + params[name] for name in sorted(params))
    text = url + "".join(pairs)
    return base64.b64encode(hmac.digest(key, text.encode("utf-8"), "sha1")).decode("ascii")


def _same(expected: str, given: str) -> bool:
    """Equal, in constant time; `given` came with the request and may be any text."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def _parses(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - reading the port is the check
    except ValueError:
        return False
    return True


def _other_default_port_spelling(url: str) -> str | None:
    """`url` with its scheme's default port written out if it names no port, or dropped if it names it; else None."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None:
        return None
    netloc = parts.netloc
    if parts.port is None:
        other = f"{netloc}:{default}"
    elif parts.port == default:
        other = netloc[: netloc.rindex(":")]
    else:
        return None  # a port of its own is in Host as Twilio called it
    start = url.index("://") + 3  # the scheme as sent, then the netloc as written
    return url[:start] + other + url[start + len(netloc) :]
