"""Extension objects, created unbound here and bound to an app by the factory."""

from __future__ import annotations

from celery import Celery
from flask_babel import Babel
from flask_sqlalchemy_lite import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect


db = SQLAlchemy()
babel = Babel()
csrf = CSRFProtect()
talisman = Talisman()
celery = Celery("govern", set_as_current=False)
