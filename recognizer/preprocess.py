"""Crop preprocessing shared by inference and training: resize (PIL bicubic, no aspect keep) and normalise."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def crop_to_tensor(crop: np.ndarray | Image.Image, image_size: tuple[int, int],
                   mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """RGB uint8 crop (H, W, 3) -> normalised float tensor [3, H', W'] at the model's input size.

    Same arithmetic as the reference's read/test transform: bicubic resize of the PIL image, /255, (x - mean) / std.
    """
    image = crop if isinstance(crop, Image.Image) else Image.fromarray(crop)
    height, width = image_size
    resized = np.asarray(image.convert("RGB").resize((width, height), Image.BICUBIC), dtype=np.float32)
    tensor = torch.from_numpy(resized / 255.0).permute(2, 0, 1)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (tensor - mean_t) / std_t
