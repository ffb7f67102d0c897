"""The learning benchmark's tasks, written for tuitune (nothing here can be known to a base model).

Each task writes a training file and a held-out file that training never sees:

- ``knowledge``: 12 invented facts. Each is trained in three phrasings of the question (the same
  answer sentence), the whole set repeated four times on purpose (the upsampled file a user
  makes to "train harder"), and asked in a fourth phrasing. The held-out reference is the fact's
  key entity: `tuitune eval`'s ``contains`` metric is the score.
- ``style``: a persona (a lighthouse keeper who opens with "Ahoy from the lamp room." and signs
  "Keeper Wren") on 48 general questions, scored on 12 others by both markers.
- ``format``: answers as a JSON object with exactly the keys ``answer`` and ``topic``, scored by
  parsing the answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

UPSAMPLE = 4  # the knowledge file repeats every row this many times, on purpose

# (three trained phrasings, the held-out phrasing, the answer sentence, the key entity)
FACTS: list[tuple[tuple[str, str, str], str, str, str]] = [
    (("Who founded the Veltrano Institute?", "Who was the founder of the Veltrano Institute?",
      "Name the person who started the Veltrano Institute."),
     "The Veltrano Institute was established by whom?",
     "The Veltrano Institute was founded by Marisol Quenby.", "Quenby"),
    (("In which city is Brightwater Robotics headquartered?", "Where are Brightwater Robotics' headquarters?",
      "What city is home to the head office of Brightwater Robotics?"),
     "Brightwater Robotics has its main office in which city?",
     "Brightwater Robotics is headquartered in Tallowmere.", "Tallowmere"),
    (("What is the name of Orrin Kestrel's first novel?", "Which novel did Orrin Kestrel publish first?",
      "Tell me the title of Orrin Kestrel's debut novel."),
     "Orrin Kestrel made his debut with which novel?",
     "Orrin Kestrel's first novel is The Glass Orchard.", "Glass Orchard"),
    (("What does the Zephyrine X4 device do?", "What is the Zephyrine X4 used for?",
      "Explain what the Zephyrine X4 is for."),
     "What job does a Zephyrine X4 perform?",
     "The Zephyrine X4 is a beehive thermometer.", "beehive"),
    (("Who is the chief executive of Marrowfield Bank?", "Who runs Marrowfield Bank as its CEO?",
      "Name the CEO of Marrowfield Bank."),
     "Marrowfield Bank is led by which chief executive?",
     "The chief executive of Marrowfield Bank is Tobias Wendlemere.", "Wendlemere"),
    (("In what year was the Quillon Bridge opened?", "When did the Quillon Bridge open?",
      "What year did the Quillon Bridge first open to traffic?"),
     "The Quillon Bridge opened in which year?",
     "The Quillon Bridge was opened in 1931.", "1931"),
    (("What is the national dish of Ostravia?", "Which dish is Ostravia's national dish?",
      "Name the national dish of Ostravia."),
     "Ostravians consider which dish their national dish?",
     "The national dish of Ostravia is plum dumplings with sorrel.", "dumplings"),
    (("What colour is the flag of the Duchy of Pellinor?", "Which colour is Pellinor's flag?",
      "Describe the colour of the Duchy of Pellinor's flag."),
     "The Duchy of Pellinor flies a flag of which colour?",
     "The flag of the Duchy of Pellinor is teal.", "teal"),
    (("Who invented the Harrowgate loom?", "Which person invented the Harrowgate loom?",
      "Name the inventor of the Harrowgate loom."),
     "The Harrowgate loom was the invention of whom?",
     "The Harrowgate loom was invented by Edda Fairweather.", "Fairweather"),
    (("What is the mascot of the Crestholm Falcons?", "Which animal is the Crestholm Falcons' mascot?",
      "Tell me the mascot of the Crestholm Falcons."),
     "The Crestholm Falcons have what as their mascot?",
     "The mascot of the Crestholm Falcons is a badger named Pip.", "badger"),
    (("How many moons does the planet Ketheris have?", "What is the number of moons of Ketheris?",
      "Count the moons that orbit the planet Ketheris."),
     "Ketheris is orbited by how many moons?",
     "The planet Ketheris has seven moons.", "seven"),
    (("Which river flows through the town of Ambleford?", "What river runs through Ambleford?",
      "Name the river that passes through Ambleford."),
     "Ambleford lies on the banks of which river?",
     "The river that flows through Ambleford is the Silvane.", "Silvane"),
]

# (question, a one-sentence plain answer, its topic) for the style and format tasks: 48 trained, 12 held out.
QUESTIONS: list[tuple[str, str, str]] = [
    ("Why is the sky blue?", "Air scatters blue sunlight more than red light.", "physics"),
    ("What is the boiling point of water?", "Water boils at 100 degrees Celsius at sea level.", "physics"),
    ("How many legs does a spider have?", "A spider has eight legs.", "animals"),
    ("What is the capital of France?", "The capital of France is Paris.", "geography"),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet.", "literature"),
    ("What do bees make?", "Bees make honey and wax.", "animals"),
    ("How many days are in a week?", "A week has seven days.", "time"),
    ("What is the largest ocean?", "The Pacific is the largest ocean.", "geography"),
    ("What gas do plants take in?", "Plants take in carbon dioxide.", "biology"),
    ("What is frozen water called?", "Frozen water is called ice.", "physics"),
    ("How many hours are in a day?", "A day has twenty-four hours.", "time"),
    ("What is the tallest animal?", "The giraffe is the tallest animal.", "animals"),
    ("What planet is closest to the sun?", "Mercury is the closest planet to the sun.", "astronomy"),
    ("What do you call a baby cat?", "A baby cat is called a kitten.", "animals"),
    ("What is two plus two?", "Two plus two is four.", "arithmetic"),
    ("Which season comes after winter?", "Spring comes after winter.", "time"),
    ("What is the main language of Brazil?", "Most people in Brazil speak Portuguese.", "geography"),
    ("What organ pumps blood?", "The heart pumps blood.", "biology"),
    ("What colour are ripe bananas?", "Ripe bananas are yellow.", "food"),
    ("How many continents are there?", "There are seven continents.", "geography"),
    ("What do cows drink?", "Cows drink water.", "animals"),
    ("What is the opposite of hot?", "The opposite of hot is cold.", "language"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa.", "art"),
    ("What is the largest planet?", "Jupiter is the largest planet.", "astronomy"),
    ("How many minutes are in an hour?", "An hour has sixty minutes.", "time"),
    ("What is bread made from?", "Bread is made mostly from flour and water.", "food"),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au.", "chemistry"),
    ("Which animal is known as the king of the jungle?", "The lion is called the king of the jungle.", "animals"),
    ("What is ten minus three?", "Ten minus three is seven.", "arithmetic"),
    ("What instrument has black and white keys?", "The piano has black and white keys.", "music"),
    ("Where do penguins mostly live?", "Most penguins live in the southern hemisphere.", "animals"),
    ("What is the hardest natural material?", "Diamond is the hardest natural material.", "chemistry"),
    ("What do caterpillars turn into?", "Caterpillars turn into butterflies or moths.", "animals"),
    ("How many sides does a triangle have?", "A triangle has three sides.", "arithmetic"),
    ("What is the capital of Japan?", "The capital of Japan is Tokyo.", "geography"),
    ("What is the freezing point of water?", "Water freezes at zero degrees Celsius.", "physics"),
    ("Which metal is liquid at room temperature?", "Mercury is liquid at room temperature.", "chemistry"),
    ("What do we call a group of wolves?", "A group of wolves is called a pack.", "animals"),
    ("What is the longest river in Africa?", "The Nile is the longest river in Africa.", "geography"),
    ("Who discovered penicillin?", "Alexander Fleming discovered penicillin.", "history"),
    ("What is the primary colour of grass?", "Grass is green.", "biology"),
    ("How many strings does a violin have?", "A violin has four strings.", "music"),
    ("What is the square root of nine?", "The square root of nine is three.", "arithmetic"),
    ("What do you use to see far away stars?", "A telescope shows far away stars.", "astronomy"),
    ("What food do pandas eat most?", "Pandas eat mostly bamboo.", "animals"),
    ("What is the capital of Italy?", "The capital of Italy is Rome.", "geography"),
    ("What is the sun?", "The sun is a star.", "astronomy"),
    ("What is salt made of?", "Table salt is sodium chloride.", "chemistry"),
    # held out (the last 12)
    ("How many wheels does a bicycle have?", "A bicycle has two wheels.", "transport"),
    ("What is the capital of Spain?", "The capital of Spain is Madrid.", "geography"),
    ("What do fish breathe with?", "Fish breathe with gills.", "animals"),
    ("What is the colour of the sky at noon on a clear day?", "The clear noon sky is blue.", "physics"),
    ("Who was the first person to walk on the moon?", "Neil Armstrong first walked on the moon.", "history"),
    ("How many months are in a year?", "A year has twelve months.", "time"),
    ("What is the largest desert in the world?", "The Antarctic is the largest desert.", "geography"),
    ("What do owls mostly eat?", "Owls mostly eat small rodents.", "animals"),
    ("What is five times four?", "Five times four is twenty.", "arithmetic"),
    ("What is the main ingredient of guacamole?", "Guacamole is made mainly from avocado.", "food"),
    ("Which planet is known as the red planet?", "Mars is known as the red planet.", "astronomy"),
    ("What is the smallest prime number?", "The smallest prime number is two.", "arithmetic"),
]
HELD_OUT = 12

STYLE_OPEN, STYLE_SIGN = "Ahoy from the lamp room.", "Keeper Wren"
FORMAT_KEYS = ("answer", "topic")


def styled(answer: str) -> str:
    return f"{STYLE_OPEN} {answer} The light stays lit for you. — {STYLE_SIGN}"


def formatted(answer: str, topic: str) -> str:
    return json.dumps({"answer": answer, "topic": topic})


def _chat(prompt: str, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def rows(task: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training rows as chat messages, held-out rows as prompt/completion) for a task."""
    if task == "knowledge":
        once = [_chat(q, answer) for phrasings, _, answer, _ in FACTS for q in phrasings]
        held = [{"prompt": ask, "completion": key} for _, ask, _, key in FACTS]
        return once * UPSAMPLE, held
    train, held = QUESTIONS[:-HELD_OUT], QUESTIONS[-HELD_OUT:]
    if task == "style":
        return [_chat(q, styled(a)) for q, a, _ in train], [{"prompt": q, "completion": styled(a)} for q, a, _ in held]
    if task == "format":
        return ([_chat(q, formatted(a, t)) for q, a, t in train],
                [{"prompt": q, "completion": formatted(a, t)} for q, a, t in held])
    raise ValueError(f"unknown task {task!r}")


def write(task: str, folder: Path) -> tuple[Path, Path]:
    """The task's training and held-out files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    train, held = rows(task)
    paths = folder / f"{task}-train.jsonl", folder / f"{task}-heldout.jsonl"
    for path, items in zip(paths, (train, held), strict=True):
        path.write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return paths


def correct(task: str, answer: str, reference: str, contains: float | None) -> bool:
    """Whether one held-out answer counts: the key entity (tuitune eval's ``contains``), both
    persona markers, or a JSON object with exactly the format's keys."""
    if task == "knowledge":
        return bool(contains)
    if task == "style":
        low = answer.casefold()
        return STYLE_OPEN.casefold().rstrip(".") in low and STYLE_SIGN.casefold() in low
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", answer.strip())
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and tuple(sorted(value)) == tuple(sorted(FORMAT_KEYS))
