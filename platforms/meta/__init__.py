from platforms.base import Platform

_STATE = ("pause", "enable")
_BUDGET = ("set_budget", "change_budget")
_BID = ("set_bid", "change_bid")


class Meta(Platform):
    """Meta Ads (Facebook and Instagram) through the Graph API (facebook-business SDK).

    Levels: campaign, ad_group (Meta's ad set), ad. Budgets live on the campaign under
    campaign budget optimization (CBO) and on the ad set otherwise; bids on the ad set.
    Budgets and bids travel in the currency's minimum denomination (cents for USD, whole
    yen for JPY: Meta's currency offset). Platform conversions over-report against
    Shopify (its credibility_ratio in catalog.yaml).
    """

    name = "meta"
    title = "Meta Ads"
    kind = "ad_platform"
    source = "meta"
    levels = ("account", "campaign", "ad_group", "ad")
    actions = {
        "campaign": _STATE + _BUDGET,
        "ad_group": _STATE + _BUDGET + _BID,
        "ad": _STATE,
    }
    credentials = ("META_APP_ID", "META_APP_SECRET", "META_ACCESS_TOKEN", "META_AD_ACCOUNT_ID")
