"""`flask` commands. Each calls the same services the web uses."""

from __future__ import annotations

import importlib

from flask import Flask

# Each module exposes `cli_group` (a click group) to register.
CLI_MODULES: tuple[str, ...] = ("stella.sandbox.cli", "stella.users_cli", "stella.tokens_cli", "stella.api_tokens_cli")


def register_cli(app: Flask) -> None:
    for module_name in CLI_MODULES:
        app.cli.add_command(importlib.import_module(module_name).cli_group)
