"""Placement Portal: employer encounters and workplace experiences for schools and colleges."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from portal.config import load_config
from portal.extensions import csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application; the scheduler is a separate process and is not started here."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, test_config)
    _trust_proxies(app)
    _register_converters(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    _allow_large_imports(app)  # before CSRFProtect, whose hook reads the body
    csrf.init_app(app)
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    with app.app_context():
        _configure_engine(db.engine)

    _register_models()
    _register_blueprints(app)
    _register_templates(app)
    _register_security(app)
    _register_errors(app)
    from portal.cli import register_cli

    register_cli(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind a reverse proxy, take the client's address (and scheme, host) from as many proxies as configured."""
    hops = {name: int(app.config[f"PROXY_FIX_X_{name.upper()}"]) for name in ("for", "proto", "host")}
    if any(hops.values()):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops["for"], x_proto=hops["proto"], x_host=hops["host"])


def _migrations_dir() -> str:
    """Absolute path of the Alembic migrations folder at the repository root."""
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _configure_engine(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, and real transactions that take the write lock when they begin."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers queue (busy_timeout)
        # instead of failing when a read-then-write transaction finds the database changed.
        deferred = connection.get_execution_options().get("sqlite_deferred", False)
        connection.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


def _register_converters(app: Flask) -> None:
    """`<int:...>` in every route takes only ids a row could have, so 2^31 and beyond are a 404 before any view runs."""
    from portal.core.ids import StorableIdConverter

    app.url_map.converters["int"] = StorableIdConverter


def _register_models() -> None:
    """Import every model module so the metadata is complete (migrations, tests)."""
    import portal.accounts.models
    import portal.adjustments.models
    import portal.bookings.models
    import portal.compliance.models
    import portal.core.models
    import portal.offers.models
    import portal.organisations.models
    import portal.reflections.models
    import portal.scheduler.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    """Attach each feature's blueprint."""
    from portal.accounts.views import bp as accounts_bp
    from portal.adjustments.views import bp as adjustments_bp
    from portal.bookings.views import bp as bookings_bp
    from portal.home.views import bp as home_bp
    from portal.matching.views import bp as matching_bp
    from portal.offers.views import bp as offers_bp
    from portal.organisations.views import bp as organisations_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(adjustments_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(organisations_bp)
    app.register_blueprint(offers_bp)
    from portal.reflections.views import bp as reflections_bp

    app.register_blueprint(reflections_bp)
    from portal.progress.views import bp as progress_bp

    app.register_blueprint(progress_bp)
    from portal.api.views import bp as api_bp

    app.register_blueprint(api_bp)
    from portal.compliance.risk_views import bp as risk_bp
    from portal.compliance.views import bp as compliance_bp

    app.register_blueprint(risk_bp)
    app.register_blueprint(compliance_bp)


def _register_templates(app: Flask) -> None:
    """Template filters and globals shared by every page."""
    from portal.core import templating

    templating.register(app)


def _allow_large_imports(app: Flask) -> None:
    """Views marked accepts_large_files (CSV imports) take IMPORT_MAX_BYTES; this must run before any hook reads the body."""
    from portal.core.cleaning import raise_limit_for_large_files

    app.before_request(raise_limit_for_large_files)


def _register_security(app: Flask) -> None:
    """Deny-by-default access check, user loading and security headers."""
    from portal import access
    from portal.accounts.services import load_user_from_session
    from portal.core.cleaning import refuse_long_urls, refuse_unclean_requests

    app.before_request(refuse_long_urls)
    app.before_request(refuse_unclean_requests)
    app.before_request(access.refuse_undeclared_views)
    login_manager.user_loader(load_user_from_session)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    production = app.config["ENV"] == "production"

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response


def _wants_json() -> bool:
    """API and health requests get JSON errors; pages get HTML."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def _register_errors(app: Flask) -> None:
    """Error pages in the portal's layout; JSON errors with a stable code under /api."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        code = error.code or 500
        if _wants_json():
            body: dict[str, Any] = {"code": (error.name or "error").lower().replace(" ", "_"), "message": error.description, "details": {}}
            return jsonify(body), code
        template = f"errors/{code}.html" if code in (400, 403, 404, 405, 413, 414, 429) else "errors/generic.html"
        return render_template(template, error=error), code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if app.testing:
            raise error  # let tests see the real failure
        log.exception("unhandled error on %s", request.path)
        db.session.rollback()
        if _wants_json():
            return jsonify({"code": "internal_error", "message": "Something went wrong.", "details": {}}), 500
        return render_template("errors/500.html"), 500
