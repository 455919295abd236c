"""How fast the CF grammar reads comments, against splitting them into words.

    python bench/cf_parse.py [--comments 10000]

A live sale sends up to about 1,000 comments a second; parsing must be a small
part of that. Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.orders.cf import parse

TYPICAL = ["CF A01", "cf b07 2", "เอา C12 2 ตัวค่ะ", "จอง D03 1 ชิ้นนะคะ 🙏", "CF A01x2 B03x1",
           "F h20 ขาว", "สวยมากค่ะ", "A01 ราคาเท่าไหร่", "CF A01 0812345678", "ยกเลิกค่ะ",
           "CF 2", "@Fon ดูอันนี้", "555", "cf a05 2, b06 1 ค่ะ", "CF Z99", "CF k24m 3 ตัว"]
TARGET = 1_000  # comments a second


def rate(work: list[str], step: object) -> float:
    start = time.perf_counter()
    for comment in work:
        step(comment)  # type: ignore[operator]
    return len(work) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000)
    args = parser.parse_args()
    codes = {f"{letter}{n:02d}" for letter in "ABCDEFGHIJKL" for n in range(1, 25)}
    codes |= {f"{code}M" for code in sorted(codes)[:12]}
    work = [TYPICAL[n % len(TYPICAL)] for n in range(args.comments)]
    baseline = rate(work, str.split)
    parsed = rate(work, lambda text: parse(text, codes, linked=("A01",)))
    print(f"{'':24} {'comments/s':>12}")
    print(f"{'str.split (baseline)':24} {baseline:>12,.0f}")
    print(f"{'cf.parse, ' + str(len(codes)) + ' codes':24} {parsed:>12,.0f}")
    print(f"target ≥ {TARGET:,}/s: {'met' if parsed >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
