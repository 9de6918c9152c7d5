"""Image decoding (every format and mode to RGB uint8, clear errors) and input collection / output naming."""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path, PurePath

import numpy as np
import pytest
from PIL import Image, ImageFile

from ocrpipe.errors import ExitCode, InputError, UsageError
from ocrpipe.io import (
    InputFile, collect_inputs, decode_bytes, load_image, load_pages, output_path, scale_to_uint8,
)

RED, WHITE, BLACK = (255, 0, 0), (255, 255, 255), (0, 0, 0)


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: bytes = b"") -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit RGB, nor lie about the size in the header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def assert_input_error(path, reason_part: str, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        load_pages(path, **kwargs)
    error = caught.value
    assert reason_part in error.reason
    assert str(error) == f"{path}: {error.reason}" and "\n" not in str(error)
    assert error.exit_code == ExitCode.SOME_INPUTS_FAILED
    return error


# ---------------------------------------------------------------------------------------------------------------
# Decoding: formats and modes


def test_png_rgb_is_exact(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    page = load_image(save(Image.fromarray(pixels), tmp_path / "a.png"))
    assert page.dtype == np.uint8 and page.shape == (7, 5, 3)
    assert np.array_equal(page, pixels)


@pytest.mark.parametrize("name", ["a.jpg", "a.bmp", "a.webp", "a.tif"])
def test_common_formats_decode_to_rgb(tmp_path, name):
    page = load_image(save(Image.new("RGB", (30, 20), RED), tmp_path / name))
    assert page.shape == (20, 30, 3) and page.dtype == np.uint8
    assert np.abs(page.astype(int) - RED).max() <= 3  # lossy formats: close enough


def test_gray_becomes_three_equal_channels(tmp_path):
    page = load_image(save(Image.new("L", (4, 3), 77), tmp_path / "g.png"))
    assert page.shape == (3, 4, 3) and (page == 77).all()


def test_one_bit_image_is_black_and_white(tmp_path):
    bitmap = Image.new("1", (8, 2), 0)
    bitmap.putpixel((3, 1), 1)
    page = load_image(save(bitmap, tmp_path / "b.bmp"))
    assert tuple(page[1, 3]) == WHITE and tuple(page[0, 0]) == BLACK


def test_16_bit_gray_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    page = load_image(save(Image.fromarray(values), tmp_path / "g16.png"))
    assert page[0, :, 0].tolist() == [0, 1, 128, 255]


def test_16_bit_gray_tiff_is_scaled(tmp_path):
    values = np.array([[0, 65535]], dtype=np.uint16)
    page = load_image(save(Image.fromarray(values), tmp_path / "g16.tif"))
    assert page[0, :, 0].tolist() == [0, 255]


def test_16_bit_rgb_png(tmp_path):
    pixel = np.array([0xFFFF, 0x8000, 0x0000], dtype=">u2").tobytes()
    path = tmp_path / "rgb16.png"
    path.write_bytes(png_bytes(2, 1, 16, 2, b"\x00" + pixel * 2))
    assert load_image(path)[0, 0].tolist() == [255, 128, 0]


@pytest.mark.parametrize("dtype, values, expected", [
    (">u2", [0, 257, 65535], [0, 1, 255]),  # I;16B
    ("<i4", [0, 257, 65535], [0, 1, 255]),  # mode I holding 16-bit data
    ("<i4", [-100, 0, 100], [0, 128, 255]),  # mode I beyond 16 bits: stretched
    ("<f4", [0.0, 0.5, 1.0], [0, 128, 255]),  # mode F in 0..1
])
def test_scale_to_uint8(dtype, values, expected):
    assert scale_to_uint8(np.array([values], dtype=dtype))[0].tolist() == expected


@pytest.mark.parametrize("name", ["c.jpg", "c.tif"])
def test_cmyk_becomes_rgb(tmp_path, name):
    image = Image.new("CMYK", (2, 1))
    image.putpixel((0, 0), (0, 0, 0, 0))  # no ink: white
    image.putpixel((1, 0), (255, 0, 0, 0))  # cyan
    page = load_image(save(image, tmp_path / name, quality=100))
    assert np.abs(page[0, 0].astype(int) - WHITE).max() <= 8
    assert np.abs(page[0, 1].astype(int) - (0, 255, 255)).max() <= 8


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(tmp_path, mode):
    image = Image.new("RGBA", (3, 1))
    image.putdata([(0, 0, 0, 0), (0, 0, 0, 255), (0, 0, 0, 128)])  # transparent, opaque black, half black
    page = load_image(save(image.convert(mode), tmp_path / "alpha.png"))
    assert tuple(page[0, 0]) == WHITE and tuple(page[0, 1]) == BLACK
    assert abs(int(page[0, 2, 0]) - 127) <= 1


def test_palette_with_transparent_index_gif_first_frame(tmp_path):
    first = Image.new("P", (4, 4), 0)
    first.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # index 0 red, index 1 blue
    first.putpixel((0, 0), 1)
    second = Image.new("P", (4, 4), 0)
    second.putpalette([0, 255, 0] * 256)
    path = save(first, tmp_path / "anim.gif", save_all=True, append_images=[second], transparency=1)
    pages = load_pages(path)
    assert len(pages) == 1  # GIF: first frame only
    assert tuple(pages[0][0, 0]) == WHITE and tuple(pages[0][1, 1]) == RED


def test_palette_png(tmp_path):
    image = Image.new("P", (2, 2), 0)
    image.putpalette([0, 0, 255] * 256)
    assert (load_image(save(image, tmp_path / "p.png")) == (0, 0, 255)).all()


def test_multi_page_tiff_gives_every_page(tmp_path):
    pages = [Image.new("RGB", (10, 10), RED), Image.new("L", (20, 5), 0), Image.new("RGB", (3, 4), WHITE)]
    path = save(pages[0], tmp_path / "multi.tif", save_all=True, append_images=pages[1:])
    loaded = load_pages(path)
    assert [page.shape for page in loaded] == [(10, 10, 3), (5, 20, 3), (4, 3, 3)]
    assert tuple(loaded[2][0, 0]) == WHITE
    assert load_image(path).shape == (10, 10, 3)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), WHITE)
    image.paste(BLACK, (0, 0, 10, 10))  # dark square top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turns it 90° clockwise
    page = load_image(save(image, tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95))
    assert page.shape == (40, 20, 3)  # width and height swapped
    assert page[5, 15].max() < 60 and page[35, 5].min() > 200  # the square moved to the top-right


def test_decode_bytes(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), RED).save(buffer, "PNG")
    assert [page.shape for page in decode_bytes(buffer.getvalue())] == [(2, 3, 3)]
    with pytest.raises(InputError, match="<bytes>: empty file"):
        decode_bytes(b"")


# ---------------------------------------------------------------------------------------------------------------
# Decoding: refusals


def test_truncated_images_are_refused(tmp_path):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # nothing in ocrpipe turns Pillow's leniency on
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for name in ("t.jpg", "t.png"):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, Image.registered_extensions()[Path(name).suffix])
        path = tmp_path / name
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        assert_input_error(path, "truncated or corrupt image")


def test_text_file_named_png_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello\n")
    error = assert_input_error(path, "not an image")
    assert error.reason == "not an image (cannot decode)"


def test_empty_missing_and_directory_inputs(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    assert_input_error(tmp_path / "empty.png", "empty file")
    assert_input_error(tmp_path / "missing.png", "no such file")
    assert_input_error(tmp_path, "is a directory")


def test_zero_size_image_is_refused(tmp_path):
    path = tmp_path / "zero.png"
    path.write_bytes(png_bytes(0, 0, 8, 0))
    assert_input_error(path, "not an image")


def test_pixel_limit(tmp_path):
    path = save(Image.new("RGB", (100, 50)), tmp_path / "big.png")
    assert_input_error(path, "image too large (100×50", max_pixels=4999)
    assert load_image(path, max_pixels=5000).shape == (50, 100, 3)


@pytest.mark.parametrize("width, height", [(10_000, 10_001), (20_000, 20_000)])
def test_huge_header_is_refused_quietly(tmp_path, width, height):
    # 100 MP sits between Pillow's bomb warning and its bomb error; 400 MP is past its error.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(width, height, 8, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        assert_input_error(path, "image too large")


# ---------------------------------------------------------------------------------------------------------------
# Collecting inputs and naming outputs


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """scans/{b.png, a.JPG, notes.txt, .hidden.png, sub/c.tif, .cache/d.png} with the current folder at tmp_path."""
    for name in ["scans/b.png", "scans/a.JPG", "scans/notes.txt", "scans/.hidden.png", "scans/sub/c.tif",
                 "scans/.cache/d.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def paths(items: list[InputFile]) -> list[str]:
    return [item.path.as_posix() for item in items]


def test_folder_gives_its_images_sorted(tree):
    assert paths(collect_inputs(["scans"])) == ["scans/a.JPG", "scans/b.png"]


def test_recursive_walk_skips_hidden(tree):
    assert paths(collect_inputs(["scans"], recursive=True)) == ["scans/a.JPG", "scans/b.png", "scans/sub/c.tif"]


def test_glob_filters_folder_contents(tree):
    assert paths(collect_inputs(["scans"], recursive=True, glob="*.t*")) == ["scans/notes.txt", "scans/sub/c.tif"]
    assert paths(collect_inputs(["scans"], recursive=True, glob="sub/*")) == ["scans/sub/c.tif"]


def test_files_are_kept_as_given_missing_ones_too_and_only_once(tree):
    items = collect_inputs(["scans/notes.txt", "nowhere.png", "scans", "scans/b.png"])
    assert paths(items) == ["scans/notes.txt", "nowhere.png", "scans/a.JPG", "scans/b.png"]


def test_files_from_list_and_stdin(tree):
    (tree / "list.txt").write_text("scans/b.png\n\n  scans/sub  \n")
    assert paths(collect_inputs([], files_from="list.txt")) == ["scans/b.png", "scans/sub/c.tif"]
    assert paths(collect_inputs(["scans/a.JPG"], files_from="-", stdin=io.StringIO("scans/b.png\n"))) == [
        "scans/a.JPG", "scans/b.png"]
    with pytest.raises(UsageError) as caught:
        collect_inputs([], files_from="no-such-list.txt")
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("recursive, lister", [(False, "listdir"), (True, "scandir")])
def test_unlistable_folder_is_a_usage_error(tree, monkeypatch, recursive, lister):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(f"os.{lister}", refuse)
    with pytest.raises(UsageError, match="cannot list the folder scans: Permission denied"):
        collect_inputs(["scans"], recursive=recursive)


def test_output_paths_mirror_inputs(tree):
    items = {item.path.as_posix(): item for item in collect_inputs(["scans"], recursive=True)}
    out = Path("OUT")
    assert output_path(items["scans/b.png"], out, ".json") == Path("OUT/scans/b.json")
    assert output_path(items["scans/sub/c.tif"], out, ".hocr") == Path("OUT/scans/sub/c.hocr")
    assert output_path(items["scans/sub/c.tif"], out, ".txt", page_index=1) == Path("OUT/scans/sub/c.p2.txt")


def test_inputs_outside_the_current_folder_mirror_below_their_folder(tree, monkeypatch):
    (tree / "elsewhere").mkdir()
    monkeypatch.chdir(tree / "elsewhere")
    by_folder = collect_inputs([tree / "scans"], recursive=True)
    assert [item.out_name.as_posix() for item in by_folder] == ["a", "b", "sub/c"]
    assert collect_inputs([tree / "scans" / "sub" / "c.tif"])[0].out_name == PurePath("c")


def test_same_stem_keeps_extensions(tree):
    (tree / "scans" / "b.jpg").write_bytes(b"x")
    names = {item.path.name: item.out_name.as_posix() for item in collect_inputs(["scans"])}
    assert names == {"a.JPG": "scans/a", "b.jpg": "scans/b.jpg", "b.png": "scans/b.png"}


def test_a_name_like_a_later_page_keeps_its_extension(tree):
    (tree / "scans" / "b.P2.png").write_bytes(b"x")  # page 2 of scans/b.png would be written as scans/b.p2.*
    (tree / "scans" / "a.p7x.png").write_bytes(b"x")  # not a page suffix
    names = {item.path.name: item.out_name.as_posix() for item in collect_inputs(["scans"])}
    assert names == {"a.JPG": "scans/a", "a.p7x.png": "scans/a.p7x", "b.P2.png": "scans/b.P2.png", "b.png": "scans/b"}


def test_inputs_that_cannot_be_told_apart_are_a_usage_error(tree, monkeypatch):
    (tree / "other").mkdir()
    (tree / "other" / "b.png").write_bytes(b"x")
    (tree / "here").mkdir()
    monkeypatch.chdir(tree / "here")
    with pytest.raises(UsageError, match="would write the same output"):
        collect_inputs([tree / "scans" / "b.png", tree / "other" / "b.png"])
