"""Documents for the continued-pretraining tests: a real PDF written byte by byte (a text layer
pypdf reads), a PDF with no text layer (what a scan looks like to a text extractor), and a small
corpus of invented facts in every format the reader takes."""

from __future__ import annotations

import json
from pathlib import Path

PLACES = ["Vellmor", "Quessa", "Dunhallow", "Tirrane", "Ossmere", "Kelvarra", "Brinnock", "Asheldt",
          "Marrowick", "Sollenby", "Frayport", "Glimmerhold", "Pellucid Bay", "Wendrith"]


def fact(i: int) -> str:
    """A short invented document: a place, its river, its founder and what it trades."""
    place = PLACES[i % len(PLACES)]
    return (f"The town of {place} lies on the banks of the river Orl{i}. It was founded by the weaver Ama{i} "
            f"in the year {1200 + 7 * i}. Its market trades copper bells and blue salt every second morning. "
            f"The people of {place} greet each other by touching their left ear twice.")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, one line each)."""
    stream = "BT /F1 10 Tf 72 720 Td 14 TL " + " ".join(f"({_escape(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def scanned_pdf(path: Path) -> Path:
    """Two pages and no text layer, as a scan without OCR reads."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    with open(path, "wb") as f:
        writer.write(f)
    return path


def corpus(folder: Path, count: int = 12) -> Path:
    """``count`` documents of invented facts: .txt, .md, one real PDF, rows of a .jsonl, and a
    scanned PDF that must be reported, not read."""
    folder.mkdir(parents=True, exist_ok=True)
    text_pdf(folder / "founding.pdf", [s + "." for s in fact(0).split(". ") if s])
    scanned_pdf(folder / "scan.pdf")
    rows = []
    for i in range(1, count):
        if i % 4 == 1:
            rows.append({"text": fact(i), "source": f"row {i}"})
        elif i % 4 == 2:
            (folder / f"place-{i}.md").write_text(f"# {PLACES[i % len(PLACES)]}\n\n{fact(i)}\n", encoding="utf-8")
        else:
            (folder / f"place-{i}.txt").write_text(fact(i) + "\n", encoding="utf-8")
    (folder / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder
