from platforms.base import Platform


class Pinterest(Platform):
    """Pinterest Ads through the Pinterest API v5 (HTTP).

    Levels: campaign, ad_group, ad (promoted Pin). Budgets on campaigns (their daily spend
    cap) and on ad groups with a daily budget of their own (not under campaign budget
    optimization, not lifetime budgets: those are refused with the reason); bids on ad
    groups. Amounts travel in micro-currency of the ad account's currency, converted by the
    catalog. Outbound clicks matter, total clicks don't: Pinterest counts closeups as
    clicks, so rules use `outbound_ctr`.

    Credentials: PINTEREST_ACCESS_TOKEN (an OAuth access token with ads:read and ads:write),
    PINTEREST_APP_ID and PINTEREST_APP_SECRET (the app), PINTEREST_AD_ACCOUNT_ID; the ad
    account ids to read are listed in rulerun.yaml. Optional PINTEREST_REFRESH_TOKEN: a
    refused access token is then renewed once per run and the call made again (set the new
    token in the environment for later runs).

    Sync reads the last 90 days from the synchronous analytics endpoints (250 entities a
    call) and older days from asynchronous reports (created, polled with growing pauses for
    up to 15 minutes, downloaded); analytics calls are paced under Pinterest's documented
    300 a minute. Changes go in bulk updates of up to 30 entities, each confirmed on its
    own. A 429 waits its Retry-After; one that refuses a request as spam is final.
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
