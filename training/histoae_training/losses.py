"""The training objective (docs/model.md §14): L = alpha*MSE + beta*L1 + gamma*(1 - SSIM)  (+ lambda*Omega via the
optimizer's weight decay, see :mod:`histoae_training.train`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from .ssim import ssim_per_image


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three reconstruction terms."""

    alpha: float = 1.0  # MSE
    beta: float = 1.0   # L1
    gamma: float = 1.0  # 1 - SSIM

    def to_dict(self) -> dict:
        return asdict(self)


def mse_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1/(C H W) ||x - x_hat||^2, averaged over the batch."""
    return ((x_hat - x) ** 2).mean()


def l1_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1/(C H W) ||x - x_hat||_1, averaged over the batch."""
    return (x_hat - x).abs().mean()


class ReconstructionLoss(nn.Module):
    """alpha*MSE + beta*L1 + gamma*(1 - SSIM), all in float32 (outside autocast).

    ``forward`` returns ``(total, terms)`` where ``terms`` holds detached float values of mse, l1, ssim, loss.
    Every term is reported, whatever its weight.
    """

    def __init__(self, weights: LossWeights = LossWeights()):
        super().__init__()
        self.weights = weights

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.autocast(device_type=x.device.type, enabled=False):
            x_hat = x_hat.float()
            x = x.float()
            mse = mse_loss(x_hat, x)
            l1 = l1_loss(x_hat, x)
            s = ssim_per_image(x_hat, x).mean()
            w = self.weights
            total = w.alpha * mse + w.beta * l1 + w.gamma * (1.0 - s)
        terms = {"loss": float(total.detach()), "mse": float(mse.detach()), "l1": float(l1.detach()),
                 "ssim": float(s.detach())}
        return total, terms
