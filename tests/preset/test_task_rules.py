"""The guidance rules that read the task: deliberate repeats become epochs, knowledge-like data gets
ten passes and r32, early stopping only on validation worth trusting (the plateau stop otherwise),
and a CPU cap that cuts the schedule says so. Pure: DataFacts in, choices out."""

from tests.preset.support import preset
from tuitune.preset.guidance import DataFacts, resolve
from tuitune.train.coach import not_learned
from tuitune.train.plateau import plateaued

SMOL = 135_000_000


def knowledge_facts(repeat=4):
    # The benchmark's file: 12 facts x 3 phrasings, each row 4 times; cleaning left 36 rows.
    return DataFacts(36, 0, 36 * 40, 40.0, 60, repeat_factor=repeat, repeats_dropped=36 * ((repeat or 1) - 1),
                     knowledge_like=True, facts=12)


def test_deliberate_repeats_multiply_the_epochs_and_the_summary_says_what_cleaning_did():
    g = resolve(preset(), knowledge_facts(), params=SMOL, device="cpu", method="lora")
    assert g.value("train.epochs") == 12  # 3 for a small set, x4 for the repeats
    assert g.total_steps == 108  # what plain TRL takes over the 144 rows: 3 epochs x 36 steps
    assert "x4" in g.choices["train.epochs"].reason and "deliberate_repeat" in g.choices["train.epochs"].reason
    assert "deliberate_repeat x4" in g.summary and "108 repeats" in g.choices["train.epochs"].reason


def test_knowledge_like_data_gets_ten_passes_a_higher_rank_and_no_held_out_phrasings():
    g = resolve(preset(), knowledge_facts(repeat=None), params=SMOL, device="cpu", method="lora")
    assert g.value("train.epochs") == 10 and "knowledge-like" in g.choices["train.epochs"].reason
    assert g.value("lora.r") == 32 and "Biderman" in g.choices["lora.r"].reason
    assert g.value("data.val_fraction") == 0.0 and "knowledge-like" in g.choices["data.val_fraction"].reason
    style = DataFacts(36, 0, 36 * 40, 40.0, 60)
    g = resolve(preset(), style, params=SMOL, device="cpu", method="lora")
    assert g.value("lora.r") == 16 and g.value("train.epochs") < 10


def test_no_early_stopping_on_a_handful_of_rows_the_plateau_stop_instead():
    few = DataFacts(198, 2, 198 * 40, 40.0, 60)
    g = resolve(preset(), few, params=SMOL, device="cpu", method="lora")
    assert g.value("eval.early_stopping") is False and "too few to trust" in g.choices["eval.early_stopping"].reason
    assert g.value("eval.plateau_stop") is True and "training loss" in g.choices["eval.plateau_stop"].reason
    enough = DataFacts(190, 10, 190 * 87, 87.0, 150)
    g = resolve(preset(), enough, params=SMOL, device="cpu", method="lora")
    assert g.value("eval.early_stopping") is True and g.value("eval.plateau_stop") is False
    # Asked for on two rows: kept, with a warning.
    g = resolve(preset("[eval]\nearly_stopping = true\n"), few, params=SMOL, device="cpu", method="lora")
    assert g.value("eval.early_stopping") is True and [w for w in g.warnings if w["code"] == "few_validation"]


def test_a_cpu_cap_that_cuts_the_schedule_warns_with_the_full_schedules_time():
    demo = DataFacts(190, 10, 190 * 87, 87.0, 150)  # the demo: 144 steps capped for the CPU
    g = resolve(preset(), demo, params=SMOL, device="cpu", method="lora")
    [warning] = [w for w in g.warnings if w["code"] == "cpu_budget"]
    assert f"at {g.total_steps} of the 144 steps" in warning["message"] and "min" in warning["message"]
    assert "train.epochs = 3" in warning["message"]
    g = resolve(preset(), knowledge_facts(), params=SMOL, device="cpu", method="lora")
    assert not [w for w in g.warnings if w["code"] == "cpu_budget"]  # 108 steps fit


def test_not_learned_when_the_answer_loss_stays_high_or_the_probes_do_not_change():
    falling = [(s, 3.0 * 0.9 ** s) for s in range(40)]
    assert not_learned(falling) is None
    flat = [(s, 3.0 - 0.01 * s) for s in range(40)]
    message = not_learned(flat, learning_rate=5e-5, usual_lr=5e-4)
    assert message.startswith("not learned yet") and "tuitune runs extend" in message
    assert "raise the learning rate (now 5e-05; usual 0.0005)" in message and "add phrasings" in message
    # Knowledge needs the loss far down, not only halved.
    halved = [(s, 3.0 if s < 10 else 0.6) for s in range(40)]
    assert not_learned(halved) is None and "0.600" in not_learned(halved, knowledge_like=True)
    # A resumed run (its losses start late) that is already near zero has learned.
    assert not_learned([(s, 0.001) for s in range(55, 108)], knowledge_like=True) is None
    assert not_learned([(s, 0.1) for s in range(1, 40)]) is None  # low from the start: nothing left to learn
    unchanged = not_learned(falling, base=["Paris.", "Blue."], tuned=["Paris.", " Blue. "])
    assert "2 probe answers are unchanged" in unchanged
    assert not_learned(falling, base=["Paris."], tuned=["Arr, Paris!"]) is None


def test_plateau_is_found_only_after_half_the_run_and_only_when_the_loss_stops_falling():
    falling = [(s, 3.0 * 0.97 ** s) for s in range(1, 101)]
    assert plateaued(falling, 100) is None
    flat = [(s, 2.0 * 0.9 ** s if s < 30 else 0.1) for s in range(1, 80)]
    assert plateaued(flat, 100) is not None
    assert plateaued(flat[:45], 100) is None  # before half way
    assert plateaued(flat[:30], 30) is None  # too short a run to judge
    # A random tiny model's loss falling 1 % a quarter, by more than its noise (a real run's log):
    slow = [10.838, 10.776, 10.738, 10.712, 10.674, 10.678, 10.685, 10.668, 10.662, 10.656,
            10.632, 10.613, 10.59, 10.791, 10.591, 10.602, 10.586, 10.562, 10.581, 10.547]
    assert plateaued(list(enumerate(slow, start=1)), 40) is None
    noisy_flat = [(s, 1.0 + (0.05 if s % 2 else -0.05)) for s in range(1, 80)]
    assert plateaued(noisy_flat, 100) is not None
