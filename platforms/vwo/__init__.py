from platforms.base import Platform


class VWO(Platform):
    """VWO experiments (HTTP). Level: experiment. Starting a test always needs approval."""

    name = "vwo"
    title = "VWO"
    kind = "cro"
    source = "vwo"
    levels = ("experiment",)
    credentials = ("VWO_ACCOUNT_ID", "VWO_API_KEY")
