from platforms.base import Platform


class TikTok(Platform):
    """TikTok Ads through the TikTok Business API v1.3 (HTTP).

    Levels: campaign, ad_group, ad. `rulerun sync` reads campaigns and ad groups and their
    daily report (spend, impressions, clicks, purchases and their value, video plays); ads
    can be paused and enabled, but their metrics are not read.

    Budgets: the daily budget of a campaign or ad group (`budget_mode` BUDGET_MODE_DAY). A
    total or unlimited budget is not a daily one, and an ad group under campaign budget
    optimization is served by its campaign's: budget actions on them are skipped with that
    reason (`budget_mode` in rules: daily, lifetime, unlimited, parent). Bids: ad groups
    with a custom bid (`bid_type` BID_TYPE_CUSTOM: `bid_price`, or `conversion_bid_price`
    for a cost cap); ad groups bidding automatically are left alone. Amounts are decimals
    in the advertiser's currency.

    Learning phase: ad groups still learning are never modified (a guardrail). The API
    reports no learning status, so it is derived by TikTok's exit criterion: an ad group
    learns until it has 50 conversions within the 7 days after its creation or its last
    edit (any edit counts); when that cannot be read it counts as learning. A campaign
    with an ad group still learning counts as learning too.

    Credentials: TIKTOK_ACCESS_TOKEN, the long-term access token of an app the advertiser
    authorized (it does not expire; when TikTok says it expired or was revoked, authorize
    the app again and set the new one), and TIKTOK_ADVERTISER_ID. Each account in
    rulerun.yaml is an advertiser id, with the advertiser's currency. Requests are paced
    to the app's rate limit, RULERUN_TIKTOK_MAX_QPS per second (default 10, TikTok's Basic
    tier).
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
    credentials = ("TIKTOK_ACCESS_TOKEN", "TIKTOK_ADVERTISER_ID")
