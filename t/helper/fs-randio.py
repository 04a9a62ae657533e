#!/usr/bin/env python3
"""fs-randio.py - random-offset, random-size writes to a file on the
filesystem under test and to a reference file on local disk, with the
same bytes; then a byte-for-byte comparison through fresh handles.

usage: fs-randio.py write FILE REF NOPS MAXOFF MAXLEN SEED
       fs-randio.py mmap FILE REF SIZE SEED     (shared writable mapping)
       fs-randio.py cmp FILE REF                (exit 1 on difference)
Stdlib only.
"""
import mmap
import os
import random
import sys


def cmp(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                n = min(len(x), len(y))
                i = next((k for k in range(n) if x[k] != y[k]), n)
                print("differ at byte %d (sizes %d %d)" %
                      (off + i, os.path.getsize(a), os.path.getsize(b)))
                return 1
            if not x:
                return 0
            off += len(x)


def write(path, ref, nops, maxoff, maxlen, seed):
    rnd = random.Random(seed)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    rfd = os.open(ref, os.O_RDWR | os.O_CREAT, 0o644)
    for i in range(nops):
        off = rnd.randrange(maxoff)
        n = rnd.randrange(1, maxlen + 1)
        data = rnd.randbytes(n)
        if rnd.random() < 0.1:
            # read back a random range through the same handle first
            o2 = rnd.randrange(maxoff)
            a, b = os.pread(fd, 65536, o2), os.pread(rfd, 65536, o2)
            if a != b:
                print("read-own-writes mismatch at op %d off %d" % (i, o2))
                return 1
        os.pwrite(fd, data, off)
        os.pwrite(rfd, data, off)
        if rnd.random() < 0.05:
            os.fsync(fd)
    os.close(fd)
    os.close(rfd)
    return cmp(path, ref)


def mmap_write(path, ref, size, seed):
    rnd = random.Random(seed)
    for p in (path, ref):
        with open(p, "wb") as f:
            f.truncate(size)
    fds = [os.open(p, os.O_RDWR) for p in (path, ref)]
    maps = [mmap.mmap(fd, size, mmap.MAP_SHARED) for fd in fds]
    for _ in range(200):
        off = rnd.randrange(size)
        n = min(rnd.randrange(1, 100000), size - off)
        data = rnd.randbytes(n)
        for m in maps:
            m[off:off + n] = data
    for m in maps:
        m.flush()
        m.close()
    for fd in fds:
        os.fsync(fd)
        os.close(fd)
    return cmp(path, ref)


def main():
    a = sys.argv[1:]
    if a[:1] == ["write"] and len(a) == 7:
        return write(a[1], a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    if a[:1] == ["mmap"] and len(a) == 5:
        return mmap_write(a[1], a[2], int(a[3]), int(a[4]))
    if a[:1] == ["cmp"] and len(a) == 3:
        return cmp(a[1], a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
