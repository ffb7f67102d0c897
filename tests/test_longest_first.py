"""`train.longest_first`: the first batch the trainer draws holds the longest example, so a
batch that cannot fit fails in the first minute rather than hours in."""

from tuitune.preset import TrainSection


def first_batch_length(tmp_path, model, tokenizer, dataset, longest_first):
    from trl import SFTConfig, SFTTrainer

    from tuitune.train.trainer_base import shared_args, trainer_class

    args = SFTConfig(
        output_dir=str(tmp_path / f"out-{longest_first}"), per_device_train_batch_size=4, use_cpu=True, bf16=False,
        report_to="none", max_length=256, completion_only_loss=False, seed=0, data_seed=0,
        **shared_args(TrainSection(longest_first=longest_first)),
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
