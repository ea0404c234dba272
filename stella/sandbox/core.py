"""The sandbox core: the app factory, the fault injector, and helpers every platform stand-in uses.

A platform module (stella/sandbox/platforms/<name>.py) defines a Blueprint whose routes carry the platform's
real host as the first path segment (`/api.x.com/2/tweets`), and a module-level `PLATFORM = SandboxPlatform(...)`
saying which hosts it serves and how its errors look. Everything else — state, consent pages, PKCE, faults,
metrics that grow over time — lives here; the OAuth request checks the platforms share are in `oauth.py`, and
what only one platform family shares in `platforms/_meta.py` and `platforms/_google.py`.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, render_template_string, request, url_for

from stella.sandbox.avatars import NAME_PATTERN, avatar_name, avatar_response
from stella.sandbox.store import SandboxStore

STORE_KEY = "sandbox.store"
SETTINGS_KEY = "sandbox.settings"
FAULTS_KEY = "sandbox.faults"
CLOCK_KEY = "sandbox.clock"
PLATFORMS_KEY = "sandbox.platforms"

ResponseBuilder = Callable[..., Response]
View = TypeVar("View", bound=Callable[..., Response])


# -- platform declarations --------------------------------------------------------------------------------


def json_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with this status and these headers: every platform's error shape is built on it."""
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def default_rate_limited(retry_after: int = 60) -> Response:
    return json_error(429, {"error": "rate_limited", "message": "Too many requests"}, {"Retry-After": str(retry_after)})


def default_expired_token() -> Response:
    return json_error(401, {"error": "invalid_token", "message": "The access token expired"})


def default_rejection(reason: str = "rejected") -> Response:
    return json_error(400, {"error": "rejected", "message": f"The request was refused: {reason}"})


def default_server_error(status: int = 503) -> Response:
    return json_error(status, {"error": "server_error", "message": "The service is temporarily unavailable"})


@dataclass(frozen=True)
class SandboxPlatform:
    """How one platform's stand-in plugs into the sandbox."""

    name: str
    display_name: str
    blueprint: Blueprint
    # Real hosts this platform serves (first path segment), e.g. ("x.com", "api.x.com"). Platforms may share a
    # host (Facebook and Instagram on graph.facebook.com): a fault for either then fires on that host.
    hosts: tuple[str, ...]
    color: str = "#334155"
    # Fault responses in the platform's own error shape.
    expired_token: ResponseBuilder = default_expired_token
    rate_limited: ResponseBuilder = default_rate_limited
    rejection: ResponseBuilder = default_rejection
    server_error: ResponseBuilder = default_server_error
    # For platforms on user-chosen hosts (Mastodon): claims a host not listed in `hosts`.
    claims_host: Callable[[str], bool] | None = None
    # Shown on the sandbox index: how to sign in (e.g. Bluesky's demo app password).
    demo_notes: str = ""


@dataclass
class SandboxSettings:
    stella_public_url: str = "http://127.0.0.1:5000"
    latency_ms: int = 0
    fault_rate: float = 0.0
    # How long a "timeout" fault hangs: longer than Stella's read timeout.
    hang_seconds: float = 35.0
    seed: int = 1234


# -- faults ------------------------------------------------------------------------------------------------

FAULT_KINDS = ("rate_limited", "server_error", "timeout", "timeout_after_create", "expired_token", "rejection")


@dataclass
class FaultRule:
    kind: str
    platform: str | None = None
    endpoint: str = "*"  # glob on the path after the host (e.g. "/2/tweets") or on the whole path
    method: str | None = None
    count: int | None = None  # remaining times to fire; None = use rate
    rate: float = 1.0
    status: int | None = None  # server_error: 500 or 503
    retry_after: int | None = None
    reason: str | None = None  # rejection: duplicate, media ...
    fired: int = 0

    def matches(self, platforms: tuple[str, ...], path_after_host: str, full_path: str, method: str) -> bool:
        if self.platform and self.platform not in platforms:
            return False
        if self.method and self.method.upper() != method:
            return False
        return fnmatch.fnmatch(path_after_host, self.endpoint) or fnmatch.fnmatch(full_path, self.endpoint)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "platform": self.platform, "endpoint": self.endpoint, "method": self.method,
            "count": self.count, "rate": self.rate, "status": self.status, "retry_after": self.retry_after,
            "reason": self.reason, "fired": self.fired,
        }


class FaultInjector:
    def __init__(self, settings: SandboxSettings) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(settings.seed)
        self._base_rate = settings.fault_rate

    def add(self, rule: FaultRule) -> None:
        if rule.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {rule.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, platforms: tuple[str, ...], path_after_host: str, full_path: str, method: str) -> FaultRule | None:
        """The first armed rule for this request. `platforms` are those serving its host (hosts can be shared)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(platforms, path_after_host, full_path, method):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                elif self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
            if platforms and self._base_rate and self._random.random() < self._base_rate:
                return FaultRule(kind="server_error", status=503)
        return None


# -- accessors for platform modules -------------------------------------------------------------------------


def store() -> SandboxStore:
    """The running sandbox's state."""
    sandbox_store: SandboxStore = current_app.extensions[STORE_KEY]
    return sandbox_store


def settings() -> SandboxSettings:
    sandbox_settings: SandboxSettings = current_app.extensions[SETTINGS_KEY]
    return sandbox_settings


def now() -> datetime:
    """Sandbox time: real UTC time plus any offset set through POST /_sandbox/clock (to test expiry)."""
    offset: list[float] = current_app.extensions[CLOCK_KEY]
    return datetime.now(UTC) + timedelta(seconds=offset[0])


def declaration(name: str) -> SandboxPlatform:
    """The running sandbox's declaration of platform `name` (views serving two platforms answer as the right one)."""
    running: tuple[SandboxPlatform, ...] = current_app.extensions[PLATFORMS_KEY]
    found = next((platform for platform in running if platform.name == name), None)
    if found is None:  # an app built with a subset of the platforms still knows every declaration
        from stella.sandbox.platforms import SANDBOX_PLATFORMS

        found = next(platform for platform in SANDBOX_PLATFORMS if platform.name == name)
    return found


def avatar_url(platform: str, label: str) -> str:
    """A profile picture the sandbox draws itself, as an absolute URL on the sandbox's address as this request saw it.

    The real platforms hand out pictures on their CDNs (pbs.twimg.com, cdn.bsky.app, ...), which an offline
    sandboxed Stella cannot load. The picture shows the initials of `label` (an account or board name).
    """
    return url_for("sandbox_avatar", platform=platform, name=avatar_name(label), _external=True)


def request_host() -> str:
    """The real host this request was addressed to: the first path segment."""
    return request.path.lstrip("/").partition("/")[0]


def route_on_hosts(blueprint: Blueprint, hosts: Iterable[str], rule: str, **options: Any) -> Callable[[View], View]:
    """Register a view under each of `hosts` (one API served on two hosts: an alias, or a platform's own sandbox)."""

    def register(view: View) -> View:
        for host in hosts:
            endpoint = f"{view.__name__}_{host.replace('.', '_')}"
            blueprint.add_url_rule(f"/{host}{rule}", endpoint=endpoint, view_func=view, **options)
        return view

    return register


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def client_credentials_from_request(
    style: str, *, id_field: str = "client_id", secret_field: str = "client_secret"
) -> tuple[str, str] | None:
    """The client id and secret as sent in the given style ('basic' header or 'body' form/query); None if absent."""
    if style == "basic":
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None
        return unquote_plus(client_id), unquote_plus(secret)
    values = request.values
    form_id = values.get(id_field)
    form_secret = values.get(secret_field)
    if not form_id or form_secret is None:
        return None
    return form_id, form_secret


def verify_pkce(verifier: str | None, challenge: str | None, method: str | None = "S256") -> bool:
    """https://www.rfc-editor.org/rfc/rfc7636#section-4.6: base64url(sha256(verifier)) == challenge (or plain)."""
    if not verifier or not challenge:
        return False
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def after_create(platform: str) -> None:
    """Call right after a post is stored: the `timeout_after_create` fault hangs here, past the client timeout."""
    if g.get("sandbox_fault_after_create"):
        time.sleep(settings().hang_seconds)


def metric_values(platform_post_id: str, created_at: datetime, at: datetime | None = None) -> dict[str, int]:
    """Deterministic metrics for a post that grow with its age (saturating over about three days).

    Seeded from the post id, so a test that knows the id and the time can predict every number.
    """
    at = at or now()
    seed = int.from_bytes(hashlib.sha256(platform_post_id.encode()).digest()[:8], "big")
    hours = max(0.0, (at - created_at).total_seconds() / 3600)
    growth = 1 - math.exp(-hours / 24)
    reach = 400 + seed % 4600  # 400..5000 impressions at saturation

    def part(share_per_mille: int, salt: int) -> int:
        jitter = (seed >> salt) % 7
        return int(reach * (share_per_mille + jitter) / 1000 * growth)

    impressions = int(reach * growth)
    likes = part(45, 3)
    comments = part(6, 7)
    shares = part(4, 11)
    saves = part(8, 13)
    clicks = part(20, 17)
    return {
        "impressions": impressions,
        "views": int(impressions * 0.8),
        "reach": int(impressions * 0.7),
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "saves": saves,
        "clicks": clicks,
        "quotes": part(1, 19),
        "engagement": likes + comments + shares + saves,
    }


def add_query(url: str, params: dict[str, str], *, fragment: str | None = None) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    fragment = fragment if fragment is not None else parts.fragment
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ platform.display_name }} (sandbox) — authorize</title>
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f1f5f9;margin:0;color:#0f172a}
 .card{max-width:440px;margin:8vh auto;background:#fff;border-radius:14px;
       box-shadow:0 10px 30px rgba(15,23,42,.12);overflow:hidden}
 .head{background:{{ platform.color }};color:#fff;padding:20px 24px;font-weight:700;font-size:20px}
 .head small{display:block;font-weight:400;opacity:.85;font-size:13px;margin-top:2px}
 .body{padding:22px 24px} ul{padding-left:18px;color:#334155}
 li{margin:4px 0;font-family:ui-monospace,monospace;font-size:13px}
 .who{background:#f8fafc;border:1px solid #e2e8f0;border-radius:10px;padding:10px 12px;margin:14px 0}
 .row{display:flex;gap:10px;margin-top:18px}
 button{flex:1;padding:11px;border-radius:9px;border:0;font-size:15px;cursor:pointer}
 .allow{background:{{ platform.color }};color:#fff;font-weight:600} .deny{background:#e2e8f0;color:#0f172a}
 .note{font-size:12px;color:#64748b;margin-top:16px}
</style></head>
<body><div class="card">
 <div class="head">{{ platform.display_name }}<small>Sandbox authorization — no real account is used</small></div>
 <div class="body">
  <p><strong>{{ app_name }}</strong> wants to access your {{ platform.display_name }} account.</p>
  <div class="who">Signed in as <strong>{{ account_label }}</strong></div>
  {% if scopes %}<p>It asks for these permissions:</p>
  <ul>{% for s in scopes %}<li>{{ s }}</li>{% endfor %}</ul>{% endif %}
  <form method="post">
   <div class="row">
    <button class="deny" name="decision" value="deny" type="submit">Deny</button>
    <button class="allow" name="decision" value="allow" type="submit">Allow</button>
   </div>
  </form>
  <p class="note">Client id: {{ client_id }}<br>Redirects to: {{ redirect_uri }}</p>
 </div></div></body></html>"""


def authorize_page(
    platform: SandboxPlatform,
    *,
    client_id: str,
    redirect_uri: str,
    state: str | None,
    scopes: list[str] | tuple[str, ...],
    account_id: str,
    account_label: str,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
    extra: dict[str, Any] | None = None,
    code_ttl: timedelta = timedelta(minutes=10),
    redirect_fragment: str | None = None,
    app_name: str = "Stella",
) -> Response:
    """GET: the consent page. POST: Allow issues a code and redirects back; Deny redirects with access_denied.

    The platform view validates its request (client, redirect URI, PKCE presence, scopes) before calling this,
    for GET and POST alike: the consent form posts back to the same URL, query string included.
    """
    if request.method == "GET":
        html = render_template_string(
            CONSENT_PAGE,
            platform=platform,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=list(scopes),
            account_label=account_label,
            app_name=app_name,
        )
        return Response(html, mimetype="text/html")
    decision = request.form.get("decision")
    params: dict[str, str] = {}
    if decision == "allow":
        params["code"] = store().issue_code(
            platform.name,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=list(scopes),
            account_id=account_id,
            now=now(),
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            extra=extra,
            ttl=code_ttl,
        )
    else:
        params.update(error="access_denied", error_description="The user denied the request")
    if state is not None:
        params["state"] = state
    response = Response(status=302)
    fragment = redirect_fragment if decision == "allow" else None
    response.headers["Location"] = add_query(redirect_uri, params, fragment=fragment)
    return response


def oauth_error_page(platform: SandboxPlatform, message: str, status: int = 400) -> Response:
    """What a platform shows instead of redirecting when the client or redirect URI is wrong."""
    html = render_template_string(
        "<!doctype html><title>{{ p.display_name }} — error</title>"
        "<body style='font-family:system-ui;margin:10vh auto;max-width:480px'>"
        "<h1 style='color:{{ p.color }}'>{{ p.display_name }}</h1><p>{{ message }}</p></body>",
        p=platform,
        message=message,
    )
    return Response(html, status=status, mimetype="text/html")


# -- the app ---------------------------------------------------------------------------------------------------

INDEX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stella sandbox</title>
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f8fafc;margin:0;color:#0f172a}
 header{background:#0f172a;color:#fff;padding:18px 28px} header h1{margin:0;font-size:20px}
 header p{margin:4px 0 0;color:#cbd5e1;font-size:14px}
 main{max-width:1100px;margin:24px auto;padding:0 20px}
 .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}
 .card{background:#fff;border:1px solid #e2e8f0;border-radius:12px;overflow:hidden}
 .card h2{margin:0;padding:12px 16px;font-size:15px;color:#fff;display:flex;justify-content:space-between}
 .post{padding:10px 16px;border-top:1px solid #f1f5f9;font-size:14px} .post:first-of-type{border-top:0}
 .meta{color:#64748b;font-size:12px;margin-top:4px;word-break:break-all}
 .empty{padding:14px 16px;color:#94a3b8;font-size:14px}
 .notes{padding:8px 16px;background:#f8fafc;color:#475569;font-size:12px;border-bottom:1px solid #e2e8f0}
 a{color:#2563eb}
</style></head><body>
<header><h1>Stella sandbox</h1>
<p>Built-in stand-ins for 11 platforms. Posts published from Stella in sandbox mode land here.
 {{ total }} post{{ '' if total == 1 else 's' }} so far.</p></header>
<main><div class="grid">
{% for p in platforms %}
 <section class="card">
 <h2 style="background:{{ p.color }}"><span>{{ p.display_name }}</span>
  <span>{{ by_platform[p.name]|length }}</span></h2>
 {% if p.demo_notes %}<div class="notes">{{ p.demo_notes }}</div>{% endif %}
 {% for post in by_platform[p.name]|reverse %}
  <div class="post">{{ post.text or '(no text)' }}
   <div class="meta">{{ post.created_at.strftime('%Y-%m-%d %H:%M:%S') }} UTC · {{ post.account_id }}
   {% if post.media %} · {{ post.media|length }} media{% endif %}
   {% if post.permalink %} · <a href="{{ post.permalink }}">{{ post.platform_post_id }}</a>
   {%- else %} · {{ post.platform_post_id }}{% endif %}</div>
  </div>
 {% else %}<div class="empty">Nothing published here yet.</div>{% endfor %}
 </section>
{% endfor %}
</div></main></body></html>"""


def create_sandbox_app(
    *,
    db_path: str = ":memory:",
    sandbox_settings: SandboxSettings | None = None,
    platforms: tuple[SandboxPlatform, ...] | None = None,
) -> Flask:
    """The sandbox app. State goes to `db_path` (its own SQLite file; never Stella's database)."""
    from stella.sandbox.platforms import SANDBOX_PLATFORMS

    sandbox_settings = sandbox_settings or SandboxSettings()
    platforms = SANDBOX_PLATFORMS if platforms is None else platforms
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[STORE_KEY] = SandboxStore(db_path, stella_public_url=sandbox_settings.stella_public_url)
    app.extensions[SETTINGS_KEY] = sandbox_settings
    app.extensions[FAULTS_KEY] = FaultInjector(sandbox_settings)
    app.extensions[CLOCK_KEY] = [0.0]
    app.extensions[PLATFORMS_KEY] = platforms

    host_map: dict[str, list[SandboxPlatform]] = {}
    for platform in platforms:
        app.register_blueprint(platform.blueprint)
        for host in platform.hosts:
            host_map.setdefault(host, []).append(platform)

    def platforms_for(host: str) -> list[SandboxPlatform]:
        if host in host_map:
            return host_map[host]
        return [p for p in platforms if p.claims_host and p.claims_host(host)]

    @app.before_request
    def inject_faults() -> Response | None:
        path = request.path
        if path == "/" or path.startswith("/_sandbox"):
            return None
        host, _, rest = path.lstrip("/").partition("/")
        serving = platforms_for(host)
        if sandbox_settings.latency_ms:
            time.sleep(sandbox_settings.latency_ms / 1000)
        faults: FaultInjector = app.extensions[FAULTS_KEY]
        rule = faults.pick(tuple(p.name for p in serving), "/" + rest, path, request.method)
        if rule is None or not serving:
            return None
        # Answer in the error shape of the platform the rule names (hosts can be shared).
        platform = next((p for p in serving if p.name == rule.platform), serving[0])
        if rule.kind == "rate_limited":
            return platform.rate_limited(rule.retry_after or 60)
        if rule.kind == "server_error":
            return platform.server_error(rule.status or 503)
        if rule.kind == "expired_token":
            return platform.expired_token()
        if rule.kind == "rejection":
            return platform.rejection(rule.reason or "rejected")
        if rule.kind == "timeout":
            time.sleep(sandbox_settings.hang_seconds)
            return platform.server_error(504)
        g.sandbox_fault_after_create = True  # timeout_after_create: the platform view calls after_create()
        return None

    @app.get("/")
    def index() -> str:
        posts = app.extensions[STORE_KEY].posts()
        by_platform: dict[str, list[Any]] = {p.name: [] for p in platforms}
        for post in posts:
            by_platform.setdefault(post.platform, []).append(post)
        return render_template_string(INDEX_PAGE, platforms=platforms, by_platform=by_platform, total=len(posts))

    colors = {p.name: p.color for p in (*SANDBOX_PLATFORMS, *platforms)}

    @app.get("/_sandbox/avatars/<platform>/<name>.svg")
    def sandbox_avatar(platform: str, name: str) -> Response:
        if platform not in colors or not NAME_PATTERN.fullmatch(name):
            abort(404)
        return avatar_response(colors[platform], name)

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        platform = request.args.get("platform")
        return jsonify([post.as_json() for post in app.extensions[STORE_KEY].posts(platform)])

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        return jsonify([rule.as_json() for rule in app.extensions[FAULTS_KEY].rules()])

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or "kind" not in payload:
            return json_error(400, {"error": "send JSON with at least 'kind'", "kinds": list(FAULT_KINDS)})
        allowed = {"kind", "platform", "endpoint", "method", "count", "rate", "status", "retry_after", "reason"}
        unknown = set(payload) - allowed
        if unknown:
            return json_error(400, {"error": f"unknown fields: {', '.join(sorted(unknown))}"})
        try:
            rule = FaultRule(**payload)
            app.extensions[FAULTS_KEY].add(rule)
        except (TypeError, ValueError) as exc:
            return json_error(400, {"error": str(exc)})
        return json_error(201, rule.as_json())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        app.extensions[FAULTS_KEY].clear()
        return Response(status=204)

    @app.post("/_sandbox/clock")
    def move_clock() -> Response:
        payload = request.get_json(silent=True) or {}
        try:
            app.extensions[CLOCK_KEY][0] += float(payload.get("advance_seconds", 0))
        except (TypeError, ValueError):
            return json_error(400, {"error": "advance_seconds must be a number"})
        return jsonify({"offset_seconds": app.extensions[CLOCK_KEY][0]})

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        payload = request.get_json(silent=True) or {}
        with app.app_context():
            count = app.extensions[STORE_KEY].expire_access_tokens(payload.get("platform"), now=now())
        return jsonify({"expired": count})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        app.extensions[STORE_KEY].reset()
        app.extensions[FAULTS_KEY].clear()
        app.extensions[CLOCK_KEY][0] = 0.0
        return Response(status=204)

    return app
