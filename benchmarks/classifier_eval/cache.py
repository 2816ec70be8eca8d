"""Fill the evaluation cache (outside the repository) from fetched snapshots of the sources.

    python -m benchmarks.classifier_eval.cache --mirrors DIR [--cache ~/.cache/multi-llm/classifier_eval]

DIR holds bare git snapshots, one per `owner+name/repo` folder, of the repositories that
`sources.SOURCES` names. SST-2's first rows were read from the file named there and saved by
hand as `sst2_dev_head.tsv` (its repository keeps the file's other copies in Git LFS).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.classifier_eval.run import DEFAULT_CACHE

FILES = {
    "mt_bench.jsonl": ("lm-sys/FastChat", "fastchat/llm_judge/data/mt_bench/question.jsonl"),
    "vicuna_bench.jsonl": ("lm-sys/FastChat", "fastchat/llm_judge/data/vicuna_bench/question.jsonl"),
    "wizardlm_test.jsonl": ("nlpxucan/WizardLM", "WizardLM/data/WizardLM_testset.jsonl"),
    "humaneval.jsonl.gz": ("openai/human-eval", "data/HumanEval.jsonl.gz"),
    "mbpp.json": ("nlpxucan/WizardLM", "WizardCoder/data/mbppplus.json"),
    "uci_amazon_cells_labelled.txt": (
        "Huyen2402/API-ML-luanvan",
        "sentiment labelled sentences/amazon_cells_labelled.txt",
    ),
    "uci_imdb_labelled.txt": ("Huyen2402/API-ML-luanvan", "sentiment labelled sentences/imdb_labelled.txt"),
    "uci_yelp_labelled.txt": ("Huyen2402/API-ML-luanvan", "sentiment labelled sentences/yelp_labelled.txt"),
    "codereviewer_msg_test_100.jsonl": ("yhwi-kwon/CodeReveiwAutomation", "data/msg-test-100.jsonl"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    git_exe = shutil.which("git")
    if git_exe is None:
        print("git is needed to read the snapshots", file=sys.stderr)
        return 2
    for name, (repo, path) in FILES.items():
        git = args.mirrors / repo.replace("/", "+") / "repo"
        out = subprocess.run([git_exe, "-C", str(git), "show", f"HEAD:{path}"], capture_output=True, timeout=60)
        if out.returncode != 0:
            print(f"skipped {name}: {repo}:{path} not readable ({out.stderr.decode().strip()})", file=sys.stderr)
            continue
        data = out.stdout
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name[: -len(".gz")]
        (args.cache / name).write_bytes(data)
        commit = subprocess.run([git_exe, "-C", str(git), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        print(f"{name}: {repo}@{commit.strip()} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
