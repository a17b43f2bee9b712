"""Render the app icon (resources/icons/app.svg) to the formats each platform's installer needs.

    python packaging/make-icons.py [OUT_DIR]      (default: packaging/build/icons, git-ignored)

Writes png/inboxready-<N>.png for N in 16..1024, inboxready.svg (a copy, for hicolor/scalable),
inboxready.ico (Windows: 16-256) and, when Qt's icns writer is present, inboxready.icns (macOS).
Uses Qt's QSvgRenderer on the offscreen platform, so it runs headless (needs PySide6).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "resources" / "icons" / "app.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def write_ico(images: list[QImage], path: Path) -> None:
    """A PNG-compressed .ico (Windows Vista and later read PNG entries at every size)."""
    entries = [(img.width(), png_bytes(img)) for img in images]
    header = bytearray((0).to_bytes(2, "little") + (1).to_bytes(2, "little") + len(entries).to_bytes(2, "little"))
    offset = 6 + 16 * len(entries)
    body = bytearray()
    for size, data in entries:
        dim = 0 if size >= 256 else size
        header += bytes((dim, dim, 0, 0)) + (1).to_bytes(2, "little") + (32).to_bytes(2, "little")
        header += len(data).to_bytes(4, "little") + offset.to_bytes(4, "little")
        offset += len(data)
        body += data
    path.write_bytes(bytes(header + body))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE / "build" / "icons"
    (out / "png").mkdir(parents=True, exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication([argv[0]])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"make-icons: cannot read {SOURCE}", file=sys.stderr)
        return 1
    images = {size: render(renderer, size) for size in SIZES}
    for size, image in images.items():
        image.save(str(out / "png" / f"inboxready-{size}.png"), "PNG")
    shutil.copyfile(SOURCE, out / "inboxready.svg")
    write_ico([images[s] for s in ICO_SIZES], out / "inboxready.ico")
    made = ["png/inboxready-{%s}.png" % ",".join(map(str, SIZES)), "inboxready.svg", "inboxready.ico"]
    if b"icns" in [bytes(f.data()) for f in QImageWriter.supportedImageFormats()]:
        writer = QImageWriter(str(out / "inboxready.icns"), b"icns")
        if writer.write(images[1024]):
            made.append("inboxready.icns")
    else:
        print("make-icons: no icns writer in this Qt; on macOS use iconutil with the PNGs", file=sys.stderr)
    del app
    print(f"make-icons: wrote {', '.join(made)} in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
