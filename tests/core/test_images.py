import io

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError, UnsupportedMediaError
from core.images import decode_rgb, plain_jpeg_pixels
from devkit.samples import cifar_samples

LIMIT = 40_000_000


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_cifar_jpeg_decodes_to_rgb_pixels():
    jpeg = cifar_samples()["train"]["cat"][0]

    pixels = decode_rgb(jpeg, (32, 32), LIMIT)

    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    assert 0 < pixels.mean() < 255


def test_images_are_resized_to_the_requested_height_and_width():
    data = _encode(Image.new("RGB", (100, 50), (10, 20, 30)), "PNG")

    pixels = decode_rgb(data, (16, 24), LIMIT)

    assert pixels.shape == (16, 24, 3)
    assert tuple(pixels[8, 12]) == (10, 20, 30)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "BMP", "TIFF", "JPEG"])
def test_common_formats_decode(fmt):
    data = _encode(Image.new("RGB", (8, 8), (200, 0, 0)), fmt)

    pixels = decode_rgb(data, (8, 8), LIMIT)

    assert pixels[..., 0].mean() > 150 and pixels[..., 2].mean() < 60


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("L", (4, 4), 128), (128, 128, 128)),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 0)), (255, 255, 255)),  # transparent over white
        (Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
    ],
)
def test_modes_are_converted_to_rgb(image, expected):
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"

    pixels = decode_rgb(_encode(image, fmt), None, LIMIT)

    assert np.allclose(pixels[2, 2], expected, atol=3)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (20, 10), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    data = _encode(image, "JPEG", exif=exif)

    assert decode_rgb(data, None, LIMIT).shape == (20, 10, 3)


def test_first_frame_of_an_animation_is_used():
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])

    pixels = decode_rgb(buffer.getvalue(), None, LIMIT)

    assert pixels[0, 0, 0] > 200 and pixels[0, 0, 1] < 50


def test_empty_file_is_refused():
    with pytest.raises(InvalidInputError, match="empty"):
        decode_rgb(b"", None, LIMIT)


def test_non_image_is_unsupported_media():
    with pytest.raises(UnsupportedMediaError, match="not an image"):
        decode_rgb(b"%PDF-1.7 definitely not an image", None, LIMIT)


def test_truncated_jpeg_is_refused():
    jpeg = cifar_samples()["train"]["cat"][0]

    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        decode_rgb(jpeg[: len(jpeg) // 2], None, LIMIT)


def test_pixel_limit_is_checked_before_decoding():
    # A 1-bit PNG of 20000x20000 compresses to a few kB but would decode to 1.2 GB of RGB.
    bomb = _encode(Image.new("1", (20_000, 20_000)), "PNG")
    assert len(bomb) < 200_000

    with pytest.raises(InvalidInputError, match="20000x20000 pixels, over the limit"):
        decode_rgb(bomb, (32, 32), max_pixels=1_000_000)


def _pillow_pixels(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """What Pillow alone makes of an image, for holding the fast JPEG path to it."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if size is not None:
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(image)


def test_plain_jpegs_decode_to_exactly_pillows_pixels():
    # Training and prediction decode through here; a different pixel would shift predictions.
    jpegs = [jpeg for per_class in cifar_samples()["test"].values() for jpeg in per_class]
    gray = _encode(Image.effect_noise((24, 40), 60), "JPEG")
    photo = _encode(Image.effect_noise((300, 200), 60).convert("RGB"), "JPEG", quality=90)

    for data in [*jpegs, gray]:
        assert np.array_equal(decode_rgb(data, None, LIMIT), _pillow_pixels(data))
    assert np.array_equal(decode_rgb(photo, (32, 48), LIMIT), _pillow_pixels(photo, (32, 48)))


def test_jpeg_pixel_limit_is_checked_before_decoding():
    data = _encode(Image.new("RGB", (2_000, 1_000)), "JPEG")

    with pytest.raises(InvalidInputError, match="2000x1000 pixels, over the limit"):
        decode_rgb(data, (32, 32), max_pixels=1_000_000)


def test_jpeg_with_garbage_after_its_start_is_refused():
    with pytest.raises(UnsupportedMediaError, match="not an image"):
        decode_rgb(b"\xff\xd8\xff" + b"\x00" * 64, None, LIMIT)


def test_plain_jpegs_are_sized_from_their_headers_and_other_images_are_not():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: Pillow rotates these
    cmyk = _encode(Image.new("CMYK", (8, 8)), "JPEG")

    assert plain_jpeg_pixels(cifar_samples()["test"]["ship"][0]) == 32 * 32
    assert plain_jpeg_pixels(_encode(Image.effect_noise((24, 40), 60), "JPEG")) == 24 * 40
    for other in (
        _encode(Image.new("RGB", (32, 32)), "PNG"),
        _encode(Image.new("RGB", (32, 32)), "JPEG", exif=exif),
        cmyk,
        b"\xff\xd8\xff" + b"\x00" * 64,
    ):
        assert plain_jpeg_pixels(other) is None
