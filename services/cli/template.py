"""``pacer template``: an empty form for a month's report, with headers and an example row.

pacer template 5g-sites                       # pacer-5g-sites-template-zh.xlsx
pacer template gigabit --format csv --lang en --out gigabit.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.domain.state import ReportKind
from shared.report_files.templates import TEMPLATE_FORMATS, template_bytes, template_filename


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write an empty form for a report of 5G sites or gigabit indicators (headers and an "
        "example row) that `pacer submit` and the portal read back."
    )
    parser.add_argument(
        "kind", type=ReportKind, choices=[ReportKind.SITES, ReportKind.GIGABIT], help="report kind"
    )
    parser.add_argument("--format", choices=TEMPLATE_FORMATS, default="xlsx")
    parser.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="language of the headers (default zh)"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write it (default: its name in this folder; - stdout)"
    )


def run(args: argparse.Namespace) -> int:
    content = template_bytes(args.kind, args.lang, args.format)
    if args.out is not None and str(args.out) == "-":
        sys.stdout.buffer.write(content)
        return 0
    out = args.out or Path(template_filename(args.kind, args.lang, args.format))
    out.write_bytes(content)
    print(f"wrote {out}", file=sys.stderr)
    return 0
