"""Text written into XML 1.0 documents: Open311's XML answers and the
sheets inside an XLSX.

XML 1.0 cannot hold every character a Python string can: not most control
characters (a NUL, a bell), not a lone surrogate, and not the two
noncharacters U+FFFE and U+FFFF.  `clean_text` removes the control
characters from what residents write, but a noncharacter is neither a
control nor a format character and stays; one of them in one description
is enough to make the whole document unreadable (a platform's XML parser
refuses it, Excel calls the workbook corrupt).  So text is made safe where
it is written into XML: each such character becomes U+FFFD, the
replacement character, and the rest of the text is kept.
"""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production (§2.2).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold shown as U+FFFD."""
    return _NOT_XML.sub(REPLACEMENT, text)
