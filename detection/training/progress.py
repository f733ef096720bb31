"""A training loop's state after each epoch, so a stopped stage goes on at the next epoch.

A stage's best weights are written as soon as the first epoch ends, so they cannot say whether
the stage finished (its history file does). Resuming also needs what the best weights leave
out: the last weights, the optimiser's moments, the learning-rate schedule's position and the
random streams; with them a resumed stage on the CPU repeats the unbroken one.
"""

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


@dataclass
class Progress:
    """Where an epoch loop stands: epochs done, their records, the best so far, and the
    seconds spent before the first epoch (caches) and in all calls so far."""

    epochs_done: int = 0
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)
    setup_s: float = 0.0
    elapsed_s: float = 0.0


def save_progress(
    path: Path,
    progress: Progress,
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    generator: torch.Generator,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> None:
    """Write the loop's state; the rename makes it all-or-nothing if the process is killed."""
    state = {
        "epochs_done": progress.epochs_done,
        "history": progress.history,
        "best": progress.best,
        "setup_s": progress.setup_s,
        "elapsed_s": progress.elapsed_s,
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler else None,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    partial.replace(path)


def load_progress(
    path: Path,
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    generator: torch.Generator,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> Progress:
    """Restore the loop's state into these objects; a fresh Progress when none was saved."""
    if not path.exists():
        return Progress()
    device = next(model.parameters()).device
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    if scheduler:
        scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    return Progress(
        state["epochs_done"], state["history"], state["best"], state["setup_s"], state["elapsed_s"]
    )
