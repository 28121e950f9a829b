"""QR codes of a member's link (segno), as SVG and PNG, with an ETag that is known before any
image is drawn: a conditional GET of an unchanged code answers 304 without rendering."""

import hashlib
import io

import segno

QR_VERSION = "1"  # bump when the rendering below changes, so cached images are refetched
PNG_SCALE = 8
BORDER = 4
KINDS = {"svg": "image/svg+xml", "png": "image/png"}


def qr_etag(content: str, kind: str) -> str:
    digest = hashlib.sha256(f"{QR_VERSION}:{kind}:{PNG_SCALE}:{BORDER}:{content}".encode()).hexdigest()[:32]
    return f'"qr-{digest}"'


def qr_render(content: str, kind: str) -> bytes:
    """SVG (scalable, one path) or PNG (8 px a module) of the content, error correction M."""
    qr = segno.make_qr(content, error="m")
    buffer = io.BytesIO()
    if kind == "svg":
        qr.save(buffer, kind="svg", border=BORDER, xmldecl=True, svgns=True, title="P2PHub referral link")
    else:
        qr.save(buffer, kind="png", scale=PNG_SCALE, border=BORDER)
    return buffer.getvalue()
