from platforms.base import Platform


class Klaviyo(Platform):
    """Klaviyo email through the official `klaviyo-api` SDK (revision header pinned).

    Levels: email_campaign, flow, flow_message (a flow's emails), segment (segments and
    lists). Sync reads email campaigns, flows, segments and lists (with their profile
    counts), the campaign and flow values reports (recipients,
    delivered, opens, clicks, conversions, conversion value, unsubscribes, spam
    complaints, bounces) and the daily flow series. The values reports allow 2 calls a
    minute and 225 a day: one grouped call per report kind per sync, paced, and
    `rulerun connections` says how much of the daily budget a sync uses. A report over its
    daily quota is left out with a message saying when to retry; the rest of the sync lands.

    Changes: a flow's status (`pause` sets it `manual`, `enable` sets it `live`,
    `set_flow_status` any of live, manual, draft), each rolled back to the status it had;
    suppressing the profiles of a segment (`suppress_profiles`, bulk jobs of 100, needs
    approval above 1,000 profiles; rollback unsuppresses them); a subject-line test on a
    draft campaign (`create_ab_test`, always needs approval; variant B is prepared as a
    draft copy of the campaign, rollback deletes it). Campaigns already sent cannot be
    paused: rules notify about them.

    Credentials: KLAVIYO_PRIVATE_API_KEY (a private API key with campaigns, flows,
    segments, lists, metrics, profiles and subscriptions scopes). The account id in
    rulerun.yaml is Klaviyo's public account id (six characters).
    """

    name = "klaviyo"
    title = "Klaviyo"
    kind = "email"
    source = "klaviyo"
    levels = ("account", "email_campaign", "flow", "flow_message", "segment")
    actions = {
        "flow": ("pause", "enable", "set_flow_status"),
        "email_campaign": ("create_ab_test",),
        "segment": ("suppress_profiles",),
    }
    credentials = ("KLAVIYO_PRIVATE_API_KEY",)
