"""The JSON API under /api/v1: the same services and permissions as the pages, for scripts and other tools.

Layout: one module per resource (`me`, `connections`, `tokens`, ...) declaring its request/response schemas and
its routes with `routing.api_route`; `openapi` builds the document from those declarations; `auth` accepts only
bearer tokens; `errors` turns every failure into JSON. To add a resource, write `stella/api/<resource>.py` and
list it in RESOURCE_MODULES.

The blueprint is registered with the web blueprints (stella.web.BLUEPRINT_MODULES lists "stella.api"); the
app-wide pieces it needs are installed when it is registered (`_install`).
"""

from __future__ import annotations

import importlib
from typing import cast

from flask import Flask, Response
from flask.sansio.blueprints import BlueprintSetupState

from stella.api.auth import authenticate_request
from stella.api.errors import register_app_hooks, register_error_handlers
from stella.api.routing import ROUTES, bp
from stella.extensions import csrf

# Each module declares its routes on `bp` when imported; this order is the order of the OpenAPI document.
RESOURCE_MODULES: tuple[str, ...] = (
    "stella.api.me",
    "stella.api.connections",
    "stella.api.tokens",
    "stella.api.users",
    "stella.api.posts",
    "stella.api.openapi",
)

for _module in RESOURCE_MODULES:
    importlib.import_module(_module)

# CSRF protects ambient credentials (the session cookie a browser attaches by itself). The API accepts only an
# explicit `Authorization: Bearer` header, which a hostile page cannot make a browser send, and never the cookie.
csrf.exempt(bp)
bp.before_request(authenticate_request)
register_error_handlers(bp)


@bp.after_request
def _no_store(response: Response) -> Response:
    # Responses can carry a freshly created token or private account details: no cache may keep them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _install(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    register_app_hooks(app)
    # The web layer's sign-in guard is for browser sessions; API views authenticate bearer tokens themselves
    # (auth.py, deny by default), so the guard stands aside for every view of this blueprint.
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(f"{bp.name}."):
            view.is_public = True  # type: ignore[union-attr]


# Recorded last, so it runs after the blueprint's own rules are on the app.
bp.record_once(_install)

__all__ = ["RESOURCE_MODULES", "ROUTES", "bp"]
