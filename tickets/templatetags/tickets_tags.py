"""Template helpers for the ticket screens."""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Bodies were sanitised on the way in; this second pass at render time (defence in depth) is
# stricter still: no images or image maps (remote images track the reader), no scripts or
# styles with their content, only web, mail and phone links, which open in a new tab.
_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def html_sanitise(value: str) -> str:
    return nh3.clean(
        value,
        tags=_TAGS,
        clean_content_tags={"script", "style", "template", "noscript", "iframe", "object"},
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


@register.filter(name="sanitise_html")
def sanitise_html(value: object) -> SafeString:
    """An HTML message body, cleaned again with nh3 and then trusted by the template."""
    if not value:
        return mark_safe("")
    return mark_safe(html_sanitise(str(value)))


DELIVERY_CLASSES = {
    "queued": "pending",
    "sending": "pending",
    "sent": "ok",
    "delivered": "ok",
    "failed": "bad",
    "not_sent": "bad",
}


@register.filter
def delivery_class(status: str) -> str:
    """The tag colour of a delivery state."""
    return DELIVERY_CLASSES.get(status, "")
