"""Security headers on every response but the webhooks': a Content-Security-Policy, no framing, no sniffing.

Written here rather than with flask-talisman: talisman hooks every request of the app and cannot
leave a blueprint out, so it would add its headers (and make a nonce) on each Twilio webhook too,
and its HTTPS redirect and session-cookie settings are for an app that terminates TLS itself.
Under /voice nothing is added: those answers are TwiML for Twilio, exactly as before.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

# Everything from this origin only; no inline script or style (GOV.UK Frontend needs neither, once its
# one inline script, the template's `js-enabled` line, carries the request's nonce).
_DIRECTIVES = (
    "default-src 'self'",
    "img-src 'self'",
    "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
_POLICY = "; ".join(_DIRECTIVES)
_FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",  # admin URLs name calls; no other site needs to know them
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the headers to every response outside /voice, and offer `csp_nonce()` to templates."""
    app.after_request(_secure)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def csp_nonce() -> str:
    """This request's nonce for an inline script, made on first use; the response's policy then allows it."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def is_webhook_path(path: str) -> bool:
    """True under /voice, whose answers go to Twilio as TwiML and are left as they are."""
    return path == "/voice" or path.startswith("/voice/")


def _secure(response: Response) -> Response:
    path = request.path
    if is_webhook_path(path):
        return response
    nonce = g.get("csp_nonce")
    script = f"script-src 'self' 'nonce-{nonce}'" if nonce else "script-src 'self'"
    response.headers["Content-Security-Policy"] = f"{_POLICY}; {script}"
    response.headers.update(_FIXED)
    if path == "/admin" or path.startswith("/admin/"):
        response.headers["Cache-Control"] = "no-store"  # what the pages show is not for a shared or back-button cache
    return response
