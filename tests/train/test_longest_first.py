"""`train.longest_first`: the first batch the trainer draws holds the longest example, so a
batch that cannot fit fails in the first minute rather than hours in."""

from tuitune.preset import TrainSection


def first_batch_length(tmp_path, model, tokenizer, dataset, longest_first):
    from trl import SFTConfig, SFTTrainer

    from tuitune.train.speed import Available, choose_speed
    from tuitune.train.trainer_base import trainer_class

    # Padded batches without length grouping, unless longest_first asks for it.
    train = TrainSection(longest_first=longest_first, padding_free=False, group_by_length=False)
    speed = choose_speed(train, device="cpu", precision="fp32", model_type="llama", trust_remote_code=False,
                         available=Available.detect(), attention=("sdpa", "test"))
    args = SFTConfig(
        output_dir=str(tmp_path / f"out-{longest_first}"), per_device_train_batch_size=4, use_cpu=True, bf16=False,
        report_to="none", completion_only_loss=False, seed=0, data_seed=0, **speed.sft_config_kwargs(256),
    )
    trainer = trainer_class(SFTTrainer)(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    return batch["input_ids"].shape[1]  # padded to the longest example in the batch


def test_longest_first_puts_the_longest_example_in_the_first_batch(tmp_path, tiny_model_dir, tokenizer):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM

    lengths = [8 + (i * 37) % 120 for i in range(64)]
    dataset = Dataset.from_list([{"input_ids": list(range(100, 100 + n)), "labels": list(range(100, 100 + n))}
                                 for n in lengths])
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert first_batch_length(tmp_path, model, tokenizer, dataset, longest_first=True) == max(lengths)
    assert first_batch_length(tmp_path, model, tokenizer, dataset, longest_first=False) < max(lengths)


def test_longest_first_is_refused_for_dpo():
    import pytest

    from tuitune.preset import PresetError, parse_preset

    with pytest.raises(PresetError, match="longest_first works with stage 'sft' only"):
        parse_preset('[model]\npath = "m"\n[data]\npath = "bundled:pirate"\n[train]\nstage = "dpo"\nlongest_first = true\n')
