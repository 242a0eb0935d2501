"""Numbers as text for figures and tables: no `-0.0000`, and non-finite values spelled out."""

from __future__ import annotations

import math


def fixed(value: float, digits: int = 4, sign: bool = False) -> str:
    """`value` with `digits` decimals; a value that rounds to zero never shows a minus sign
    (-0.00001 is "0.0000", not "-0.0000"); NaN and infinities as "nan", "inf", "-inf"."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    if float(text) == 0:  # "-0.0000", "+0.0000" or "-0"
        text = f"{0.0:.{digits}f}"
    return text


def general(value: float, significant: int = 3) -> str:
    """`value` to `significant` figures (the `g` format), without a minus sign on a zero."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:.{significant}g}"
    return "0" if float(text) == 0 else text
