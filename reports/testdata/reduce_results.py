#!/usr/bin/env python3
"""Reduce a results.json for testdata: keep every trial, check, status,
summary and figure, but at most 2 pieces of evidence per check.

usage: reduce_results.py IN OUT
"""
import json, sys

r = json.load(open(sys.argv[1]))
for t in r["trials"]:
    for c in t["checks"]:
        c["evidence"] = (c.get("evidence") or [])[:2]
json.dump(r, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
