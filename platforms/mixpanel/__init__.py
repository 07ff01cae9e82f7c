from platforms.base import Platform


class Mixpanel(Platform):
    """Mixpanel events and funnels (HTTP). Read-only: the data layer never modifies a platform."""

    name = "mixpanel"
    title = "Mixpanel"
    kind = "analytics"
    source = "mixpanel"
    levels = ("account",)
    credentials = ("MIXPANEL_PROJECT_ID", "MIXPANEL_SERVICE_ACCOUNT", "MIXPANEL_SERVICE_SECRET")
