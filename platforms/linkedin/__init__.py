from platforms.base import Platform


class LinkedIn(Platform):
    """LinkedIn Ads through the versioned Marketing API (Rest.li 2.0, over HTTP).

    Levels: campaign (LinkedIn's campaign group), ad_group (LinkedIn's campaign), ad
    (creative). Budgets and bids live on LinkedIn campaigns (our ad_group level). Metrics
    come daily from the adAnalytics finder per campaign group, campaign and creative,
    lead gen form submissions included (`leads`, so `cost_per_lead`).

    Actions: pause and enable campaign groups, campaigns and creatives; set or change a
    campaign's daily budget; set or change its bid only under manual bidding (automated
    bidding, e.g. maximum delivery, leaves no bid to change: such actions are skipped with
    the reason). Drafts are never launched. Amounts travel as decimal strings in the ad
    account's currency, which must be the `currency` rulerun.yaml gives the account.

    Credentials: LINKEDIN_ACCESS_TOKEN (scopes r_ads and rw_ads), LINKEDIN_CLIENT_ID,
    LINKEDIN_CLIENT_SECRET, LINKEDIN_AD_ACCOUNT_ID; set LINKEDIN_REFRESH_TOKEN as well and
    an expired access token is refreshed during the run (access tokens last 60 days,
    refresh tokens a year).

    API version: every call names one (`platforms.linkedin.api_version` in rulerun.yaml,
    YYYYMM; 202601 when not set). LinkedIn retires each version about a year after its
    release; a retired one fails every call with a message saying to set a current one.
    Rate limits are per day (reset at 00:00 UTC).
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
