#!/usr/bin/python3
# qa-append.py - O_APPEND patterns for t3803.
#
#   append FILE REF SEED N   open FILE with O_WRONLY|O_APPEND|O_CREAT and
#                            write N records of 1 B..300 KiB (deterministic
#                            from SEED), the same bytes appended to REF (a
#                            local file) for a later cmp; fsync, close
#   records FILE WID N       append N self-describing records (header:
#                            magic, writer id, seq, length, crc32) with
#                            O_APPEND, one write(2) each
#   check-records FILE W N   every record of writers 0..W-1 is in FILE once,
#                            intact, in each writer's order, nothing else
# Exit 0 ok, 1 on a mismatch or error (message on stderr).
import os
import random
import struct
import sys
import zlib

HDR = struct.Struct("<IIIII")  # magic, wid, seq, len, crc32(payload)
MAGIC = 0x51A99E4D


def fail(msg):
    print("qa-append: " + msg, file=sys.stderr)
    sys.exit(1)


def payload(wid, seq, n):
    return random.Random(wid * 1000003 + seq).randbytes(n)


def write_all(fd, b):
    n = os.write(fd, b)
    if n != len(b):
        fail("short write %d of %d" % (n, len(b)))


def cmd_append(path, ref, seed, n):
    rnd = random.Random(seed)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with open(ref, "ab") as r:
        for i in range(n):
            size = rnd.choice([1, 17, 4096, 65536, 131072 + 3, rnd.randint(1, 300 << 10)])
            b = rnd.randbytes(size)
            write_all(fd, b)
            r.write(b)
            # O_APPEND: the file offset follows the end after each write.
            if os.lseek(fd, 0, os.SEEK_CUR) != os.fstat(fd).st_size:
                fail("offset %d != size %d after an O_APPEND write"
                     % (os.lseek(fd, 0, os.SEEK_CUR), os.fstat(fd).st_size))
    os.fsync(fd)
    os.close(fd)


def cmd_records(path, wid, n):
    rnd = random.Random(wid)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for seq in range(n):
        p = payload(wid, seq, rnd.randint(0, 200 << 10))
        write_all(fd, HDR.pack(MAGIC, wid, seq, len(p), zlib.crc32(p)) + p)
    os.fsync(fd)
    os.close(fd)


def cmd_check_records(path, w, n):
    with open(path, "rb") as f:
        data = f.read()
    off, nxt = 0, [0] * w
    while off < len(data):
        if off + HDR.size > len(data):
            fail("truncated header at %d" % off)
        magic, wid, seq, ln, crc = HDR.unpack_from(data, off)
        if magic != MAGIC or wid >= w:
            fail("garbage at offset %d (records interleaved or lost)" % off)
        p = data[off + HDR.size:off + HDR.size + ln]
        if len(p) != ln or zlib.crc32(p) != crc or p != payload(wid, seq, ln):
            fail("record w%d/%d at %d damaged" % (wid, seq, off))
        if seq != nxt[wid]:
            fail("writer %d: record %d where %d was expected" % (wid, seq, nxt[wid]))
        nxt[wid] += 1
        off += HDR.size + ln
    if nxt != [n] * w:
        fail("records per writer %s, expected %d each" % (nxt, n))


def main():
    a = sys.argv[1:]
    if a and a[0] == "append":
        cmd_append(a[1], a[2], int(a[3]), int(a[4]))
    elif a and a[0] == "records":
        cmd_records(a[1], int(a[2]), int(a[3]))
    elif a and a[0] == "check-records":
        cmd_check_records(a[1], int(a[2]), int(a[3]))
    else:
        fail("usage: see the header")


if __name__ == "__main__":
    main()
