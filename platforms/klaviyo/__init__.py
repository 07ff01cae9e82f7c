from platforms.base import Platform


class Klaviyo(Platform):
    """Klaviyo email and SMS (klaviyo-api SDK).

    Levels: email_campaign, flow, segment. Rules can watch deliverability and flow
    performance and notify; writes (suppression, campaigns) arrive with later releases
    and always need approval above 1,000 profiles.
    """

    name = "klaviyo"
    title = "Klaviyo"
    kind = "email"
    source = "klaviyo"
    levels = ("account", "email_campaign", "flow", "segment")
    credentials = ("KLAVIYO_PRIVATE_API_KEY",)
