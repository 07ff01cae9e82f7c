from platforms.base import Platform


class GA4(Platform):
    """Google Analytics 4 (Data API). Read-only; traffic-source analysis."""

    name = "ga4"
    title = "Google Analytics 4"
    kind = "analytics"
    source = "ga4"
    levels = ("account",)
    credentials = ("GA4_PROPERTY_ID", "GA4_SERVICE_ACCOUNT_JSON")
