"""Config read from the environment: per-platform deployment options, and how they reach the providers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from stella.config import CONFIG_KEY, Config, ConfigError, ProviderCredentials
from stella.services import platforms

BASE_ENV = {"SECRET_KEY": "k", "STELLA_ENCRYPTION_KEYS": "x3M1cE1Y0lZr2n6b8wQ2m9Yw1pW0vHq3s5t7u9v1x2A="}


def config_from(tmp_path: Path, **env: str) -> Config:
    """The Config as `create_app` would accept it: parsed, then checked against the providers' declarations."""
    # A dotenv path that does not exist, so a developer's own .env cannot change the outcome.
    config = Config.from_env({**BASE_ENV, **env}, instance_path=tmp_path, dotenv_path=tmp_path / "no.env")
    platforms.check_provider_options(config)
    return config


# -- parsing -------------------------------------------------------------------------------------------------


def test_no_options_set_means_an_empty_mapping(tmp_path: Path) -> None:
    assert config_from(tmp_path).provider_options == {}


def test_scopes_accept_spaces_or_commas_keep_order_and_drop_repeats(tmp_path: Path) -> None:
    config = config_from(tmp_path, STELLA_LINKEDIN_SCOPES=" r_basicprofile, w_member_social  w_organization_social,"
                                                          "w_member_social ")
    assert config.provider_options == {"linkedin": {"scopes": "r_basicprofile w_member_social w_organization_social"}}


def test_scopes_of_a_platform_with_an_underscore_in_its_name(tmp_path: Path) -> None:
    config = config_from(tmp_path, STELLA_GOOGLE_BUSINESS_SCOPES="https://www.googleapis.com/auth/business.manage")
    assert config.provider_options["google_business"]["scopes"] == "https://www.googleapis.com/auth/business.manage"


def test_an_empty_value_keeps_the_default(tmp_path: Path) -> None:
    config = config_from(tmp_path, STELLA_LINKEDIN_SCOPES="  ", STELLA_PINTEREST_API_URL="")
    assert config.provider_options == {}


def test_a_scope_with_characters_oauth_forbids_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"STELLA_X_SCOPES.*'tweet\"write'"):
        config_from(tmp_path, STELLA_X_SCOPES='tweet.read tweet"write')


def test_a_misspelt_platform_is_a_startup_error_not_a_silent_no_op(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STELLA_LINKEDN_SCOPES names no platform") as info:
        config_from(tmp_path, STELLA_LINKEDN_SCOPES="openid")
    assert "STELLA_LINKEDIN_SCOPES" in str(info.value)  # the message lists the right names


def test_scopes_for_an_app_password_platform_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STELLA_BLUESKY_SCOPES is not used"):
        config_from(tmp_path, STELLA_BLUESKY_SCOPES="atproto")


def test_meta_login_config_ids_are_read_for_facebook_and_instagram(tmp_path: Path) -> None:
    config = config_from(tmp_path, STELLA_FACEBOOK_LOGIN_CONFIG_ID=" 1093847561029384 ",
                         STELLA_INSTAGRAM_LOGIN_CONFIG_ID="2203948576102938")
    assert config.provider_options == {"facebook": {"login_config_id": "1093847561029384"},
                                       "instagram": {"login_config_id": "2203948576102938"}}


def test_a_non_numeric_login_config_id_is_refused_with_where_to_find_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"numeric Configuration ID.*Facebook Login for Business"):
        config_from(tmp_path, STELLA_FACEBOOK_LOGIN_CONFIG_ID="my-config")


def test_a_login_config_id_for_a_non_meta_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only Facebook and Instagram"):
        config_from(tmp_path, STELLA_LINKEDIN_LOGIN_CONFIG_ID="123")


def test_scopes_and_a_login_config_id_for_the_same_meta_platform_conflict(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STELLA_INSTAGRAM_SCOPES or STELLA_INSTAGRAM_LOGIN_CONFIG_ID, not both"):
        config_from(tmp_path, STELLA_INSTAGRAM_SCOPES="instagram_basic", STELLA_INSTAGRAM_LOGIN_CONFIG_ID="123")


@pytest.mark.parametrize("raw", ["https://api-sandbox.pinterest.com", "https://api-sandbox.pinterest.com/",
                                 "https://api-sandbox.pinterest.com/v5", " https://api-sandbox.pinterest.com/v5/ "])
def test_pinterest_api_url_accepts_the_sandbox_host_as_pinterest_prints_it(tmp_path: Path, raw: str) -> None:
    config = config_from(tmp_path, STELLA_PINTEREST_API_URL=raw)
    assert config.provider_options == {"pinterest": {"api_url": "https://api-sandbox.pinterest.com"}}


def test_pinterest_api_url_may_name_production_explicitly(tmp_path: Path) -> None:
    config = config_from(tmp_path, STELLA_PINTEREST_API_URL="https://api.pinterest.com/v5")
    assert config.provider_options["pinterest"]["api_url"] == "https://api.pinterest.com"


@pytest.mark.parametrize("raw", ["http://api-sandbox.pinterest.com", "https://api-sandbox.pinterest.com.evil.example",
                                 "https://evil.example", "https://api-sandbox.pinterest.com/v3"])
def test_pinterest_api_url_must_be_a_documented_pinterest_host(tmp_path: Path, raw: str) -> None:
    # Tokens are sent to this host: anything but Pinterest's own would hand them to a stranger.
    with pytest.raises(ConfigError, match=re.escape("STELLA_PINTEREST_API_URL must be https://api.pinterest.com or "
                                                    "https://api-sandbox.pinterest.com")):
        config_from(tmp_path, STELLA_PINTEREST_API_URL=raw)


def test_an_api_url_for_another_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STELLA_X_API_URL is not used: only Pinterest"):
        config_from(tmp_path, STELLA_X_API_URL="https://api.x.com")


# -- reaching the providers ------------------------------------------------------------------------------------


@pytest.fixture()
def configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Swap the running app's Config for one with LinkedIn and Facebook credentials and the given options."""

    def swap(options: dict[str, dict[str, str]]) -> Config:
        config = app.extensions[CONFIG_KEY].with_overrides(
            provider_credentials={"linkedin": ProviderCredentials("li-client", "li-secret"),
                                  "facebook": ProviderCredentials("fb-app", "fb-secret")},
            provider_options=options,
        )
        monkeypatch.setitem(app.extensions, CONFIG_KEY, config)
        return config

    return swap


PAGE = "r_basicprofile w_member_social w_organization_social rw_organization_admin r_organization_social"


def test_the_scopes_override_reaches_the_authorization_url(app: Flask, configured: Any, client: Any,
                                                           login: Any) -> None:
    configured({"linkedin": {"scopes": PAGE}})
    login("marketing")
    response = client.post("/connections/linkedin/connect")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["scope"] == [PAGE] and query["client_id"] == ["li-client"]


def test_without_an_override_the_platform_defaults_are_sent(app: Flask, configured: Any, client: Any,
                                                            login: Any) -> None:
    configured({})
    login("marketing")
    query = parse_qs(urlsplit(client.post("/connections/linkedin/connect").headers["Location"]).query)
    assert query["scope"] == ["openid profile w_member_social"]


def test_provider_for_hands_each_platform_only_its_own_options(app: Flask, configured: Any, db: Any) -> None:
    configured({"linkedin": {"scopes": PAGE}, "pinterest": {"api_url": "https://api-sandbox.pinterest.com"}})
    linkedin = platforms.provider_for("linkedin")
    assert linkedin.requested_scopes == tuple(PAGE.split())
    assert dict(linkedin.options) == {"scopes": PAGE}
    assert platforms.provider_options("x") == {}


def test_setup_help_shows_the_effective_scopes(app: Flask, configured: Any, db: Any) -> None:
    configured({"linkedin": {"scopes": PAGE}})
    assert platforms.setup_help("linkedin").scopes == tuple(PAGE.split())
    assert platforms.setup_help("x").scopes == platforms.provider_class("x").scopes


def test_the_facebook_login_config_id_reaches_the_dialog_url(app: Flask, configured: Any, client: Any,
                                                             login: Any) -> None:
    configured({"facebook": {"login_config_id": "1093847561029384"}})
    login("marketing")
    query = parse_qs(urlsplit(client.post("/connections/facebook/connect").headers["Location"]).query)
    assert query["config_id"] == ["1093847561029384"] and "scope" not in query
    assert query["client_id"] == ["fb-app"]


def test_only_the_config_module_reads_the_environment():
    import re

    from stella.config import PROJECT_ROOT

    readers = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "stella").rglob("*.py"))
        if path.name != "config.py" and re.search(r"\bos\.(environ|getenv)\b|\bgetenv\(", path.read_text())
    ]
    assert readers == [], f"read settings through stella.config.Config instead: {readers}"


# -- the reverse proxy ---------------------------------------------------------------------------------------------


def test_no_proxy_is_trusted_unless_configured(tmp_path: Path) -> None:
    assert config_from(tmp_path).proxy_hops == 0
    assert config_from(tmp_path, STELLA_PROXY_HOPS="").proxy_hops == 0


def test_the_proxy_hop_count_is_read_as_a_whole_number(tmp_path: Path) -> None:
    assert config_from(tmp_path, STELLA_PROXY_HOPS=" 2 ").proxy_hops == 2


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5"])
def test_a_proxy_hop_count_that_is_not_a_whole_number_stops_start_up_with_a_sentence(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="STELLA_PROXY_HOPS must be a whole number"):
        config_from(tmp_path, STELLA_PROXY_HOPS=raw)
