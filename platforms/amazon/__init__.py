from platforms.base import Platform


class Amazon(Platform):
    """Amazon Ads (Sponsored Products and Brands).

    Levels: campaign, ad_group, keyword, search_term. Budgets on campaigns, bids on
    ad groups and keywords; search terms can become negative keywords. Data restates
    for 3 days: the catalog's freshness SLA keeps rules off the newest days.
    """

    name = "amazon"
    title = "Amazon Ads"
    kind = "ad_platform"
    source = "amazon"
    levels = ("account", "campaign", "ad_group", "keyword", "search_term")
    actions = {
        "campaign": ("pause", "enable", "set_budget", "change_budget"),
        "ad_group": ("pause", "enable", "set_bid", "change_bid"),
        "keyword": ("pause", "enable", "set_bid", "change_bid"),
        "search_term": ("add_negative_keyword",),
    }
    credentials = (
        "AMAZON_ADS_CLIENT_ID",
        "AMAZON_ADS_CLIENT_SECRET",
        "AMAZON_ADS_REFRESH_TOKEN",
        "AMAZON_ADS_PROFILE_ID",
    )
