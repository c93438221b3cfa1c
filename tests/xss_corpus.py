"""Note texts that try to run script or smuggle markup into the notes panel (notes.js).

Every payload that could execute sets `window.__xss = 1`, so a test can tell it ran even when
no dialog opens. All are valid notes for the API (1..2,000 code points, no control characters
other than tab and newline), so each one is really saved and really rendered.
"""

from __future__ import annotations

RUN = "window.__xss=1"

PAYLOADS: list[str] = [
    # Markup that runs on parsing.
    f"<script>{RUN}</script>",
    f"<SCRIPT SRC=data:text/javascript,{RUN}></SCRIPT>",
    f'<img src=x onerror="{RUN}">',
    f"<svg onload={RUN}>",
    f"<svg><script>{RUN}</script></svg>",
    f"<body onload={RUN}>",
    f'<details open ontoggle="{RUN}">',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<iframe srcdoc="<script>parent.{RUN.removeprefix("window.")}</script>"></iframe>',
    f'<object data="javascript:{RUN}"></object>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    f"<style>@import 'javascript:{RUN}';</style>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}>",
    # Breaking out of an attribute or element the text might be placed in.
    f'"><script>{RUN}</script>',
    f"'><img src=x onerror={RUN}>",
    f'" onmouseover="{RUN}" x="',
    f"' autofocus onfocus='{RUN}",
    f"</textarea><script>{RUN}</script>",
    f'<a href="javascript:{RUN}">open the guideline</a>',
    f"<a href=https://example.org onclick={RUN}>guideline</a>",
    # Script URLs: plain, mixed case, entities, whitespace and newlines inside the scheme.
    f"javascript:{RUN}",
    f"JaVaScRiPt:{RUN}",
    f" \t javascript:{RUN}",
    f"java\nscript:{RUN}",
    f"java\tscript:{RUN}",
    f"java&#x73;cript:{RUN}",
    f"jav&#x09;ascript:{RUN}",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;" + RUN,
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
    f"DATA:text/html,<script>{RUN}</script>",
    'vbscript:msgbox("xss")',
    "VBScript:Execute(\"MsgBox 'xss'\")",
    # Web addresses carrying markup or quotes.
    f'https://example.org/"onmouseover="{RUN}',
    f"https://example.org/'onmouseover='{RUN}",
    f"https://example.org/<script>{RUN}</script>",
    f"http://example.org/?q=<img src=x onerror={RUN}>",
    f"https://example.org/%22onmouseover=%22{RUN}",
    f"https://javascript:{RUN}@example.org/",
    f'www.example.org"><img src=x onerror={RUN}>',
    f"http://\njavascript:{RUN}",
    # Telephone numbers carrying a script.
    f"tel:javascript:{RUN}",
    f"tel:+44<script>{RUN}</script>20 7946 0958",
    f'+44 20 7946 0958"><script>{RUN}</script>',
    # Unicode tricks: bidi override, zero-width characters, fullwidth brackets, encodings.
    f"https://example.org/\u202egnp.exe <script>{RUN}</script>",
    f"\u202e<script>{RUN}</script>",
    f"java\u200dscript:{RUN}",
    f"<scr\u200bipt>{RUN}</scr\u200bipt>",
    f"\uff1cscript\uff1e{RUN}\uff1c/script\uff1e",
    f"\uff1cimg src=x onerror={RUN}\uff1e",
    f"%3Cscript%3E{RUN}%3C/script%3E",
    f"\\u003cscript\\u003e{RUN}\\u003c/script\\u003e",
    # Template and string-interpolation syntax.
    f"{{{{constructor.constructor('{RUN}')()}}}}",
    f"${{{RUN}}}",
    # At the length limit (2,000 code points, astral characters included).
    "\U0001fa7a" * 1960 + f"<script>{RUN}</script>"[:40],
]
