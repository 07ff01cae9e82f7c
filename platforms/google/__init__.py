from platforms.base import Platform


class Google(Platform):
    """Google Ads (search, shopping, YouTube) through the google-ads SDK (gRPC, GAQL).

    Levels: campaign, ad_group, keyword, search_term. Budgets live on campaigns
    (campaign_budget.amount_micros); CPC bids on ad groups and keywords. A search term
    can be added as a negative keyword (exact or phrase) to its campaign. Costs arrive in
    micros and are converted by the catalog's field mapping; budgets and bids are written
    as multiples of the currency's billable unit (whole yen for JPY). A budget shared by
    several campaigns (`shared_budget`, `budget_campaigns`) needs approval to change.
    """

    name = "google"
    title = "Google Ads"
    kind = "ad_platform"
    source = "google"
    levels = ("account", "campaign", "ad_group", "keyword", "search_term")
    actions = {
        "campaign": ("pause", "enable", "set_budget", "change_budget"),
        "ad_group": ("pause", "enable", "set_bid", "change_bid"),
        "keyword": ("pause", "enable", "set_bid", "change_bid"),
        "search_term": ("add_negative_keyword",),
    }
    credentials = (
        "GOOGLE_ADS_DEVELOPER_TOKEN",
        "GOOGLE_ADS_CLIENT_ID",
        "GOOGLE_ADS_CLIENT_SECRET",
        "GOOGLE_ADS_REFRESH_TOKEN",
        "GOOGLE_ADS_LOGIN_CUSTOMER_ID",
    )
