"""Sign-in, registration, invitations, account and password pages."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from portal.access import ANY_ROLE, allow, public
from portal.accounts import services
from portal.accounts.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    InviteForm,
    RegisterEmployerForm,
    RegisterSchoolForm,
    SetPasswordForm,
    SignInForm,
    WelcomeForm,
)
from portal.accounts.models import ApiToken, TokenPurpose, User
from portal.accounts.services import AccountError
from portal.accounts.tokens import TokenInvalid, find_token, issue_api_token, revoke_api_token
from portal.core.links import local_path
from portal.core.refusals import show_on_form
from portal.core.templating import extend_navigation
from portal.core.vocab import Role
from portal.extensions import db, limiter
from portal.organisations.forms import ConfirmForm as RevokeForm

bp = Blueprint("accounts", __name__)

extend_navigation(Role.EMPLOYER, "Team", "accounts.team", position=1)


def _sign_in_limit() -> str:
    """Throttle on sign-in attempts (per address, and per account), from configuration."""
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


def _submitted_account() -> str:
    """The account a sign-in attempt names, so guesses spread over many addresses are still throttled."""
    return "account:" + str(request.form.get("email", "")).strip().lower()[:320]


def _start_session(user: User, next_path: str | None = None) -> Any:
    """Begin a fresh session for the user (no fixation) and go on to `next_path` (a path here) or their home page."""
    flashes = session.get("_flashes", [])
    session.clear()  # a fresh session at sign-in: nothing planted before it survives
    login_user(user)
    session.permanent = True
    if flashes:
        session["_flashes"] = flashes  # ... except the confirmation we just gave
    return redirect(next_path or url_for(services.home_endpoint(user)))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit(_sign_in_limit, methods=["POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], key_func=_submitted_account)
def sign_in() -> Any:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for(services.home_endpoint(current_user)))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(db.session, form.email.data, form.password.data)
        except AccountError as error:
            db.session.commit()  # keep the failure count
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            return _start_session(user, local_path(request.args.get("next")))
    return render_template("accounts/sign_in.html", form=form), (200 if not form.errors else 400)


@bp.route("/sign-out", methods=["POST"])
@allow(*ANY_ROLE)
def sign_out() -> Any:
    """End the session: the cookie, and any copy of it, stops working on every worker."""
    if current_user.is_authenticated:
        services.end_sessions(db.session, current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("accounts.sign_in"))


@bp.route("/register")
@public
def register() -> Any:
    """Choose to register a school or an employer."""
    return render_template("accounts/register.html")


@bp.route("/register/school", methods=["GET", "POST"])
@public
def register_school() -> Any:
    """Register a school or college and become its first staff member."""
    form = RegisterSchoolForm()
    if form.validate_on_submit():
        try:
            user = services.register_school(
                db.session, urn=form.urn.data, name=form.name.data, school_type=form.school_type.data,
                postcode=form.postcode.data or "", person_name=form.person_name.data,
                email=form.email.data, password=form.password.data,
            )
        except AccountError as error:
            db.session.rollback()
            show_on_form(form, error)
        else:
            db.session.commit()
            flash(f"{user.school.name if user.school else 'Your school'} is registered.", "success")
            return _start_session(user)
    return render_template("accounts/register_school.html", form=form), (400 if form.errors else 200)


@bp.route("/register/employer", methods=["GET", "POST"])
@public
def register_employer() -> Any:
    """Register an employer and become its first staff member."""
    form = RegisterEmployerForm()
    if form.validate_on_submit():
        try:
            user = services.register_employer(
                db.session, name=form.name.data, sector=form.sector.data, postcode=form.postcode.data or "",
                person_name=form.person_name.data, email=form.email.data, password=form.password.data,
            )
        except AccountError as error:
            db.session.rollback()
            show_on_form(form, error)
        else:
            db.session.commit()
            flash("Your organisation is registered. A careers hub will check it before schools book.", "success")
            return _start_session(user)
    return render_template("accounts/register_employer.html", form=form), (400 if form.errors else 200)


@bp.route("/account")
@allow(*ANY_ROLE)
def account() -> Any:
    """The signed-in user's own details."""
    return render_template("accounts/account.html")


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*ANY_ROLE)
def change_password() -> Any:
    """Change password; other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            show_on_form(form, error)
        else:
            db.session.commit()
            login_user(current_user)  # keep this session with the new session version
            flash("Your password has been changed.", "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form), (400 if form.errors else 200)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_sign_in_limit, methods=["POST"])
def forgot_password() -> Any:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(db.session, form.email.data)
        db.session.commit()
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return render_template("accounts/forgot_password.html", form=form), (400 if form.errors else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Any:
    """Choose a new password from a reset link."""
    try:
        find_token(db.session, token, (TokenPurpose.RESET,))
    except TokenInvalid as error:
        return render_template("accounts/link_invalid.html", reason=str(error)), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(db.session, token, form.password.data)
        except (AccountError, TokenInvalid) as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            db.session.commit()
            flash("Your password has been reset.", "success")
            return _start_session(user)
    return render_template("accounts/reset_password.html", form=form), (400 if form.errors else 200)


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@public
def welcome(token: str) -> Any:
    """Accept an invitation or a student's set-password link."""
    try:
        pending = find_token(db.session, token, services.WELCOME_PURPOSES)
    except TokenInvalid as error:
        return render_template("accounts/link_invalid.html", reason=str(error)), 410
    invited = pending.user
    form = WelcomeForm(name=invited.name)
    if form.validate_on_submit():
        try:
            user = services.accept_welcome(db.session, token, form.password.data, form.name.data)
        except (AccountError, TokenInvalid) as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            db.session.commit()
            flash("Your account is ready.", "success")
            return _start_session(user)
    return render_template("accounts/welcome.html", form=form, invited=invited), (400 if form.errors else 200)


@bp.route("/team")
@allow(Role.SCHOOL, Role.EMPLOYER, Role.HUB)
def team() -> Any:
    """Colleagues in the same school, employer or hub."""
    members = db.session.scalars(services.colleagues_of(current_user).order_by(User.name, User.email)).all()
    return render_template("accounts/team.html", members=members)


@bp.route("/team/invite", methods=["GET", "POST"])
@allow(Role.SCHOOL, Role.EMPLOYER, Role.HUB)
def invite() -> Any:
    """Invite a colleague by email; the link expires after the configured days."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            services.invite_user(
                db.session, email=form.email.data, name=form.name.data, role=current_user.role_enum,
                inviter=current_user, school_id=current_user.school_id,
                employer_id=current_user.employer_id, hub_id=current_user.hub_id,
            )
        except AccountError as error:
            db.session.rollback()
            show_on_form(form, error)
        else:
            db.session.commit()
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect(url_for("accounts.team"))
    return render_template("accounts/invite.html", form=form), (400 if form.errors else 200)



@bp.route("/account/api-tokens", methods=["GET", "POST"])
@allow(Role.SCHOOL, Role.EMPLOYER, Role.HUB)
def api_tokens() -> Any:
    """List, create (shown once) and revoke the user's API tokens."""
    form = ApiTokenForm()
    created = None
    if form.validate_on_submit():
        _, created = issue_api_token(db.session, current_user, form.name.data)
        db.session.commit()
        form = ApiTokenForm(formdata=None)
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("accounts/api_tokens.html", form=form, tokens=tokens, created=created,
                           confirm=RevokeForm()), (400 if form.errors else 200)


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@allow(Role.SCHOOL, Role.EMPLOYER, Role.HUB)
def revoke_api_token_view(token_id: int) -> Any:
    """Revoke one of the user's API tokens."""
    if not RevokeForm().validate_on_submit():
        abort(400)
    if not revoke_api_token(db.session, current_user, token_id):
        abort(404)
    db.session.commit()
    flash("The token has been revoked. Systems using it can no longer connect.", "success")
    return redirect(url_for("accounts.api_tokens"))
