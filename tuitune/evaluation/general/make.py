"""Writes eval.jsonl and train.jsonl beside this file: the general set, every item written by us.

Run from the repository root: python tuitune/evaluation/general/make.py (deterministic).
"""
import json
import random
from pathlib import Path

K = [  # question, right answer, three wrong ones
("What color is the sky on a clear day?", "Blue", ["Green", "Red", "Black"]),
("How many days are in a week?", "Seven", ["Five", "Ten", "Twelve"]),
("What do bees make?", "Honey", ["Milk", "Silk", "Glass"]),
("Which animal is known as man's best friend?", "The dog", ["The shark", "The snake", "The spider"]),
("What is frozen water called?", "Ice", ["Steam", "Sand", "Smoke"]),
("Which planet do we live on?", "Earth", ["Mars", "Jupiter", "Venus"]),
("What is the opposite of hot?", "Cold", ["Warm", "Loud", "Tall"]),
("How many legs does a spider have?", "Eight", ["Four", "Six", "Ten"]),
("What gas do humans need to breathe to live?", "Oxygen", ["Helium", "Neon", "Carbon monoxide"]),
("Which season comes after winter?", "Spring", ["Autumn", "Summer", "Winter again"]),
("What is the capital of France?", "Paris", ["Berlin", "Madrid", "Rome"]),
("What is the capital of Japan?", "Tokyo", ["Beijing", "Seoul", "Bangkok"]),
("What is the capital of Italy?", "Rome", ["Paris", "Vienna", "Lisbon"]),
("What is the largest ocean on Earth?", "The Pacific Ocean", ["The Arctic Ocean", "The Indian Ocean", "Lake Superior"]),
("Which star is at the center of our solar system?", "The Sun", ["The Moon", "Polaris", "Sirius"]),
("What do plants need from sunlight to make food?", "Light energy", ["Sound", "Darkness", "Plastic"]),
("How many hours are in a day?", "24", ["12", "36", "48"]),
("How many months are in a year?", "12", ["10", "6", "15"]),
("What is the boiling point of water at sea level in Celsius?", "100 degrees", ["50 degrees", "0 degrees", "250 degrees"]),
("What is the freezing point of water in Celsius?", "0 degrees", ["100 degrees", "50 degrees", "-40 degrees"]),
("Which organ pumps blood through the body?", "The heart", ["The lungs", "The stomach", "The skin"]),
("Which organ do we use to breathe?", "The lungs", ["The heart", "The liver", "The ears"]),
("What is the largest land animal?", "The elephant", ["The mouse", "The rabbit", "The cat"]),
("What is the tallest animal?", "The giraffe", ["The pig", "The dog", "The sheep"]),
("Which animal says 'moo'?", "The cow", ["The cat", "The duck", "The horse"]),
("What do caterpillars turn into?", "Butterflies", ["Frogs", "Birds", "Snakes"]),
("What is the main language spoken in Spain?", "Spanish", ["Japanese", "Russian", "Swedish"]),
("What is the main language spoken in Germany?", "German", ["Portuguese", "Chinese", "Arabic"]),
("Which fruit is yellow and curved?", "The banana", ["The cherry", "The grape", "The plum"]),
("Which instrument has black and white keys?", "The piano", ["The drum", "The trumpet", "The flute"]),
("What shape has three sides?", "A triangle", ["A square", "A circle", "A hexagon"]),
("What shape has four equal sides and four right angles?", "A square", ["A triangle", "A circle", "An oval"]),
("How many sides does a hexagon have?", "Six", ["Five", "Eight", "Three"]),
("Who wrote the play Romeo and Juliet?", "William Shakespeare", ["Charles Dickens", "Mark Twain", "Jane Austen"]),
("Who painted the Mona Lisa?", "Leonardo da Vinci", ["Pablo Picasso", "Vincent van Gogh", "Claude Monet"]),
("Who was the first person to walk on the Moon?", "Neil Armstrong", ["Albert Einstein", "Isaac Newton", "Christopher Columbus"]),
("What is the chemical symbol for water?", "H2O", ["CO2", "NaCl", "O3"]),
("What force pulls objects toward the Earth?", "Gravity", ["Magnetism", "Friction", "Wind"]),
("What is the closest natural satellite to Earth?", "The Moon", ["Mars", "The Sun", "Saturn"]),
("Which is the largest planet in our solar system?", "Jupiter", ["Mercury", "Earth", "Mars"]),
("Which planet is known as the Red Planet?", "Mars", ["Venus", "Neptune", "Uranus"]),
("What is the largest continent by area?", "Asia", ["Australia", "Europe", "Antarctica"]),
("Which continent is Egypt in?", "Africa", ["South America", "Europe", "Australia"]),
("Which country is home to the kangaroo?", "Australia", ["Canada", "Norway", "Brazil"]),
("What do you call a baby cat?", "A kitten", ["A puppy", "A calf", "A foal"]),
("What do you call a baby dog?", "A puppy", ["A kitten", "A chick", "A lamb"]),
("What is the color of grass?", "Green", ["Blue", "Purple", "Orange"]),
("What color do you get by mixing blue and yellow?", "Green", ["Red", "Pink", "Black"]),
("What color do you get by mixing red and white?", "Pink", ["Green", "Blue", "Brown"]),
("Which metal is liquid at room temperature?", "Mercury", ["Iron", "Gold", "Copper"]),
("What do we call a person who treats sick animals?", "A veterinarian", ["A pilot", "A lawyer", "A baker"]),
("What do we call a person who flies airplanes?", "A pilot", ["A farmer", "A chef", "A dentist"]),
("Where do fish live?", "In water", ["In trees", "In the desert", "In clouds"]),
("What do cows drink?", "Water", ["Gasoline", "Ink", "Oil"]),
("Which sense do we use our eyes for?", "Sight", ["Hearing", "Smell", "Taste"]),
("Which sense do we use our ears for?", "Hearing", ["Sight", "Touch", "Taste"]),
("How many continents are there on Earth?", "Seven", ["Three", "Ten", "Twenty"]),
("What is the currency of the United States?", "The dollar", ["The euro", "The yen", "The rupee"]),
("What is the currency used in most of the European Union?", "The euro", ["The dollar", "The peso", "The yen"]),
("In which direction does the Sun rise?", "East", ["West", "North", "South"]),
("What do you use to write on a blackboard?", "Chalk", ["A spoon", "A hammer", "Soap"]),
("What is the longest river in Africa?", "The Nile", ["The Thames", "The Seine", "The Danube"]),
("Which bird is a symbol of peace?", "The dove", ["The vulture", "The crow", "The eagle"]),
("What is the hardest natural material?", "Diamond", ["Wood", "Chalk", "Butter"]),
("What do you call the frozen white flakes that fall in winter?", "Snow", ["Rain", "Sand", "Ash"]),
("How many wheels does a bicycle have?", "Two", ["Four", "Six", "Three"]),
("What is a group of stars forming a pattern in the sky called?", "A constellation", ["A volcano", "A glacier", "An island"]),
("Which part of a plant grows underground and takes in water?", "The roots", ["The flowers", "The fruit", "The petals"]),
("What is the main ingredient of bread?", "Flour", ["Sugar cubes", "Salt water", "Rice paper"]),
("Which animal is known for its black and white stripes?", "The zebra", ["The lion", "The frog", "The camel"]),
("What is the primary source of energy for Earth?", "The Sun", ["The Moon", "Volcanoes", "The ocean"]),
("Which device is used to tell the time?", "A clock", ["A spoon", "A pillow", "A broom"]),
("What is the largest mammal in the ocean?", "The blue whale", ["The goldfish", "The crab", "The seahorse"]),
("Which animal lays eggs and says 'cluck'?", "The chicken", ["The cow", "The dog", "The pig"]),
("What do you call a shape that is perfectly round?", "A circle", ["A square", "A triangle", "A rectangle"]),
("What is the capital of the United Kingdom?", "London", ["Dublin", "Edinburgh", "Oslo"]),
("What is the capital of Germany?", "Berlin", ["Munich", "Vienna", "Zurich"]),
("What do we call the study of living things?", "Biology", ["Geology", "Astronomy", "Grammar"]),
("Which vehicle travels on rails?", "A train", ["A boat", "A bicycle", "A plane"]),
("What do you wear on your feet?", "Shoes", ["Hats", "Gloves", "Scarves"]),
]
ARITH_EVAL = [("+", a, b) for a, b in [(2, 3), (4, 5), (7, 1), (6, 6), (8, 2), (3, 9), (10, 5), (12, 4), (15, 3), (9, 9),
              (11, 7), (13, 6), (20, 5), (14, 14), (25, 25), (1, 8), (5, 5), (30, 12), (18, 2), (40, 40)]] + \
    [("-", a, b) for a, b in [(9, 4), (10, 3), (8, 8), (15, 5), (20, 7), (12, 6), (30, 10), (17, 9), (50, 25), (11, 2), (6, 1), (100, 50), (19, 10), (7, 7), (16, 8)]] + \
    [("*", a, b) for a, b in [(2, 3), (3, 3), (4, 5), (2, 10), (6, 2), (5, 5), (7, 3), (10, 10), (9, 2), (8, 4)]] + \
    [("/", a, b) for a, b in [(10, 2), (9, 3), (20, 4), (16, 2), (12, 3)]]
ARITH_TRAIN = [("+", a, b) for a, b in [(1, 1), (5, 4), (6, 3), (16, 3), (7, 7), (21, 9)]] + \
    [("-", a, b) for a, b in [(7, 2), (14, 4), (9, 9), (40, 15)]] + [("*", a, b) for a, b in [(3, 4), (6, 5), (2, 9)]] + \
    [("/", a, b) for a, b in [(8, 2), (15, 5)]]
WORD = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}


def arith(op, a, b):
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]
    return f"What is {a} {WORD[op]} {b}? Answer with the number only.", str(value)


INSTRUCT_EVAL = [  # prompt, check, value
("Write the word 'hello' in capital letters.", "contains", "HELLO"),
("Repeat exactly this word: banana", "contains", "banana"),
("Reply with only the word 'yes'.", "contains", "yes"),
("Reply with only the word 'no'.", "contains", "no"),
("Answer in one word: what is the color of snow?", "contains", "white"),
("Answer in one word: what animal barks?", "contains", "dog"),
("Answer in one word: what is the capital of France?", "contains", "Paris"),
("Answer in one word: which planet do we live on?", "contains", "Earth"),
("Answer in one word: what do bees make?", "contains", "honey"),
("Answer in one word: what is the opposite of day?", "contains", "night"),
("Answer in one word: what color is a ripe banana?", "contains", "yellow"),
("Answer in one word: what falls from clouds when it rains?", "contains", "water"),
("Name a primary color. Answer in one word.", "one_of", "red|blue|yellow"),
("Name a fruit that is red. Answer in one word.", "one_of", "apple|strawberry|cherry|raspberry|tomato"),
("Name one day of the week.", "one_of", "monday|tuesday|wednesday|thursday|friday|saturday|sunday"),
("Name one month of the year.", "one_of", "january|february|march|april|may|june|july|august|september|october|november|december"),
("Name one of the four seasons.", "one_of", "spring|summer|autumn|fall|winter"),
("List three colors, separated by commas.", "min_commas", "2"),
("Count from one to five in words.", "all_of", "one|two|three|four|five"),
("Count from 1 to 5, separated by spaces.", "all_of", "1|2|3|4|5"),
("Spell the word 'cat' backwards.", "contains", "tac"),
("Write the number seven as a digit.", "contains", "7"),
("Write the number twelve as a digit.", "contains", "12"),
("Translate 'thank you' into French.", "contains", "merci"),
("Translate 'hello' into Spanish.", "contains", "hola"),
("Complete the sentence: The cat sat on the ...", "one_of", "mat|chair|floor|sofa|couch|windowsill|table|bed|rug|fence|roof"),
("Say 'good morning' in English.", "contains", "good morning"),
("Write the first letter of the English alphabet.", "contains", "A"),
("What is the plural of 'dog'? Answer in one word.", "contains", "dogs"),
("What is the plural of 'child'? Answer in one word.", "contains", "children"),
]
INSTRUCT_TRAIN = [
("Write the word 'apple' in capital letters.", "APPLE"),
("Reply with only the word 'maybe'.", "maybe"),
("Answer in one word: what is the color of coal?", "Black"),
("Answer in one word: what animal meows?", "Cat"),
("Name a vegetable that is orange. Answer in one word.", "Carrot"),
("Count from one to three in words.", "One, two, three."),
("Spell the word 'dog' backwards.", "god"),
("Translate 'goodbye' into Spanish.", "Adiós"),
("What is the plural of 'mouse'? Answer in one word.", "Mice"),
("List three animals, separated by commas.", "Dog, cat, horse"),
]
TEXT_EVAL = [
"The water cycle describes how water moves around the planet. Heat from the sun makes water in oceans, lakes and rivers evaporate into the air. As the warm, moist air rises, it cools, and the water vapor condenses into tiny droplets that form clouds. When the droplets grow heavy enough, they fall back to the ground as rain or snow, and the cycle begins again.",
"A healthy breakfast gives the body energy for the morning. Many people eat oatmeal, eggs, fruit or yogurt. Drinking a glass of water after waking up also helps, because the body loses water during the night. Skipping breakfast can make it harder to concentrate at school or at work.",
"Libraries lend books, films and music to anyone with a library card. Most libraries also offer quiet rooms for study, computers with internet access and reading programs for children. Librarians help visitors find information and suggest books they might enjoy.",
"Bicycles are a simple and efficient way to travel. A rider pushes the pedals, which turn a chain connected to the rear wheel. Gears let the rider choose between pedaling easily up a hill and moving quickly on a flat road. Regular cycling strengthens the legs and the heart.",
"The Moon orbits the Earth about once every twenty-seven days. It does not make its own light; instead it reflects light from the Sun. As the Moon moves around the Earth, we see different amounts of its lit side, which is why it appears to change shape from a thin crescent to a full circle.",
"Cooking pasta is easy. Bring a large pot of salted water to a boil, add the pasta and stir it so the pieces do not stick together. After eight to twelve minutes, taste a piece to check that it is tender. Drain the water and serve the pasta with sauce, cheese or vegetables.",
"Trees are important for the environment. Their leaves take in carbon dioxide and release oxygen, and their roots hold the soil in place so that rain does not wash it away. Forests provide homes for birds, insects and many other animals, and their shade keeps the ground cool in summer.",
"A computer follows instructions called programs. The processor carries out the instructions very quickly, while the memory holds the data the program is working on. A hard drive or flash storage keeps files even when the computer is switched off. People use computers to write, calculate, play games and talk to each other.",
"Sleep helps the body and the brain recover. Adults usually need seven to nine hours of sleep each night, and children need even more. Going to bed at the same time every day, avoiding bright screens late at night and keeping the bedroom dark and quiet can all improve sleep.",
"Recycling turns used materials into new products. Paper, glass, metal cans and many plastics can be collected, cleaned and processed instead of being thrown away. Recycling saves energy and raw materials, and it reduces the amount of waste that ends up in landfills.",
]


def main():
    rng = random.Random(18)
    out = Path("tuitune/evaluation/general")
    knowledge_eval, knowledge_train = K[:64], K[64:]
    eval_rows, train_rows = [], []
    for q, right, wrong in knowledge_eval:
        choices = [right, *wrong]
        rng.shuffle(choices)
        eval_rows.append({"part": "knowledge", "question": q, "choices": choices, "answer": choices.index(right)})
    for op, a, b in ARITH_EVAL:
        p, v = arith(op, a, b)
        eval_rows.append({"part": "arithmetic", "prompt": p, "answer": v})
    for p, check, value in INSTRUCT_EVAL:
        eval_rows.append({"part": "instruct", "prompt": p, "check": check, "value": value})
    for t in TEXT_EVAL:
        eval_rows.append({"part": "text", "text": t})
    def convo(p, a):
        return {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": a}]}
    for q, right, _ in knowledge_train:
        train_rows.append(convo(q, right + "."))
    for op, a, b in ARITH_TRAIN:
        train_rows.append(convo(*arith(op, a, b)))
    for p, a in INSTRUCT_TRAIN:
        train_rows.append(convo(p, a))
    (out / "eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in eval_rows), encoding="utf-8")
    (out / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train_rows), encoding="utf-8")
    from collections import Counter
    print(len(eval_rows), Counter(r["part"] for r in eval_rows), len(train_rows))


if __name__ == "__main__":
    main()
