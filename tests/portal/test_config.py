"""Settings: defaults, precedence, and a clear error for every malformed value."""

from __future__ import annotations

import re
import stat
from dataclasses import MISSING, fields
from pathlib import Path
from typing import get_type_hints

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from portal.config import DEV_SECRET_FILE, SETTINGS, ConfigError, Settings, load_settings
from tests.portal.helpers import STRONG_SECRET, clean_env, run_cli

PRODUCTION = {
    "TALENTCONNECT_ENV": "production",
    "TALENTCONNECT_SECRET_KEYS": STRONG_SECRET,
    "TALENTCONNECT_BASE_URL": "https://careers.acme.example.com",
    "TALENTCONNECT_POSTAL_ADDRESS": "1 Market Street, San Francisco, CA 94105",
}


def _load(tmp_path: Path, **values: str) -> Settings:
    """Load settings from an environment holding only `values` (names without prefix)."""
    environ = {"TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance")}
    environ.update({f"TALENTCONNECT_{k}": v for k, v in values.items()})
    return load_settings(environ=environ)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set: SQLite under instance/, local base URL, development mode."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.env == "development"
    assert not settings.is_production
    assert settings.instance_dir == Path("instance")
    assert settings.database_url == "sqlite:///instance/talentconnect.db"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.smtp_url == ""
    assert settings.smtp_target is None
    assert settings.mail_from == "Acme Careers <careers@acme.example.com>"
    assert settings.company_name == "Acme"
    assert settings.upload_dir == Path("instance") / "uploads"
    assert settings.mail_sink_dir == Path("instance") / "mail-sink"
    assert settings.log_level == "INFO"
    assert settings.worker_batch_size == 100
    assert (settings.smtp_connections, settings.send_rate) == (4, 0.0)
    assert settings.worker_poll_seconds == 2.0
    assert settings.scheduler_reload_seconds == 60
    assert settings.mail_sink_port == 0
    assert settings.postal_address  # a demo address, so footers are never blank
    assert settings.uses_dev_secret


def test_dev_secret_is_generated_once_with_private_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The development secret is written once to instance/secret_key (0600) and reused."""
    monkeypatch.chdir(tmp_path)
    first = load_settings(environ={})
    path = tmp_path / "instance" / DEV_SECRET_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.secret_keys == (path.read_text(encoding="utf-8").strip(),)
    assert len(first.secret_keys[0]) >= 32

    second = load_settings(environ={})
    assert second.secret_keys == first.secret_keys
    assert first.uses_dev_secret and second.uses_dev_secret


def test_explicit_secret_keys_do_not_touch_the_instance_dir(tmp_path: Path) -> None:
    """Given SECRET_KEYS, the keys are used newest first and no secret file is written."""
    settings = _load(tmp_path, SECRET_KEYS=" new-key , old-key ")
    assert settings.secret_keys == ("new-key", "old-key")
    assert not settings.uses_dev_secret
    assert not (tmp_path / "instance" / DEV_SECRET_FILE).exists()


def test_environment_beats_file_and_overrides_beat_environment(tmp_path: Path) -> None:
    """Precedence: overrides, then TALENTCONNECT_* variables, then the TOML file."""
    config = tmp_path / "talentconnect.toml"
    config.write_text(
        'company_name = "File Corp"\n'
        'log_level = "debug"\n'
        'mail_from = "File <file@acme.example.com>"\n'
        "worker_batch_size = 7\n"
        'secret_keys = ["file-key-1", "file-key-2"]\n',
        encoding="utf-8",
    )
    environ = {
        "TALENTCONNECT_CONFIG_FILE": str(config),
        "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance"),
        "TALENTCONNECT_COMPANY_NAME": "Env Corp",
        "TALENTCONNECT_LOG_LEVEL": "warning",
    }
    settings = load_settings(environ=environ, overrides={"LOG_LEVEL": "error"})
    assert settings.company_name == "Env Corp"  # env over file
    assert settings.log_level == "ERROR"  # override over env
    assert settings.mail_from == "File <file@acme.example.com>"  # file over default
    assert settings.worker_batch_size == 7  # TOML integers are accepted
    assert settings.secret_keys == ("file-key-1", "file-key-2")  # TOML lists are keys


def test_toml_file_may_use_a_talentconnect_table(tmp_path: Path) -> None:
    """A `[talentconnect]` table in the TOML file is read like top-level keys."""
    config = tmp_path / "settings.toml"
    config.write_text('[talentconnect]\ncompany_name = "Table Corp"\n', encoding="utf-8")
    settings = _load(tmp_path, CONFIG_FILE=str(config), SECRET_KEYS="k")
    assert settings.company_name == "Table Corp"


def test_config_file_given_as_override(tmp_path: Path) -> None:
    """`--config` (the CONFIG_FILE override) is read even when the environment names none."""
    config = tmp_path / "settings.toml"
    config.write_text('company_name = "Override File Corp"\n', encoding="utf-8")
    settings = load_settings(
        environ={"TALENTCONNECT_SECRET_KEYS": "k"}, overrides={"CONFIG_FILE": str(config)}
    )
    assert settings.company_name == "Override File Corp"


def test_surrounding_whitespace_is_ignored(tmp_path: Path) -> None:
    """Values copied with stray spaces still parse."""
    settings = _load(
        tmp_path, SECRET_KEYS="k", WORKER_BATCH_SIZE=" 10 ", BASE_URL=" https://x.example.com/ "
    )
    assert settings.worker_batch_size == 10
    assert settings.base_url == "https://x.example.com"


def test_test_suite_variables_are_not_settings(tmp_path: Path) -> None:
    """TALENTCONNECT_TEST_* variables belong to the test suite and are ignored."""
    settings = _load(tmp_path, SECRET_KEYS="k", TEST_DATABASE_URL="postgresql://ignored")
    assert settings.database_url.startswith("sqlite:///")


def test_unknown_environment_variable_is_named(tmp_path: Path) -> None:
    """A misspelt TALENTCONNECT_ variable is an error naming it, not silently ignored."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, SMTP_HOST="mail.example.com")
    assert info.value.variable == "TALENTCONNECT_SMTP_HOST"
    assert "TALENTCONNECT_SMTP_HOST" in str(info.value)


def test_privacy_url_is_a_setting_and_must_be_a_safe_link(tmp_path: Path) -> None:
    """PRIVACY_URL is accepted as https:// or a /path; anything else names the variable."""
    assert _load(tmp_path, PRIVACY_URL="https://acme.example/privacy").privacy_url == (
        "https://acme.example/privacy"
    )
    assert _load(tmp_path, PRIVACY_URL="/privacy").privacy_url == "/privacy"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, PRIVACY_URL="javascript:alert(1)")
    assert info.value.variable == "TALENTCONNECT_PRIVACY_URL"


def test_unknown_override_is_named(tmp_path: Path) -> None:
    """An override with an unknown name is refused with its variable name."""
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, overrides={"database": "sqlite://"})
    assert info.value.variable == "TALENTCONNECT_DATABASE"


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    """An unknown key in the TOML file is an error naming the key and the file."""
    config = tmp_path / "settings.toml"
    config.write_text('company_name = "Acme"\nsmtp_hots = "mail.example.com"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, CONFIG_FILE=str(config))
    assert info.value.variable == "TALENTCONNECT_CONFIG_FILE"
    assert "smtp_hots" in str(info.value)
    assert str(config) in str(info.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        ("company_name = 'unterminated\n", "cannot read"),
        ('config_file = "other.toml"\n', "unknown setting 'config_file'"),
    ],
)
def test_unreadable_config_file_is_named(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    """A missing, malformed or self-referencing TOML file is a CONFIG_FILE error."""
    config = tmp_path / "settings.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, CONFIG_FILE=str(config))
    assert info.value.variable == "TALENTCONNECT_CONFIG_FILE"
    assert fragment in str(info.value)


MALFORMED: list[tuple[str, str, str]] = [
    ("COMPANY_TIME_ZONE", "Mars/Olympus_Mons", "is not a time zone"),
    ("DATABASE_URL", "garbage", "not a database URL"),
    ("DATABASE_URL", "mysql://user@db.example.com/talent", "'mysql' is not supported"),
    ("DATABASE_URL", "postgresql+asyncpg://user@db.example.com/talent", "psycopg"),
    ("SMTP_URL", "http://mail.example.com", "scheme must be smtp or smtps"),
    ("SMTP_URL", "mail.example.com:25", "scheme"),
    ("SMTP_URL", "smtp://", "a host is required"),
    ("SMTP_URL", "smtp://mail.example.com:99999", "port"),
    ("SMTP_URL", "smtp://mail.example.com:abc", "port"),
    ("SMTP_URL", "smtp://mail.example.com?tls=yes", "unknown option(s) tls"),
    ("SMTP_URL", "smtps://mail.example.com?starttls=true", "already uses TLS"),
    ("SMTP_URL", "smtp://mail.example.com?starttls=maybe", "must be true or false"),
    ("SMTP_URL", "smtp://mail.example.com?timeout=soon", "timeout must be a number"),
    ("SMTP_URL", "smtp://mail.example.com?timeout=0", "timeout must be positive"),
    ("BASE_URL", "ftp://careers.example.com", "must be an http(s) URL with a host"),
    ("BASE_URL", "https://", "must be an http(s) URL with a host"),
    ("BASE_URL", "careers.example.com", "must be an http(s) URL with a host"),
    ("BASE_URL", "https://careers.example.com/?ref=1", "query or fragment"),
    ("MAIL_FROM", "not an address", "not an address"),
    ("MAIL_FROM", "Acme <careers>", "careers"),
    ("SECRET_KEYS", "first-key,,second-key", "empty key"),
    ("SECRET_KEYS", "only-key,", "empty key"),
    ("LOG_LEVEL", "LOUD", "must be DEBUG, INFO, WARNING or ERROR"),
    ("WORKER_BATCH_SIZE", "many", "not a whole number"),
    ("WORKER_BATCH_SIZE", "2.5", "not a whole number"),
    ("WORKER_BATCH_SIZE", "0", "between 1 and 10000"),
    ("WORKER_BATCH_SIZE", "10001", "between 1 and 10000"),
    ("WORKER_POLL_SECONDS", "soon", "not a number"),
    ("WORKER_POLL_SECONDS", "0", "between"),
    ("WORKER_POLL_SECONDS", "nan", "between"),
    ("SCHEDULER_RELOAD_SECONDS", "0", "between 1 and 86400"),
    ("MAIL_SINK_PORT", "70000", "between 0 and 65535"),
    ("ENV", "staging", "must be development or production"),
]


@pytest.mark.parametrize(
    ("name", "value", "fragment"), MALFORMED, ids=[f"{n}={v}" for n, v, _ in MALFORMED]
)
def test_malformed_setting_names_its_variable(
    tmp_path: Path, name: str, value: str, fragment: str
) -> None:
    """Each malformed value raises ConfigError naming its TALENTCONNECT_ variable."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **{"SECRET_KEYS": "k", name: value})
    assert info.value.variable == f"TALENTCONNECT_{name}"
    assert str(info.value).startswith(f"TALENTCONNECT_{name}: ")
    assert fragment in str(info.value)


def test_smtp_url_is_parsed(tmp_path: Path) -> None:
    """A well-formed relay URL yields host, port, credentials and TLS mode."""
    settings = _load(
        tmp_path, SECRET_KEYS="k", SMTP_URL="smtp://mailer:p%40ss@relay.example.com:587?starttls=1"
    )
    target = settings.smtp_target
    assert target is not None
    assert (target.host, target.port, target.username, target.password) == (
        "relay.example.com",
        587,
        "mailer",
        "p@ss",
    )
    assert target.start_tls and not target.use_tls


def test_production_settings_accepted(tmp_path: Path) -> None:
    """Complete production settings load and report production."""
    settings = load_settings(
        environ={**PRODUCTION, "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance")}
    )
    assert settings.is_production
    assert settings.secret_keys == (STRONG_SECRET,)
    assert not (tmp_path / "instance" / DEV_SECRET_FILE).exists()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SECRET_KEYS", None, "must be set in production"),
        ("SECRET_KEYS", "short-key", "at least 32 characters"),
        ("SECRET_KEYS", STRONG_SECRET + ",short", "at least 32 characters"),
        ("BASE_URL", "http://careers.acme.example.com", "must use https in production"),
        ("POSTAL_ADDRESS", None, "required in production"),
        ("POSTAL_ADDRESS", "   ", "required in production"),
    ],
)
def test_production_refuses_unsafe_settings(
    tmp_path: Path, name: str, value: str | None, fragment: str
) -> None:
    """Production refuses a missing or short secret, plain http and a missing postal address."""
    environ = {**PRODUCTION, "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance")}
    if value is None:
        del environ[f"TALENTCONNECT_{name}"]
    else:
        environ[f"TALENTCONNECT_{name}"] = value
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert info.value.variable == f"TALENTCONNECT_{name}"
    assert fragment in str(info.value)
    # Refusing must not leave a generated secret behind for the next start.
    assert not (tmp_path / "instance" / DEV_SECRET_FILE).exists()


def test_production_refuses_the_development_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copying the generated development secret into SECRET_KEYS is refused in production."""
    monkeypatch.chdir(tmp_path)
    dev = load_settings(environ={})
    (secret,) = dev.secret_keys
    environ = {**PRODUCTION, "TALENTCONNECT_SECRET_KEYS": f"{STRONG_SECRET},{secret}"}
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert info.value.variable == "TALENTCONNECT_SECRET_KEYS"
    assert "development secret" in str(info.value)


def test_every_setting_has_help_and_a_default() -> None:
    """`talentconnect settings` can describe every setting."""
    names = [spec.name for spec in SETTINGS]
    assert len(names) == len(set(names))
    for spec in SETTINGS:
        assert spec.help.strip(), spec.name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMTP_URL", "http://mail.example.com"),
        ("DATABASE_URL", "mysql://user@db.example.com/talent"),
        ("WORKER_BATCH_SIZE", "lots"),
        ("SMTP_HOTS", "mail.example.com"),
    ],
)
def test_cli_reports_a_malformed_setting_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    """The CLI prints one stderr line naming the variable and exits 2, with no traceback."""
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"), **{name: value})
    result = run_cli(["outbox", "status"], env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"TALENTCONNECT_{name}" in lines[0]
    assert "configuration error" in lines[0]
    assert result.stdout == ""
    # Nothing was created on the way to the error.
    assert not (tmp_path / "instance" / "talentconnect.db").exists()


def test_cli_reports_a_missing_config_file(tmp_path: Path) -> None:
    """`--config` naming a missing file is one clear line and exit 2."""
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"))
    result = run_cli(["--config", "missing.toml", "db", "current"], env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TALENTCONNECT_CONFIG_FILE" in lines[0]
    assert "missing.toml" in lines[0]


def _write_key(path: Path, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_dkim_is_off_without_its_settings(tmp_path: Path) -> None:
    """With no DKIM setting, nothing is signed and no key is loaded."""
    settings = _load(tmp_path, SECRET_KEYS="k")
    assert settings.dkim is None
    assert settings.mail_settings().dkim is None


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_dkim_key_is_loaded_once_at_start_up(
    tmp_path: Path, rsa_2048: rsa.RSAPrivateKey, kind: str
) -> None:
    """All three DKIM settings give one signer, shared by every MailSettings made from them."""
    key = rsa_2048 if kind == "rsa" else ed25519.Ed25519PrivateKey.generate()
    key_file = _write_key(tmp_path / "dkim.pem", key)
    settings = _load(
        tmp_path,
        SECRET_KEYS="k",
        DKIM_DOMAIN="acme.example.com",
        DKIM_SELECTOR="tc2026",
        DKIM_KEY_FILE=str(key_file),
    )
    signer = settings.dkim
    assert signer is not None
    assert (signer.domain, signer.selector) == ("acme.example.com", "tc2026")
    assert signer.algorithm == ("rsa-sha256" if kind == "rsa" else "ed25519-sha256")
    key_file.unlink()  # read at start-up only: signing never touches the file again
    assert settings.mail_settings().dkim is signer
    assert signer.sign(b"From: careers@acme.example.com\r\n\r\nhi\r\n").startswith(
        b"DKIM-Signature:"
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"DKIM_DOMAIN": "acme.example.com"}, "DKIM_SELECTOR"),
        ({"DKIM_DOMAIN": "acme.example.com", "DKIM_SELECTOR": "tc2026"}, "DKIM_KEY_FILE"),
        ({"DKIM_SELECTOR": "tc2026", "DKIM_KEY_FILE": "dkim.pem"}, "DKIM_DOMAIN"),
        ({"DKIM_KEY_FILE": "dkim.pem"}, "DKIM_DOMAIN"),
    ],
)
def test_partial_dkim_settings_name_the_missing_one(
    tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    """Some but not all of the three DKIM settings stop start-up, naming one that is missing."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, SECRET_KEYS="k", **given)
    assert info.value.variable == f"TALENTCONNECT_{missing}"
    assert "DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE together" in str(info.value)


def _dkim_error(tmp_path: Path, **values: str) -> ConfigError:
    settings = {
        "SECRET_KEYS": "k",
        "DKIM_DOMAIN": "acme.example.com",
        "DKIM_SELECTOR": "tc2026",
        "DKIM_KEY_FILE": str(tmp_path / "dkim.pem"),
    }
    settings.update(values)
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **settings)
    return info.value


def test_missing_dkim_key_file_is_named(tmp_path: Path) -> None:
    """A key file that does not exist stops start-up, naming DKIM_KEY_FILE and the path."""
    error = _dkim_error(tmp_path)
    assert error.variable == "TALENTCONNECT_DKIM_KEY_FILE"
    assert f"cannot read {tmp_path / 'dkim.pem'}" in error.message


def test_unreadable_dkim_key_file_is_named(tmp_path: Path) -> None:
    """A key path that cannot be read (here a folder) stops start-up, naming DKIM_KEY_FILE."""
    (tmp_path / "dkim.pem").mkdir()
    error = _dkim_error(tmp_path)
    assert error.variable == "TALENTCONNECT_DKIM_KEY_FILE"
    assert "cannot read" in error.message


def test_garbage_dkim_key_file_is_named(tmp_path: Path) -> None:
    """A file that is not a PEM private key stops start-up, naming DKIM_KEY_FILE."""
    (tmp_path / "dkim.pem").write_text("v=DKIM1; k=rsa; p=MIIB\n", encoding="utf-8")
    error = _dkim_error(tmp_path)
    assert error.variable == "TALENTCONNECT_DKIM_KEY_FILE"
    assert "is not a PEM private key" in error.message


def test_1024_bit_rsa_dkim_key_is_refused(tmp_path: Path) -> None:
    """An RSA key under 2048 bits stops start-up, naming DKIM_KEY_FILE and the size."""
    # The weak key is the point: it must be refused.
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    _write_key(tmp_path / "dkim.pem", weak)
    error = _dkim_error(tmp_path)
    assert error.variable == "TALENTCONNECT_DKIM_KEY_FILE"
    assert "1024-bit RSA key; DKIM needs at least 2048" in error.message


@pytest.mark.parametrize(
    ("name", "value"),
    [("DKIM_DOMAIN", "acme..example.com"), ("DKIM_SELECTOR", "tc 2026")],
)
def test_malformed_dkim_domain_or_selector_is_named(tmp_path: Path, name: str, value: str) -> None:
    """A domain or selector that is not a DNS name stops start-up, naming its variable."""
    error = _dkim_error(tmp_path, **{name: value})
    assert error.variable == f"TALENTCONNECT_{name}"
    assert repr(value) in error.message


def test_settings_attributes_and_the_table_agree() -> None:
    """Each Settings attribute comes from one row of SETTINGS, typed as its reader returns."""
    from mailer.dkim import DkimSigner

    names = {"DkimSigner": DkimSigner}
    hints = get_type_hints(Settings, localns=names)
    by_attribute = {spec.attribute: spec for spec in SETTINGS if spec.attribute}
    assert len(by_attribute) == len([spec for spec in SETTINGS if spec.attribute])
    # uses_dev_secret and base_url_given say how SECRET_KEYS and BASE_URL were filled;
    # they are no settings of their own.
    assert set(hints) == {*by_attribute, "uses_dev_secret", "base_url_given"}
    for attribute, spec in by_attribute.items():
        returns = get_type_hints(spec.read, localns=names)["return"]
        assert returns == hints[attribute], spec.name


def test_settings_attributes_have_no_defaults_of_their_own() -> None:
    """Defaults are written once, in SETTINGS: the dataclass repeats none of them."""
    for attribute in fields(Settings):
        assert attribute.default is MISSING, attribute.name
        assert attribute.default_factory is MISSING, attribute.name


def test_a_derived_default_is_described_not_given() -> None:
    """A default worked out from other settings names them in <…>, and only such a default."""
    for spec in SETTINGS:
        names_another = re.search(r"<(domain of )?[A-Z_]+>", spec.default) is not None
        assert spec.derived_default == names_another, spec.name
