from platforms.base import Platform


class TikTok(Platform):
    """TikTok Ads through the TikTok Business API (HTTP).

    Levels: campaign, ad_group, ad. Budgets on campaigns and ad groups, bids on ad
    groups. Ad groups in the learning phase must not be modified (a guardrail blocks it).
    """

    name = "tiktok"
    title = "TikTok Ads"
    kind = "ad_platform"
    source = "tiktok"
    levels = ("account", "campaign", "ad_group", "ad")
    actions = {
        "campaign": ("pause", "enable", "set_budget", "change_budget"),
        "ad_group": ("pause", "enable", "set_budget", "change_budget", "set_bid", "change_bid"),
        "ad": ("pause", "enable"),
    }
    credentials = ("TIKTOK_APP_ID", "TIKTOK_APP_SECRET", "TIKTOK_ACCESS_TOKEN", "TIKTOK_ADVERTISER_ID")
