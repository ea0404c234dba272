"""The serving process: the dashboard plus, when STELLA_SCHEDULER is on, the in-process scheduler.

`make run` serves this module; `app.py` (used by `flask` commands) never starts the scheduler,
so migrations and CLI commands cannot publish anything by accident.
"""

from stella import create_app, get_config
from stella.scheduler import start_scheduler

app = create_app()
with app.app_context():
    if get_config().scheduler_enabled:
        start_scheduler(app)
