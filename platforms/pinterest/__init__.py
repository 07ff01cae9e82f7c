from platforms.base import Platform


class Pinterest(Platform):
    """Pinterest Ads through the Pinterest API v5 (HTTP).

    Levels: campaign, ad_group, ad (promoted Pin). Budgets on campaigns and ad groups,
    bids on ad groups (micro-currency on the wire, converted by the catalog). Outbound
    clicks matter, total clicks don't: Pinterest counts closeups as clicks.
    """

    name = "pinterest"
    title = "Pinterest Ads"
    kind = "ad_platform"
    source = "pinterest"
    levels = ("account", "campaign", "ad_group", "ad")
    actions = {
        "campaign": ("pause", "enable", "set_budget", "change_budget"),
        "ad_group": ("pause", "enable", "set_budget", "change_budget", "set_bid", "change_bid"),
        "ad": ("pause", "enable"),
    }
    credentials = (
        "PINTEREST_APP_ID",
        "PINTEREST_APP_SECRET",
        "PINTEREST_ACCESS_TOKEN",
        "PINTEREST_AD_ACCOUNT_ID",
    )
