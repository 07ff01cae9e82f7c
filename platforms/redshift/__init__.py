from platforms.base import Platform


class Redshift(Platform):
    """Amazon Redshift warehouse (redshift-connector). Read-only; the single source of truth."""

    name = "redshift"
    title = "Amazon Redshift"
    kind = "analytics"
    source = "redshift"
    levels = ("account",)
    credentials = ("REDSHIFT_HOST", "REDSHIFT_PORT", "REDSHIFT_DB", "REDSHIFT_USER", "REDSHIFT_PASSWORD")
