"""The thank-you certificate: a PNG with the donor's name, the organisation and the date.

Drawn with Pillow in DejaVu Sans, the font matplotlib ships (so it is there wherever the bot is
installed), which has every precomposed Vietnamese letter: "Nguyễn Thị Hường" renders with its
marks, not as boxes. Text is NFC-normalised first so the precomposed glyphs are used.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot import i18n
from bot.i18n import N_, _, t

if TYPE_CHECKING:  # Pillow and matplotlib are imported where drawn: a running bot rarely needs them
    from PIL import ImageDraw, ImageFont

SIZE = (1600, 1130)  # A4 landscape proportions
MARGIN = 60
PAPER = (255, 251, 240)
INK = (40, 40, 40)
ACCENT = (196, 30, 58)  # the red of a Vietnamese certificate (giấy khen)
GOLD = (201, 162, 39)


@cache
def _font_file(bold: bool) -> Path:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_file(bold)), size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, bold: bool, width: int) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits on one line of `width` pixels."""
    while size > 18 and draw.textlength(text, font=font(size, bold)) > width:
        size -= 2
    return font(size, bold)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and draw.textlength(trial, font=face) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def _centre(draw: ImageDraw.ImageDraw, y: int, text: str, face: ImageFont.FreeTypeFont, fill: tuple[int, int, int]) -> int:
    """Draw one centred line; return the y below it."""
    box = draw.textbbox((0, 0), text, font=face)
    draw.text(((SIZE[0] - (box[2] - box[0])) / 2 - box[0], y), text, font=face, fill=fill)
    return y + int((box[3] - box[1]) * 1.0) + face.size // 2


def render(*, name: str | None, org: str, day: date, need: str, ref: str) -> bytes:
    """The certificate in the current language (bot.i18n), as PNG bytes."""
    from PIL import Image, ImageDraw

    name = unicodedata.normalize("NFC", name) if name else _("Nhà hảo tâm ẩn danh")
    image = Image.new("RGB", SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    w, h = SIZE
    draw.rectangle((MARGIN / 2, MARGIN / 2, w - MARGIN / 2, h - MARGIN / 2), outline=ACCENT, width=10)
    draw.rectangle((MARGIN, MARGIN, w - MARGIN, h - MARGIN), outline=GOLD, width=3)
    inner = w - 4 * MARGIN

    y = 130
    y = _centre(draw, y, unicodedata.normalize("NFC", org.upper()), _fit(draw, org.upper(), 34, True, inner), INK)
    y += 30
    title = _("GIẤY CẢM ƠN")
    y = _centre(draw, y, title, _fit(draw, title, 84, True, inner), ACCENT)
    y += 10
    y = _centre(draw, y, _("trân trọng cảm ơn"), font(34), INK)
    y += 20
    y = _centre(draw, y, name, _fit(draw, name, 76, True, inner), INK)
    draw.line((w / 2 - 300, y + 5, w / 2 + 300, y + 5), fill=GOLD, width=3)
    y += 45
    body = t(N_("đã chung tay hỗ trợ «{need}» cho một trẻ em có hoàn cảnh đặc biệt, qua chương trình Chung Tay."), need=need)
    body_font = font(34)
    for line in _wrap(draw, unicodedata.normalize("NFC", body), body_font, inner):
        y = _centre(draw, y, line, body_font, INK)
    y = max(y + 40, h - 300)
    _centre(draw, y, t(N_("Ngày {day}"), day=i18n.day(day)), font(30), INK)
    _centre(draw, h - 150, t(N_("Mã cam kết: {ref}"), ref=ref), font(24), (110, 110, 110))

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
