#!/usr/bin/python3
# qa-memory.py - readers for the client memory-bound stress of t3806.
#
#   randread FILE REF BS N SEED
#                    N reads of BS bytes (a multiple of 4 KiB) at random
#                    BS-aligned offsets of FILE opened with O_DIRECT (a
#                    page-aligned buffer, so the page cache is bypassed and
#                    every read reaches the client), each compared with the
#                    same range of the local copy REF.  Exit 1 on a mismatch.
#   holdopen DIR N ROUNDS
#                    open the files f0..f(N-1) of DIR, keep all of them open,
#                    and ROUNDS times read each one whole through its open
#                    descriptor (pread at 0), checking that every file holds
#                    its own stamp (see "mkfiles").  Exit 1 on a mismatch.
#   mkfiles DIR N SIZE
#                    create f0..f(N-1) of SIZE bytes: the 8-byte file number
#                    repeated.
import mmap
import os
import random
import sys


def stamp(i, size):
    s = i.to_bytes(8, "little")
    return (s * (size // 8 + 1))[:size]


def cmd_randread(path, ref, bs, n, seed):
    rnd = random.Random(seed)
    size = os.stat(ref).st_size
    buf = mmap.mmap(-1, bs)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    with open(ref, "rb") as r:
        for _ in range(n):
            off = rnd.randrange(0, size // bs) * bs
            got = os.preadv(fd, [buf], off)
            r.seek(off)
            want = r.read(bs)
            if got != len(want) or buf[:got] != want:
                sys.exit("randread %s: bytes at offset %d differ" % (path, off))
    os.close(fd)


def cmd_mkfiles(d, n, size):
    for i in range(n):
        with open(os.path.join(d, "f%d" % i), "wb") as f:
            f.write(stamp(i, size))


def cmd_holdopen(d, n, rounds):
    fds = [os.open(os.path.join(d, "f%d" % i), os.O_RDONLY) for i in range(n)]
    for _ in range(rounds):
        for i, fd in enumerate(fds):
            size = os.fstat(fd).st_size
            if os.pread(fd, size, 0) != stamp(i, size):
                sys.exit("holdopen: f%d differs" % i)
    for fd in fds:
        os.close(fd)


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "randread":
        cmd_randread(a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    elif len(a) == 4 and a[0] == "mkfiles":
        cmd_mkfiles(a[1], int(a[2]), int(a[3]))
    elif len(a) == 4 and a[0] == "holdopen":
        cmd_holdopen(a[1], int(a[2]), int(a[3]))
    else:
        print("usage: see the header", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
