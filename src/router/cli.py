"""Command line: validate a rules file, explain a routing decision, score the classifier.

python -m src.router.cli validate [--rules config/routing_rules.yaml] [--litellm-config config/litellm.yaml]
python -m src.router.cli explain "review this diff ..." [--system "..."] [--model auto] [--router URL]
    [--classifier learned|heuristic|embedding]
python -m src.router.cli eval [--classifier learned|heuristic|embedding] [--write docs/classifier_eval.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from src.router.catalog import load_catalog
from src.router.chat import classify_request
from src.router.classifier import Classifier, HeuristicClassifier
from src.router.config_errors import ConfigError
from src.router.errors import RouterError
from src.router.features import is_virtual
from src.router.policy import ModelState, RequestFeatures, decide
from src.router.rules import load_rules

DEFAULT_RULES = Path("config/routing_rules.yaml")
DEFAULT_LITELLM = Path("config/litellm.yaml")
DEFAULT_EVAL = Path("benchmarks/task_eval/task_eval.jsonl")
CLASSIFIERS = ("learned", "heuristic", "embedding")


def _litellm_config(path: Path) -> Path:
    # Before the first `make run` only the example exists; it names the same models.
    if not path.exists() and path == DEFAULT_LITELLM:
        return Path("config/litellm.example.yaml")
    return path


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        catalog = load_catalog(_litellm_config(args.litellm_config))
        rules = load_rules(args.rules, known_models=catalog.names())
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"{args.rules}: OK ({len(rules.rules)} rules, default "
        f"{rules.default.model if rules.default else 'none'}; "
        f"models checked against {len(catalog.models)} in LiteLLM config)"
    )
    return 0


def _offline_explain(body: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    catalog = load_catalog(_litellm_config(args.litellm_config))
    rules = load_rules(args.rules, known_models=catalog.names())
    availability = {
        m.name: ModelState(False, f"no key: {missing} is not set")
        if (missing := m.missing_key(os.environ))
        else ModelState(True, "assumed up (offline: backends not probed)")
        for m in catalog.models
    }
    classification, tokens = classify_request(body, {}, _classifier(args.classifier)[0])
    model = body["model"]
    features = RequestFeatures(None if is_virtual(model) else model, classification, tokens)
    result = decide(features, rules, availability).explain()
    result["signals"]["availability"] = "offline: local backends assumed up, cloud models need their key"
    return result


def cmd_explain(args: argparse.Namespace) -> int:
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
        {"role": "user", "content": args.prompt if args.prompt != "-" else sys.stdin.read()}
    ]
    body = {"model": args.model, "messages": messages}
    try:
        if args.router:
            if not args.router.startswith(("http://", "https://")):
                raise SystemExit(f"--router must be an http(s) URL, not {args.router!r}")
            req = urllib.request.Request(  # noqa: S310  (scheme checked above)
                args.router.rstrip("/") + "/v1/route",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310  (scheme checked above)
                result = json.loads(resp.read())
        else:
            result = _offline_explain(body, args)
    except (ConfigError, RouterError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def _classifier(name: str) -> tuple[Classifier, str]:
    """The classifier named on the command line, and its title in reports."""
    if name == "embedding":
        from src.router.embedding_classifier import EmbeddingClassifier

        return EmbeddingClassifier(), "embedding (all-MiniLM-L6-v2, optional extra)"
    if name == "learned":
        from src.router.learned_classifier import LearnedClassifier

        return LearnedClassifier.load(), "learned (default; data/classifier/model.npz)"
    return HeuristicClassifier(), "heuristic (built-in lexicon)"


def cmd_eval(args: argparse.Namespace) -> int:
    from src.router.evaluate import latency, load_examples, long_agent_conversation, render_markdown, score

    examples = load_examples(args.data)
    clf, name = _classifier(args.classifier)
    results = {
        "all": score(clf, examples),
        "held-out split (odd ids)": score(clf, [e for e in examples if e.split == "test"]),
        "tuning split (even ids)": score(clf, [e for e in examples if e.split == "dev"]),
    }
    msgs = long_agent_conversation()
    lat = latency(clf, msgs)
    text = render_markdown(name, results, lat, sum(len(m["content"]) for m in msgs))
    print(text)
    if args.write:
        # One section per classifier, after the marker; rewriting one keeps the others.
        head, _, tail = args.write.read_text().partition("<!-- results -->")
        sections = [s for s in tail.split("\n### ") if s.strip() and not s.lstrip("# ").startswith(name.split()[0])]
        kept = "".join("\n### " + s.lstrip("# ").rstrip() + "\n" for s in sections)
        args.write.write_text(head + "<!-- results -->\n\n" + text.rstrip() + "\n" + kept)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m src.router.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("validate", "explain"):
        p = sub.add_parser(name)
        p.add_argument("--rules", type=Path, default=DEFAULT_RULES)
        p.add_argument("--litellm-config", type=Path, default=DEFAULT_LITELLM)
        if name == "explain":
            p.add_argument("prompt", help="the user message ('-' reads stdin)")
            p.add_argument("--system", default=None, help="a system prompt")
            p.add_argument("--model", default="auto", help="auto, task/<type> or a model name")
            p.add_argument("--router", default=None, help="ask a running router (its /v1/route) instead")
            p.add_argument("--classifier", choices=CLASSIFIERS, default="learned")
    p = sub.add_parser("eval")
    p.add_argument("--data", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--write", type=Path, default=None, help="replace the results section of this Markdown file")
    p.add_argument("--classifier", choices=CLASSIFIERS, default="learned")
    args = parser.parse_args(argv)
    return {"validate": cmd_validate, "explain": cmd_explain, "eval": cmd_eval}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
