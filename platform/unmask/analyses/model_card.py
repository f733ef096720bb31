"""The detector as people should cite it: a product name, a version, and its model card page."""

import markdown
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

PRODUCT_NAME = "Unmask detector"


def citation(version: str) -> str:
    """How a result names its detector: never the internal architecture name."""
    return f"{PRODUCT_NAME} {version}".strip()


def card_html() -> SafeString | None:
    """The shipped model card (a Markdown file in the repository, so trusted) as HTML."""
    path = settings.DETECTION_MODEL_CARD
    if not path.is_file():
        return None
    html = markdown.markdown(path.read_text(encoding="utf-8"), extensions=["tables", "fenced_code"])
    # Wide tables and code scroll sideways on small screens: focusable, a keyboard scrolls them.
    html = html.replace("<table>", '<table tabindex="0">').replace("<pre>", '<pre tabindex="0">')
    return mark_safe(html)


def uncertain_sentence(band: list[float] | None) -> str:
    """The uncertain band in one sentence, for a person reading a result."""
    if not band or None in band:
        return ""
    low, high = band
    return (
        f"Scores between {low:.0%} and {high:.0%} are called uncertain: the model leans one "
        "way there, but not far enough to call the video fake or to clear it."
    )
