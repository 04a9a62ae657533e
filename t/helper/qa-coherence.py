#!/usr/bin/python3
# qa-coherence.py - cross-mount cache coherence checks for t3804.
#
#   overwrite A B N       N rounds: write new bytes to A/f (open O_TRUNC,
#                         write, close), then open+read B/f: its sha256 must
#                         equal what was written.  B reads the file before
#                         each overwrite so its caches hold the old bytes;
#                         some rounds keep the same size (only the content
#                         changes), some grow, some shrink
#   truncate A B          truncate+rewrite patterns on A, each read on B
#   disjoint A B ROUNDS   two clients write disjoint ranges of the same
#                         4 MiB chunks of one file at once (open, pwrite,
#                         close each); afterwards both mounts read every
#                         range as written, and no write or close failed
#   readers FILE SHA N    N processes read FILE at once with different
#                         request sizes (one through mmap); each sha256
#                         must be SHA
# Exit 0 ok, 1 on a stale or wrong read (message on stderr).
import hashlib
import mmap
import multiprocessing
import os
import random
import sys
import threading


def fail(msg):
    print("qa-coherence: " + msg, file=sys.stderr)
    sys.exit(1)


def put(path, data):
    with open(path, "wb") as f:
        f.write(data)


def get(path, bs=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(bs)
            if not b:
                return h.hexdigest()
            h.update(b)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def cmd_overwrite(a, b, n):
    rnd = random.Random(42)
    size = 3 << 20
    fa, fb = os.path.join(a, "f"), os.path.join(b, "f")
    put(fa, rnd.randbytes(size))
    for i in range(n):
        get(fb)  # warm B's caches with the current bytes
        if i % 3 == 1:
            size = rnd.randint(1, 6 << 20)
        elif i % 3 == 2:
            size = rnd.randint(1, 64 << 10)
        data = rnd.randbytes(size)
        put(fa, data)
        got = get(fb)
        if got != sha(data):
            st = os.stat(fb)
            fail("round %d: B read stale bytes (size written %d, B's stat %d)"
                 % (i, size, st.st_size))


def cmd_truncate(a, b):
    rnd = random.Random(7)
    fa, fb = os.path.join(a, "t"), os.path.join(b, "t")
    ref = bytearray(rnd.randbytes(10 << 20))
    put(fa, ref)
    steps = []

    def check(what):
        got = get(fb)
        if got != sha(ref):
            fail("%s: B reads wrong bytes (expected size %d, B's stat %d)"
                 % (what, len(ref), os.stat(fb).st_size))
        steps.append(what)

    check("initial 10 MiB")
    # Truncate to 0 and rewrite shorter new content.
    with open(fa, "r+b") as f:
        f.truncate(0)
        ref = bytearray(rnd.randbytes(5 << 20))
        f.write(ref)
    check("truncate(0)+rewrite 5 MiB")
    # Shrink to a non-chunk-aligned size, then extend with a hole and data.
    os.truncate(fa, 1234567)
    del ref[1234567:]
    check("truncate to 1234567")
    with open(fa, "r+b") as f:
        f.seek(6 << 20)
        tail = rnd.randbytes(70000)
        f.write(tail)
    ref += bytes((6 << 20) - len(ref)) + tail
    check("hole + write past the end")
    # O_TRUNC open with the same size as before but different bytes.
    same = rnd.randbytes(len(ref))
    put(fa, same)
    ref = bytearray(same)
    check("O_TRUNC rewrite of the same size")


def page_runs(pages):
    """["old", "old", "new"] -> "old x2, new x1"."""
    runs = []
    for p in pages:
        if runs and runs[-1][0] == p:
            runs[-1][1] += 1
        else:
            runs.append([p, 1])
    return ", ".join("%s x%d" % (p, n) for p, n in runs)


def cmd_disjoint(a, b, rounds):
    """Two clients write disjoint ranges of the same chunks at once.

    Each client builds a chunk's new version on the version it knows, so
    one of two racing partial writes of a chunk cannot be published; the
    MDS refuses it and that writer's close() fails (EIO).  What must hold:
    every range whose write and close returned success reads back as
    written on both mounts (no silent loss), and a range whose writer got
    an error holds, page by page, either its old bytes or the new ones,
    nothing else.  (Page by page: a close on another handle of the file
    commits what the file's buffers hold at that moment, which may be the
    first of the failed writer's 1 MiB FUSE writes and not the second.)"""
    mib = 1 << 20
    # (mount, first MiB, last MiB + 1): A and B share chunks 0 and 1.
    jobs = [(a, 0, 1), (b, 1, 3), (a, 5, 6), (b, 7, 8), (a, 3, 4), (b, 4, 5)]
    for r in range(rounds):
        name = "dj%d" % r
        put(os.path.join(a, name), bytes(8 * mib))
        ok = [False] * len(jobs)
        errs = []

        def w(i, mnt, lo, hi, v):
            try:
                fd = os.open(os.path.join(mnt, name), os.O_WRONLY)
                try:
                    os.pwrite(fd, bytes([v]) * ((hi - lo) * mib), lo * mib)
                finally:
                    os.close(fd)
                ok[i] = True
            except OSError as e:
                errs.append("MiB %d-%d via %s: %s" % (lo, hi, os.path.basename(mnt), e))

        th = [threading.Thread(target=w, args=(i, mnt, lo, hi, i + 1))
              for i, (mnt, lo, hi) in enumerate(jobs)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        for mnt in (a, b):
            with open(os.path.join(mnt, name), "rb") as f:
                got = f.read()
            if len(got) != 8 * mib:
                fail("round %d: read via %s: size %d" % (r, os.path.basename(mnt), len(got)))
            for i, (_, lo, hi) in enumerate(jobs):
                part = got[lo * mib:hi * mib]
                new = bytes([i + 1]) * len(part)
                if ok[i] and part != new:
                    fail("round %d: read via %s: MiB %d-%d lost although its "
                         "write and close returned success" % (r, os.path.basename(mnt), lo, hi))
                if ok[i] or part == new:
                    continue
                pages = ["new" if part[k:k + 4096] == new[:4096] else
                         "old" if part[k:k + 4096] == bytes(4096) else "other"
                         for k in range(0, len(part), 4096)]
                if "other" in pages:
                    fail("round %d: read via %s: MiB %d-%d is neither old nor new "
                         "after a failed write (pages: %s)" % (
                             r, os.path.basename(mnt), lo, hi, page_runs(pages)))
        if errs:
            print("round %d: refused as concurrent: %s" % (r, "; ".join(errs)))


def reader(args):
    path, mode = args
    if mode == "mmap":
        with open(path, "rb") as f:
            with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                h = hashlib.sha256()
                for off in range(0, len(m), 1 << 20):
                    h.update(m[off:off + (1 << 20)])
                return h.hexdigest()
    return get(path, mode)


def cmd_readers(path, want, n):
    modes = [4096, 131072, 1 << 20, "mmap", 65536 + 512, 8 << 20][:n]
    with multiprocessing.Pool(len(modes)) as p:
        got = p.map(reader, [(path, m) for m in modes])
    for m, g in zip(modes, got):
        if g != want:
            fail("reader with %s requests got different bytes" % m)


def main():
    a = sys.argv[1:]
    if a and a[0] == "overwrite":
        cmd_overwrite(a[1], a[2], int(a[3]))
    elif a and a[0] == "truncate":
        cmd_truncate(a[1], a[2])
    elif a and a[0] == "disjoint":
        cmd_disjoint(a[1], a[2], int(a[3]))
    elif a and a[0] == "readers":
        cmd_readers(a[1], a[2], int(a[3]))
    else:
        fail("usage: see the header")


if __name__ == "__main__":
    main()
