"""Paywall structured data: the JSON-LD each page carries for search engines. Pure.

Google asks metered sites to mark the paywalled part with `isAccessibleForFree: false` and a
`hasPart` WebPageElement whose `cssSelector` is a class the body really has, so that serving
verified crawlers the whole text is not taken for cloaking.
"""

from __future__ import annotations

import json
from typing import Any

from site_api.content.model import Author, PageMeta, TopicMeta

#: The class theme/main.html puts on a topic's body: the part a metered visitor may not see.
BODY_CLASS = "topic-body"


def page_jsonld(
    meta: PageMeta,
    url: str,
    authors: dict[str, Author],
    site_name: str,
    site_url: str,
) -> dict[str, Any]:
    """The JSON-LD object for one page: MedicalWebPage for a topic, WebPage otherwise."""
    metered = meta.access == "metered"
    publisher = {"@type": "Organization", "name": site_name, "url": site_url}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage" if isinstance(meta, TopicMeta) else "WebPage",
        "@id": url,
        "url": url,
        "name": meta.title,
        "headline": meta.title,
        "description": meta.summary,
        "publisher": publisher,
        "isAccessibleForFree": not metered,
    }
    if isinstance(meta, TopicMeta):
        data["dateModified"] = meta.reviewed.isoformat()
        data["lastReviewed"] = meta.reviewed.isoformat()
        data["audience"] = {"@type": "MedicalAudience", "audienceType": "Clinician"}
        # Our authors are editorial roles, not named people: say so rather than invent persons.
        data["author"] = [
            {
                "@type": "Organization",
                "name": f"{site_name}: {authors[key].name}",
                "description": f"{authors[key].role}, {authors[key].profession}",
            }
            for key in meta.authors
            if key in authors
        ]
    if metered:
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": f".{BODY_CLASS}",
        }
    return data


def script_json(data: dict[str, Any]) -> str:
    """JSON safe inside `<script type="application/ld+json">`: no `</script>` can close it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
