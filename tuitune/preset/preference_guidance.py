"""Guided defaults of the preference stages beyond DPO (``kto``, ``orpo``, ``simpo``): the
learning rate, ``[dpo] beta``, SimPO's ``simpo_gamma`` and KTO's class weights, each with the
reason a person reads. DPO's own rules stay in guidance.py; docs/guidance.md and docs/dpo.md give
the sources. Light core: no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (full fine-tuning rate, why); an adapter takes ten times the full rate, as for DPO.
_RATES = {
    "kto": (5e-7, "KTO: {rate} ({what}; the KTO paper and TRL's KTO docs: 5e-7 at beta 0.1, 5e-6 at most)"),
    "orpo": (8e-6, "ORPO: {rate} ({what}; the ORPO paper's 8e-6 for full fine-tuning: its loss holds the SFT "
                   "term too, so it takes SFT-like rates, well above DPO's)"),
    "simpo": (1e-6, "SimPO: {rate} ({what}; the SimPO paper's 3e-7 to 1e-6, tuned per model: higher rates "
                    "degrade the answers)"),
}
ADAPTER_FACTOR = 10


def preference_rate(stage: str, method: str) -> tuple[float, str] | None:
    """The learning rate of a ``kto``/``orpo``/``simpo`` run, or None for another stage."""
    if stage not in _RATES:
        return None
    full, why = _RATES[stage]
    if method == "full":
        return full, why.format(rate=f"{full:g}", what="full fine-tuning")
    rate = full * ADAPTER_FACTOR
    return rate, why.format(rate=f"{rate:g}", what=f"with an adapter: {ADAPTER_FACTOR} x the full-model rate, "
                                                    "as adapters need")


def beta(stage: str) -> tuple[float, str]:
    """``[dpo] beta`` for a stage other than DPO."""
    if stage == "kto":
        return 0.1, "KTO: 0.1, the KTO paper's and TRL's default (how far the model may drift from the reference)"
    if stage == "orpo":
        return 0.1, "ORPO: 0.1, the paper's lambda (the odds-ratio term's weight beside the SFT loss; TRL's default)"
    return 2.0, ("SimPO: 2.0, the low end of the paper's 2.0-2.5 (its rewards are length-normalized log-probs, "
                 "so beta scales them far more than DPO's 0.1; TRL's CPO default 0.1 is CPO's, not SimPO's)")


def simpo_gamma(beta_value: float) -> tuple[float, str]:
    gamma = round(0.5 * beta_value, 4)
    return gamma, (f"half of beta ({beta_value:g}): the SimPO paper's gamma/beta ratios run 0.3 to 0.8 "
                   "(the target margin between the chosen and rejected rewards)")


def kto_weights(desirable: int | None, undesirable: int | None) -> tuple[float, float, str]:
    """KTO's (desirable_weight, undesirable_weight) for these class counts: the rarer class is
    weighed up until the two weigh the same, the low end of TRL's rule that desirable_weight x
    good / (undesirable_weight x bad) lie between 1 and 4/3 (the KTO paper, eq. 8)."""
    if not desirable or not undesirable:
        return 1.0, 1.0, "1 and 1: the answers' classes are not counted yet (pairs split in two are balanced)"
    ratio = desirable / undesirable
    if 1 <= ratio <= 4 / 3:
        return 1.0, 1.0, (f"1 and 1: {desirable} good and {undesirable} bad answers are within TRL's 1 to 4/3 "
                          "balance (desirable_weight x good / (undesirable_weight x bad))")
    if ratio < 1:
        w = round(undesirable / desirable, 2)
        return w, 1.0, (f"good answers weighed {w:g}: {desirable} good against {undesirable} bad; the rarer class "
                        "weighed up to balance (TRL's rule: desirable_weight x good / (undesirable_weight x bad) "
                        "in 1 to 4/3)")
    w = round(desirable / undesirable, 2)
    return 1.0, w, (f"bad answers weighed {w:g}: {desirable} good against {undesirable} bad; the rarer class "
                    "weighed up to balance (TRL's rule: desirable_weight x good / (undesirable_weight x bad) "
                    "in 1 to 4/3)")


def preference_choices(preset: Any, data: Any, pick: Callable[..., Any]) -> None:
    """Resolve the ``[dpo]`` keys of a ``kto``, ``orpo`` or ``simpo`` preset through ``pick``
    (guidance.resolve's: it records each choice and its reason)."""
    stage, d = preset.train.stage, preset.dpo
    value, why = beta(stage)
    chosen_beta = pick("dpo.beta", d.beta, value, why)
    if stage == "simpo":
        gamma, why = simpo_gamma(chosen_beta)
        pick("dpo.simpo_gamma", d.simpo_gamma, gamma, why)
    if stage == "kto":
        good, bad, why = kto_weights(getattr(data, "desirable", None), getattr(data, "undesirable", None))
        if d.desirable_weight is None and d.undesirable_weight is not None:
            good, why = 1.0, "1: undesirable_weight is set in the preset"
        if d.undesirable_weight is None and d.desirable_weight is not None:
            bad, why = 1.0, "1: desirable_weight is set in the preset"
        pick("dpo.desirable_weight", d.desirable_weight, good, why)
        pick("dpo.undesirable_weight", d.undesirable_weight, bad, why)
