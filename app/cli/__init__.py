"""``flask --app run asxh …``: one ``asxh`` group, its commands in one module per verb group.

- ``admin``: init, create-user, audit-verify, audit-anchor, worker, demo (the demo server)
- ``demo``: seed-demo
- ``registry``: import, import-apply, import-population, match, classify, move-person
- ``payout``: import-accounts, sync-payout
- ``units``: migrate-units, unit-review (moving data from the 2024 units to the 2025 units)
- ``notices``: send-notices, export-notices (notices to beneficiaries)

A new group is a module ``app/cli/<group>.py`` with a ``register(group)`` adding its commands (plain
``click.command`` + ``with_appcontext``), named in ``GROUPS`` below. Helpers shared by several groups live in
``app/cli/common.py``; verb modules never import each other.
"""

from __future__ import annotations

from importlib import import_module

from flask.cli import AppGroup

GROUPS = ("admin", "demo", "registry", "payout", "units", "notices")


def register(app) -> None:
    """Add the ``asxh`` group, with the commands of every module of ``GROUPS``, to ``app``'s CLI."""
    group = AppGroup("asxh", help="ASXH commands.")
    for name in GROUPS:
        import_module(f"app.cli.{name}").register(group)
    app.cli.add_command(group)
