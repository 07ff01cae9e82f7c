from platforms.base import Platform


class Clarity(Platform):
    """Microsoft Clarity heatmaps and recordings (HTTP). Level: page. Read-only."""

    name = "clarity"
    title = "Microsoft Clarity"
    kind = "cro"
    source = "clarity"
    levels = ("page",)
    credentials = ("CLARITY_PROJECT_ID", "CLARITY_API_KEY")


class VWO(Platform):
    """VWO experiments (HTTP). Level: experiment. Starting a test always needs approval."""

    name = "vwo"
    title = "VWO"
    kind = "cro"
    source = "vwo"
    levels = ("experiment",)
    credentials = ("VWO_ACCOUNT_ID", "VWO_API_KEY")
