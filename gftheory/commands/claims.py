"""``gftheory claims [ID ...] [--json]``: list the claim registry (statement, evidence, rule,
reproduce command). No evidence is computed here; see ``gftheory report`` / ``confirm``."""
from __future__ import annotations

import argparse
import json

from gftheory.claims.registry import CLAIMS, get_claim, runs_needed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="claims to show in full (default: a table of all)")
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")


def _as_dict(c) -> dict:
    return {"id": c.id, "title": c.title, "kind": c.kind, "words": c.words, "source": c.source,
            "formal": c.formal, "statements": list(c.statements),
            "comparisons": [cmp.label() for cmp in c.comparisons], "components": list(c.components),
            "combine": c.combine,
            "archs": list(c.archs), "datasets": list(c.datasets), "rules": c.rule_text(),
            "commands": c.commands(), "runs_needed": [list(t) for t in runs_needed(c)] if c.comparisons
            or c.components else [], "notes": c.notes}


def run(args) -> int:
    claims = [get_claim(i) for i in args.ids] if args.ids else list(CLAIMS.values())
    if args.json:
        from gftheory.claims.registry import v4_rules
        from gftheory.claims.rules import RULES_VERSION, rules_digest, rules_digest_v3
        print(json.dumps({"rules_version": RULES_VERSION, "rules_digest": rules_digest(),
                          "stage1_rules_version": "3", "stage1_rules_digest": rules_digest_v3(),
                          "claims": [{**_as_dict(c), "rules_v4": [{"label": r.label(), "primary": p, "kind": r.kind,
                                                                   "metric": r.metric, "delta": r.delta}
                                                                  for r, p in v4_rules(c)]} for c in claims]},
                         indent=1, ensure_ascii=False))
        return 0
    from gftheory.claims.rules import RULES_VERSION, rules_digest
    print(f"rules version {RULES_VERSION}, digest {rules_digest()} (gftheory/claims/rules.py)")
    if not args.ids:
        w = max(len(c.id) for c in claims)
        for c in claims:
            ev = ", ".join(filter(None, [" ".join(c.statements) and f"proofs+checks {' '.join(c.statements)}",
                                          c.comparisons and f"{len(c.comparisons)} empirical rule(s)",
                                          c.components and f"combines {' '.join(c.components)}"]))
            print(f"{c.id.ljust(w)}  {c.kind:<16}  {c.title}  [{ev}]")
        return 0
    from gftheory.claims import rules as R
    from gftheory.claims.registry import v4_rules
    print(f"general rules, version {R.RULES_VERSION} (stage 2; stage 1 described):")
    for text in (R.STAGE_TEXT, R.PAIRING_TEXT, R.DECISION_TEXT, R.CLAIM_CELL_TEXT, R.INTERVAL_TEXT, R.PRIMARY_TEXT,
                 R.NOT_APPLICABLE_TEXT, R.HEADLINE_TEXT, R.IDENTITY_RULE_TEXT, R.COMPOSITE_RULE_TEXT_V4):
        print(f"  - {text}")
    print(f"general rules, version 3 (stage 1, exploratory; digest {R.rules_digest_v3()}):")
    for text in (R.CELL_RULE_TEXT, R.RULE_VERDICT_TEXT, R.SCALE_RULE_TEXT, R.COMPOSITE_RULE_TEXT):
        print(f"  - {text}")
    for c in claims:
        d = _as_dict(c)
        print(f"{c.id} — {c.title} [{c.kind}]\n  paper ({c.source}): {c.words}\n  formal: {c.formal}")
        for line in d["rules"]:
            print(f"  rule: {line}")
        for r, p in v4_rules(c):
            print(f"  v4 rule: `{r.label()}` ({r.kind}, δ {r.delta:.4g}), primary evidence: {p}")
        for cmd in d["commands"]:
            print(f"  reproduce: {cmd}")
        if c.notes:
            print(f"  note: {c.notes}")
    return 0
