"""Builds `task_eval.jsonl`: a labelled set of realistic chat requests for the 11 task types.

Written by hand for this project (no public data set labels requests by these task types).
The kinds cover what the router really sees: short chat turns, long pasted documents, bare
code, unified diffs, instructions that live only in the system prompt, and agent-style
requests wrapped in the system prompts that Aider, Cline and OpenHands send (quoted from
their public prompt files, shortened). Each example is (label, kind, messages).

    python benchmarks/task_eval/build.py      # rewrites task_eval.jsonl beside this file
"""

from __future__ import annotations

import json
from pathlib import Path

AIDER_SYS = (
    "Act as an expert software developer.\nAlways use best practices when coding.\n"
    "Respect and use existing conventions, libraries, etc that are already present in the code base.\n"
    "Take requests for changes to the supplied code.\nIf the request is ambiguous, ask questions.\n"
    "Once you understand the request you MUST:\n1. Decide if you need to propose *SEARCH/REPLACE* edits to any files "
    "that haven't been added to the chat.\n2. Think step-by-step and explain the needed changes in a few short sentences.\n"
    "3. Describe each change with a *SEARCH/REPLACE block* per the examples below.\n"
    "All changes to files must use this *SEARCH/REPLACE block* format.\nONLY EVER RETURN CODE IN A *SEARCH/REPLACE BLOCK*!\n"
)
CLINE_SYS = (
    "You are Cline, a highly skilled software engineer with extensive knowledge in many programming languages, "
    "frameworks, design patterns, and best practices.\n\nTOOL USE\n\nYou have access to a set of tools that are executed "
    "upon the user's approval. You can use one tool per message, and will receive the result of that tool use in the "
    "user's response.\n# Tools\n## execute_command\nDescription: Request to execute a CLI command on the system.\n"
    "## read_file\nDescription: Request to read the contents of a file at the specified path.\n"
    "## replace_in_file\nDescription: Request to replace sections of content in an existing file using SEARCH/REPLACE blocks.\n"
)
OPENHANDS_SYS = (
    "You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.\n"
    "<ROLE>\nYour primary role is to assist users by executing commands, modifying code, and solving technical problems "
    "effectively. You should be thorough, methodical, and prioritize quality over speed.\n</ROLE>\n"
    "<EFFICIENCY>\n* Each action you take is somewhat expensive. Wherever possible, combine multiple actions into a single action.\n</EFFICIENCY>\n"
    "<FILE_SYSTEM_GUIDELINES>\n* When a user provides a file path, do NOT assume it's relative to the current working directory.\n</FILE_SYSTEM_GUIDELINES>\n"
)
GENERIC_SYS = "You are a helpful assistant."

PY_SNIPPET = """def load_users(path):
    users = []
    f = open(path)
    for line in f.readlines():
        parts = line.split(",")
        users.append({"name": parts[0], "email": parts[1], "age": int(parts[2])})
    return users


def average_age(users):
    total = 0
    for u in users:
        total += u["age"]
    return total / len(users)
"""
JS_SNIPPET = """export async function fetchOrders(customerId) {
  const res = await fetch(`/api/customers/${customerId}/orders`);
  const data = await res.json();
  return data.orders.map(o => ({ id: o.id, total: o.items.reduce((s, i) => s + i.price * i.qty, 0) }));
}
"""
DIFF_1 = """diff --git a/app/auth.py b/app/auth.py
index 3b1c2d4..8f9e0a1 100644
--- a/app/auth.py
+++ b/app/auth.py
@@ -12,9 +12,11 @@ def login(request):
     username = request.form["username"]
     password = request.form["password"]
-    user = db.query(f"SELECT * FROM users WHERE name = '{username}'")
-    if user and user.password == password:
+    user = db.query("SELECT * FROM users WHERE name = ?", (username,))
+    if user and check_password_hash(user.password_hash, password):
         session["user_id"] = user.id
+        session.permanent = True
         return redirect("/")
     return render_template("login.html", error="Invalid credentials")
"""
DIFF_2 = """diff --git a/src/cache.ts b/src/cache.ts
--- a/src/cache.ts
+++ b/src/cache.ts
@@ -1,14 +1,22 @@
-const cache = {};
+const cache = new Map<string, { value: unknown; expires: number }>();
+
+export function get(key: string) {
+  const hit = cache.get(key);
+  if (!hit) return undefined;
+  if (hit.expires < Date.now()) { cache.delete(key); return undefined; }
+  return hit.value;
+}
-export function set(key, value) {
-  cache[key] = value;
+export function set(key: string, value: unknown, ttlMs = 60_000) {
+  cache.set(key, { value, expires: Date.now() + ttlMs });
 }
"""
LONG_ARTICLE = (
    "The city council met on Tuesday evening to debate the proposed expansion of the light rail network. "
    "Supporters argued that the new line would cut commuting times from the northern suburbs by as much as forty minutes "
    "and reduce congestion on the ring road, which has seen traffic volumes rise by 18 percent over five years. "
    "Opponents raised concerns about the projected cost of 1.2 billion, the disruption of three years of construction "
    "along the main shopping street, and the lack of a firm commitment from the regional government to cover overruns. "
    "Several local business owners testified that their revenue had not recovered from the last round of roadworks. "
    "The transport department presented a revised plan that phases construction in four segments and adds temporary "
    "parking. After four hours of discussion the council voted 7 to 4 to commission a further environmental study "
    "before making a final decision in the spring. "
) * 3
LONG_EMAIL = (
    "Hi team,\n\nFollowing up on last week's incident review. The outage on 3 March lasted 47 minutes and affected "
    "roughly 12% of checkout requests in the EU region. Root cause was a connection pool exhaustion in the payments "
    "service after a config change reduced max connections from 200 to 20. Detection took 9 minutes because the alert "
    "threshold was set on p99 latency rather than error rate. Action items: (1) Priya will add an error-rate alert, "
    "(2) Marco will add a config validation step to the deploy pipeline, (3) I will write the customer-facing note "
    "by Friday. Please send me any corrections by Thursday noon.\n\nThanks,\nDana Whitfield\nStaff Engineer, Payments\n"
    "dana.whitfield@example.com | +1 415 555 0132\n"
)

E: list[tuple[str, str, list[dict[str, str]]]] = []


def user(text: str, system: str | None = None) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system}] if system else []
    return [*msgs, {"role": "user", "content": text}]


def add(label: str, kind: str, messages: list[dict[str, str]]) -> None:
    E.append((label, kind, messages))


# --- sentiment ---------------------------------------------------------------------------
for t in [
    "What's the sentiment of this tweet: 'Just got my order two weeks late and the box was crushed. Never again.'",
    "Is this review positive or negative? 'Battery lasts forever and the screen is gorgeous.'",
    "Rate the sentiment of the following customer comment from 1 (very negative) to 5 (very positive): 'It works, I guess. Support was slow.'",
    "How does the customer feel in this message? 'I've called three times and nobody has fixed my internet.'",
    "Sentiment analysis: 'The hotel staff were lovely but the room smelled of smoke.'",
    "Tell me if this app store review is positive, negative or neutral: 'Crashes every time I open the camera.'",
    "positive or negative: 'best pizza in town, hands down'",
]:
    add("sentiment", "short", user(t))
add(
    "sentiment",
    "system_only",
    user(
        "'Absolutely love the new update, so much faster!'",
        "You are a sentiment classifier. For each message reply with exactly one word: positive, negative or neutral.",
    ),
)
add(
    "sentiment",
    "system_only",
    user(
        "The delivery guy left the package in the rain and everything inside is soaked.",
        "Determine the sentiment polarity of the user's text. Answer with POSITIVE, NEGATIVE or NEUTRAL only.",
    ),
)
add(
    "sentiment",
    "system_only",
    user(
        "Meh. The movie was fine, nothing special.",
        'Return a JSON object {"sentiment": "positive"|"negative"|"neutral", "score": float} describing the emotional tone of the text.',
    ),
)
add(
    "sentiment",
    "long",
    user(
        "Analyse the overall sentiment of these product reviews and say whether customers are mostly satisfied:\n"
        "1. 'Sturdy, easy to assemble, my kids love it.'\n2. 'One of the legs arrived broken, replacement took a month.'\n"
        "3. 'Good value for the price.'\n4. 'Instructions were useless but the table itself is great.'\n5. 'Wobbly after a week.'"
    ),
)
add(
    "sentiment",
    "short",
    user("Was the tone of this email angry or calm? 'Per my last three emails, the invoice is STILL unpaid.'"),
)
add("sentiment", "short", user("Classify the sentiment: 'I can't believe how good this coffee is'"))
add(
    "sentiment",
    "short",
    user(
        "Does this Reddit comment express a positive or a negative opinion about the game? 'Honestly the devs ruined it with the last patch.'"
    ),
)
add(
    "sentiment",
    "system_only",
    user(
        "Label: 'Worst customer service I have ever experienced.'",
        "Sentiment analysis bot. Output one of: positive, negative, neutral.",
    ),
)
add(
    "sentiment",
    "short",
    user("Is the author happy or frustrated? 'Finally got the build green after two days, what a relief!'"),
)

# --- classification ----------------------------------------------------------------------
for t in [
    "Classify this support ticket into one of: billing, technical, account, other. 'I was charged twice for my subscription this month.'",
    "Which category does this news headline belong to: politics, sports, business, technology? 'Chipmaker shares jump after record quarterly earnings'",
    "Is this email spam or not spam? 'Congratulations! You have won a $1000 gift card, click here to claim.'",
    "Categorize these GitHub issues as bug, feature request or question:\n1. App crashes on startup on Android 14\n2. Please add dark mode\n3. How do I configure the proxy?",
    "Assign one label to this job posting: engineering, sales, marketing, operations. 'We are looking for an account executive to grow our enterprise pipeline.'",
    "What is the intent of this user utterance: 'book me a table for two at 8 tonight'? Options: reservation, cancellation, question, complaint.",
    "Triage this bug report by severity (critical, major, minor): 'Typo on the settings page: \"Prefrences\"'",
    "Tag this recipe with its cuisine: 'Tortilla, black beans, salsa verde, cotija cheese, coriander.'",
]:
    add("classification", "short", user(t))
add(
    "classification",
    "system_only",
    user(
        "My package never arrived and the tracking hasn't updated in a week.",
        "You route customer messages. Reply with exactly one department label from: SHIPPING, RETURNS, BILLING, TECH_SUPPORT.",
    ),
)
add(
    "classification",
    "system_only",
    user(
        "Patient reports chest pain radiating to the left arm for 30 minutes.",
        "Classify the clinical note into a triage category: emergency, urgent, routine. Output only the category.",
    ),
)
add(
    "classification",
    "system_only",
    user(
        "'How do I reset my password?'",
        "You are an intent classifier. Possible intents: password_reset, order_status, refund, talk_to_human. Answer with the intent name.",
    ),
)
add(
    "classification",
    "long",
    user(
        "Label each of the following transactions with a spending category (groceries, transport, dining, utilities, entertainment):\n"
        "2024-03-01 WHOLEFOODS #123 54.20\n2024-03-01 UBER TRIP 13.50\n2024-03-02 PG&E ELECTRIC 88.00\n2024-03-03 NETFLIX 15.49\n"
        "2024-03-04 CHIPOTLE 11.25\n2024-03-05 SHELL OIL 42.10\n2024-03-06 TRADER JOES 37.80"
    ),
)
add(
    "classification",
    "short",
    user("Is this sentence a question, a command or a statement? 'Close the door behind you.'"),
)
add(
    "classification",
    "short",
    user(
        'Which programming language is this snippet written in? `fn main() { println!("hi"); }` Pick from: Go, Rust, C, Swift.'
    ),
)
add(
    "classification",
    "short",
    user(
        "Put this document into the right topic bucket: 'Quarterly VAT return guidance for small businesses'. Buckets: tax, legal, hr, it."
    ),
)
add(
    "classification",
    "short",
    user(
        "Is this a phishing attempt? 'Your account is locked, verify your identity at http://secure-login.example.top'"
    ),
)

# --- extraction ----------------------------------------------------------------------------
for t in [
    "Extract all the dates and amounts from this invoice text: 'Invoice #4471, issued 12 Feb 2024, due 13 Mar 2024. Total: EUR 1,240.50 (VAT 206.75).'",
    "Pull out the names of every person and company mentioned: 'Satya Nadella said Microsoft will partner with OpenAI and Mistral AI, according to Reuters.'",
    "From the following resume, list all the programming languages and the years of experience for each. 'Backend developer, 6 years Python, 3 years Go, some Rust.'",
    "Get the email addresses and phone numbers out of this signature block:\n" + LONG_EMAIL[-120:],
    "Return a JSON object with fields name, date, location for this event announcement: 'Join us for PyCon Lisbon on 14 June 2025 at the Congress Centre.'",
    "What is the invoice number and the total amount in this email? 'Please find attached invoice INV-2024-0087 for $3,420.00, payable within 30 days.'",
    "Find all URLs in this text and list them: 'Docs at https://docs.example.com, status at https://status.example.com and the repo at github.com/acme/tool.'",
    "Parse this address into street, city, postal code and country: '221B Baker Street, London NW1 6XE, United Kingdom'",
]:
    add("extraction", "short", user(t))
add(
    "extraction",
    "system_only",
    user(
        LONG_EMAIL,
        'Extract the action items from the email. Output a JSON array of {"owner": str, "task": str, "due": str|null}.',
    ),
)
add(
    "extraction",
    "system_only",
    user(
        "Meeting with ACME Corp on 2024-05-02 about renewal; contact Jane Roe (jane@acme.com).",
        "You are an information extraction system. Fill this schema and output JSON only: {company, date, contact_name, contact_email}.",
    ),
)
add(
    "extraction",
    "system_only",
    user(
        "Aspirin 81mg once daily; metformin 500mg twice daily with meals; atorvastatin 20mg at night.",
        "Identify every medication with its dose and frequency. Respond as a list of key-value pairs.",
    ),
)
add(
    "extraction",
    "long",
    user(
        "Here is a log excerpt. Extract every timestamp and error code:\n"
        "2024-06-01T10:00:01Z INFO start\n2024-06-01T10:00:05Z ERROR E1042 db timeout\n2024-06-01T10:01:10Z WARN retry\n"
        "2024-06-01T10:01:12Z ERROR E2001 upstream 503\n2024-06-01T10:02:00Z INFO recovered"
    ),
)
add(
    "extraction",
    "short",
    user(
        "List all the named entities (people, organizations, locations) in: 'Angela Merkel met Emmanuel Macron in Paris to discuss the EU budget.'"
    ),
)
add(
    "extraction",
    "short",
    user(
        "Which skills are required in this job ad? Give them as a bullet list. 'Must know Kubernetes, Terraform and AWS; nice to have: Go.'"
    ),
)
add(
    "extraction",
    "short",
    user(
        "From the table below, give me only the rows where status is FAILED as JSON.\n| id | job | status |\n| 1 | build | OK |\n| 2 | test | FAILED |\n| 3 | lint | FAILED |"
    ),
)
add(
    "extraction",
    "short",
    user("Extract the key-value pairs from this config line: 'host=db.internal port=5432 user=app sslmode=require'"),
)

# --- summarization ---------------------------------------------------------------------------
add("summarization", "long", user("Summarize this article in three sentences:\n\n" + LONG_ARTICLE))
add("summarization", "long", user("TL;DR please:\n\n" + LONG_EMAIL))
add("summarization", "long", user(LONG_ARTICLE + "\n\nCan you give me the key points of the above as bullets?"))
add(
    "summarization",
    "system_only",
    user(LONG_ARTICLE, "Summarize the user's text for a busy executive in at most 50 words."),
)
add(
    "summarization", "system_only", user(LONG_EMAIL, "You write concise recaps. Condense the following into two lines.")
)
for t in [
    "Give me a one-paragraph summary of the plot of Moby-Dick.",
    "Summarise the main arguments for and against remote work in a short paragraph.",
    "Can you recap what we discussed so far in this conversation?",
    "Write an executive summary of this quarterly report: revenue up 12%, churn down to 3.1%, two new enterprise customers, hiring freeze in Q3.",
    "Shorten this paragraph to one sentence: 'Our team has been working very hard over the last few months on a large number of improvements to the onboarding flow, which many users told us was confusing and slow.'",
    "Summarize the changes in this release note: 'v2.3: adds SSO login, fixes CSV export encoding, drops Python 3.8 support, 30% faster startup.'",
    "What's the gist of the theory of relativity, in two sentences?",
    "Summarize this meeting transcript: 'Ana: we slipped the launch. Ben: because QA found the payment bug. Ana: new date is the 14th. Ben: I will update the customers.'",
]:
    add("summarization", "short", user(t))
add(
    "summarization",
    "agent",
    [
        {"role": "system", "content": GENERIC_SYS},
        {
            "role": "user",
            "content": "Here is the README of our project:\n# FastQueue\nFastQueue is a Redis-backed job queue with retries, priorities and a web dashboard. It supports Python 3.10+...",
        },
        {"role": "assistant", "content": "Thanks, I have read it."},
        {"role": "user", "content": "Now summarize it in 3 bullet points for the release announcement."},
    ],
)
add(
    "summarization",
    "long",
    user(
        "Please summarize the following paper abstract in plain English: 'We propose a novel attention mechanism that reduces the quadratic memory cost of transformers to linear by approximating the softmax kernel with random features, achieving comparable accuracy on long-range benchmarks while being 3x faster.'"
    ),
)
add(
    "summarization",
    "short",
    user(
        "Condense these customer reviews into a short overview of what people like and dislike: 'fast shipping', 'bad packaging', 'great taste', 'too sweet', 'arrived quickly'."
    ),
)

# --- translation ------------------------------------------------------------------------------
for t in [
    "Translate to French: 'The meeting has been moved to Thursday afternoon.'",
    "How do you say 'where is the train station?' in Japanese?",
    "Translate this German sentence into English: 'Ich habe den Zug verpasst, weil mein Wecker nicht geklingelt hat.'",
    "Can you translate the following product description into Spanish? 'Waterproof hiking boots with breathable lining.'",
    "Please translate 'Thank you for your patience' into Italian, Portuguese and Dutch.",
    "What does 'je ne sais quoi' mean in English?",
    'Translate the UI strings in this JSON to German, keep the keys: {"save": "Save", "cancel": "Cancel", "delete": "Delete file"}',
    "Render this paragraph in Chinese: 'Our office will be closed for the national holiday.'",
    "Localize this error message for Brazilian Portuguese users: 'Your session has expired. Please log in again.'",
]:
    add("translation", "short", user(t))
add(
    "translation",
    "system_only",
    user(
        "Good morning, I would like to book a room for two nights.",
        "You are a professional translator. Translate everything the user writes from English into Korean.",
    ),
)
add(
    "translation",
    "system_only",
    user(
        "Das Projekt wurde erfolgreich abgeschlossen.", "Translate from German to English. Output only the translation."
    ),
)
add(
    "translation",
    "system_only",
    user(
        "El pedido llegará mañana por la tarde.",
        "You translate Spanish customer messages into English for our support agents.",
    ),
)
add("translation", "long", user("Translate this letter into French, keeping the formal tone:\n\n" + LONG_EMAIL))
add("translation", "short", user("Translate 'bonjour, comment ça va ?' to english"))
add("translation", "short", user("What is the Russian for 'good luck'?"))
add("translation", "short", user("Traduce al inglés: 'Mañana vamos a la playa si no llueve.'"))

# --- code generation -------------------------------------------------------------------------------
for t in [
    "Write a Python function that checks whether a string is a palindrome, ignoring case and punctuation.",
    "Create a bash script that backs up /var/www to S3 every night and deletes backups older than 30 days.",
    "Implement a thread-safe LRU cache class in Java.",
    "Write a SQL query that returns the top 5 customers by total order value in 2023.",
    "I get `TypeError: 'NoneType' object is not subscriptable` on line 14 of parser.py. How do I fix it?",
    "Add a --dry-run flag to this argparse CLI so it prints what it would delete without deleting.",
    "Write unit tests with pytest for a function `slugify(title: str) -> str`.",
    "Convert this callback-based Node.js code to async/await:\n" + JS_SNIPPET,
    "Generate a React component that shows a paginated table of users with a search box.",
    "Write a regex that matches ISO 8601 dates like 2024-03-15.",
]:
    add("code_generation", "short", user(t))
add("code_generation", "code", user(PY_SNIPPET + "\n# TODO: make load_users skip blank lines and handle a header row"))
add(
    "code_generation",
    "code",
    user(
        'Complete this function:\n\ndef merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:\n    """Merge overlapping intervals."""\n'
    ),
)
add(
    "code_generation",
    "agent",
    user("In app/models.py add a `created_at` timestamp field to the Order model and a migration for it.", AIDER_SYS),
)
add(
    "code_generation",
    "agent",
    user(
        "<task>\nFix the failing test in tests/test_api.py::test_create_user; it returns 500 instead of 201.\n</task>",
        CLINE_SYS,
    ),
)
add(
    "code_generation",
    "agent",
    user(
        "Implement pagination for the /api/orders endpoint in the repository at /workspace/shop. Use limit and offset query parameters and add tests.",
        OPENHANDS_SYS,
    ),
)
add(
    "code_generation",
    "agent",
    user("Refactor utils/dates.py to use zoneinfo instead of pytz; keep the public functions the same.", AIDER_SYS),
)
add(
    "code_generation",
    "agent",
    user(
        'Traceback (most recent call last):\n  File "app.py", line 22, in <module>\n    main()\n  File "app.py", line 18, in main\n    cfg = json.load(open(path))\nFileNotFoundError: [Errno 2] No such file or directory: \'config.json\'\n\nPlease fix this so the app falls back to defaults.',
        CLINE_SYS,
    ),
)
add(
    "code_generation",
    "system_only",
    user(
        "A function that returns the n-th Fibonacci number iteratively, in Go.",
        "You are a code generator. Reply with code only, no explanations.",
    ),
)

# --- code review ---------------------------------------------------------------------------------------
add("code_review", "diff", user("Please review this pull request:\n\n" + DIFF_1))
add("code_review", "diff", user(DIFF_2))
add("code_review", "diff", user("Any problems with this change before I merge it?\n\n" + DIFF_2))
add(
    "code_review",
    "diff",
    user(
        DIFF_1,
        "You are a senior engineer doing code review. Point out bugs, security issues and style problems, then give a verdict: approve or request changes.",
    ),
)
add("code_review", "code", user("Review this code for bugs and edge cases:\n\n" + PY_SNIPPET))
add(
    "code_review",
    "code",
    user(JS_SNIPPET + "\nWhat's wrong with this code? It sometimes throws on customers with no orders."),
)
add("code_review", "code", user("Is this implementation correct and idiomatic?\n\n" + PY_SNIPPET))
add(
    "code_review",
    "system_only",
    user(
        PY_SNIPPET,
        "Act as a strict code reviewer. List issues by severity with line references. Do not rewrite the code.",
    ),
)
add(
    "code_review",
    "agent",
    user(
        "Review the changes on this branch compared to main and tell me if anything looks risky:\n\n" + DIFF_1,
        CLINE_SYS,
    ),
)
add(
    "code_review",
    "agent",
    user("Do a security review of app/auth.py and report vulnerabilities; do not modify files.", OPENHANDS_SYS),
)
for t in [
    "Can you critique my approach of storing JWTs in localStorage?",
    "Give me feedback on my pull request: I replaced the ORM calls in the report module with raw SQL for speed.",
    "Look over this function and spot any bugs: `def div(a, b): return a / b if b else 0`",
    "Review my Dockerfile for best practices: FROM python:latest\\nCOPY . .\\nRUN pip install -r requirements.txt\\nCMD python app.py",
    "Code review request: is using a global mutable dict as a cache in a Flask app safe under gunicorn with threads?",
    "Would you approve this PR? It adds retries with no backoff to every HTTP call in the client.",
]:
    add("code_review", "short", user(t))

# --- architecture design ----------------------------------------------------------------------------------
for t in [
    "Design a system for a URL shortener that handles 10k writes/s and 1M reads/s. Cover storage, caching and ID generation.",
    "Should we split our Django monolith into microservices? We have 12 engineers and one product.",
    "What architecture would you recommend for a real-time multiplayer game backend?",
    "How should we structure the event-driven pipeline that ingests IoT sensor data, with Kafka or with a managed queue? Discuss trade-offs.",
    "Propose a high-level design for a multi-tenant SaaS billing platform, including data model and isolation strategy.",
    "We need high availability for our Postgres database across two regions. What are our options and trade-offs?",
    "Design the architecture of a RAG chatbot over 50k internal documents: ingestion, indexing, retrieval, serving.",
    "How would you design rate limiting for a public API used by thousands of clients?",
    "Draw up the component diagram for a ride-sharing app backend and explain how the services communicate.",
]:
    add("architecture_design", "short", user(t))
add(
    "architecture_design",
    "system_only",
    user(
        "We are building an internal feature-flag service for 40 microservices.",
        "You are a principal software architect. Produce an architecture decision record: context, options considered, decision, consequences.",
    ),
)
add(
    "architecture_design",
    "system_only",
    user(
        "A photo sharing app for 5 million users.",
        "Act as a system design interviewer's ideal candidate: give the high-level design, data model, scaling and bottlenecks.",
    ),
)
add(
    "architecture_design",
    "agent",
    user(
        "Before we write any code: propose the architecture for adding multi-region support to this service. Do not edit files yet; write the plan in docs/design/multi-region.md.",
        OPENHANDS_SYS,
    ),
)
add(
    "architecture_design",
    "agent",
    user(
        "How should I structure the modules of this codebase so that the payment providers are pluggable? Give me the design, not code yet.",
        AIDER_SYS,
    ),
)
add(
    "architecture_design",
    "long",
    user(
        "Our current setup: a single Node.js API server, one MySQL instance, cron jobs on the same VM, files on local disk. "
        "Traffic is growing 20% a month, deploys take the site down, and a disk failure last month lost a day of uploads. "
        "Propose a target architecture for the next 18 months, a migration path in phases, and the main risks."
    ),
)
add(
    "architecture_design",
    "short",
    user("CQRS and event sourcing for an order management system: worth it or overkill? Explain the trade-offs."),
)
add("architecture_design", "short", user("What's a good sharding strategy for a chat application's message store?"))

# --- math reasoning ------------------------------------------------------------------------------------------
for t in [
    "Solve for x: 3x + 7 = 22.",
    "What is the probability of getting at least one six in four rolls of a fair die?",
    "Compute the integral of x^2 * e^x dx.",
    "A train leaves at 3pm travelling 80 km/h; another leaves the same station at 4pm at 120 km/h. When does the second catch up?",
    "Prove that the square root of 2 is irrational.",
    "How many ways can 5 people sit around a round table?",
    "What is 17% of 2,340?",
    "Find the derivative of f(x) = sin(x) * ln(x).",
    "If a loan of $20,000 has 6% annual interest compounded monthly, what is the monthly payment over 5 years?",
    "What is the greatest common divisor of 462 and 1071? Show the steps.",
    "A rectangle has a perimeter of 36 cm and its length is twice its width. What is its area?",
    "Is 221 a prime number?",
]:
    add("math_reasoning", "short", user(t))
add(
    "math_reasoning",
    "system_only",
    user(
        "A bag has 3 red and 5 blue balls. Two are drawn without replacement. P(both red)?",
        "You are a math tutor. Reason step by step and put the final answer in a box.",
    ),
)
add(
    "math_reasoning",
    "system_only",
    user("x^2 - 5x + 6 = 0", "Solve the equation given by the user and verify the roots."),
)
add(
    "math_reasoning",
    "short",
    user("Janet has 3 times as many apples as Tom. Together they have 48. How many does Tom have?"),
)
add("math_reasoning", "short", user("What's the expected value of the sum of two dice?"))

# --- creative writing ---------------------------------------------------------------------------------------------
for t in [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Compose a haiku about autumn rain.",
    "Write a funny limerick about a cat who learns to code.",
    "Write a poem about the ocean in the style of Emily Dickinson.",
    "Give me five catchy slogans for a vegan bakery.",
    "Write the opening scene of a sci-fi screenplay set on a generation ship.",
    "Write song lyrics about leaving your hometown, with a chorus.",
    "Create a bedtime fairy tale for a 5-year-old about a brave little snail.",
    "Write a monologue for a villain who believes they are the hero.",
    "Write a sonnet for my wife's 40th birthday.",
]:
    add("creative_writing", "short", user(t))
add(
    "creative_writing",
    "system_only",
    user(
        "A dragon who is afraid of fire.",
        "You are a children's book author. Turn the user's idea into a whimsical story of about 300 words.",
    ),
)
add(
    "creative_writing",
    "system_only",
    user(
        "Topic: the first day of spring",
        "You are a poet. Write a rhyming poem of four stanzas on the topic the user gives.",
    ),
)
add(
    "creative_writing",
    "short",
    user(
        "Continue this story: 'The door creaked open, and for the first time in a hundred years, the library breathed.'"
    ),
)
add("creative_writing", "short", user("Write a product tagline and a short jingle for a smart water bottle."))
add(
    "creative_writing",
    "short",
    user("Invent a character for my fantasy novel: a disgraced knight turned cartographer. Give backstory and a flaw."),
)

# --- general -----------------------------------------------------------------------------------------------------------
for t in [
    "What's the capital of Australia?",
    "Who won the 2018 FIFA World Cup?",
    "How do I make a good cup of pour-over coffee?",
    "What are some tips for sleeping better?",
    "Explain how vaccines work.",
    "What time zone is Chicago in?",
    "Recommend a few books for someone who liked The Martian.",
    "Hi! How are you today?",
    "What's the difference between a virus and a bacterium?",
    "How long should I boil an egg for a runny yolk?",
    "Why is the sky blue?",
    "Can you help me plan a 3-day trip to Rome?",
    "What does HTTP stand for?",
    "Thanks, that was helpful!",
]:
    add("general", "short", user(t))
add("general", "system_only", user("what can you do?", GENERIC_SYS))
add(
    "general",
    "agent",
    [
        {"role": "system", "content": GENERIC_SYS},
        {"role": "user", "content": "I'm moving to Berlin next month."},
        {"role": "assistant", "content": "Exciting! How can I help with the move?"},
        {"role": "user", "content": "What documents do I need to register my address there?"},
    ],
)


def main() -> None:
    out = Path(__file__).with_name("task_eval.jsonl")
    with out.open("w") as fh:
        for i, (label, kind, messages) in enumerate(E):
            fh.write(
                json.dumps(
                    {
                        "id": i,
                        "label": label,
                        "kind": kind,
                        "split": "dev" if i % 2 == 0 else "test",
                        "messages": messages,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    print(f"wrote {len(E)} examples to {out}")


if __name__ == "__main__":
    main()
