"""Turn a picture of a digit into the 784 numbers the network reads, the way MNIST was made.

MNIST digits are white ink (255) on black (0). The original black-on-white
digits were cropped to their ink, scaled so the longer side is 20 pixels
(keeping the aspect ratio, antialiased), then placed in a 28 x 28 field so
that their centre of mass sits at the field's centre.

`mnist_style` is that recipe as a pure NumPy function; the site's JavaScript
playground mirrors it step for step, so every step is plain arithmetic:

1. polarity: with ``ink=0`` (dark ink on a light background) use 1 - gray;
2. crop to the bounding box of the pixels brighter than ``INK_THRESHOLD``;
3. resize the box by area averaging so its longer side is 20 pixels: each new
   pixel is the mean of the old pixels it covers, weighted by the overlap;
4. paste it into a black 28 x 28 field, shifted by whole pixels so that its
   centre of mass lands as near (14, 14) as whole pixels allow.

Coordinates: pixel (r, c) covers the square [r, r+1) x [c, c+1), so its
centre is (r + 0.5, c + 0.5) and the field's centre is (14, 14). Rounding is
``floor(x + 0.5)``, which is JavaScript's ``Math.round``.

`load_png` reads a file with Pillow, converts it to grayscale, decides the
polarity from its border, and either uses a 28 x 28 image as it is or runs
`mnist_style` on it. It returns notes saying what it did.
"""

# --8<-- [start:imports]
import io
import math
import os
import struct
import warnings
from pathlib import Path

import numpy as np

MAX_PIXELS = 1 << 22  # 4,194,304 (2048 x 2048): refused above this before decoding, to bound memory
MAX_FILE_BYTES = 64 << 20  # an image file larger than this is refused before it is read
FIELD = 28            # MNIST images are 28 x 28
BOX = 20              # the ink's longer side is scaled to 20 pixels
INK_THRESHOLD = 0.1   # a pixel brighter than this (ink = 1) counts as ink when cropping
# --8<-- [end:imports]


# --8<-- [start:area_resize]
def area_weights(n_in, n_out):
    """(n_out, n_in) matrix that resizes one axis by area averaging.

    Output pixel i covers [i * s, (i + 1) * s) in input coordinates, s = n_in / n_out;
    entry (i, j) is the overlap of that span with input pixel [j, j + 1),
    divided by s, so every row sums to 1.
    """
    s = n_in / n_out
    edges = np.arange(n_out + 1) * s                    # (n_out + 1,)
    j = np.arange(n_in)                                 # (n_in,)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)  # (n_out, n_in)
    return np.clip(overlap, 0, None) / s


def area_resize(image, height, width):
    """Resize image (H, W) to (height, width) by area averaging (antialiased)."""
    H, W = image.shape
    return area_weights(H, height) @ image @ area_weights(W, width).T  # (height, width)
# --8<-- [end:area_resize]


def _round(x):
    """floor(x + 0.5): halves round up, like JavaScript's Math.round."""
    return int(math.floor(x + 0.5))


def _mnist_style_steps(gray, ink=1):
    """`mnist_style`, also returning what it did (for `load_png`'s notes)."""
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"gray must be a non-empty 2-D array (H, W), got shape {gray.shape}")
    if not np.all(np.isfinite(gray)) or gray.min() < 0 or gray.max() > 1:
        raise ValueError("gray must hold finite values in [0, 1]")
    if ink not in (0, 1):
        raise ValueError(f"ink must be 1 (bright ink on dark) or 0 (dark ink on light), got {ink!r}")
    image = gray if ink == 1 else 1.0 - gray            # (H, W), ink is now bright

    rows = np.flatnonzero((image > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((image > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        raise ValueError(f"no ink: no pixel is brighter than {INK_THRESHOLD} after polarity")
    top, left = rows[0], cols[0]
    h, w = rows[-1] - top + 1, cols[-1] - left + 1
    box = image[top:top + h, left:left + w]             # (h, w), the ink's bounding box

    longer = max(h, w)                                  # longer side -> 20, aspect kept
    nh, nw = max(1, _round(h * BOX / longer)), max(1, _round(w * BOX / longer))
    small = area_resize(box, nh, nw)                    # (nh, nw)

    total = small.sum()
    cy = (small.sum(axis=1) @ (np.arange(nh) + 0.5)) / total  # centre of mass inside the box
    cx = (small.sum(axis=0) @ (np.arange(nw) + 0.5)) / total
    y0, x0 = _round(FIELD / 2 - cy), _round(FIELD / 2 - cx)  # shift that puts it at (14, 14)
    y, x = min(max(y0, 0), FIELD - nh), min(max(x0, 0), FIELD - nw)  # keep all ink in the field
    out = np.zeros((FIELD, FIELD))
    out[y:y + nh, x:x + nw] = small
    steps = {"box": (int(h), int(w)), "size": (nh, nw), "clamped": (y, x) != (y0, x0)}
    return out.astype(np.float32), steps


# --8<-- [start:mnist_style]
def mnist_style(gray, ink=1):
    """Make a 28 x 28 MNIST-style digit out of a grayscale image of any size.

    gray: (H, W) floats in [0, 1]. ink: 1 if the ink is bright on a dark
    background (as in MNIST), 0 if it is dark on a light background.
    Crops to the ink (pixels above INK_THRESHOLD once the ink is bright),
    scales the longer side to 20 pixels by area averaging, and pastes the
    result into a black 28 x 28 field with its centre of mass at (14, 14),
    to the nearest whole pixel (less, if the ink would otherwise leave the field).

    Returns (28, 28) float32 in [0, 1]: 0 background, 1 ink.
    Raises ValueError if no pixel is ink.
    """
    return _mnist_style_steps(gray, ink)[0]
# --8<-- [end:mnist_style]


def _to_gray(img):
    """A PIL image -> ((H, W) float64 in [0, 1], notes)."""
    notes = []
    mode = img.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        # 16-bit and 32-bit grayscale: Pillow's convert("L") clips, so scale ourselves
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode != "F" else max(1.0, float(a.max()))
        notes.append(f"scaled {mode} pixels to [0, 1]")
        return np.clip(a / top, 0, 1), notes
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if has_alpha:
        la = np.asarray(img.convert("RGBA").convert("LA"), dtype=np.float64) / 255  # (H, W, 2)
        gray, alpha = la[..., 0], la[..., 1]
        if alpha.min() < 1:
            # Flatten onto a background that contrasts with the ink: the opaque
            # pixels are the ink, so a dark ink goes onto white and a light one onto black.
            ink_level = float((gray * alpha).sum() / max(alpha.sum(), 1e-12))
            background = 1.0 if ink_level < 0.5 else 0.0
            gray = alpha * gray + (1 - alpha) * background
            notes.append(f"converted {mode} to grayscale and flattened transparency onto "
                         f"{'white' if background else 'black'}")
        else:
            notes.append(f"converted {mode} to grayscale (alpha is opaque everywhere)")
        return gray, notes
    if mode != "L":
        notes.append(f"converted {mode} to grayscale")
        img = img.convert("L")
    return np.asarray(img, dtype=np.float64) / 255, notes


# --8<-- [start:load_png]
def load_png(path):
    """Read a digit image (PNG, or anything Pillow reads) as one MNIST column.

    A 28 x 28 image is used as it is, once grayscale and the right polarity.
    Any other size goes through `mnist_style`. Polarity: MNIST is bright ink
    on black, so an image whose border is mostly bright (median above 0.5) is
    inverted.

    Returns (x, notes): x (784,) float32 in [0, 1], row by row like MNIST's
    pixel0..pixel783; notes, one line per conversion step that was done.
    Raises FileNotFoundError, or ValueError naming the file if it is not an
    image or has no ink.
    """
    from PIL import Image, UnidentifiedImageError  # here, so `import nnfs` does not need Pillow

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such image file")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file (a device or a pipe?)"
        raise ValueError(f"{path}: is {kind}, not an image file")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ValueError(f"{path}: the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} "
                                 f"for an image")
            raw = f.read(size + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such image file") from None
    except OSError as err:   # permission denied, an I/O error
        raise ValueError(f"{path}: cannot read image: {type(err).__name__}: {err.strerror or err}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{path}: the file grew past the limit of {MAX_FILE_BYTES:,} bytes while it was read")
    # Pillow reads from memory, so it never gets more than the file holds: from a file, a
    # corrupt PNG chunk length made it ask the OS for 520 MB for a 93-byte image.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower, cap follows
            with Image.open(io.BytesIO(raw)) as img:
                W, H = img.size  # from the header: nothing is decoded yet
                if W * H > MAX_PIXELS:
                    raise ValueError(f"{path}: image is {W}x{H} = {W * H:,} pixels, over the limit of "
                                     f"{MAX_PIXELS:,}; scale it down first")
                img.load()
                gray, notes = _to_gray(img)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as err:  # Pillow's own check, in open, far above ours
        raise ValueError(f"{path}: image is too large ({str(err)[:80]}); the limit is {MAX_PIXELS:,} pixels") from None
    except ValueError as err:
        message = str(err)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: cannot read image: {message[:120]}") from None
    except (OSError, SyntaxError, EOFError, struct.error, TypeError, IndexError,
            KeyError, ZeroDivisionError) as err:  # Pillow's decoders on a truncated or corrupt file
        raise ValueError(f"{path}: cannot read image: {type(err).__name__}: {str(err)[:120]}") from None
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"{path}: cannot read image: decoded to shape {gray.shape}")

    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    light = float(np.median(border)) > 0.5
    if light:
        notes.append(f"inverted: the border is light (median {np.median(border):.2f}), "
                     "MNIST is light ink on black")
    ink = 0 if light else 1

    H, W = gray.shape
    bright = gray if ink == 1 else 1.0 - gray  # ink is now bright, whatever the image's polarity
    spread = float(np.ptp(gray))  # max - min: a uniform image, of any size, 28x28 too, has no digit
    if spread <= INK_THRESHOLD:
        raise ValueError(f"{path}: no ink: the {W}x{H} image is blank (its pixels differ by at most "
                         f"{spread:.2f}, ink needs more than {INK_THRESHOLD})")
    if (H, W) == (FIELD, FIELD):
        image = bright
        notes.append("28x28 image: used as is, without cropping or centring")
        return image.astype(np.float32).reshape(FIELD * FIELD), notes

    try:
        image, steps = _mnist_style_steps(gray, ink)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    (h, w), (nh, nw) = steps["box"], steps["size"]
    if (h, w) != (H, W):
        notes.append(f"cropped {W}x{H} image to its {w}x{h} ink bounding box")
    centred = "centred by centre of mass" + (" (as near as fits)" if steps["clamped"] else "")
    notes.append(f"resized {w}x{h} ink box to {nw}x{nh} and {centred} in 28x28")
    return image.reshape(FIELD * FIELD), notes
# --8<-- [end:load_png]
