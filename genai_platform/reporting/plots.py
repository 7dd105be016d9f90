"""Plots and sample grids as inline PNG data URIs (reports make no external requests)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup, escape  # noqa: E402
from PIL import Image  # noqa: E402


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return _data_uri(buffer.getvalue())


def image_grid(images: np.ndarray, columns: int = 16, cell: int = 48) -> str:
    """A grid of [N, C, H, W] images in [0, 1], each upscaled to about `cell` pixels, as a data URI."""
    return _data_uri(image_grid_png(images, columns, cell))


def image_grid_png(images: np.ndarray, columns: int = 16, cell: int = 48) -> bytes:
    """The PNG of image_grid."""
    buffer = io.BytesIO()
    image_grid_picture(images, columns, cell)[0].save(buffer, format="PNG")
    return buffer.getvalue()


def image_grid_picture(images: np.ndarray, columns: int = 16, cell: int = 48) -> tuple[Image.Image, dict]:
    """The picture of image_grid, and its layout: tile size, columns, the upscaling and the image count."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = np.ones((rows * (h + 1), columns * (w + 1), c), dtype=np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        grid[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = image.transpose(1, 2, 0)
    pixels = (np.clip(grid, 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels[..., 0] if c == 1 else pixels)
    scale = max(1, cell // max(h, w))
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture, {"tile_height": h, "tile_width": w, "columns": columns, "scale": scale, "count": n}


def loss_curves(curves: dict[str, list[float]], title: str) -> str:
    """One small panel per curve: the families' losses are on unrelated scales."""
    columns = min(3, max(1, len(curves)))
    rows = -(-len(curves) // columns) or 1
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for ax, (name, curve) in zip(axes.flat, curves.items()):
        steps = np.arange(1, len(curve) + 1)
        window = max(1, len(curve) // 50)
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    fig.suptitle(f"{title}: training loss", fontsize=10)
    fig.tight_layout()
    return figure_uri(fig)


def class_histograms(histograms: dict[str, list[float]], class_names: list[str]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    width = 0.8 / max(len(histograms), 1)
    x = np.arange(len(class_names))
    for i, (name, counts) in enumerate(histograms.items()):
        counts = np.asarray(counts, dtype=float)
        ax.bar(x + i * width, counts / max(counts.sum(), 1), width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, class_names)
    ax.set_ylabel("share")
    ax.set_title("Class histogram (predicted by the feature classifier)")
    ax.legend()
    return figure_uri(fig)


def quality_diversity(sweeps: dict[str, list[dict]], bleu_order: int) -> str:
    """Per family, BLEU against the test set (quality) against Self-BLEU (lower: more diverse),
    one point per sampling temperature."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, points in sweeps.items():
        shown = [p for p in points if p["bleu"] is not None and p["self_bleu"] is not None]
        ax.plot([p["self_bleu"] for p in shown], [p["bleu"] for p in shown], marker="o", label=name)
        for p in shown:
            ax.annotate(f"T={p['temperature']:g}", (p["self_bleu"], p["bleu"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ax.set_xlabel(f"Self-BLEU-{bleu_order} (lower = more diverse)")
    ax.set_ylabel(f"BLEU-{bleu_order} against test")
    ax.set_title("Quality against diversity over sampling temperature", fontsize=10)
    ax.legend(fontsize=8)
    return figure_uri(fig)


def sparkline(values: list[float], name: str, flagged: bool = False, width: int = 110, height: int = 26) -> Markup:
    """Inline SVG of the values, oldest first, the last point marked (red when flagged).

    Only numbers go into the drawing; the accessible name (`name` and the values) is escaped.
    """
    label = f"{name} over {len(values)} runs, oldest to newest: " + ", ".join(f"{v:.4g}" for v in values)
    low, high = min(values), max(values)
    step = (width - 6) / max(len(values) - 1, 1)
    level = (lambda v: (v - low) / (high - low)) if high > low else (lambda v: 0.5)  # flat series: mid-height
    points = [(3 + i * step, height - 3 - level(v) * (height - 6)) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    x, y = points[-1]
    colour = "#c0392b" if flagged else "#1f5fbf"
    return Markup(f'<svg class="spark" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}"><polyline fill="none" stroke="#7a869a" stroke-width="1.2" '
                  f'points="{path}"/><circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/></svg>')
