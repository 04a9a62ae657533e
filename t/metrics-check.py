#!/usr/bin/env python3
"""metrics-check.py - strict checker of the Prometheus text format 0.0.4.

    metrics-check.py URL|FILE [--expect REGEX]...

Fetches URL (or reads FILE, "-" for stdin), checks the exposition against
the format's rules, and that every --expect regular expression matches at
least one sample line.  Exit 0 when valid, 1 with one line per problem.

Rules checked (https://prometheus.io/docs/instrumenting/exposition_formats/):
- Content-Type text/plain; version=0.0.4 (URLs only); UTF-8; ends with \\n
- comment lines: "# HELP name text", "# TYPE name type" (counter, gauge,
  histogram, summary, untyped); at most one of each per family, TYPE before
  the family's first sample
- sample lines: name{label="value",...} value [timestamp]; names and label
  names valid; label values escaped only with \\\\ \\" \\n; no duplicate
  label name; value parses as a Go float; no duplicate series
- a family's samples are contiguous
- counters are >= 0 (and not NaN); histograms have _bucket series with
  an "le" label, increasing bounds, cumulative non-decreasing counts, a
  +Inf bucket equal to _count, and a _sum
- lint (as promtool): every family has HELP and TYPE; counters end in _total
"""
import math
import re
import sys
import urllib.request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
FLOAT = re.compile(r"^[+-]?(?:Inf|inf|NaN|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_float(s):
    if not FLOAT.match(s):
        raise ValueError(s)
    return float(s.replace("Inf", "inf").replace("NaN", "nan"))


def parse_labels(s, pos, errors, lineno):
    """s[pos] is '{'; returns (dict, index after '}')."""
    labels = {}
    i = pos + 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(s, i)
        if not m:
            raise ValueError("bad label name at column %d" % (i + 1))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ValueError("label %s: expected =\"" % name)
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ValueError("unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("bad escape \\%s in label %s" % (nxt, name))
                val.append({"n": "\n"}.get(nxt, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("newline in label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError("duplicate label %s" % name)
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        raise ValueError("expected , or } after label %s" % name)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[:-len(suffix)]
            if types.get(base) in ("histogram", "summary"):
                return base
    return name


def check(text, errors):
    samples = []          # (lineno, name, labels, value)
    types, helps = {}, {}
    seen_series = set()
    finished = set()      # families whose block has ended
    current = None
    if text and not text.endswith("\n"):
        errors.append("does not end with a newline")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s)(?: (.*))?$" % NAME, line)
            if not m:
                if re.match(r"^# (HELP|TYPE)\b", line):
                    errors.append("line %d: malformed %s" % (lineno, line))
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if kind == "TYPE":
                if rest not in TYPES:
                    errors.append("line %d: unknown type %r" % (lineno, rest))
                if name in types:
                    errors.append("line %d: second TYPE for %s" % (lineno, name))
                if any(smp[1] == name for smp in samples):
                    errors.append("line %d: TYPE after samples of %s" % (lineno, name))
                types[name] = rest
            else:
                if name in helps:
                    errors.append("line %d: second HELP for %s" % (lineno, name))
                if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    errors.append("line %d: bad escape in HELP" % lineno)
                helps[name] = rest
            fam = name
            if fam != current:
                if fam in finished:
                    errors.append("line %d: family %s split" % (lineno, fam))
                if current:
                    finished.add(current)
                current = fam
            continue
        m = re.compile(NAME).match(line)
        if not m:
            errors.append("line %d: bad metric name: %s" % (lineno, line))
            continue
        name = m.group(0)
        i = m.end()
        labels = {}
        try:
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line, i, errors, lineno)
            if i >= len(line) or line[i] != " ":
                raise ValueError("expected a space before the value")
            parts = line[i + 1:].split(" ")
            if len(parts) not in (1, 2):
                raise ValueError("expected value [timestamp]")
            value = parse_float(parts[0])
            if len(parts) == 2 and not re.match(r"^-?\d+$", parts[1]):
                raise ValueError("bad timestamp %r" % parts[1])
        except ValueError as e:
            errors.append("line %d: %s: %s" % (lineno, e, line))
            continue
        fam = family_of(name, types)
        if fam != current:
            if fam in finished:
                errors.append("line %d: samples of %s are not contiguous" % (lineno, fam))
            if current:
                finished.add(current)
            current = fam
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            errors.append("line %d: duplicate series %s%s" % (lineno, name, labels))
        seen_series.add(key)
        samples.append((lineno, fam, name, labels, value))
    check_types(samples, types, errors)
    check_lint(samples, types, helps, errors)
    return samples


def check_lint(samples, types, helps, errors):
    """Naming rules promtool lints: every family has HELP and TYPE, and
    counter names end in _total."""
    for fam in sorted({smp[1] for smp in samples}):
        if fam not in types:
            errors.append("%s has no TYPE" % fam)
        if fam not in helps or not helps[fam].strip():
            errors.append("%s has no HELP" % fam)
        if types.get(fam) == "counter" and not fam.endswith("_total"):
            errors.append("counter %s does not end in _total" % fam)


def check_types(samples, types, errors):
    hist = {}
    for lineno, fam, name, labels, value in samples:
        t = types.get(fam, "untyped")
        if t == "counter":
            if math.isnan(value) or value < 0:
                errors.append("line %d: counter %s is %s" % (lineno, name, value))
        if t == "histogram":
            rest = {k: v for k, v in labels.items() if k != "le"}
            h = hist.setdefault((fam, tuple(sorted(rest.items()))),
                                {"buckets": [], "sum": None, "count": None})
            if name == fam + "_bucket":
                if "le" not in labels:
                    errors.append("line %d: bucket without le" % lineno)
                    continue
                try:
                    le = parse_float(labels["le"])
                except ValueError:
                    errors.append("line %d: bad le %r" % (lineno, labels["le"]))
                    continue
                h["buckets"].append((le, value, lineno))
            elif name == fam + "_sum":
                h["sum"] = value
            elif name == fam + "_count":
                h["count"] = value
            else:
                errors.append("line %d: %s is not a histogram series of %s" % (lineno, name, fam))
    for (fam, lab), h in hist.items():
        b = h["buckets"]
        where = "%s%s" % (fam, dict(lab))
        if not b or b[-1][0] != math.inf:
            errors.append("%s: no +Inf bucket" % where)
            continue
        for (le1, c1, _), (le2, c2, ln) in zip(b, b[1:]):
            if le2 <= le1:
                errors.append("line %d: %s bucket bounds not increasing" % (ln, where))
            if c2 < c1:
                errors.append("line %d: %s bucket counts not cumulative" % (ln, where))
        if h["count"] is None or h["sum"] is None:
            errors.append("%s: missing _count or _sum" % where)
        elif h["count"] != b[-1][1]:
            errors.append("%s: _count %s != +Inf bucket %s" % (where, h["count"], b[-1][1]))


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    src, expects = args[0], []
    rest = args[1:]
    while rest:
        if rest[0] == "--expect" and len(rest) > 1:
            expects.append(rest[1])
            rest = rest[2:]
        else:
            print("bad argument %r" % rest[0])
            return 2
    errors = []
    if src.startswith("http://"):
        try:
            with urllib.request.urlopen(src, timeout=10) as r:
                ctype = r.headers.get("Content-Type", "")
                if not re.match(r"^text/plain;\s*version=0\.0\.4(;|$)", ctype):
                    errors.append("Content-Type is %r" % ctype)
                raw = r.read()
        except OSError as e:
            print("cannot fetch %s: %s" % (src, e))
            return 1
    elif src == "-":
        raw = sys.stdin.buffer.read()
    else:
        raw = open(src, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        errors.append("not UTF-8: %s" % e)
        text = raw.decode("utf-8", "replace")
    samples = check(text, errors)
    if not samples:
        errors.append("no samples")
    lines = [l for l in text.split("\n") if l and not l.startswith("#")]
    for e in expects:
        if not any(re.search(e, l) for l in lines):
            errors.append("no sample matches %r" % e)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
