"""The OIDC_PROVIDERS setting: presets, custom issuers and the errors an operator sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portal.auth.providers import DEFAULT_SCOPES, OidcProviderConfig, parse_provider_configs
from portal.config import ConfigError
from tests.conftest import make_settings

CUSTOM = {
    "name": "okta",
    "label": "Acme SSO",
    "client_id": "0oa1",
    "client_secret": "shh",
    "discovery_url": "https://acme.okta.com/.well-known/openid-configuration",
}


def _error(items: list[Any]) -> str:
    with pytest.raises(ValueError, match=r".") as caught:
        parse_provider_configs(items)
    return str(caught.value)


def test_presets_need_only_a_client_id_and_secret() -> None:
    """google, linkedin and microsoft come with their label and discovery URL."""
    configs = parse_provider_configs(
        [
            {"name": name, "client_id": f"{name}-id", "client_secret": f"{name}-secret"}
            for name in ("google", "linkedin", "microsoft")
        ]
    )
    assert [(c.name, c.label, c.discovery_url) for c in configs] == [
        ("google", "Google", "https://accounts.google.com/.well-known/openid-configuration"),
        (
            "linkedin",
            "LinkedIn",
            "https://www.linkedin.com/oauth/.well-known/openid-configuration",
        ),
        (
            "microsoft",
            "Microsoft",
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        ),
    ]
    assert all(c.scopes == DEFAULT_SCOPES == "openid email profile" for c in configs)
    google, linkedin, microsoft = configs
    assert google.use_pkce and microsoft.use_pkce and not linkedin.use_pkce
    assert linkedin.client_auth_method == "client_secret_post"
    assert not linkedin.require_nonce_claim and google.require_nonce_claim
    assert google.extra_issuers == ("accounts.google.com",)


def test_a_preset_may_rename_itself_or_pin_a_tenant() -> None:
    """label and discovery_url override a preset, e.g. a single Microsoft tenant."""
    (config,) = parse_provider_configs(
        [
            {
                "name": "microsoft",
                "client_id": "id",
                "client_secret": "s",
                "label": "Work account",
                "discovery_url": "https://login.microsoftonline.com/contoso.onmicrosoft.com"
                "/v2.0/.well-known/openid-configuration",
            }
        ]
    )
    assert config.label == "Work account"
    assert "contoso" in config.discovery_url


def test_a_custom_provider_needs_a_discovery_url_and_a_label() -> None:
    """Any other name must say where its issuer is and what its button says."""
    (config,) = parse_provider_configs([CUSTOM])
    assert config == OidcProviderConfig(
        name="okta",
        label="Acme SSO",
        client_id="0oa1",
        client_secret="shh",
        discovery_url=CUSTOM["discovery_url"],
    )
    for missing in ("discovery_url", "label"):
        item = {k: v for k, v in CUSTOM.items() if k != missing}
        assert "needs discovery_url and label" in _error([item])


def test_a_custom_provider_may_be_a_public_client() -> None:
    """Without a secret a custom provider relies on PKCE alone; presets insist on one."""
    (config,) = parse_provider_configs([{**CUSTOM, "client_secret": ""}])
    assert config.client_secret == ""
    message = _error([{"name": "google", "client_id": "id"}])
    assert message == "provider 'google': client_secret is required for Google"


def test_client_id_is_required() -> None:
    """A provider without a client_id can't be used."""
    assert _error([{"name": "google", "client_secret": "s"}]) == (
        "provider 'google': client_id is required"
    )


def test_names_must_be_unique_slugs() -> None:
    """Names appear in URLs and session keys, so they are short lower-case slugs, once each."""
    twice = [
        {"name": "google", "client_id": "a", "client_secret": "s"},
        {"name": "google", "client_id": "b", "client_secret": "s"},
    ]
    assert _error(twice) == "provider 'google' is listed twice"
    for bad in ("Google", "my provider", "", "x" * 33, "1st", None):
        assert "name must be a lower-case slug" in _error([{**CUSTOM, "name": bad}])


def test_unknown_keys_are_rejected_by_name() -> None:
    """A typo such as client_secrets is reported, not silently ignored."""
    message = _error([{"name": "google", "client_id": "a", "client_secrets": "s"}])
    assert message.startswith("provider 'google': unknown key(s) client_secrets; allowed: ")
    assert "client_secret," in message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://sso.example.com/.well-known/openid-configuration", "must use https://"),
        ("ftp://sso.example.com/.well-known/openid-configuration", "absolute https:// URL"),
        ("sso.example.com/.well-known/openid-configuration", "absolute https:// URL"),
        ("https://sso.example.com/", "must end with /.well-known/openid-configuration"),
        ("https://u:p@sso.example.com/.well-known/openid-configuration", "credentials"),
    ],
)
def test_a_bad_discovery_url_is_rejected(url: str, words: str) -> None:
    """Discovery must be https (plain http only on loopback) and the standard path."""
    message = _error([{**CUSTOM, "discovery_url": url}])
    assert message.startswith("provider 'okta': discovery_url ")
    assert words in message


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost", "127.0.0.2:8443"])
def test_plain_http_is_allowed_on_loopback_for_local_providers(host: str) -> None:
    """A development identity provider on this machine may run without TLS."""
    url = f"http://{host}/realms/dev/.well-known/openid-configuration"
    (config,) = parse_provider_configs([{**CUSTOM, "discovery_url": url}])
    assert config.discovery_url == url


def test_scopes_must_include_openid() -> None:
    """Without openid there is no ID token to verify; lists and strings are both accepted."""
    (config,) = parse_provider_configs([{**CUSTOM, "scopes": ["openid", "email", "openid"]}])
    assert config.scopes == "openid email"
    assert "scopes must include openid" in _error([{**CUSTOM, "scopes": "email profile"}])
    assert "not a valid scope" in _error([{**CUSTOM, "scopes": ["openid", 'a"b']}])
    assert "scopes must be a string" in _error([{**CUSTOM, "scopes": 3}])


def test_items_must_be_objects_and_values_strings() -> None:
    """A list of names, or a number where text belongs, is explained."""
    assert "provider #1 must be an object" in _error(["google"])
    assert "client_id must be a string" in _error([{**CUSTOM, "client_id": 42}])


def test_the_client_secret_stays_out_of_reprs() -> None:
    """Logging a provider config never prints its secret."""
    (config,) = parse_provider_configs([CUSTOM])
    assert "shh" not in repr(config)


def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    """load_settings turns the ValueError into a ConfigError about TALENTCONNECT_OIDC_PROVIDERS."""
    with pytest.raises(ConfigError) as caught:
        make_settings(
            tmp_path,
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            OIDC_PROVIDERS=json.dumps([{"name": "google"}]),
        )
    assert caught.value.variable == "TALENTCONNECT_OIDC_PROVIDERS"
    assert "client_id is required" in str(caught.value)


def test_a_good_setting_reaches_the_settings_object(tmp_path: Path) -> None:
    """The JSON setting becomes a tuple of validated provider configs."""
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        OIDC_PROVIDERS=json.dumps([{"name": "google", "client_id": "a", "client_secret": "s"}]),
    )
    assert [c.name for c in settings.oidc_providers] == ["google"]


def test_providers_can_come_from_the_toml_file(tmp_path: Path) -> None:
    """An array of tables in the config file is the same setting as the JSON variable."""
    config_file = tmp_path / "talentconnect.toml"
    config_file.write_text(
        '[[oidc_providers]]\nname = "google"\nclient_id = "a"\nclient_secret = "s"\n\n'
        '[[oidc_providers]]\nname = "acme"\nlabel = "Acme"\nclient_id = "b"\n'
        'discovery_url = "https://sso.acme.example.com/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", CONFIG_FILE=str(config_file)
    )
    assert [(c.name, c.label) for c in settings.oidc_providers] == [
        ("google", "Google"),
        ("acme", "Acme"),
    ]
