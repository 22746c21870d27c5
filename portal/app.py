"""The Flask application factory."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, has_request_context, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from jobs.wording import N_
from portal import i18n
from portal.auth import oidc
from portal.config import Settings, load_settings
from portal.console import idn
from portal.i18n import gettext as _
from portal.resumes.sandbox import ParseBudget, ResumeParser
from portal.templating import PortalEnvironment
from portal.views import (
    admin,
    api,
    auth,
    connect,
    console_campaigns,
    console_feeds,
    console_interests,
    console_jobs,
    console_people,
    console_privacy,
    console_reports,
    console_schedules,
    console_webhooks,
    dashboard,
    discovery,
    health,
    language,
    public,
    retention,
    saved_searches,
    unsubscribe,
)
from portal.views import preferences as preference_center
from portal.web import consent_texts, interest_names, signed_routes
from portal.web.limits import init_limiter
from portal.web.phones import display_phone
from portal.web.phrases import local_size
from portal.web.requests import PortalRequest
from portal.web.runtime import EXTENSION_KEY, Runtime
from preferences.clock import now
from preferences.db import (
    WriteMode,
    make_engine,
    make_session_factory,
    reset_write_mode,
    set_write_mode,
)

log = logging.getLogger("portal.request")
csrf = CSRFProtect()


def content_security_policy(settings: Settings) -> str:
    """The page CSP: our own origin, plus the logo host and the file pickers when configured."""
    img = ["'self'", "data:"]
    script = ["'self'"]
    connect = ["'self'"]
    frame = ["'self'"]
    if settings.company_logo_url.startswith("https://"):
        parts = urlsplit(settings.company_logo_url)
        img.append(f"https://{parts.netloc}")
    if settings.google_api_key and settings.google_client_id:
        script += ["https://apis.google.com", "https://accounts.google.com"]
        connect += ["https://www.googleapis.com", "https://accounts.google.com"]
        frame += ["https://docs.google.com", "https://accounts.google.com"]
        img.append("https://*.googleusercontent.com")
    if settings.dropbox_app_key:
        script.append("https://www.dropbox.com")
        frame.append("https://www.dropbox.com")
    return (
        f"default-src 'self'; img-src {' '.join(img)}; style-src 'self'; "
        f"script-src {' '.join(script)}; connect-src {' '.join(connect)}; "
        f"frame-src {' '.join(frame)}; form-action 'self'; frame-ancestors 'self'; "
        "base-uri 'none'; object-src 'none'"
    )


def _shade(color: str, factor: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{max(0, min(255, round(c * factor))):02x}" for c in (r, g, b))


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Create the portal app.

    `config` is a `Settings`, a mapping of setting overrides (names without the
    `TALENTCONNECT_` prefix), or None to read the environment.
    """
    settings = config if isinstance(config, Settings) else load_settings(overrides=config)
    app = Flask("portal", instance_path=str(settings.instance_dir.resolve()))
    app.request_class = PortalRequest
    app.jinja_environment = PortalEnvironment  # before anything makes `app.jinja_env`
    secure = settings.base_url.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.secret_keys[0],
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[1:]),
        # Room for the largest resume plus the rest of a multipart form.
        MAX_CONTENT_LENGTH=(settings.max_upload_mb + 1) * 1024 * 1024,
        SESSION_COOKIE_NAME="tc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PREFERRED_URL_SCHEME="https" if secure else "http",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=secure,
    )
    # Before any blueprint: routes of signed links declare their token with it.
    app.url_map.converters[signed_routes.CONVERTER] = signed_routes.LinkTokenConverter
    engine = make_engine(settings.database_url)
    app.extensions[EXTENSION_KEY] = Runtime(
        settings,
        engine,
        make_session_factory(engine),
        ResumeParser(
            ParseBudget(
                seconds=settings.resume_parse_seconds,
                memory_mb=settings.resume_parse_memory_mb,
                concurrency=settings.resume_parse_concurrency,
            )
        ),
    )
    csrf.init_app(app)
    i18n.init_app(app, settings)
    interest_names.init_app(app)
    # Consent events recorded outside a request (workers in this process) name its wordings.
    consent_texts.install(settings)
    # The privacy notice link's words, as recorded with the consents given beside it.
    app.add_template_global(consent_texts.privacy_notice, "privacy_notice")

    blueprints = (
        public.bp,
        health.bp,
        connect.bp,
        oidc.bp,
        auth.bp,
        admin.bp,
        preference_center.bp,
        unsubscribe.bp,
        dashboard.bp,
        api.bp,
        console_campaigns.bp,
        console_feeds.bp,
        console_interests.bp,
        console_jobs.bp,
        console_people.bp,
        console_privacy.bp,
        console_reports.bp,
        console_schedules.bp,
        console_webhooks.bp,
        discovery.bp,
        saved_searches.bp,
        language.bp,
        retention.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    # RFC 8058: mail clients POST one-click unsubscribes with no cookie and no CSRF token.
    csrf.exempt(unsubscribe.bp)
    # The REST API authenticates by bearer token, never by cookie: no CSRF to guard against.
    csrf.exempt(api.bp)
    # The signed preference pages check a form token bound to their link instead
    # of the session's (portal.views.preferences.link_form_token): no cookie needed.
    csrf.exempt(preference_center.center)
    csrf.exempt(preference_center.undo)
    csrf.exempt(preference_center.saved_search)
    csrf.exempt(language.signed)
    csrf.exempt(retention.stay)
    oidc.init_app(app, settings.oidc_providers)

    # Registered before the limiter's, so it runs after it (Flask runs after-request
    # hooks last-registered first): a view's own Retry-After (a busy parser's few
    # seconds, portal.connect.uploads.busy_headers) wins over the rate window's reset.
    @app.after_request
    def _own_retry_after(response: Response) -> Response:
        own = g.get("retry_after")
        if own is not None:
            response.headers["Retry-After"] = own
        return response

    init_limiter(
        app,
        settings.rate_limit_storage_url,
        settings.connect_rate_limit,
        api_rate=settings.api_rate_limit,
        api_endpoints=api.TOKEN_ENDPOINTS,
        api_key=api.rate_limit_key,
    )
    if settings.proxy_hops:
        # The client address is the entry PROXY_HOPS from the right of X-Forwarded-For
        # (each trusted proxy appends the address it received from); everything left of
        # it came from the client and is ignored. Scheme and host are not taken from
        # headers: links use BASE_URL, and gunicorn handles X-Forwarded-Proto.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=0, x_host=0)  # type: ignore[method-assign]
    csp = content_security_policy(settings)
    brand_css = (
        f":root {{ --brand: {settings.brand_color}; "
        f"--brand-dark: {_shade(settings.brand_color, 0.75)}; }}\n"
    )

    def brand_css_view() -> Response:
        response = Response(brand_css, mimetype="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    app.add_url_rule("/brand.css", endpoint="brand_css", view_func=brand_css_view)

    # Console pages show an address with its punycode beside it when its domain mixes scripts.
    app.add_template_filter(idn.address_markup, "address")
    # Phone numbers read as people write them in the company's region (portal.web.phones).
    region = settings.phone_default_region
    app.add_template_filter(lambda stored: display_phone(stored, region), "phone")
    _install_request_hooks(app, csp)
    # After the request hooks: it reads the database in the request's write mode.
    language.init_app(app)
    _install_error_pages(app, settings.max_upload_mb)

    # Every page's header and footer links; url_for is slow enough to matter on
    # busy pages, so they are built once per application root.
    layout_links: dict[str, dict[str, str]] = {}

    def _layout_urls() -> dict[str, str]:
        if not has_request_context():
            return {}
        urls = layout_links.get(request.script_root)
        if urls is None:
            urls = {
                "site_css": url_for("static", filename="site.css"),
                "menu_js": url_for("static", filename="menu.js"),
                "brand_css": url_for("brand_css"),
                "favicon": url_for("static", filename="favicon.svg"),
                "index": url_for("public.index"),
                "jobs": url_for("public.jobs"),
                "connect": url_for("connect.start"),
                "dashboard": url_for("dashboard.home"),
                "login": url_for("auth.login"),
                "logout": url_for("auth.logout"),
                "admin_login": url_for("admin.login"),
            }
            layout_links[request.script_root] = urls
        return urls

    @app.context_processor
    def _brand() -> dict[str, Any]:
        return {
            "layout_urls": _layout_urls(),
            "company_name": settings.company_name,
            "postal_address": settings.postal_address,
            "current_year": now().year,
            "is_production": settings.is_production,
            "texts": i18n.localized_texts(settings.texts),
            "logo_url": settings.company_logo_url,
            "privacy_url": settings.privacy_url,
            "config_required": settings.required_fields,
        }

    return app


def _install_request_hooks(app: Flask, csp: str) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()
        # Every request reads without SQLite's write lock and takes it at its first
        # write, so slow work done before writing (parsing an upload, a download,
        # hashing a password) never makes other requests wait (preferences.db.WriteMode).
        g.write_mode = set_write_mode(WriteMode.ON_FIRST_WRITE)

    @app.after_request
    def _commit_and_harden(response: Response) -> Response:
        session: Session | None = g.get("db_session")
        if session is not None and response.status_code < 400:
            # Committing here, not at teardown, lets a failed commit become a 500.
            session.commit()
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        if signed_routes.needs_no_store():
            # A signed link's page, or a candidate's dashboard: never kept by a browser
            # cache or a shared proxy, so neither history nor a cache holds it.
            response.headers["Cache-Control"] = "no-store"
        started = g.get("request_started")
        if request.endpoint != "static":
            log.info(
                "request",
                extra={
                    "method": request.method,
                    # Never a signed link's token: the log is not a place for live links.
                    "path": signed_routes.redacted_path(),
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                },
            )
        return response

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
        token = g.pop("write_mode", None)
        if token is not None:
            with contextlib.suppress(ValueError):  # set in another context: nothing to undo
                reset_write_mode(token)


def _install_error_pages(app: Flask, max_upload_mb: int) -> None:
    # English; each is translated for the request when the page is shown.
    messages = {
        400: (N_("Something in that request was not right"), N_("Please go back and try again.")),
        403: (N_("You can't open this page"), N_("You may need to log in with another account.")),
        404: (N_("We couldn't find that page"), N_("It may have moved, or the job may be closed.")),
        405: (N_("That didn't work"), N_("This page doesn't accept that kind of request.")),
        413: (
            N_("That file is too large"),
            N_("Files can be up to %(size)s. Please choose a smaller file and try again."),
        ),
        429: (N_("Too many attempts"), N_("Please wait a minute and try again.")),
        500: (N_("Something went wrong on our side"), N_("Please try again in a moment.")),
    }

    def render_error(code: int, title: str | None = None, detail: str | None = None) -> Any:
        default_title, default_detail = messages.get(code, messages[500])
        # The upload cap (MAX_UPLOAD_MB) as the page's language writes a size.
        values = {"size": local_size(max_upload_mb * 1024 * 1024)} if code == 413 else {}
        body = render_template(
            "error.html",
            code=code,
            title=title or _(default_title),
            detail=detail or _(default_detail, **values),
        )
        return body, code

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> Any:
        return render_error(
            400,
            _("We couldn't verify that form"),
            _(
                "For your security, forms must come from this site in the same browser session. "
                "Please go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if request.blueprint is None and api.is_api_path(request.path):
            return api.unrouted(exc)
        if exc.code is None or exc.code < 400:
            return exc
        return render_error(exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        logging.getLogger("portal.error").exception(
            "unhandled error", extra={"path": signed_routes.redacted_path()}
        )
        return render_error(500)
