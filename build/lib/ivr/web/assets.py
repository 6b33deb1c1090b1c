"""GOV.UK Frontend's files at /assets/, where its page template and CSS look for them.

`static/govuk/` is the vendored govuk-frontend release (see its VERSION; `make govuk-assets`
re-fetches it); `static/ivr/` holds this project's own few files, at /assets/ivr/.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

bp = Blueprint("assets", __name__, url_prefix="/assets")
GOVUK_FOLDER = Path(__file__).parent / "static" / "govuk"
OWN_FOLDER = Path(__file__).parent / "static" / "ivr"
_MAX_AGE = 3600  # the names carry no version: an upgrade reaches browsers within the hour


@bp.get("/ivr/<path:filename>")
def own(filename: str) -> Response:
    """This project's scripts."""
    return send_from_directory(OWN_FOLDER, filename, max_age=_MAX_AGE)


@bp.get("/<path:filename>")
def govuk(filename: str) -> Response:
    """GOV.UK Frontend's CSS, JavaScript, fonts, images and manifest."""
    return send_from_directory(GOVUK_FOLDER, filename, max_age=_MAX_AGE)
