"""Flask extensions, created unbound and initialised in create_app()."""

from typing import TYPE_CHECKING

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from portal.db import Base, PortalSession

db = SQLAlchemy(model_class=Base, session_options={"class_": PortalSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

if TYPE_CHECKING:  # mypy cannot see through db.Model; at run time they are the same base
    Model = Base
else:
    Model = db.Model
