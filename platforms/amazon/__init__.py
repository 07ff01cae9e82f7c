from platforms.base import Platform

_STATE = ("pause", "enable")
_BID = ("set_bid", "change_bid")


class Amazon(Platform):
    """Amazon Ads: Sponsored Products through the Amazon Ads API (v3 resources, Reporting v3).

    Account: the advertising profile id (`id:` in rulerun.yaml; `rulerun connections` lists
    the profiles the credentials reach when it is wrong) and its `region` (NA, the default,
    EU or FE). Amounts are in the profile's currency, read from the profile itself; sync reads
    up to yesterday in the `timezone:` of rulerun.yaml (UTC by default): set it to the
    profile's.

    Levels: campaign (state, daily budget), ad_group (state, default bid), keyword and target
    (a product target; state, bid: a keyword without a bid of its own shows its ad group's
    default bid), search_term (`<ad group id>~<term>`: add it as an exact or phrase negative
    keyword of its campaign or of its ad group). Metrics: spend (`cost`), impressions,
    clicks, 7-day attributed purchases and sales, per day.

    Data restates for 3 days: sync re-reads the last 3 days, and rules should end their
    windows 3 days back (`last_7d_ending_3d_ago`; `rulerun lint` warns otherwise). Amazon's
    own budget rules raise budgets by themselves: `rulerun connections` notes them, as they
    stack with rulerun's budget changes without a cap; rulerun never edits them.

    Credentials: AMAZON_ADS_CLIENT_ID and AMAZON_ADS_CLIENT_SECRET (the Login with Amazon
    client) and AMAZON_ADS_REFRESH_TOKEN.
    """

    name = "amazon"
    title = "Amazon Ads"
    kind = "ad_platform"
    source = "amazon"
    levels = ("account", "campaign", "ad_group", "keyword", "target", "search_term")
    actions = {
        "campaign": (*_STATE, "set_budget", "change_budget"),
        "ad_group": _STATE + _BID,
        "keyword": _STATE + _BID,
        "target": _STATE + _BID,
        "search_term": ("add_negative_keyword",),
    }
    credentials = ("AMAZON_ADS_CLIENT_ID", "AMAZON_ADS_CLIENT_SECRET", "AMAZON_ADS_REFRESH_TOKEN")
