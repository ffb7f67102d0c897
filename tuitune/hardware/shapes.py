"""Model shape from a ``config.json`` dict: sizes, and parameters per component, without weights.

Each supported family is a few facts about how its decoder layer is built (biases, extra norms,
fused projections). The counts match ``sum(p.numel())`` of the transformers model built from the
same config (a test checks that on the meta device), so the planner can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuitune.hardware.errors import PlannerError

# model_type -> how its decoder layer differs from Llama's.
#   qkv_bias: q/k/v projections carry a bias (Qwen2 hardcodes it; others read `attention_bias`)
#   norms: RMSNorms per layer (Gemma 2 adds post-attention and post-feed-forward norms)
#   qk_norm: a per-head RMSNorm on queries and keys (Qwen3)
#   fused: q/k/v in one `qkv_proj` and gate/up in one `gate_up_proj` (Phi-3)
#   tied: transformers' default for `tie_word_embeddings` when config.json leaves it out
FAMILIES: dict[str, dict] = {
    "llama": {"tied": False},
    "mistral": {"tied": False},
    "qwen2": {"qkv_bias": True, "tied": False},
    "qwen3": {"qk_norm": True, "tied": False},
    "gemma": {"tied": True},
    "gemma2": {"norms": 4, "tied": True},
    "phi3": {"fused": True, "tied": False},
}

# Module names as PEFT sees them, for `--lora-targets` and `all-linear`.
ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")
FUSED_MODULES = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")


@dataclass(frozen=True)
class Linear:
    """One projection in a decoder layer: ``name`` as PEFT targets it, fan-in, fan-out."""

    name: str
    d_in: int
    d_out: int
    bias: bool = False

    @property
    def params(self) -> int:
        return self.d_in * self.d_out + (self.d_out if self.bias else 0)


@dataclass(frozen=True)
class ModelShape:
    """What the planner needs to know about a decoder-only transformer."""

    family: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    tie_word_embeddings: bool
    qkv_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    norms_per_layer: int = 2
    fused: bool = False
    source: str = field(default="", compare=False)

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def linears(self) -> list[Linear]:
        """The projections of one decoder layer, in forward order."""
        h, i, q, kv = self.hidden_size, self.intermediate_size, self.q_dim, self.kv_dim
        if self.fused:
            return [
                Linear("qkv_proj", h, q + 2 * kv, self.qkv_bias),
                Linear("o_proj", q, h),
                Linear("gate_up_proj", h, 2 * i, self.mlp_bias),
                Linear("down_proj", i, h, self.mlp_bias),
            ]
        return [
            Linear("q_proj", h, q, self.qkv_bias),
            Linear("k_proj", h, kv, self.qkv_bias),
            Linear("v_proj", h, kv, self.qkv_bias),
            Linear("o_proj", q, h),
            Linear("gate_proj", h, i, self.mlp_bias),
            Linear("up_proj", h, i, self.mlp_bias),
            Linear("down_proj", i, h, self.mlp_bias),
        ]

    def components(self) -> dict[str, int]:
        """Parameters per component; ``lm_head`` is 0 when it shares the embedding matrix."""
        attn = {"q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj"}
        per_layer_attn = sum(lin.params for lin in self.linears() if lin.name in attn)
        per_layer_mlp = sum(lin.params for lin in self.linears() if lin.name not in attn)
        if self.qk_norm:
            per_layer_attn += 2 * self.head_dim
        embeddings = self.vocab_size * self.hidden_size
        return {
            "embeddings": embeddings,
            "attention": per_layer_attn * self.num_layers,
            "mlp": per_layer_mlp * self.num_layers,
            "norms": (self.norms_per_layer * self.num_layers + 1) * self.hidden_size,
            "lm_head": 0 if self.tie_word_embeddings else embeddings,
        }

    @property
    def total_params(self) -> int:
        return sum(self.components().values())

    @property
    def linear_params(self) -> int:
        """Parameters in the decoder layers' projections: what NF4 quantizes."""
        return sum(lin.d_in * lin.d_out for lin in self.linears()) * self.num_layers

    def summary(self) -> dict:
        return {
            "family": self.family, "parameters": self.total_params, "layers": self.num_layers,
            "hidden": self.hidden_size, "intermediate": self.intermediate_size,
            "heads": self.num_heads, "kv_heads": self.num_kv_heads, "head_dim": self.head_dim,
            "vocab": self.vocab_size, "tied_embeddings": self.tie_word_embeddings,
            "components": self.components(),
        }


def shape_from_config(config: dict, source: str = "config.json") -> ModelShape:
    """A :class:`ModelShape` from a ``config.json`` dict; unknown families fail clearly."""
    if "text_config" in config and "hidden_size" not in config:
        config = {**config["text_config"], "model_type": config["text_config"].get("model_type")}
    family = config.get("model_type")
    if family not in FAMILIES:
        archs = ", ".join(config.get("architectures") or []) or "none listed"
        raise PlannerError(
            f"{source}: unknown architecture model_type={family!r} (architectures: {archs}); "
            f"the planner knows {', '.join(sorted(FAMILIES))}"
        )
    try:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        traits = FAMILIES[family]
        return ModelShape(
            family=family,
            vocab_size=int(config["vocab_size"]),
            hidden_size=hidden,
            intermediate_size=int(config["intermediate_size"]),
            num_layers=int(config["num_hidden_layers"]),
            num_heads=heads,
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", traits["tied"])),
            qkv_bias=traits.get("qkv_bias", bool(config.get("attention_bias", False))),
            mlp_bias=bool(config.get("mlp_bias", False)),
            qk_norm=traits.get("qk_norm", False),
            norms_per_layer=traits.get("norms", 2),
            fused=traits.get("fused", False),
            source=source,
        )
    except KeyError as e:
        raise PlannerError(f"{source}: config.json lacks {e.args[0]!r}, needed to size the model") from None
    except (TypeError, ValueError) as e:
        raise PlannerError(f"{source}: config.json has a non-numeric size ({e})") from None
