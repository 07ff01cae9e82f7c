from platforms.base import Platform


class ActiveCampaign(Platform):
    """ActiveCampaign email marketing through its API v3 (HTTP).

    Levels: email_campaign (a campaign: one send, or the emails of an automation),
    flow (an automation), segment (a contact list, with its contact count as
    `profile_count`). Campaign counters (sends, unique opens and clicks, unsubscribes,
    bounces) are totals since the send, stored on the campaign's send date and re-read
    for 7 days while opens keep arriving; rules use `open_rate`, `click_rate`,
    `unsubscribe_rate` and `bounce_rate`. The account gets a row for every synced day (the
    day's sends, or zeros), so a day without sends is still fresh data.

    Writes: pause a scheduled or sending campaign (rollback resumes it) and pause or
    resume an automation; `add_to_automation` adds a list's contacts to a lifecycle
    automation (win-back, trial activation), needing approval above 1,000 contacts,
    rollback removes the contacts it added; `create_ab_test` creates a subject-line
    split test of a campaign as a draft (always approved by a human; rollback deletes the
    draft while it is one).

    Credentials: ACTIVECAMPAIGN_API_TOKEN (Settings > Developer; the key is per user and
    has no scopes). Each account in rulerun.yaml needs `endpoint`: the account's API URL
    exactly as Settings > Developer shows it (https://youraccount.api-us1.com); the `id`
    names the account. Calls are paced 10% under ActiveCampaign's 5 requests a second per
    account; a 429 waits its Retry-After.
    """

    name = "activecampaign"
    title = "ActiveCampaign"
    kind = "email"
    source = "activecampaign"
    levels = ("account", "email_campaign", "flow", "segment")
    actions = {
        "email_campaign": ("pause", "enable", "create_ab_test"),
        "flow": ("pause", "enable"),
        "segment": ("add_to_automation",),
    }
    credentials = ("ACTIVECAMPAIGN_API_TOKEN",)
