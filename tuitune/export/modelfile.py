"""An Ollama Modelfile beside the GGUF: FROM, a TEMPLATE in Ollama's Go-template syntax derived
from the chat template's family, a PARAMETER stop for every end token, and the run's system
prompt. Pure text; no heavy imports.

A Jinja chat template cannot be translated to Go templates in general, so we recognise the
families by their markers and write the known equivalent; for an unknown family we leave
TEMPLATE out (Ollama then falls back on the template stored in the GGUF) and say so.
"""

from __future__ import annotations

from pathlib import Path

_CHATML = (
    '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n'
    '{{ end }}<|im_start|>assistant\n'
)
_LLAMA3 = (
    '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n'
    '{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n'
)
_GEMMA = (
    '{{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}\n'
    '{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n'
)
_PHI3 = '{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n'


def _tuitune_default(eos: str) -> str:
    return (
        '{{- range .Messages }}{{ if eq .Role "system" }}{{ .Content }}\n\n'
        '{{ else if eq .Role "user" }}### User:\n{{ .Content }}\n\n'
        f'{{{{ else if eq .Role "assistant" }}}}### Assistant:\n{{{{ .Content }}}}{eos}\n\n'
        '{{ end }}{{ end }}### Assistant:\n'
    )


def go_template(chat_template: str, eos_token: str) -> str | None:
    """The Ollama template for a chat template's family, or None when the family is unknown."""
    if "<|im_start|>" in chat_template:
        return _CHATML
    if "<|start_header_id|>" in chat_template:
        return _LLAMA3
    if "<start_of_turn>" in chat_template:
        return _GEMMA
    if "<|assistant|>" in chat_template and "<|end|>" in chat_template:
        return _PHI3
    if "### Assistant:" in chat_template:
        return _tuitune_default(eos_token)
    return None


def write_modelfile(
    path: Path, gguf_name: str, chat_template: str, eos_token: str, stop_tokens: list[str],
    system_prompt: str | None = None,
) -> str | None:
    """Write the Modelfile; returns a note when the template family was not recognised."""
    lines = [f"FROM ./{gguf_name}", ""]
    template = go_template(chat_template, eos_token)
    note = None
    if template is None:
        note = "chat template family not recognised: the Modelfile has no TEMPLATE; Ollama will use the GGUF's"
    else:
        lines += [f'TEMPLATE """{template}"""', ""]
    for token in dict.fromkeys(stop_tokens):
        lines.append(f'PARAMETER stop "{token}"')
    if system_prompt:
        escaped = system_prompt.replace('"""', '\\"\\"\\"')
        lines += ["", f'SYSTEM """{escaped}"""']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return note
