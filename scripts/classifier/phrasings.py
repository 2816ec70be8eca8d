"""Instruction phrasings written for this project, wrapped around real content from the public
sources (reviews, news, dialogues, code). None is taken from an evaluation set.

Each list is a way people ask for one kind of task; `{doc}`, `{code}`, `{diff}` and the like are
filled by `build_data.py` with real text from the sources.
"""

from __future__ import annotations

import random

# Said after an instruction whose content is elsewhere ("... in the file I attached").
REFERENCES = [
    "",
    "",
    "",
    " (see attached)",
    " I pasted it above.",
    " It's in the attached file.",
    " Text follows.",
    " for the email below",
    " in my last message",
    " of the document I shared",
]

SENTIMENT_WRAPS = [
    "Is the following review positive or negative?\n\n{doc}",
    "What is the sentiment of this text?\n{doc}",
    "{doc}\n\nDid the writer like it? Answer positive, negative or neutral.",
    "Rate the sentiment of this customer feedback from 1 (very negative) to 5 (very positive):\n{doc}",
    'How does the author feel about the product?\n\n"{doc}"',
    "Tell me whether this comment is happy, angry or neutral: {doc}",
    "Sentiment analysis: {doc}",
    "Determine the emotional tone of the following message.\n{doc}",
    "{doc}\nPositive or negative?",
    "Label the polarity (pos/neg) of this tweet: {doc}",
    "Would you say this person is satisfied? {doc}",
    "Detect the sentiment expressed in the passage below and explain briefly.\n\n{doc}",
    "Read this review and tell me if the reviewer would recommend it.\n{doc}",
    "Is the tone of this email friendly, hostile or neutral?\n\n{doc}",
    "Give a sentiment score between -1 and 1 for: {doc}",
    "What emotion does the writer convey here? {doc}",
]
SENTIMENT_SYSTEMS = [
    "Decide whether the sentiment of the sentence the user gives is positive or negative.",
    "Sentiment: reply positive, negative or neutral for the user's input.",
    "You detect emotions in text. Name the dominant emotion of what the user writes (joy, anger, sadness, fear).",
    "You are a sentiment analysis service. For each user message reply with exactly one word: "
    "positive, negative or neutral.",
    'Classify the sentiment of the text the user sends. Output JSON: {"sentiment": "positive|negative|neutral"}.',
    "You rate customer reviews. Return the star rating (1-5) that matches the review's sentiment.",
    "Act as an opinion-mining model: decide whether the user's text expresses a favourable or unfavourable opinion.",
]

CLASSIFY_WRAPS = [
    "Classify the following text into one of these categories: {labels}.\n\n{doc}",
    "Which category does this belong to ({labels})?\n{doc}",
    "{doc}\n\nAssign one label from: {labels}",
    "Categorize this support ticket. Possible labels: {labels}.\nTicket: {doc}",
    "Is this message spam or not spam?\n{doc}",
    "Tag this article with the most fitting topic ({labels}).\n\n{doc}",
    "What kind of document is this: {labels}? {doc}",
    "Route this request to the right team ({labels}): {doc}",
    "Does the second sentence follow from the first? Answer entailment, neutral or contradiction.\n{doc}",
    "Decide if this question is about a person, a place, a number or a thing: {doc}",
    "Put this product description into a category ({labels}).\n{doc}",
    "Detect the intent of this user query. Intents: {labels}.\nQuery: {doc}",
]
CLASSIFY_SYSTEMS = [
    "Label the topic of the user's text as one of: {labels}.",
    "Decide which of these classes the input belongs to: {labels}. Answer with the class name.",
    "You are a text classifier. Reply with one of these labels only: {labels}.",
    "Assign each incoming message to exactly one category from this list: {labels}. Output only the category.",
    "You triage customer emails. Output the department label ({labels}) for the email in the user turn.",
]
LABEL_WORDS = [
    "sports",
    "politics",
    "business",
    "technology",
    "science",
    "health",
    "entertainment",
    "billing",
    "technical support",
    "sales",
    "refund",
    "complaint",
    "question",
    "spam",
    "not spam",
    "urgent",
    "low priority",
    "bug report",
    "feature request",
    "world",
    "finance",
    "travel",
    "education",
    "legal",
    "other",
]

EXTRACT_WRAPS = [
    "Extract all person names, organisations and places from this text.\n\n{doc}",
    "List every date mentioned in the passage below.\n{doc}",
    "{doc}\n\nPull out the key facts as a JSON object with fields who, what, when, where.",
    "From the following text, extract the names of the people and their roles.\n{doc}",
    "Find all numbers and what they refer to in this article:\n{doc}",
    "Return the named entities in this paragraph as a list, with their types.\n\n{doc}",
    "Identify the main organisation mentioned and its location: {doc}",
    'Fill this schema from the text: {{"name": , "birth_date": , "occupation": }}\n\n{doc}',
    "What are the email addresses, phone numbers or URLs in this text, if any?\n{doc}",
    "Extract the action items and their owners from this conversation.\n{doc}",
    "{doc}\nExtract the answer span from the text: which places are mentioned?",
    "Parse the following into a table of entity, type: {doc}",
    "Get me every quoted statement and who said it.\n\n{doc}",
    "Highlight the keywords of this text (just list them).\n{doc}",
    "Which companies and amounts of money appear in this report? {doc}",
]
EXTRACT_SYSTEMS = [
    "List the dates and names that appear in the user's text.",
    "Pull every product name and price out of the text you are given, as CSV.",
    "You are an information extraction engine. Return a JSON list of the named entities (text, type) "
    "found in the user's text. No commentary.",
    "Extract structured fields from the document the user sends: people, organisations, dates, amounts. "
    "Output JSON only.",
    "For every input, output the list of locations it mentions, one per line.",
]

SUMMARY_WRAPS = [
    "Summarize this article in three sentences.\n\n{doc}",
    "{doc}\n\nTL;DR?",
    "Give me the gist of the following text.\n{doc}",
    "Write a short summary of this conversation.\n{doc}",
    "Condense this into one paragraph for a busy executive:\n{doc}",
    "What are the main points of this piece? Keep it brief.\n\n{doc}",
    "Can you boil this down to a couple of bullet points?\n{doc}",
    "{doc}\nSummarise the above in plain English.",
    "Write an abstract for the following text: {doc}",
    "Recap this meeting transcript: {doc}",
    "Shorten this text to under 50 words while keeping the key information.\n{doc}",
    "Headline for this story? {doc}",
]
SUMMARY_SYSTEMS = [
    "Summarise the user's document in two sentences.",
    "Give the key points of the text the user pastes, as a short bulleted list.",
    "You write concise summaries. Summarize whatever the user sends in at most three sentences.",
    "Produce a one-line TL;DR of the user's text.",
    "You are a news digest bot: turn each article you receive into three bullet points.",
]

TRANSLATE_WRAPS = [
    "Translate this into {lang}: {doc}",
    'How do you say "{doc}" in {lang}?',
    "{doc}\n\nPlease translate the above to {lang}.",
    "Can you render this sentence in {lang}? {doc}",
    "Translate from English to {lang}:\n{doc}",
    "What's the {lang} for: {doc}",
    "I need this in {lang}, please: {doc}",
    "Give me a natural {lang} version of the following text.\n{doc}",
    "Convert this English text to {lang}. Keep the tone.\n\n{doc}",
]
TRANSLATE_SYSTEMS = [
    "Render the user's sentences in {lang}.",
    "You are a {lang} translator: output the {lang} version of each message.",
    "You are a professional translator. Translate every user message into {lang}. Output only the translation.",
    "Translate the user's text to {lang}, preserving formatting.",
]

REVIEW_WRAPS = [
    "Review this code and point out bugs or bad practices.\n\n{code}",
    "Can you do a code review of this?\n{code}",
    "{code}\n\nWhat's wrong with this implementation?",
    "Please critique the following function: readability, correctness, edge cases.\n{code}",
    "Is this code safe to merge? Give me your review comments.\n{code}",
    "Look over this snippet and tell me what you would change and why.\n\n{code}",
    "Any issues with this? {code}",
    "As a senior engineer, review this code for security problems.\n{code}",
    "{code}\nSpot the bug.",
    "Give feedback on this code style and performance: {code}",
    "Does this handle errors correctly? Review it.\n{code}",
    "Rate the quality of this code and list concrete improvements.\n{code}",
]
DIFF_REVIEW_WRAPS = [
    "Review this diff:\n\n{diff}",
    "{diff}",
    "Please review my pull request.\n\n{diff}",
    "Here is a patch. Would you approve it? Point out any problems.\n{diff}",
    "{diff}\n\nAny concerns before I merge this?",
    "Code review for this change, please:\n{diff}",
    "Check this commit for regressions.\n{diff}",
    "Leave review comments on this diff, line by line.\n\n{diff}",
]
REVIEW_SYSTEMS = [
    "You are a strict code reviewer. For the code the user sends, list problems with severity and a suggested fix.",
    "Review every pull request diff you are given. Comment on correctness, security and style; "
    "end with APPROVE or REQUEST_CHANGES.",
    "You are a static-analysis assistant: report bugs, vulnerabilities and code smells in the submitted code.",
]

# Around a how-to-code question (CoNaLa's StackOverflow intents).
CODE_ASK_WRAPS = [
    "{q}",
    "{q}",
    "{q} in Python",
    "Python: {q}",
    "Write code to {q}",
    "{q}. Show me a snippet.",
    "Implement this: {q}",
    "Can you write a function for this: {q}",
    "{q} (python 3)",
    "Write a function to {q}",
    "Write a Python function to {q}",
    "Write a program to {q}",
    "Write a JavaScript function to {q}",
    "Create a function that does this: {q}",
    "Write a SQL query to {q}",
]
# Around a standard-library docstring: code to write, described in the words of its docs.
DOC_TASK_WRAPS = [
    "Write a Python function `{name}` that does this: {doc}",
    "Implement `{sig}`. {doc}",
    "Write a function to {lower}.",
    "Write a Python function that will {lower}.",
    "{doc} Write it in Python.",
    "Create a function {name}() — {doc}",
    "I need a helper: {doc} Please write it with type hints.",
    "Write a function to {lower}. Include a couple of unit tests.",
    "Code this in Go: {doc}",
    "Write a function to {lower}. Your code should pass these tests: assert {name}(...) is not None",
]
# Around an unfinished function (signature and docstring, no body).
STUB_WRAPS = [
    "{code}",
    "{code}",
    "{code}",
    "Complete this function:\n{code}",
    "{code}\nFinish the implementation.",
    "Fill in the body:\n\n```python\n{code}```",
    "```python\n{code}```",
]

CODE_CHANGE_WRAPS = [
    "Add error handling to this function.\n{code}",
    "Rewrite this in Python.\n{code}",
    "{code}\n\nAdd unit tests for this.",
    "Optimize this code for speed.\n{code}",
    "Convert this to use async/await.\n{code}",
    "Fix the bug in this code so that it runs.\n{code}",
    "Refactor this into smaller functions.\n\n{code}",
    "Add type hints and docstrings to this code: {code}",
    "Extend this so it also reads from a file.\n{code}",
    "Port this to TypeScript.\n{code}",
]

CREATIVE_WRAPS = [
    "Draft a {form} about {topic} for a general audience.",
    "Compose an engaging {form} about {topic}, with vivid details.",
    "Craft a {form} that makes readers feel nostalgic about {topic}.",
    "Write a persuasive {form} about {topic}.",
    "Help me write a {form} about {topic}. Keep the tone warm and witty.",
    "Write a {form} in the style of a 1920s newspaper about {topic}.",
    "Describe {topic} in a {form}, using metaphors.",
    "Write a {form} about {topic}.",
    "Compose a {form} on the theme of {topic}.",
    "Can you write me a {form} about {topic}?",
    "I need a {form} for my friend's birthday; make it about {topic}.",
    "Write a funny {form} involving {topic}.",
    "Create a {form} told from the point of view of {topic}.",
    "Draft a {form} that begins with a mystery about {topic}.",
    "Give me a sad {form} about {topic}.",
    "Write an original {form} inspired by {topic}, no more than 200 words.",
    "Imagine {topic}. Write a {form} about it.",
    "Tell me a {form} for kids about {topic}.",
    "Continue this story: the morning everything changed, {topic} was the first thing I saw.",
]
FORMS = [
    "blog post",
    "travel blog post",
    "persuasive essay",
    "short essay",
    "speech",
    "wedding speech",
    "cover letter",
    "product description",
    "tweet",
    "thread of tweets",
    "newsletter intro",
    "motivational quote",
    "eulogy",
    "movie plot",
    "personal essay",
    "letter to my future self",
    "stand-up comedy bit",
    "marketing email",
    "poem",
    "haiku",
    "short story",
    "limerick",
    "sonnet",
    "song",
    "set of song lyrics",
    "rap verse",
    "fable",
    "fairy tale",
    "bedtime story",
    "screenplay scene",
    "monologue",
    "dialogue",
    "flash fiction piece",
    "ode",
    "children's story",
    "science fiction story",
    "horror story",
    "love letter",
    "product slogan",
    "advertising jingle",
    "toast",
    "riddle",
    "myth",
    "free verse poem",
    "diary entry from a fictional character",
]
TOPICS = [
    "the ocean",
    "a lost dog",
    "autumn leaves",
    "a robot learning to love",
    "a city at night",
    "first snow",
    "an old lighthouse keeper",
    "time travel",
    "a dragon who is afraid of fire",
    "coffee",
    "moving to a new country",
    "a haunted library",
    "the last tree on earth",
    "friendship",
    "a pirate ship",
    "a detective cat",
    "the moon",
    "a forgotten birthday",
    "a small village bakery",
    "space explorers",
    "a rainy Monday",
    "a talking mirror",
    "grandmother's garden",
    "a programmer's bug",
    "the end of summer",
    "a secret door",
    "mountains",
    "a jazz club",
]
TOPIC_WORDS = [
    "dog",
    "river",
    "run",
    "ball",
    "kitchen",
    "cook",
    "tree",
    "climb",
    "car",
    "drive",
    "snow",
    "ski",
    "book",
    "read",
    "music",
    "dance",
    "boat",
    "sail",
    "garden",
    "plant",
]

DESIGN_WRAPS = [
    "Design {s}.",
    "How would you design {s}? Describe the components and how they scale.",
    "Propose a high-level architecture for {s}.",
    "Walk me through a system design for {s}, including data storage and caching.",
    "I have a system design interview tomorrow: design {s}.",
    "What architecture would you choose for {s}, and what are the trade-offs?",
    "Sketch the services, databases and queues needed for {s}.",
    "We need to build {s} for 10 million users. How should we structure it?",
    "Draw up the architecture (components, APIs, data model) of {s}.",
    "Design {s} with high availability across regions.",
]
TOPIC_WRAPS = [
    "When should I use {t} in a distributed system, and what are the trade-offs?",
    "Explain how {t} fits into a scalable architecture.",
    "Compare {t} with its alternatives for a large web service.",
    "Should our microservices architecture rely on {t}? Pros and cons.",
    "How do I design around {t} when scaling a backend?",
]

MATH_WRAPS = [
    "{q}",
    "Solve this problem step by step: {q}",
    "{q} Show your work.",
    "Math question: {q}",
    "Can you help me with this word problem? {q}",
    "{q}\nExplain the reasoning.",
]


def _math_snippets() -> list[str]:
    rng = random.Random(7)  # noqa: S311  (seeded: the same problems every build)
    out = []
    for _ in range(120):
        a, b, c = rng.randint(2, 40), rng.randint(2, 40), rng.randint(2, 99)
        out += [
            f"Solve {a}*x + {b} = {c} for x.",
            f"What is {a} + {b} * {c}?",
            f"Let f(x) = {a}x^2 - {b}x + {c}. What is f({rng.randint(1, 9)})?",
            f"Calculate the greatest common divisor of {a * c} and {b * c}.",
            f"What is the derivative of {a}x^3 + {b}x?",
            f"Is {a * b + 1} a prime number?",
            f"What is the probability of rolling a sum of {rng.randint(3, 11)} with two dice?",
            f"Find the area of a triangle with vertices at (0, 0), ({a}, {b % 7}) and ({c % 9}, {a % 5 + 1}).",
            f"If x + y = {a + b} and x - y = {a - b}, what are x and y?",
            f"A rectangle has a perimeter of {2 * (a + b)} cm and one side of {a} cm. What is its area?",
            f"What is the sum of the first {a} positive integers?",
            f"How many ways can {a % 8 + 3} people sit around a round table?",
            f"Evaluate the integral of {a}x^2 from 0 to {b % 5 + 1}.",
            f"A train travels {a * 10} km in {b % 6 + 1} hours. What is its average speed?",
            f"Simplify ({a}x + {b})({a}x - {b}).",
            f"What is {a}% of {c * 10}?",
            f"Find the next number in the sequence {a}, {2 * a}, {4 * a}, {8 * a}, ...",
            f"If a shirt costs ${c} after a {b}% discount, what was the original price?",
            f"Prove that the square root of {rng.choice([2, 3, 5, 7])} is irrational.",
            f"Solve the system: {a}x + {b}y = {c}, x - y = {a % 4}.",
            f"What is the remainder when {a}^{b % 9 + 2} is divided by {c % 7 + 3}?",
        ]
    return out


MATH_SNIPPETS = _math_snippets()

# Everyday questions and requests that no other type covers (knowledge, advice, opinion, how-to).
GENERAL_WRAPS = [
    "{q}",
    "{q}",
    "{q}",
    "Question: {q}",
    "{q} Please explain.",
    "Quick question: {q}",
    "I was wondering: {q}",
    "Can you tell me: {q}",
    "{q} Keep it short.",
    "Help me understand this. {q}",
    "Hey, {q}",
]

GENERAL_QUESTIONS = [
    "What is the capital of Australia?",
    "How do vaccines work?",
    "Why is the sky blue?",
    "Give me some tips for sleeping better.",
    "What are the health benefits of green tea?",
    "Who painted the Mona Lisa?",
    "How can I improve my public speaking?",
    "What's the difference between weather and climate?",
    "Explain how a bill becomes a law in the United States.",
    "What should I pack for a week-long hiking trip?",
    "How do I get a red wine stain out of a carpet?",
    "What are some good ways to save money on groceries?",
    "Why do cats purr?",
    "How does the stock market work?",
    "What causes earthquakes?",
    "Recommend a few classic novels for a teenager.",
    "Is it better to rent or buy a house?",
    "What happened during the French Revolution?",
    "How do I start learning the guitar?",
    "What's a healthy breakfast I can make in five minutes?",
    "How does GPS know where I am?",
    "What are the main causes of inflation?",
    "Hi! How are you today?",
    "Thanks, that was helpful.",
    "What is photosynthesis?",
    "How many hours of sleep does an adult need?",
    "What is the meaning of the word 'ephemeral'?",
    "Can you explain the theory of relativity in simple terms?",
    "How do I deal with a difficult coworker?",
    "What are some fun things to do in Lisbon?",
    "Why did the Roman Empire fall?",
    "What are black holes?",
    "How do I prepare for a job interview?",
    "What is the difference between a virus and a bacterium?",
    "Give me three ideas for a rainy-day activity with kids.",
    "Should I learn Spanish or French first?",
    "How do plants know which way is up?",
    "What are the pros and cons of electric cars?",
    "How can I be more productive when working from home?",
    "What is the history of the Olympic Games?",
    "How does a refrigerator keep food cold?",
    "What is a good gift for someone who loves cooking?",
    "Explain what a mortgage is.",
    "How can I reduce my stress levels?",
    "What did Charles Darwin discover?",
    "Why do we have leap years?",
    "What is the tallest mountain in Africa?",
    "How do I train my puppy to stop biting?",
    "What is machine learning, briefly?",
    "Tell me about the Great Wall of China.",
    "What would happen if the moon disappeared?",
    "How do noise-cancelling headphones work?",
    "What should I consider when choosing a laptop?",
    "Who was Ada Lovelace?",
    "How do I make my houseplants grow faster?",
    "What are the symptoms of dehydration?",
    "Can you help me plan a budget for a weekend trip?",
    "What is the role of the United Nations?",
    "How is cheese made?",
    "Explain the rules of cricket.",
    "What is the best way to memorize vocabulary?",
    "Why do leaves change colour in autumn?",
    "Describe the water cycle.",
    "What are good habits for a healthy heart?",
    "How did the internet start?",
    "What are the ethical concerns about social media?",
    "You are a tour guide in Rome. What should I see first?",
    "Pretend you are a nutritionist and tell me what to eat before a marathon.",
    "What is the population of Canada, roughly?",
    "Which is heavier, a kilogram of feathers or a kilogram of steel?",
    "How do I ask my boss for a raise?",
    "What does a product manager do?",
    "Suggest a name for my new bakery.",
    "What are the main differences between Buddhism and Hinduism?",
    "How long does it take light from the sun to reach Earth?",
    "What is the best time of year to visit Japan?",
    "How do I change a flat tyre?",
    "Why is exercise good for mental health?",
    "What is the difference between baking soda and baking powder?",
]

CLAUDE_CODE_REMINDER = (
    "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# gitStatus\n"
    "This is the git status at the start of the conversation. Note that this status is a snapshot in time, and will "
    "not update during the conversation.\n\nCurrent branch: main\n\nStatus:\n M src/app.py\n</system-reminder>"
)

# Requests about files in the user's repository, as coding agents receive them (no code pasted).
FILES = [
    "src/app.py",
    "utils/date.ts",
    "server.go",
    "lib/parser.rs",
    "api/handlers.py",
    "Makefile",
    "README.md",
    "main.c",
    "client.js",
    "models/user.rb",
    "tests/test_api.py",
    "the payment module",
]
FILE_CODE_TASKS = [
    "There is a bug in {f}; please fix it",
    "Find and fix the bug in {f}",
    "Fix the failing test in {f}",
    "Add a --verbose flag to {f}",
    "Refactor {f} to remove the duplication",
    "Add input validation to {f}",
    "Implement retries with backoff in {f}",
    "Rename the function `load` to `read_config` in {f} and update the callers",
    "Make {f} handle an empty file without crashing",
    "Add unit tests for {f}",
    "Port {f} to async",
    "Fix the off-by-one error in {f}",
    "There's a crash in {f} when the input is None; fix it",
    "Update {f} to use the new API client",
    "Add logging to {f}",
]
FILE_REVIEW_TASKS = [
    "Review {f} for bugs without editing it.",
    "Audit {f} for security issues and list them.",
    "Can you review the changes in {f} before I merge?",
    "What's wrong with the error handling in {f}? Just point it out.",
    "Look over {f} and give me review comments.",
    "Is {f} thread-safe? Review it, don't edit.",
    "Do a code review of my last commit.",
    "Review the diff in my working tree and list the risky parts.",
]
FILE_OTHER_TASKS = {
    "summarization": [
        "In a few sentences, what does {f} do?",
        "Give me a short overview of {f}.",
        "TL;DR of the changes in {f}?",
    ],
    "translation": ["Translate the comments in {f} into English.", "Translate the docs in {f} to German."],
    "architecture_design": [
        "How should we split {f} into services? Discuss the trade-offs.",
        "Propose an architecture for moving {f} to an event-driven design.",
    ],
    "extraction": ["List every function name defined in {f}.", "Extract all the URLs mentioned in {f}."],
}

# Small talk: greetings, thanks, acknowledgements (general). Short texts have few n-grams, so
# the model needs to have seen them to not guess from a handful of letters.
CHITCHAT = [
    "Hello",
    "Hello!",
    "Hi",
    "Hi!",
    "Hey",
    "Hey!",
    "Hey there!",
    "Hello there",
    "Good morning",
    "Good evening!",
    "Hi, how are you?",
    "How's it going?",
    "What's up?",
    "Yo",
    "Howdy",
    "Greetings!",
    "Thanks",
    "Thanks!",
    "Thank you!",
    "Thank you so much",
    "Great, thanks",
    "Cool",
    "OK",
    "Okay, got it",
    "Sounds good",
    "Nice!",
    "Perfect, thank you",
    "Bye",
    "Goodbye!",
    "See you later",
    "Who are you?",
    "What can you do?",
    "Are you there?",
    "Can you help me?",
    "I have a question",
    "Nevermind",
    "Never mind, it works now",
    "lol",
    "haha nice",
    "yes",
    "no",
    "yes please",
    "no thanks",
    "Good night",
    "Say hello",
    "Tell me something interesting",
    "I'm bored",
    "Are you a robot?",
    "Test",
    "testing 1 2 3",
    "ping",
]

# How the OpenHands CLI hands over a task given with -f (as recorded from its requests).
OPENHANDS_TASK_FILE = (
    "Starting this session with file context.\n\nFile path: /workspace/task.md\n\nFile contents:\n"
    "--------------------\n{task}\n\n--------------------\n"
)

# Length limits ("in five words", "in 3 sentences") say how long, not which language: the same
# suffixes on requests of several types, so that "in <number> words" is not read as "in French".
LENGTH_LIMITS = [
    "in five words",
    "in 3 words",
    "in ten words or fewer",
    "in two sentences",
    "in one sentence",
    "in 50 words",
    "in under 100 words",
    "in a single line",
    "in three bullet points",
    "in one word",
]
LENGTH_TASKS = {
    "general": [
        "Introduce yourself {n}",
        "Say something nice {n}",
        "Explain gravity {n}",
        "Describe your day {n}",
        "Answer {n}: why is the sea salty?",
        "Tell me about Paris {n}",
        "Greet me {n}",
        "What is love? Answer {n}",
    ],
    "creative_writing": [
        "Write a poem about rain {n}",
        "Describe autumn {n}, poetically",
        "Tell a story about a dragon {n}",
        "Write a slogan for a bakery {n}",
    ],
    "summarization": ["Summarize this article {n}", "Sum up the meeting notes {n}", "Give the gist of the report {n}"],
    "sentiment": ["Tell me the mood of this review {n}: 'awful service, never again'"],
    "code_review": ["Review this function {n}"],
}
