#!/usr/bin/python3
# qa-torch.py - PyTorch checkpoint patterns for t3801/t3802 (run it with
# Debian's /usr/bin/python3, which has python3-torch).
#
#   save PATH SEED MB        torch.save to PATH.tmp, flush+fsync, rename to
#                            PATH, fsync the directory
#   check PATH SEED MB       torch.load PATH, torch.equal per tensor
#   reader PATH MB OLD NEW DONEFLAG STARTFLAG
#                            load PATH again and again: each load must equal
#                            the OLD or the NEW state dict completely; writes
#                            STARTFLAG after its first load; once DONEFLAG
#                            exists before an open, that load must be NEW
#                            (close-to-open), and the reader stops
#   shard DIR RANK MB        torch.save DIR/shard_RANK.pt (+fsync)
#   manifest DIR STEPDIR N MB  write DIR/manifest.json last (+fsync), fsync
#                            DIR, rename DIR to STEPDIR, fsync the parent
#   verify-step STEPDIR N MB every shard loads and matches, the manifest's
#                            sha256 match, the directory holds exactly the
#                            expected names
# Exit 0 ok, 1 on any mismatch (with a message on stderr).
import hashlib
import json
import os
import sys
import time

import torch


def fail(msg):
    print("qa-torch: " + msg, file=sys.stderr)
    sys.exit(1)


def state_dict(seed, mb):
    """A deterministic state dict of about mb MiB: float32 weights, a bf16
    and an int64 tensor, and a small non-tensor entry."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    per = 4 << 20  # 4 MiB per float32 tensor
    n = max(1, (mb << 20) // per)
    for i in range(n):
        sd["layer%d.weight" % i] = torch.randn(per // 4, generator=g)
    sd["emb.bf16"] = torch.randn(4096, 33, generator=g).to(torch.bfloat16)
    sd["step"] = torch.tensor([seed], dtype=torch.int64)
    sd["idx"] = torch.randint(0, 1 << 40, (1000,), generator=g)
    return sd


def fsync_dir(d):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(path, sd):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(sd, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def equal(a, b):
    """'' if the dicts are equal tensor by tensor, else what differs."""
    if sorted(a) != sorted(b):
        return "keys differ: %s vs %s" % (sorted(a)[:5], sorted(b)[:5])
    for k in a:
        if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape:
            return "%s: dtype/shape differ" % k
        if not torch.equal(a[k], b[k]):
            return "%s: values differ" % k
    return ""


def load(path):
    return torch.load(path, map_location="cpu")


def cmd_reader(path, mb, old_seed, new_seed, doneflag, startflag):
    old, new = state_dict(old_seed, mb), state_dict(new_seed, mb)
    n = {"old": 0, "new": 0}
    deadline = time.monotonic() + 40
    while True:
        done_before = os.path.exists(doneflag)
        try:
            got = load(path)
        except Exception as e:  # torn file, short read, ENOENT mid-rename
            fail("load %d raised %s: %s" % (sum(n.values()) + 1, type(e).__name__, e))
        if not equal(got, old):
            kind = "old"
        elif not equal(got, new):
            kind = "new"
        else:
            fail("load %d equals neither: vs old: %s; vs new: %s"
                 % (sum(n.values()) + 1, equal(got, old), equal(got, new)))
        del got
        n[kind] += 1
        if sum(n.values()) == 1:
            open(startflag, "w").close()
        if done_before:
            if kind != "new":
                fail("open after the rename returned on the other mount "
                     "still read the old checkpoint")
            break
        if time.monotonic() > deadline:
            fail("writer did not finish within 40 s")
    print("reader: loads old=%d new=%d" % (n["old"], n["new"]))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def shard_sd(rank, mb):
    return state_dict(1000 + rank, mb)


def cmd_shard(d, rank, mb):
    p = os.path.join(d, "shard_%d.pt" % rank)
    with open(p, "wb") as f:
        torch.save(shard_sd(rank, mb), f)
        f.flush()
        os.fsync(f.fileno())


def cmd_manifest(d, stepdir, n, mb):
    names = ["shard_%d.pt" % r for r in range(n)]
    m = {"shards": names, "mb": mb,
         "sha256": {x: sha256(os.path.join(d, x)) for x in names}}
    p = os.path.join(d, "manifest.json")
    with open(p, "w") as f:
        json.dump(m, f)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(d)
    os.rename(d, stepdir)
    fsync_dir(os.path.dirname(os.path.abspath(stepdir)))


def cmd_verify_step(stepdir, n, mb):
    names = ["shard_%d.pt" % r for r in range(n)]
    got = sorted(os.listdir(stepdir))
    if got != sorted(names + ["manifest.json"]):
        fail("%s holds %s" % (stepdir, got))
    with open(os.path.join(stepdir, "manifest.json")) as f:
        m = json.load(f)
    if m["shards"] != names:
        fail("manifest lists %s" % m["shards"])
    for r, x in enumerate(names):
        p = os.path.join(stepdir, x)
        if sha256(p) != m["sha256"][x]:
            fail("%s: sha256 differs from the manifest" % x)
        diff = equal(load(p), shard_sd(r, mb))
        if diff:
            fail("%s: %s" % (x, diff))


def main():
    a = sys.argv[1:]
    if not a:
        fail("usage: see the header")
    c = a[0]
    if c == "save":
        save(a[1], state_dict(int(a[2]), int(a[3])))
    elif c == "check":
        diff = equal(load(a[1]), state_dict(int(a[2]), int(a[3])))
        if diff:
            fail("%s: %s" % (a[1], diff))
    elif c == "reader":
        cmd_reader(a[1], int(a[2]), int(a[3]), int(a[4]), a[5], a[6])
    elif c == "shard":
        cmd_shard(a[1], int(a[2]), int(a[3]))
    elif c == "manifest":
        cmd_manifest(a[1], a[2], int(a[3]), int(a[4]))
    elif c == "verify-step":
        cmd_verify_step(a[1], int(a[2]), int(a[3]))
    else:
        fail("unknown command " + c)


if __name__ == "__main__":
    main()
