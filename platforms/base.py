"""The Platform base class: what every adapter declares."""

from __future__ import annotations

from typing import ClassVar

# Action types every platform supports at every level: they change nothing on the platform.
UNIVERSAL_ACTIONS = ("notify",)

# Names exports use for a canonical level (lower case) -> that level; read with a warning.
LEVEL_ALIASES: dict[str, str] = {"adset": "ad_group", "ad_set": "ad_group", "adgroup": "ad_group"}


class Platform:
    """Base class for platforms. Subclasses are documentation: keep their docstrings user-facing."""

    name: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[str]  # ad_platform | email | commerce | cro | analytics
    levels: ClassVar[tuple[str, ...]]
    # level -> action types supported there (besides the universal ones)
    actions: ClassVar[dict[str, tuple[str, ...]]] = {}
    credentials: ClassVar[tuple[str, ...]] = ()
    source: ClassVar[str]  # catalog source name

    @classmethod
    def supports(cls, action_type: str, level: str) -> bool:
        return action_type in UNIVERSAL_ACTIONS or action_type in cls.actions.get(level, ())

    @classmethod
    def supported_actions(cls, level: str) -> tuple[str, ...]:
        return tuple(cls.actions.get(level, ())) + UNIVERSAL_ACTIONS

    @classmethod
    def levels_supporting(cls, action_type: str) -> list[str]:
        return [lvl for lvl in cls.levels if cls.supports(action_type, lvl)]
