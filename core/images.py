"""Decoding uploaded images into RGB pixel arrays, the same way for training and prediction."""

import io
import warnings

import numpy as np
import simplejpeg
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from core.errors import InvalidInputError, UnsupportedMediaError

# The service checks its own pixel limit before decoding; Pillow's global one would only warn
# or raise a different error for the same thing.
Image.MAX_IMAGE_PIXELS = None

RESAMPLING = Image.Resampling.BILINEAR

_JPEG_START = b"\xff\xd8\xff"
_EXIF_HEADER = b"Exif\x00\x00"


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Read an image's header and check its size, without decoding the pixels yet."""
    if not data:
        raise InvalidInputError("The uploaded file is empty.")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnsupportedMediaError(
            "The file is not an image in a format the service reads "
            "(JPEG, PNG, WebP, GIF, BMP or TIFF)."
        ) from None
    except Exception as error:
        raise InvalidInputError(f"The image is truncated or corrupt: {error}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidInputError(
            f"The image is {width}x{height} pixels, over the limit of {max_pixels} pixels."
        )
    return image


def decode_rgb(data: bytes, size: tuple[int, int] | None, max_pixels: int) -> np.ndarray:
    """Decode to a uint8 array of shape (height, width, 3), resized to `size` (height, width).

    The first frame of an animation is used, EXIF orientation is applied, and grayscale,
    palette, alpha and CMYK images are converted to RGB.
    """
    pixels = plain_jpeg_pixels(data)
    rgb = None if pixels is None or pixels > max_pixels else decode_plain_jpeg(data, size)
    return _pillow_rgb(data, size, max_pixels) if rgb is None else rgb


def decode_plain_jpeg(data: bytes, size: tuple[int, int] | None) -> np.ndarray | None:
    """`decode_rgb` for what `plain_jpeg_pixels` found to be a plain colour or grayscale JPEG,
    decoded by libjpeg-turbo straight into an array; None, without trying Pillow, if that
    decoder refuses it.

    Pillow decodes with the same library and settings, pixel for pixel the same, but its
    per-image overhead makes a 32x32 JPEG cost about 10 times as much, as much as the model's
    own work on it. Left to Pillow: other formats, EXIF (which may rotate), CMYK, oversized
    images and broken files (Pillow then says why).
    """
    try:
        rgb: np.ndarray = simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ValueError:
        return None
    if size is not None and rgb.shape[:2] != size:
        return np.asarray(_resized(Image.fromarray(rgb), size))
    return rgb


def plain_jpeg_pixels(data: bytes) -> int | None:
    """The number of pixels, as its header says, of a plain colour or grayscale JPEG (one that
    `decode_rgb` hands to libjpeg-turbo directly); None for any other image."""
    if not data.startswith(_JPEG_START) or _EXIF_HEADER in data:
        return None
    try:
        height, width, colourspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    return height * width if colourspace in ("YCbCr", "Gray") else None


def _pillow_rgb(data: bytes, size: tuple[int, int] | None, max_pixels: int) -> np.ndarray:
    image = open_image(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. palette-with-transparency notes
            image.seek(0)
            # Only when there is an orientation to apply: exif_transpose copies the image.
            if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
                image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image)
            if size is not None:
                rgb = _resized(rgb, size)
            return np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise InvalidInputError(f"The image is truncated or corrupt: {error}") from None


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` at `size` (height, width; Pillow counts width first), resampled as in training."""
    height, width = size
    return image if image.size == (width, height) else image.resize((width, height), RESAMPLING)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels become white rather than whatever colour hides behind them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
