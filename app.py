"""Entry point for `flask --app app ...`."""

from stella import create_app

app = create_app()
