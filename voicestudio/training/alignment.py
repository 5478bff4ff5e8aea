"""Monotonic alignment search (VITS' ``maximum_path``), written here because the piper
wheel ships without its compiled core.

The forward pass runs over output frames with the text axis vectorised (a few hundred
small tensor ops per batch); the backtrack is a short numpy loop per utterance.
"""

from __future__ import annotations

import numpy as np
import torch

_NEG = -1e9


def maximum_path(neg_cent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Most likely monotonic, surjective alignment of frames to tokens.

    ``neg_cent`` and ``mask`` are ``[B, T_frames, T_tokens]``; returns a 0/1 tensor of the
    same shape where every frame maps to exactly one token, tokens advance by at most
    one per frame, and every token gets at least one frame.
    """
    device, dtype = neg_cent.device, neg_cent.dtype
    values = neg_cent.detach().double().cpu()
    m = mask.detach().cpu().bool()
    batch, t_y, t_x = values.shape
    y_lens = m[:, :, 0].sum(1).numpy()
    x_lens = m[:, 0, :].sum(1).numpy()
    values = values.masked_fill(~m, _NEG)

    score = torch.full((batch, t_y, t_x), _NEG, dtype=torch.float64)
    came_diag = torch.zeros((batch, t_y, t_x), dtype=torch.bool)
    score[:, 0, 0] = values[:, 0, 0]
    x_index = torch.arange(t_x)
    for y in range(1, t_y):
        prev = score[:, y - 1]
        shifted = torch.cat(
            [torch.full((batch, 1), _NEG, dtype=torch.float64), prev[:, :-1]], dim=1
        )
        diag = shifted > prev
        best = torch.where(diag, shifted, prev)
        # a frame can only reach token x if x <= y (one token per frame at most)
        best = best.masked_fill(x_index[None, :] > y, _NEG)
        score[:, y] = best + values[:, y]
        came_diag[:, y] = diag

    path = np.zeros((batch, t_y, t_x), dtype=np.float32)
    diag_np = came_diag.numpy()
    for b in range(batch):
        x = int(x_lens[b]) - 1
        for y in range(int(y_lens[b]) - 1, -1, -1):
            path[b, y, x] = 1.0
            if y > 0 and x > 0 and (diag_np[b, y, x] or x == y):
                x -= 1
    return torch.from_numpy(path).to(device=device, dtype=dtype)
