"""The eleven platform ids. They are stored in the database (posts, connections, analytics): never rename one."""

PLATFORMS: tuple[str, ...] = (
    "instagram",
    "facebook",
    "linkedin",
    "x",
    "tiktok",
    "youtube",
    "threads",
    "pinterest",
    "bluesky",
    "mastodon",
    "google_business",
)
