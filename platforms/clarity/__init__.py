from platforms.base import Platform


class Clarity(Platform):
    """Microsoft Clarity heatmaps and recordings (HTTP). Level: page. Read-only."""

    name = "clarity"
    title = "Microsoft Clarity"
    kind = "cro"
    source = "clarity"
    levels = ("page",)
    credentials = ("CLARITY_PROJECT_ID", "CLARITY_API_KEY")
