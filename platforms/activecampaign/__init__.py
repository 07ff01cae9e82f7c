from platforms.base import Platform


class ActiveCampaign(Platform):
    """ActiveCampaign email automation (HTTP). Levels: email_campaign, automation (flow)."""

    name = "activecampaign"
    title = "ActiveCampaign"
    kind = "email"
    source = "activecampaign"
    levels = ("account", "email_campaign", "flow")
    credentials = ("ACTIVECAMPAIGN_API_URL", "ACTIVECAMPAIGN_API_KEY")
