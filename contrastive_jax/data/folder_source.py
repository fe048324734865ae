"""``folder:<path>``: an ImageNet-style folder of labelled images, as a variable-size source.

    <path>/<class>/<file>.jpg|.jpeg|.png          (any case; any sizes; gray / RGB / RGBA)
    <path>/train/<class>/... and <path>/val/<class>/...   (used as "train" / "test" if present)

Classes are the sorted sub-folder names (label = position). Without ``train/`` + ``val/``, a
fixed held-out split is drawn per class (stratified): of a class's ``n`` files (sorted by
name), ``round(held_out_fraction * n)`` (at least 1 and at most ``n - 1`` when ``n >= 2``) go
to "test", chosen by a permutation seeded with ``(SPLIT_SEED, class index)``, so the split never
depends on the run's seed or on the other classes.

Bad files are found up front, cheaply: each file's header is parsed (``PIL.Image.open``, no
pixel decode). Files that fail are left out of the split, listed in ``source.bad_files`` and
named in one warning (the first five); ``on_bad_file="error"`` makes them fatal instead. A
file whose header parses but whose pixels do not decode (a truncated JPEG) is caught when read:
it is replaced by the next readable file of the split (deterministic, so resume still holds),
added to ``source.bad_files`` of that process and warned about once (``"error"``: raised).

Records are ``{"image": uint8 [h, w, C] (the file's own size), "label": int32 []}`` with
``C = channels`` (1 or 3; every file converted); ``info.image_shape = (image_size,
image_size, C)`` is what the host pipeline crops to (``data.host_image``).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from contrastive_jax.data import host_image
from contrastive_jax.data.sources import SPLIT_SEED, SourceInfo

EXTENSIONS = (".jpg", ".jpeg", ".png")
BAD_FILE_POLICIES = ("skip", "error")
_SHOWN = 5  # bad files named in a warning


def _image_files(folder: str) -> list[str]:
    """Sorted image files (by extension, any case) anywhere under ``folder``."""
    found = []
    for parent, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(parent, f) for f in sorted(files)
                  if not f.startswith(".") and f.lower().endswith(EXTENSIONS)]
    return found


def _class_folders(root: str) -> list[str]:
    return sorted(d for d in os.listdir(root)
                  if not d.startswith(".") and os.path.isdir(os.path.join(root, d)))


def _header_ok(path: str) -> bool:
    try:
        with Image.open(path) as image:
            return image.size[0] > 0 and image.size[1] > 0
    except Exception:  # not an image, empty, unreadable: PIL raises several types
        return False


def _held_out(count: int, class_index: int, fraction: float) -> np.ndarray:
    """Sorted positions (of ``count`` files) held out for "test" in class ``class_index``."""
    if count < 2:
        return np.zeros((0,), np.int64)
    num_test = min(max(1, int(round(fraction * count))), count - 1)
    order = np.random.default_rng([SPLIT_SEED, class_index]).permutation(count)
    return np.sort(order[:num_test])


def _describe(root: str) -> str:
    entries = sorted(os.listdir(root))
    shown = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "")
    return f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} ({shown or 'none'})"


def _listing(root: str, split: str, fraction: float) -> tuple[list[str], list[str], list[int]]:
    """(class names, files, labels) of ``split`` under ``root``; raises for a folder that does
    not hold at least two classes of image files."""
    name = f"folder:{root}"
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{name}: no such directory; give the path of a folder of "
                                f"<class>/<image> sub-folders.")
    has_subsplits = all(os.path.isdir(os.path.join(root, d)) for d in ("train", "val"))
    base = os.path.join(root, "train") if has_subsplits else root
    classes = _class_folders(base)
    per_class = [_image_files(os.path.join(base, c)) for c in classes]
    found = [(c, files) for c, files in zip(classes, per_class) if files]
    if len(found) < 2:
        raise ValueError(
            f"{name}: needs at least two class folders with {'/'.join(EXTENSIONS)} images in "
            f"{base}; found {len(classes)} sub-folder(s), {len(found)} with images "
            f"({', '.join(f'{c}: {len(f)}' for c, f in found) or 'none'}); the folder has "
            f"{_describe(base)}.")
    if split not in ("train", "test"):
        raise ValueError(f"{name}: unknown split {split!r}; valid splits: 'train', 'test'.")
    classes = [c for c, _ in found]
    files, labels = [], []
    for label, (cls, class_files) in enumerate(found):
        if has_subsplits:
            chosen = class_files if split == "train" else _image_files(
                os.path.join(root, "val", cls))
        else:
            held = set(_held_out(len(class_files), label, fraction).tolist())
            chosen = [f for i, f in enumerate(class_files) if (i in held) == (split == "test")]
        files += chosen
        labels += [label] * len(chosen)
    if has_subsplits:
        extra = sorted(set(_class_folders(os.path.join(root, "val"))) - set(classes))
        if extra:
            raise ValueError(f"{name}: val/ has classes {extra[:5]} that train/ has no images of.")
    return classes, files, labels


class FolderSource:
    """One split of an image folder in the source contract (see the module docstring)."""

    def __init__(self, root: str, split: str, *, image_size: int = 64, channels: int = 3,
                 on_bad_file: str = "skip", held_out_fraction: float = 0.1):
        if on_bad_file not in BAD_FILE_POLICIES:
            raise ValueError(f"dataset.on_bad_file must be one of {BAD_FILE_POLICIES}, got "
                             f"{on_bad_file!r}.")
        if channels not in (1, 3):
            raise ValueError(f"dataset.channels must be 1 or 3, got {channels!r}.")
        if not isinstance(image_size, int) or image_size < 1:
            raise ValueError(f"dataset.image_size must be a positive integer, got "
                             f"{image_size!r}.")
        if not 0.0 < held_out_fraction < 1.0:
            raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}.")
        self.root, self.split = root, split
        self.channels, self.on_bad_file = channels, on_bad_file
        classes, files, labels = _listing(root, split, held_out_fraction)
        with ThreadPoolExecutor(8) as pool:
            readable = list(pool.map(_header_ok, files))
        self.bad_files = [f for f, ok in zip(files, readable) if not ok]
        self._report_bad(self.bad_files, "cannot be read as images")
        self.files = [f for f, ok in zip(files, readable) if ok]
        self.labels = np.asarray([l for l, ok in zip(labels, readable) if ok], np.int32)
        name = f"folder:{root}"
        if not self.files:
            raise ValueError(f"{name}: the {split} split has no readable images.")
        self.info = SourceInfo(name, (image_size, image_size, channels), len(classes),
                               tuple(classes), variable_size=True)
        self._warned_at_read = False

    def _report_bad(self, bad: list[str], why: str) -> None:
        if not bad:
            return
        shown = ", ".join(bad[:_SHOWN]) + (f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN
                                           else "")
        if self.on_bad_file == "error":
            raise ValueError(f"folder:{self.root}: {len(bad)} file(s) {why}: {shown}. Remove "
                             f"them, or set --config.dataset.on_bad_file=skip to leave them out.")
        warnings.warn(f"folder:{self.root} ({self.split}): skipping {len(bad)} file(s) that "
                      f"{why}: {shown}.", stacklevel=3)

    def __len__(self) -> int:
        return len(self.files)

    def _decode(self, index: int) -> np.ndarray:
        return host_image.decode(self.files[index], self.channels, name=self.files[index])

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        index = int(index)
        for offset in range(len(self.files)):
            position = (index + offset) % len(self.files)
            try:
                image = self._decode(position)
            except host_image.DecodeError as error:
                if self.on_bad_file == "error":
                    raise
                if self.files[position] not in self.bad_files:
                    self.bad_files.append(self.files[position])
                if not self._warned_at_read:
                    self._warned_at_read = True
                    warnings.warn(f"{error} Replaced by the next readable file; later failures "
                                  f"are counted in source.bad_files without a warning.")
                continue
            return {"image": image, "label": self.labels[position]}
        raise ValueError(f"folder:{self.root}: no file of the {self.split} split decodes.")

    def lazy_record(self, index: int) -> dict:
        """Record ``index`` with its file opened but not decoded (``"image"``: a PIL image), so
        the host crop can decode a JPEG at reduced size (``host_image.crop_views``). A file
        that then fails to decode raises ``host_image.DecodeError``; the pipeline falls back to
        ``source[index]``, which applies ``on_bad_file``."""
        index = int(index)
        try:
            image = Image.open(self.files[index])
        except Exception as error:
            raise host_image.DecodeError(f"{self.files[index]}: cannot open ({error}).") from error
        return {"image": image, "label": self.labels[index]}

    def __repr__(self) -> str:
        return (f"FolderSource({self.info.name}, {self.split}, n={len(self)}, "
                f"classes={self.info.num_classes}, bad_files={len(self.bad_files)})")


def folder_source(root: str, split: str, *, data_dir: str | None = None, seed: int = 0,
                  image_size: int = 64, channels: int = 3, on_bad_file: str = "skip",
                  held_out_fraction: float = 0.1) -> FolderSource:
    """The ``split`` ("train" / "test") of the image folder ``root`` (``folder:<root>``);
    ``data_dir`` and ``seed`` are unused (the path is in the name; the split is fixed)."""
    del data_dir, seed
    return FolderSource(os.path.expanduser(root), split, image_size=image_size,
                        channels=channels, on_bad_file=on_bad_file,
                        held_out_fraction=held_out_fraction)
