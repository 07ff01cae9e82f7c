"""rulerun: a declarative YAML rules engine for D2C marketing operations."""

__version__ = "0.1.0"
