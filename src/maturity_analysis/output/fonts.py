"""The CJK font the reports use: Noto Sans CJK SC (SIL OFL) from ``noto-cjk-sans-otc``, the
package that ships that font file and its licence only. Charts, PDFs and the PDF text check
all read it from here."""

from importlib import resources

FONT_FAMILY = "Noto Sans CJK SC"


def font_path() -> str:
    """The shipped Noto Sans CJK collection (JP, KR, SC, TC, HK faces; licence in its dist-info)."""
    return str(resources.files("noto_cjk_sans_otc") / "NotoSansCJK-Regular.ttc")
