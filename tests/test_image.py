"""Digit images: MNIST-style conversion (crop, 20 px box, centre of mass) and PNG reading."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnfs.image import area_resize, area_weights, load_png, mnist_style


def centre_of_mass(image):
    """(row, col) centre of mass; pixel (r, c) covers [r, r+1) x [c, c+1), so the field centre is (14, 14)."""
    total = image.sum()
    rows = image.sum(axis=1) @ (np.arange(image.shape[0]) + 0.5) / total
    cols = image.sum(axis=0) @ (np.arange(image.shape[1]) + 0.5) / total
    return rows, cols


def ink_box(image, threshold=0.0):
    """(height, width) of the bounding box of pixels above threshold."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def seven_on_white(size=(200, 300)):
    """A black '7' stroke on a white RGB background, off-centre, W x H = size."""
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).line([(30, 40), (150, 40), (70, 260)], fill="black", width=16)
    return img


# --- area resizing ---------------------------------------------------------------

def test_area_weights_rows_sum_to_one_and_average_by_hand():
    # 4 pixels -> 2: each output pixel is the mean of two inputs, [a, b, c, d] -> [(a+b)/2, (c+d)/2]
    assert np.allclose(area_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    # 3 -> 2: output 0 covers [0, 1.5): all of pixel 0 and half of pixel 1, divided by 1.5
    assert np.allclose(area_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    for n_in, n_out in [(5, 20), (300, 20), (7, 7)]:
        assert np.allclose(area_weights(n_in, n_out).sum(axis=1), 1.0)


def test_area_resize_keeps_the_mean_brightness():
    image = np.random.default_rng(0).random((60, 45))
    small = area_resize(image, 20, 15)
    assert small.shape == (20, 15)
    assert small.mean() == pytest.approx(image.mean())


# --- mnist_style -------------------------------------------------------------------

def test_mnist_style_box_fits_20x20_and_centre_of_mass_is_centred():
    gray = np.asarray(seven_on_white().convert("L"), dtype=np.float64) / 255  # (300, 200), dark ink
    out = mnist_style(gray, ink=0)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.9
    h, w = ink_box(out)
    assert max(h, w) == 20 and min(h, w) < 20       # longer side 20, aspect kept
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # whole-pixel shifts: within half a pixel
    assert out[0].sum() == out[-1].sum() == out[:, 0].sum() == out[:, -1].sum() == 0  # black frame


def test_mnist_style_ink_argument_is_polarity():
    gray = np.zeros((50, 40))
    gray[10:40, 18:22] = 1.0                          # a bright vertical bar: a "1"
    bright = mnist_style(gray, ink=1)
    dark = mnist_style(1.0 - gray, ink=0)              # the same digit drawn dark on light
    assert np.array_equal(bright, dark)
    # 30 x 4 bar -> 20 x round(4 * 20 / 30) = 20 x 3, placed with its centre at (14, 14)
    assert ink_box(bright) == (20, 3)
    assert np.allclose(bright[4:24, 13:16], 1.0)


def test_mnist_style_small_ink_is_scaled_up_to_20():
    gray = np.zeros((28, 28))
    gray[2:7, 3:5] = 1.0                              # a 5 x 2 blob in a corner
    out = mnist_style(gray)
    assert ink_box(out) == (20, 8)
    assert centre_of_mass(out) == pytest.approx((14, 14), abs=0.5)


def test_mnist_style_rejects_blank_and_bad_input():
    with pytest.raises(ValueError, match="no ink"):
        mnist_style(np.zeros((40, 40)))
    with pytest.raises(ValueError, match="no ink"):
        mnist_style(np.ones((40, 40)), ink=0)         # white paper, nothing drawn
    with pytest.raises(ValueError, match="2-D"):
        mnist_style(np.zeros(784))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mnist_style(np.full((5, 5), 255.0))
    with pytest.raises(ValueError, match="ink must be"):
        mnist_style(np.eye(5), ink=255)


# --- load_png ----------------------------------------------------------------------

def test_28x28_grayscale_png_round_trip(tmp_path):
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255
    pixels[5, 10] = 128                               # one mid-grey pixel, kept exactly
    path = tmp_path / "digit.png"
    Image.fromarray(pixels, mode="L").save(path)
    x, notes = load_png(path)
    assert x.shape == (784,) and x.dtype == np.float32
    assert np.array_equal(x, pixels.reshape(784).astype(np.float32) / 255)  # row by row, like MNIST
    assert not any("invert" in n or "grayscale" in n or "resized" in n for n in notes)


def test_28x28_black_on_white_png_is_inverted(tmp_path):
    pixels = np.full((28, 28), 255, np.uint8)
    pixels[6:22, 12:16] = 0
    path = tmp_path / "dark.png"
    Image.fromarray(pixels, mode="L").save(path)
    x, notes = load_png(path)
    assert np.array_equal(x, 1 - pixels.reshape(784).astype(np.float32) / 255)
    assert any(n.startswith("inverted") for n in notes)


def test_large_rgb_png_is_converted_like_mnist(tmp_path):
    path = tmp_path / "seven.png"
    seven_on_white().save(path)
    x, notes = load_png(path)
    text = "\n".join(notes)
    assert "converted RGB to grayscale" in text
    assert "inverted" in text
    assert "resized" in text and "centred by centre of mass in 28x28" in text
    image = x.reshape(28, 28)
    assert image.min() >= 0 and image.max() <= 1
    h, w = ink_box(image)
    assert h <= 20 and w <= 20
    cy, cx = centre_of_mass(image)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_transparent_png_is_flattened_by_ink_colour(tmp_path):
    # A canvas export: black ink, transparent (alpha 0) background.
    img = Image.new("RGBA", (100, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(50, 10), (50, 110)], fill=(0, 0, 0, 255), width=10)
    path = tmp_path / "canvas.png"
    img.save(path)
    x, notes = load_png(path)
    assert any("transparency onto white" in n for n in notes)
    assert any(n.startswith("inverted") for n in notes)
    assert ink_box(x.reshape(28, 28))[0] == 20        # the stroke survived, as bright ink


@pytest.mark.parametrize("content, error, message", [
    (None, FileNotFoundError, "no such image file"),
    (b"", ValueError, "not an image"),
    (b"this is not a PNG", ValueError, "not an image"),
])
def test_bad_image_files_name_the_file(tmp_path, content, error, message):
    path = tmp_path / "digit.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=message) as info:
        load_png(path)
    assert str(path) in str(info.value)


def test_truncated_png_names_the_file(tmp_path):
    path = tmp_path / "cut.png"
    seven_on_white().save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError) as info:
        load_png(path)
    assert str(path) in str(info.value)


def test_blank_png_says_no_ink(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(path)
    with pytest.raises(ValueError, match=r"blank\.png: no ink"):
        load_png(path)


# --- hardening (issue 13): blank images of any size, a pixel cap before decoding -----------

@pytest.mark.parametrize("size", [28, 50, 7])
@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_of_any_size_has_no_ink(tmp_path, size, level):
    path = tmp_path / "blank.png"
    Image.new("L", (size, size), level).save(path)
    with pytest.raises(ValueError, match=f"{path}: no ink: the {size}x{size} image is blank"):
        load_png(path)


def test_faint_28x28_image_is_blank_but_a_digit_is_not(tmp_path):
    faint = np.zeros((28, 28), np.uint8)
    faint[10:18, 12:15] = 20  # 20 / 255 = 0.08: below INK_THRESHOLD
    Image.fromarray(faint).save(tmp_path / "faint.png")
    with pytest.raises(ValueError, match="no ink"):
        load_png(tmp_path / "faint.png")
    faint[10:18, 12:15] = 200
    Image.fromarray(faint).save(tmp_path / "digit.png")
    x, _notes = load_png(tmp_path / "digit.png")
    assert x.max() == pytest.approx(200 / 255)


def png_with_size(width, height):
    """A valid 1x1 PNG whose IHDR claims width x height (CRC fixed): only the size lies."""
    import io
    import struct
    import zlib

    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = buffer.getvalue()
    start = data.index(b"IHDR")
    body = b"IHDR" + struct.pack(">II", width, height) + data[start + 12:start + 17]
    return data[:start] + body + struct.pack(">I", zlib.crc32(body)) + data[start + 21:]


@pytest.mark.parametrize("width, height", [(10_000, 10_000), (2049, 2048), (100_000, 100_000)])
def test_image_over_the_pixel_cap_is_refused_before_decoding(tmp_path, width, height):
    path = tmp_path / "huge.png"
    path.write_bytes(png_with_size(width, height))
    with pytest.raises(ValueError, match=f"{path}: image is .*({width * height:,}|{width * height}) pixels.*limit"):
        load_png(path)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_png_reader_refuses_directories_and_fifos(tmp_path, kind):
    import os

    path = tmp_path / "x.png"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    with pytest.raises(ValueError, match=f"{path}: is "):
        load_png(path)


def test_a_corrupt_chunk_length_does_not_make_the_reader_allocate_what_it_claims(tmp_path):
    """Found by tests/test_fuzz.py: a 93-byte 3x3 PNG whose IDAT is followed by a bogus length
    made Pillow, reading from the file, ask for 520 MB at once (Python's read(n) allocates n
    first). load_png gives Pillow the file's bytes, so it can never get more than the file holds."""
    import tracemalloc

    path = tmp_path / "bogus.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x03\x00\x00\x00\x03\x08\x00\x00\x00\x00sC\xeac"
                     b"\x1f\x00\x00\x0fIDATx\x9cc\xfc\xcf\xc0\xc0\xc4\x00\xc1\x00\x0b%\x01\x05\x9c6\xe3b\x00\x00"
                     b"\x00\x00IEND\xaeB`\x82")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"{path}: no ink"):
            load_png(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak:,} bytes allocated to read a 93-byte image"


def test_an_image_file_over_the_byte_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from nnfs import image

    monkeypatch.setattr(image, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + bytes(2000))
    with pytest.raises(ValueError, match=f"{path}: the file is 2,004 bytes, over the limit of 1,000"):
        load_png(path)


def test_an_unreadable_image_file_is_a_value_error_naming_it(tmp_path, monkeypatch):
    """Permission denied or an I/O error: one ValueError naming the file, as for a corrupt image."""
    from nnfs import image

    path = tmp_path / "locked.png"
    path.write_bytes(b"\x89PNG")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(image, "open", denied, raising=False)   # shadows the builtin in nnfs.image only
    with pytest.raises(ValueError, match=f"{path}: cannot read image: PermissionError: Permission denied"):
        load_png(path)
