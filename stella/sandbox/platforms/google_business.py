"""Sandbox stand-in for Google Business Profile: accounts, locations, v4 localPosts, location media, daily metrics.

Sign-in is Google's and is served by the YouTube stand-in (the hosts are shared; see youtube.py), which issues
tokens under this platform's name for the `sandbox-google_business-id` client. Rules follow Google's
documentation, cited below by the names in brackets:
- [Accounts list] https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list
- [Locations list] https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list
- [LocalPost] https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts
- [Posts guide] https://developers.google.com/my-business/content/posts-data
- [Daily metrics]
  https://developers.google.com/my-business/reference/performance/rest/v1/locations/fetchMultiDailyMetricsTimeSeries
- [Google error model] https://cloud.google.com/apis/design/errors

Strict where Google is: `readMask` required on locations, the three id formats (v4 `accounts/{a}/locations/{l}`,
Business Information `locations/{l}`), localPosts only on v4, `topicType` required, EVENT/OFFER need an event,
CALL buttons carry no url, one PHOTO by `sourceUrl` and no video, and moderation at creation: a post whose text
holds a phone number comes back 200 with `state: REJECTED` ([LocalPost] state; the 200 is observed behaviour).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from stella.sandbox import core
from stella.sandbox.platforms._google import INVALID_CREDENTIALS, GoogleFaults, google_access, google_error
from stella.sandbox.platforms.youtube import BUSINESS, GOOGLE_ACCOUNT, SCOPE_PREFIX
from stella.sandbox.store import Token

NAME = "google_business"
SCOPES = (BUSINESS, f"{SCOPE_PREFIX}plus.business.manage")
MAX_SUMMARY_CHARS = 1500  # per Google's Help Center as third parties quote it
MAX_EVENT_TITLE_CHARS = 58  # per third-party guides; not in Google's API docs
TOPIC_TYPES = frozenset({"STANDARD", "EVENT", "OFFER", "ALERT"})
ACTION_TYPES = frozenset({"BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL", "GET_OFFER"})
# Google fetches a post's photo before it goes live: such posts are PROCESSING for this long.
PHOTO_PROCESSING = timedelta(seconds=5)
PHONE_NUMBER = re.compile(r"(\+?\d[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}")
DAILY_METRICS = {
    # Performance API metric → (metric_values key, share per mille of it)
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": ("impressions", 150),
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": ("impressions", 250),
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS": ("impressions", 250),
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": ("impressions", 350),
    "BUSINESS_CONVERSATIONS": ("comments", 1000),
    "BUSINESS_DIRECTION_REQUESTS": ("shares", 1000),
    "CALL_CLICKS": ("saves", 1000),
    "WEBSITE_CLICKS": ("clicks", 1000),
    "BUSINESS_BOOKINGS": ("quotes", 1000),
    "BUSINESS_FOOD_ORDERS": ("quotes", 0),
    "BUSINESS_FOOD_MENU_CLICKS": ("quotes", 0),
}

# The demo login owns a personal account (no locations) and the agency's location group with two offices.
ACCOUNTS = [
    {"name": "accounts/108734562210987654321", "accountName": "Maya Lindqvist", "type": "PERSONAL",
     "verificationState": "UNVERIFIED", "vettedState": "NOT_VETTED"},
    {"name": "accounts/4432109876543210987", "accountName": "Harbor & Vine Realty", "type": "LOCATION_GROUP",
     "role": "PRIMARY_OWNER", "verificationState": "VERIFIED", "vettedState": "NOT_VETTED",
     "permissionLevel": "OWNER_LEVEL"},
]
LOCATIONS = {
    "accounts/4432109876543210987": [
        {
            "name": "locations/6214387701928374650",
            "title": "Harbor & Vine Realty — Waterfront Office",
            "storefrontAddress": {"regionCode": "US", "languageCode": "en", "postalCode": "02110",
                                  "administrativeArea": "MA", "locality": "Boston",
                                  "addressLines": ["1 Harbor Way", "Suite 200"]},
            "metadata": {"mapsUri": "https://maps.google.com/maps?cid=8812345678901234567",
                         "newReviewUri": "https://search.google.com/local/writereview?placeid=ChIJHarborVineWaterfront",
                         "placeId": "ChIJHarborVineWaterfront", "canOperateLocalPost": True},
            "phoneNumbers": {"primaryPhone": "(617) 555-0142"},
            "websiteUri": "https://harborvine.example/",
            "cid": "8812345678901234567",
        },
        {
            "name": "locations/6214387701928374651",
            "title": "Harbor & Vine Realty — Beacon Hill",
            "storefrontAddress": {"regionCode": "US", "languageCode": "en", "postalCode": "02108",
                                  "administrativeArea": "MA", "locality": "Boston",
                                  "addressLines": ["48 Charles Street"]},
            "metadata": {"mapsUri": "https://maps.google.com/maps?cid=8812345678901234568",
                         "placeId": "ChIJHarborVineBeaconHill", "canOperateLocalPost": True},
            "phoneNumbers": {"primaryPhone": "(617) 555-0187"},
            "websiteUri": "https://harborvine.example/beacon-hill",
            "cid": "8812345678901234568",
        },
    ],
    "accounts/108734562210987654321": [],
}
READABLE_FIELDS = frozenset({"name", "title", "storefrontAddress", "metadata", "phoneNumbers", "websiteUri",
                             "categories", "profile", "regularHours", "languageCode", "storeCode", "labels"})

bp = Blueprint("sandbox_google_business", __name__)


def _expired_token() -> Response:
    return google_error(401, INVALID_CREDENTIALS, status="UNAUTHENTICATED")


# Faults in the Business Profile APIs' words ([Google error model]): a status, no reason for the backend.
FAULTS = GoogleFaults(
    rate_message="Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
                 "'mybusiness.googleapis.com'.",
    rejection_message="Request contains an invalid argument. ({reason})",
    rejection_reason="badRequest",
    unavailable_status="UNAVAILABLE",
)


PLATFORM = core.SandboxPlatform(
    name=NAME,
    display_name="Google Business Profile",
    blueprint=bp,
    hosts=("mybusinessaccountmanagement.googleapis.com", "mybusinessbusinessinformation.googleapis.com",
           "mybusiness.googleapis.com", "businessprofileperformance.googleapis.com"),
    color="#4285F4",
    expired_token=_expired_token,
    rate_limited=FAULTS.rate_limited,
    rejection=FAULTS.rejection,
    server_error=FAULTS.server_error,
    demo_notes=f"Signs in as {GOOGLE_ACCOUNT['email']} (Google sign-in served with YouTube); two Harbor & Vine "
    "offices. Text with a phone number is REJECTED by review, as Google does.",
)


def _invalid(message: str, field: str | None = None) -> Response:
    details = None
    if field:
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": message}]}]
    return google_error(400, "Request contains an invalid argument.", reason="badRequest", status="INVALID_ARGUMENT",
                        details=details)


def _access() -> Token | Response:
    return google_access(NAME, any_of=SCOPES)


def _owned_accounts(token: Token) -> list[dict[str, Any]]:
    return ACCOUNTS if token.account_id == GOOGLE_ACCOUNT["id"] else []


def _location(account_id: str, location_id: str, token: Token) -> dict[str, Any] | Response:
    account_name = f"accounts/{account_id}"
    if account_name not in {a["name"] for a in _owned_accounts(token)}:
        return google_error(403, "The caller does not have permission", status="PERMISSION_DENIED")
    for location in LOCATIONS.get(account_name, []):
        if location["name"] == f"locations/{location_id}":
            return location
    return google_error(404, "Requested entity was not found.", status="NOT_FOUND")


def _page(items: list[dict[str, Any]], key: str, default_size: int, max_size: int) -> Response:
    try:
        size = int(request.args.get("pageSize") or default_size)
        start = int(request.args.get("pageToken") or 0)
    except ValueError:
        return _invalid("Invalid pageSize or pageToken.", "page_size")
    if size <= 0 or size > max_size:
        return _invalid(f"pageSize must be between 1 and {max_size}.", "page_size")
    body: dict[str, Any] = {key: items[start:start + size]} if items[start:start + size] else {}
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return jsonify(body)


# -- Account Management and Business Information ([Accounts list], [Locations list]) -------------------------


@bp.get("/mybusinessaccountmanagement.googleapis.com/v1/accounts")
def list_accounts() -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    return _page(_owned_accounts(token), "accounts", 20, 20)


@bp.get("/mybusinessbusinessinformation.googleapis.com/v1/accounts/<account_id>/locations")
def list_locations(account_id: str) -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    account_name = f"accounts/{account_id}"
    if account_name not in {a["name"] for a in _owned_accounts(token)}:
        return google_error(403, "The caller does not have permission", status="PERMISSION_DENIED")
    # [Locations list]: readMask is required; only the fields it names come back.
    mask = [f.strip() for f in request.args.get("readMask", "").split(",") if f.strip()]
    if not mask:
        return _invalid("Field is required.", "read_mask")
    unknown = [f for f in mask if f.split(".")[0] not in READABLE_FIELDS]
    if unknown:
        return _invalid(f"Invalid field mask path: {unknown[0]}", "read_mask")
    fields = {f.split(".")[0] for f in mask}
    locations = [{k: v for k, v in loc.items() if k in fields} for loc in LOCATIONS.get(account_name, [])]
    return _page(locations, "locations", 10, 100)


@bp.route("/mybusinessbusinessinformation.googleapis.com/v1/accounts/<account_id>/locations/<location_id>/localPosts",
          methods=["GET", "POST"])
def v1_local_posts(account_id: str, location_id: str) -> Response:
    # [LocalPost]: localPosts exist only in v4; a v1 path is a 404 (reported in other clients' issue trackers).
    return google_error(404, "Method not found.", status="NOT_FOUND")


@bp.get("/mybusiness.googleapis.com/v4/accounts/<account_id>/locations/<location_id>/media")
def list_media(account_id: str, location_id: str) -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    location = _location(account_id, location_id, token)
    if isinstance(location, Response):
        return location
    base = f"accounts/{account_id}/locations/{location_id}/media"
    # Real photos live on lh3.googleusercontent.com: the sandbox serves its own, lettered after the location.
    picture = core.avatar_url(NAME, location["title"].rpartition("—")[2])
    return jsonify({"mediaItems": [
        {"name": f"{base}/AF1QipProfile{location_id[-4:]}", "mediaFormat": "PHOTO",
         "locationAssociation": {"category": "PROFILE"}, "googleUrl": picture, "thumbnailUrl": picture,
         "createTime": "2024-05-02T14:11:09.000Z", "dimensions": {"widthPixels": 720, "heightPixels": 720}},
        {"name": f"{base}/AF1QipCover{location_id[-4:]}", "mediaFormat": "PHOTO",
         "locationAssociation": {"category": "COVER"}, "googleUrl": picture,
         "createTime": "2024-05-02T14:12:40.000Z", "dimensions": {"widthPixels": 1600, "heightPixels": 900}},
    ], "totalMediaItemCount": 2})


# -- v4 localPosts ([LocalPost], [Posts guide]) -------------------------------------------------------------


def _check_local_post(body: Any) -> Response | None:
    if not isinstance(body, dict):
        return _invalid("The request body must be a LocalPost.")
    topic = body.get("topicType")
    if topic not in TOPIC_TYPES:
        return _invalid(f"Invalid value at 'local_post.topic_type' ({topic}).", "local_post.topic_type")
    summary = body.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY_CHARS):
        return _invalid(f"The summary must be at most {MAX_SUMMARY_CHARS} characters.", "local_post.summary")
    if topic == "STANDARD" and not (summary or body.get("media")):
        return _invalid("A standard post needs a summary or a photo.", "local_post.summary")
    if topic in ("EVENT", "OFFER"):
        event = body.get("event")
        if not isinstance(event, dict) or not event.get("title") or not isinstance(event.get("schedule"), dict):
            return _invalid("Event posts and offers need event.title and event.schedule.", "local_post.event")
        if len(str(event["title"])) > MAX_EVENT_TITLE_CHARS:
            return _invalid("The event title is too long.", "local_post.event.title")
        schedule = event["schedule"]
        for key in ("startDate", "endDate"):
            if not _valid_date(schedule.get(key)):
                return _invalid(f"Invalid event.schedule.{key}.", f"local_post.event.schedule.{key}")
    if topic == "ALERT" and body.get("alertType") != "COVID_19":
        return _invalid("Alert posts need alertType COVID_19.", "local_post.alert_type")
    action = body.get("callToAction")
    if action is not None:
        if not isinstance(action, dict) or action.get("actionType") not in ACTION_TYPES:
            return _invalid("Invalid callToAction.actionType.", "local_post.call_to_action.action_type")
        if action["actionType"] == "CALL":
            if action.get("url"):
                return _invalid("A CALL button must not have a url.", "local_post.call_to_action.url")
        elif not _http_url(action.get("url")):
            return _invalid("callToAction.url must be a valid http(s) URL.", "local_post.call_to_action.url")
    media = body.get("media")
    if media is not None:
        if not isinstance(media, list) or len(media) > 1:
            return _invalid("A post carries at most one photo.", "local_post.media")
        for item in media:
            if not isinstance(item, dict) or item.get("mediaFormat") != "PHOTO":
                return _invalid("Only PHOTO media can be attached to a post.", "local_post.media.media_format")
            if not _http_url(item.get("sourceUrl")):
                return _invalid("media.sourceUrl must be a public http(s) URL.", "local_post.media.source_url")
    return None


def _valid_date(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    try:
        date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) > 10


def _post_view(key: str, stored: dict[str, Any]) -> dict[str, Any]:
    view = dict(stored)
    if view.get("state") == "PROCESSING" and core.now() >= datetime.fromisoformat(view["_live_at"]):
        view["state"] = "LIVE"
    view.pop("_live_at", None)
    return view


@bp.route("/mybusiness.googleapis.com/v4/accounts/<account_id>/locations/<location_id>/localPosts",
          methods=["GET", "POST"])
def local_posts(account_id: str, location_id: str) -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    location = _location(account_id, location_id, token)
    if isinstance(location, Response):
        return location
    parent = f"accounts/{account_id}/locations/{location_id}"
    store = core.store()
    if request.method == "GET":
        posts = [_post_view(k, v) for k, v in store.objects(NAME, "localPost")
                 if v["name"].startswith(parent + "/") and not v.get("deleted")]
        posts.reverse()  # newest first
        return _page(posts, "localPosts", 20, 100)

    body: Any = request.get_json(silent=True)  # any JSON; _check_local_post checks its shape
    problem = _check_local_post(body)
    if problem is not None:
        return problem
    now = core.now()
    post_id = str(store.next_number(NAME, "localPost", start=1729384756102938475))
    name = f"{parent}/localPosts/{post_id}"
    stamp = now.isoformat().replace("+00:00", "Z")
    summary = body.get("summary") or ""
    # Google reviews the post at creation; a phone number in the text is a policy refusal (HTTP 200, observed).
    rejected = bool(PHONE_NUMBER.search(summary))
    state = "REJECTED" if rejected else ("PROCESSING" if body.get("media") else "LIVE")
    stored: dict[str, Any] = {
        "name": name,
        "languageCode": body.get("languageCode") or "en-US",
        "summary": summary,
        "createTime": stamp,
        "updateTime": stamp,
        "state": state,
        "topicType": body["topicType"],
        "_live_at": (now + PHOTO_PROCESSING).isoformat(),
    }
    for key in ("callToAction", "event", "offer", "alertType"):
        if body.get(key) is not None:
            stored[key] = body[key]
    if body.get("media"):
        stored["media"] = [{"name": f"{name}/media/AF1Qip{post_id[-6:]}", "mediaFormat": "PHOTO",
                            "sourceUrl": body["media"][0]["sourceUrl"],
                            "googleUrl": f"https://lh3.googleusercontent.com/p/sandbox-post-{post_id[-6:]}=s1200"}]
    if not rejected:
        stored["searchUrl"] = f"https://local.google.com/place?id={location['cid']}&use=posts&lpsid={post_id}"
    store.put_object(NAME, "localPost", name, stored, now=now)
    if not rejected:
        store.record_post(
            NAME, account_id=parent, platform_post_id=name, text=summary, now=now, permalink=stored["searchUrl"],
            media=[{"kind": "image", "url": body["media"][0]["sourceUrl"]}] if body.get("media") else [],
            extra={"topicType": body["topicType"], "location": location["title"]},
        )
        core.after_create(NAME)
    return jsonify(_post_view(name, stored))


@bp.route("/mybusiness.googleapis.com/v4/accounts/<account_id>/locations/<location_id>/localPosts/<post_id>",
          methods=["GET", "DELETE"])
def local_post(account_id: str, location_id: str, post_id: str) -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    location = _location(account_id, location_id, token)
    if isinstance(location, Response):
        return location
    name = f"accounts/{account_id}/locations/{location_id}/localPosts/{post_id}"
    stored = core.store().get_object(NAME, "localPost", name)
    if stored is None or stored.get("deleted"):
        return google_error(404, "Requested entity was not found.", status="NOT_FOUND")
    if request.method == "DELETE":
        core.store().put_object(NAME, "localPost", name, {**stored, "deleted": True}, now=core.now())
        return jsonify({})
    return jsonify(_post_view(name, stored))


# -- Business Profile Performance: location daily metrics ([Daily metrics]) -------------------------------------


def _range_date(prefix: str) -> date | None:
    try:
        return date(int(request.args[f"{prefix}.year"]), int(request.args[f"{prefix}.month"]),
                    int(request.args[f"{prefix}.day"]))
    except (KeyError, ValueError):
        return None


@bp.get("/businessprofileperformance.googleapis.com/v1/locations/<location_id>:fetchMultiDailyMetricsTimeSeries")
def fetch_multi_daily_metrics(location_id: str) -> Response:
    token = _access()
    if isinstance(token, Response):
        return token
    name = f"locations/{location_id}"
    account = next((a for a, locs in LOCATIONS.items() if any(loc["name"] == name for loc in locs)), None)
    if account is None or account not in {a["name"] for a in _owned_accounts(token)}:
        return google_error(403, "The caller does not have permission", status="PERMISSION_DENIED")
    metrics = request.args.getlist("dailyMetrics")
    if not metrics:
        return _invalid("At least one dailyMetrics value is required.", "daily_metrics")
    unknown = [m for m in metrics if m not in DAILY_METRICS]
    if unknown:
        return _invalid(f"Invalid value at 'daily_metrics' ({unknown[0]}).", "daily_metrics")
    start, end = _range_date("dailyRange.startDate"), _range_date("dailyRange.endDate")
    if start is None or end is None or end < start:
        return _invalid("dailyRange must have a valid startDate and endDate.", "daily_range")
    parent = f"{account}/locations/{location_id}"
    posts = [p for p in core.store().posts(NAME) if p.account_id == parent]
    series = []
    for metric in metrics:
        key, share = DAILY_METRICS[metric]
        dated_values = []
        day = start
        while day <= end:
            value = sum(_daily_increment(p.platform_post_id, p.created_at, day, key) for p in posts) * share // 1000
            entry: dict[str, Any] = {"date": {"year": day.year, "month": day.month, "day": day.day}}
            if value:  # [Daily metrics]: `value` is left out when it is zero, and is an int64 string otherwise
                entry["value"] = str(value)
            dated_values.append(entry)
            day += timedelta(days=1)
        series.append({"dailyMetric": metric, "timeSeries": {"datedValues": dated_values}})
    return jsonify({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]})


def _daily_increment(post_id: str, created_at: datetime, day: date, key: str) -> int:
    tz = created_at.tzinfo
    day_start = datetime.combine(day, time.min, tzinfo=tz)
    day_end = min(day_start + timedelta(days=1), core.now())
    if day_end <= day_start:
        return 0
    return (core.metric_values(post_id, created_at, at=day_end)[key]
            - core.metric_values(post_id, created_at, at=day_start)[key])
