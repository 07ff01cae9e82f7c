from platforms.base import Platform


class LinkedIn(Platform):
    """LinkedIn Marketing API (HTTP).

    Levels: campaign (LinkedIn's campaign group), ad_group (LinkedIn's campaign), ad
    (creative). Budgets and bids live on LinkedIn campaigns (our ad_group level).
    """

    name = "linkedin"
    title = "LinkedIn Ads"
    kind = "ad_platform"
    source = "linkedin"
    levels = ("account", "campaign", "ad_group", "ad")
    actions = {
        "campaign": ("pause", "enable"),
        "ad_group": ("pause", "enable", "set_budget", "change_budget", "set_bid", "change_bid"),
        "ad": ("pause", "enable"),
    }
    credentials = (
        "LINKEDIN_CLIENT_ID",
        "LINKEDIN_CLIENT_SECRET",
        "LINKEDIN_ACCESS_TOKEN",
        "LINKEDIN_AD_ACCOUNT_ID",
    )
