"""The pages people read (admin, and any other HTML page): GOV.UK Frontend's templates and assets.

Templates come from this folder's `templates/` and, under the `govuk_frontend_jinja/` prefix, from
the govuk-frontend-jinja package (its page template and component macros). Every page extends
`ivr/base.html`, which says at its top which blocks a page fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, render_template
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from ivr.services import current
from ivr.web import access, assets, formats, headers, records

TEMPLATES = Path(__file__).parent / "templates"


def init_app(app: Flask) -> None:
    """Templates and their filters, /assets/, the security headers, the /admin access check, the records reader."""
    app.jinja_loader = ChoiceLoader(  # type: ignore[assignment]
        [
            FileSystemLoader(TEMPLATES),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    headers.init_app(app)
    access.init_app(app)
    app.register_blueprint(assets.bp)
    app.context_processor(_page_context)
    records.init_app(app)
    for name in ("when", "day", "hours", "phone", "unbroken"):
        app.add_template_filter(getattr(formats, name), name)


def development_notice() -> str:
    """What the banner on every page says in development mode, or "" in production."""
    settings = current().settings
    if not settings.development:
        return ""
    missing = [
        *(["no password"] if not settings.admin_password else []),
        *(["signatures not checked"] if not settings.auth_token else []),
    ]
    return "Development mode" + (": " + ", ".join(missing) if missing else "")


def _page_context() -> dict[str, Any]:
    return {"cspNonce": headers.csp_nonce(), "development_notice": development_notice()}


def problem_page(title: str, message: str, status: int, *, public: bool = False) -> tuple[str, int]:
    """A GOV.UK page that says what is wrong ("Page not found"), with its HTTP status; `public` leaves out the admin links."""
    return render_template("ivr/problem.html", title=title, message=message, public=public, status=status), status
