"""``openiop generate-sessions``: the spelling the documentation uses (see generate_sessions)."""

from openiop.scheduling.management.commands.generate_sessions import Command

__all__ = ["Command"]
