from platforms.base import Platform


class Mixpanel(Platform):
    """Mixpanel events and funnels (HTTP). Read-only: the data layer never modifies a platform."""

    name = "mixpanel"
    title = "Mixpanel"
    kind = "analytics"
    source = "mixpanel"
    levels = ("account",)
    credentials = ("MIXPANEL_PROJECT_ID", "MIXPANEL_SERVICE_ACCOUNT", "MIXPANEL_SERVICE_SECRET")


class GA4(Platform):
    """Google Analytics 4 (Data API). Read-only; traffic-source analysis."""

    name = "ga4"
    title = "Google Analytics 4"
    kind = "analytics"
    source = "ga4"
    levels = ("account",)
    credentials = ("GA4_PROPERTY_ID", "GA4_SERVICE_ACCOUNT_JSON")


class Redshift(Platform):
    """Amazon Redshift warehouse (redshift-connector). Read-only; the single source of truth."""

    name = "redshift"
    title = "Amazon Redshift"
    kind = "analytics"
    source = "redshift"
    levels = ("account",)
    credentials = ("REDSHIFT_HOST", "REDSHIFT_PORT", "REDSHIFT_DB", "REDSHIFT_USER", "REDSHIFT_PASSWORD")
