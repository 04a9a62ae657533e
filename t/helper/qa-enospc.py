#!/usr/bin/python3
# qa-enospc.py - write-error paths for t3805.
#
#   fill PATH MB     write up to MB MiB (1 MiB writes of random bytes), then
#                    fsync and close.  Prints "ERRNO_NAME at OP offset=N" for
#                    the first error, or "no error" if everything succeeded.
#   writer PATH MB   write MB MiB quickly (a few MiB of random bytes reused
#                    with a per-MiB stamp), fsync, close; exit 1 on error
#   scatter PATH MB N REF
#                    write MB MiB of random bytes and fsync, then N writes
#                    of 1 B-16 KiB of random bytes at random offsets (with
#                    an fsync after every N/4), fsync, close; REF gets the
#                    bytes the file must hold.  Exit 1 on error.
# Exit status of fill: 0 (the caller checks what was printed).
import errno
import os
import sys


def cmd_fill(path, mb):
    buf = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    op, off = "write", 0
    try:
        for i in range(mb):
            n = os.write(fd, buf)
            if n != len(buf):
                print("short write %d at offset=%d" % (n, off))
                return
            off += n
        op = "fsync"
        os.fsync(fd)
        op = "close"
        fd2, fd = fd, -1
        os.close(fd2)
        print("no error")
    except OSError as e:
        print("%s at %s offset=%d" % (errno.errorcode.get(e.errno, str(e.errno)), op, off))
    finally:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def cmd_writer(path, mb):
    base = bytearray(os.urandom(4 << 20))
    with open(path, "wb") as f:
        for i in range(mb):
            j = (i % 4) << 20
            base[j:j + 8] = i.to_bytes(8, "little")
            f.write(memoryview(base)[j:j + (1 << 20)])
        f.flush()
        os.fsync(f.fileno())


def cmd_scatter(path, mb, n, ref):
    import random
    rnd = random.Random(mb * 7919 + n)
    size = mb << 20
    want = bytearray(os.urandom(size))
    with open(path, "wb") as f:
        f.write(want)
        f.flush()
        os.fsync(f.fileno())
    fd = os.open(path, os.O_WRONLY)
    try:
        for i in range(n):
            ln = rnd.randint(1, 16384)
            off = rnd.randrange(0, size - ln)
            data = os.urandom(ln)
            if os.pwrite(fd, data, off) != ln:
                sys.exit("short write at offset %d" % off)
            want[off:off + ln] = data
            if (i + 1) % max(1, n // 4) == 0:
                os.fsync(fd)
        os.fsync(fd)
    finally:
        os.close(fd)
    with open(ref, "wb") as f:
        f.write(want)


def main():
    a = sys.argv[1:]
    if a and a[0] == "fill":
        cmd_fill(a[1], int(a[2]))
    elif a and a[0] == "writer":
        cmd_writer(a[1], int(a[2]))
    elif a and a[0] == "scatter":
        cmd_scatter(a[1], int(a[2]), int(a[3]), a[4])
    else:
        print("usage: see the header", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
