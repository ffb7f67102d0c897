"""What a training stage runs for each row, as the planner counts it (docs/planner.md, "DPO" and
"KTO, ORPO, SimPO"); the stages themselves are the preset's (``train.stage``).

- DPO, ORPO and SimPO put the chosen and the rejected answer of a row through the model as one
  batch of twice the rows;
- KTO's rows are single answers; beside each batch it runs a KL batch (the same answers paired
  with other prompts of the batch) forward only, without gradients, before the policy's forward
  — a smaller peak than the reference pass, which comes while the policy's activations are kept;
- DPO and KTO compare with a frozen reference (a no-grad pass per step, and for a full fine-tune
  a copy of the model), unless its log-probs were computed before training; ORPO and SimPO have
  no reference model at all.
"""

from __future__ import annotations

from tuitune.preset.schema import PREFERENCE_STAGES, REFERENCE_STAGES

PAIRED_STAGES: tuple[str, ...] = tuple(s for s in PREFERENCE_STAGES if s != "kto")


def sequences_per_row(stage: str) -> int:
    """Sequences one row puts through the model's trained forward pass."""
    return 2 if stage in PAIRED_STAGES else 1


def has_reference(stage: str, precompute_ref: bool = False) -> bool:
    """Whether each step runs a frozen reference model (and a full fine-tune holds its copy)."""
    return stage in REFERENCE_STAGES and not precompute_ref


# ORPO's and CPO's trainers (TRL's older design) compute the full logits and their log-softmax;
# SFT, DPO and KTO in TRL 1.16 use the fused, chunked LM head.
FULL_LOGITS_STAGES = ("orpo", "simpo")


def loss_kind(stage: str, loss: str) -> str:
    """The loss buffers a stage really allocates (Setup.loss), given the setup's own."""
    return "full_logits" if stage in FULL_LOGITS_STAGES else loss
