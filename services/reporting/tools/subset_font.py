"""Rebuild fonts/NotoSansSC-Subset.ttf: Noto Sans CJK SC cut to what reports print, as TrueType.

reportlab embeds only TrueType (glyf) outlines, and Noto Sans CJK ships CFF, so the subset is
converted with fontTools' cu2qu. Run with fontTools installed (a dev-time tool, not a runtime dep):

    pip download --no-deps -d /tmp/f noto-cjk-sans-otc && unzip -o /tmp/f/*.whl -d /tmp/f
    python services/reporting/tools/subset_font.py /tmp/f/noto_cjk_sans_otc/NotoSansCJK-Regular.ttc
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src" / "postloan_reporting"
OUT = SRC / "fonts" / "NotoSansSC-Subset.ttf"
SC_FACE = "Noto Sans CJK SC"
# Latin, general punctuation, arrows, math operators (U+2212 minus), CJK punctuation, fullwidth.
RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x3000, 0x303F))
RANGES += ((0xFF00, 0xFFEF),)


def gb2312_level1() -> set[str]:
    """The 3,755 common hanzi (GB 2312 level 1) so names in data print too."""
    chars = set()
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def source_chars() -> set[str]:
    """Every non-ASCII character in the reporting sources (labels, explanations)."""
    text = "".join(path.read_text(encoding="utf-8") for path in SRC.rglob("*.py"))
    return set(re.findall(r"[^\x00-\x7f]", text))


def wanted() -> set[int]:
    chars = {chr(c) for low, high in RANGES for c in range(low, high + 1)}
    return {ord(c) for c in chars | gb2312_level1() | source_chars()}


def to_truetype(font: TTFont) -> None:
    """Replace CFF outlines with quadratic glyf ones (after fontTools' otf2ttf example)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, glyphs
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs"):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    for field in ("maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def main(collection: str) -> None:
    faces = TTCollection(collection).fonts
    font = next(f for f in faces if f["name"].getDebugName(4) == SC_FACE)
    options = subset.Options()
    options.layout_features = ["kern", "liga"]
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted())
    subsetter.subset(font)
    to_truetype(font)
    font.save(OUT)
    print(OUT, OUT.stat().st_size)


if __name__ == "__main__":
    main(sys.argv[1])
