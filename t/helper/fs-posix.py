#!/usr/bin/env python3
"""fs-posix.py - POSIX behaviour matrix with exact errno values.

usage: fs-posix.py DIR [GROUP...]

Runs the named groups (default: all but 'perm') in DIR, a fresh empty
directory on the filesystem under test.  Prints one line per failed check
and exits 1 if any failed, 0 otherwise.  Standard library only (ctypes
for renameat2/utimensat), so it runs on any python3.

The 'perm' group is meant to run as an unprivileged user (setpriv) against
files that another user prepared: see t3002-fs-perm.sh.
"""
import ctypes
import errno
import os
import stat
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what, flush=True)


def expect_errno(code, what, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError as e:
        check(e.errno == code, "%s: expected %s, got %s" %
              (what, errno.errorcode[code], errno.errorcode.get(e.errno, e.errno)))
        return
    check(False, "%s: expected %s, succeeded" % (what, errno.errorcode[code]))


def renameat2(old, new, flags):
    r = libc.renameat2(AT_FDCWD, old.encode(), AT_FDCWD, new.encode(),
                       ctypes.c_uint(flags))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def utimensat(path, a, m):
    ts = (Timespec * 2)(Timespec(*a), Timespec(*m))
    r = libc.utimensat(AT_FDCWD, path.encode(), ts, 0)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def g_open(d):
    p = os.path.join(d, "f")
    write_file(p, b"hello")
    expect_errno(errno.EEXIST, "O_CREAT|O_EXCL on existing", os.open, p,
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    expect_errno(errno.ENOENT, "open missing", os.open, os.path.join(d, "nope"),
                 os.O_RDONLY)
    os.mkdir(os.path.join(d, "dir"))
    expect_errno(errno.EISDIR, "open dir for writing", os.open,
                 os.path.join(d, "dir"), os.O_WRONLY)
    expect_errno(errno.ENOTDIR, "file as directory", os.open,
                 os.path.join(p, "x"), os.O_RDONLY)
    expect_errno(errno.ENOTDIR, "O_DIRECTORY on a file", os.open, p,
                 os.O_RDONLY | os.O_DIRECTORY)
    # O_TRUNC
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    check(os.stat(p).st_size == 0, "O_TRUNC leaves size 0")
    # O_APPEND: writes go to the end whatever the offset
    write_file(p, b"abc")
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b"def")
    os.close(fd)
    check(read_file(p) == b"abcdef", "O_APPEND appends: %r" % read_file(p))
    # O_EXCL create then read back
    q = os.path.join(d, "g")
    fd = os.open(q, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.write(fd, b"xyz")
    os.lseek(fd, 0, os.SEEK_SET)
    check(os.read(fd, 10) == b"xyz", "read back through O_RDWR handle")
    os.close(fd)
    check(stat.S_IMODE(os.stat(q).st_mode) == 0o600 & ~current_umask(),
          "create mode honours umask")
    # names
    expect_errno(errno.ENAMETOOLONG, "256-byte name", os.open,
                 os.path.join(d, "n" * 256), os.O_CREAT | os.O_WRONLY)
    write_file(os.path.join(d, "m" * 255), b"")
    check(os.path.exists(os.path.join(d, "m" * 255)), "255-byte name works")
    # O_DIRECT read and write (page-aligned buffer via mmap)
    import mmap
    buf = mmap.mmap(-1, 8192)
    buf.write(b"D" * 8192)
    fd = os.open(os.path.join(d, "direct"), os.O_CREAT | os.O_RDWR | os.O_DIRECT)
    check(os.writev(fd, [buf]) == 8192, "O_DIRECT write")
    os.close(fd)
    check(read_file(os.path.join(d, "direct")) == b"D" * 8192, "O_DIRECT data")


def current_umask():
    u = os.umask(0)
    os.umask(u)
    return u


def g_dirs(d):
    p = os.path.join(d, "a")
    os.mkdir(p)
    expect_errno(errno.EEXIST, "mkdir existing", os.mkdir, p)
    write_file(os.path.join(p, "x"), b"1")
    expect_errno(errno.ENOTEMPTY, "rmdir non-empty", os.rmdir, p)
    expect_errno(errno.ENOTDIR, "rmdir a file", os.rmdir, os.path.join(p, "x"))
    expect_errno(errno.EISDIR, "unlink a directory", os.unlink, p)
    expect_errno(errno.ENOENT, "rmdir missing", os.rmdir, os.path.join(d, "zz"))
    expect_errno(errno.ENOENT, "unlink missing", os.unlink, os.path.join(d, "zz"))
    expect_errno(errno.ENOENT, "mkdir under missing", os.mkdir,
                 os.path.join(d, "zz", "y"))
    names = set("e%04d" % i for i in range(300))
    for n in names:
        write_file(os.path.join(p, n), b"")
    check(set(os.listdir(p)) == names | {"x"}, "readdir lists every entry once")
    for n in names:
        os.unlink(os.path.join(p, n))
    os.unlink(os.path.join(p, "x"))
    os.rmdir(p)
    check(not os.path.exists(p), "rmdir removes")
    os.mkdir(p)
    check(os.stat(d).st_nlink >= 3, "parent nlink counts subdirectories")


def g_rename(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"A")
    write_file(b, b"B")
    os.rename(a, b)
    check(read_file(b) == b"A" and not os.path.exists(a), "rename over a file")
    # over an open file: the reader keeps the old bytes
    write_file(a, b"new")
    fd = os.open(b, os.O_RDONLY)
    os.rename(a, b)
    check(os.read(fd, 10) == b"A", "open file replaced by rename keeps its data")
    os.close(fd)
    check(read_file(b) == b"new", "rename target has new data")
    dd, de = os.path.join(d, "dd"), os.path.join(d, "de")
    os.mkdir(dd)
    os.mkdir(de)
    expect_errno(errno.EISDIR, "rename file over dir", os.rename, b, dd)
    expect_errno(errno.ENOTDIR, "rename dir over file", os.rename, dd, b)
    write_file(os.path.join(de, "x"), b"")
    expect_errno(errno.ENOTEMPTY, "rename dir over non-empty dir", os.rename, dd, de)
    os.unlink(os.path.join(de, "x"))
    os.rename(dd, de)
    check(not os.path.exists(dd) and os.path.isdir(de), "rename dir over empty dir")
    os.mkdir(os.path.join(de, "sub"))
    expect_errno(errno.EINVAL, "rename dir into its own subdir", os.rename, de,
                 os.path.join(de, "sub", "x"))
    expect_errno(errno.ENOENT, "rename missing", os.rename, os.path.join(d, "zz"),
                 os.path.join(d, "yy"))
    # RENAME_NOREPLACE / RENAME_EXCHANGE
    write_file(a, b"1")
    expect_errno(errno.EEXIST, "RENAME_NOREPLACE over existing", renameat2, a, b,
                 RENAME_NOREPLACE)
    renameat2(a, os.path.join(d, "c"), RENAME_NOREPLACE)
    check(read_file(os.path.join(d, "c")) == b"1", "RENAME_NOREPLACE to new name")
    renameat2(os.path.join(d, "c"), b, RENAME_EXCHANGE)
    check(read_file(b) == b"1" and read_file(os.path.join(d, "c")) == b"new",
          "RENAME_EXCHANGE swaps")
    renameat2(b, de, RENAME_EXCHANGE)
    check(os.path.isdir(b) and os.path.isfile(de), "RENAME_EXCHANGE file and dir")
    expect_errno(errno.ENOENT, "RENAME_EXCHANGE with missing target", renameat2,
                 de, os.path.join(d, "zz"), RENAME_EXCHANGE)
    # across directories
    os.mkdir(os.path.join(d, "x1"))
    write_file(os.path.join(d, "x1", "f"), b"moved")
    os.rename(os.path.join(d, "x1", "f"), os.path.join(b, "f"))
    check(read_file(os.path.join(b, "f")) == b"moved", "rename across directories")
    # a directory renamed keeps its contents
    os.rename(b, os.path.join(d, "x1", "moved"))
    check(read_file(os.path.join(d, "x1", "moved", "f")) == b"moved",
          "moved directory keeps its entries")


def g_links(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"data")
    os.link(a, b)
    check(os.stat(a).st_nlink == 2, "link count 2 after link")
    check(os.stat(a).st_ino == os.stat(b).st_ino, "hard link shares the inode")
    expect_errno(errno.EEXIST, "link to existing name", os.link, a, b)
    os.mkdir(os.path.join(d, "dir"))
    expect_errno(errno.EPERM, "hard link to a directory", os.link,
                 os.path.join(d, "dir"), os.path.join(d, "dl"))
    os.unlink(a)
    check(os.stat(b).st_nlink == 1, "link count 1 after unlink")
    check(read_file(b) == b"data", "data kept through the other link")
    # symlinks
    s = os.path.join(d, "s")
    os.symlink("b", s)
    check(os.readlink(s) == "b", "readlink")
    check(stat.S_ISLNK(os.lstat(s).st_mode), "lstat sees a symlink")
    check(os.lstat(s).st_size == 1, "symlink size is the target length")
    check(read_file(s) == b"data", "open through a symlink")
    expect_errno(errno.EEXIST, "symlink over existing", os.symlink, "x", s)
    os.symlink("nowhere", os.path.join(d, "dangling"))
    expect_errno(errno.ENOENT, "open dangling symlink", os.open,
                 os.path.join(d, "dangling"), os.O_RDONLY)
    expect_errno(errno.ELOOP, "O_NOFOLLOW on a symlink", os.open, s,
                 os.O_RDONLY | os.O_NOFOLLOW)
    long_target = "t" * 4000
    os.symlink(long_target, os.path.join(d, "long"))
    check(os.readlink(os.path.join(d, "long")) == long_target, "4000-byte symlink")
    expect_errno(errno.EINVAL, "readlink of a file", os.readlink, b)


def g_xattr(d):
    p = os.path.join(d, "f")
    write_file(p, b"")
    os.setxattr(p, "user.a", b"1")
    os.setxattr(p, "user.b", b"\x00\xff" * 100)
    check(os.getxattr(p, "user.a") == b"1", "getxattr")
    check(os.getxattr(p, "user.b") == b"\x00\xff" * 100, "binary xattr value")
    check(sorted(os.listxattr(p)) == ["user.a", "user.b"], "listxattr: %r" %
          os.listxattr(p))
    expect_errno(errno.ENODATA, "getxattr missing", os.getxattr, p, "user.zz")
    expect_errno(errno.EEXIST, "XATTR_CREATE on existing", os.setxattr, p,
                 "user.a", b"2", os.XATTR_CREATE)
    expect_errno(errno.ENODATA, "XATTR_REPLACE on missing", os.setxattr, p,
                 "user.zz", b"2", os.XATTR_REPLACE)
    os.setxattr(p, "user.a", b"2", os.XATTR_REPLACE)
    check(os.getxattr(p, "user.a") == b"2", "XATTR_REPLACE")
    os.removexattr(p, "user.a")
    expect_errno(errno.ENODATA, "removexattr missing", os.removexattr, p, "user.a")
    check(os.listxattr(p) == ["user.b"], "removexattr removes")
    os.setxattr(p, "user.empty", b"")
    check(os.getxattr(p, "user.empty") == b"", "empty xattr value")
    os.mkdir(os.path.join(d, "dir"))
    os.setxattr(os.path.join(d, "dir"), "user.d", b"x")
    check(os.getxattr(os.path.join(d, "dir"), "user.d") == b"x", "xattr on a dir")


def g_attr(d):
    p = os.path.join(d, "f")
    write_file(p, b"0123456789")
    os.chmod(p, 0o4751)
    check(stat.S_IMODE(os.stat(p).st_mode) == 0o4751, "chmod with setuid")
    os.chmod(p, 0o640)
    check(stat.S_IMODE(os.stat(p).st_mode) == 0o640, "chmod")
    if os.getuid() == 0:
        os.chown(p, 1234, 5678)
        st = os.stat(p)
        check((st.st_uid, st.st_gid) == (1234, 5678), "chown")
        os.chown(p, -1, 42)
        st = os.stat(p)
        check((st.st_uid, st.st_gid) == (1234, 42), "chown gid only")
    utimensat(p, (1000, 123456789), (2000, 987654321))
    st = os.stat(p)
    check((st.st_atime_ns, st.st_mtime_ns) == (1000123456789, 2000987654321),
          "utimensat keeps nanoseconds: %d %d" % (st.st_atime_ns, st.st_mtime_ns))
    utimensat(p, (0, UTIME_OMIT), (3000, 5))
    st = os.stat(p)
    check(st.st_atime_ns == 1000123456789 and st.st_mtime_ns == 3000000000005,
          "UTIME_OMIT leaves atime")
    before = time.time_ns() - 2 * 10**9
    utimensat(p, (0, UTIME_NOW), (0, UTIME_OMIT))
    st = os.stat(p)
    check(st.st_atime_ns >= before and st.st_mtime_ns == 3000000000005,
          "UTIME_NOW sets atime to now")
    utimensat(p, (0, UTIME_NOW), (0, UTIME_NOW))
    check(os.stat(p).st_mtime_ns >= before, "UTIME_NOW sets mtime")
    # negative and far times
    os.utime(p, ns=(-1_500_000_000, 2**33 * 10**9))
    st = os.stat(p)
    check(st.st_atime_ns == -1_500_000_000 and st.st_mtime_ns == 2**33 * 10**9,
          "times before 1970 and after 2038")
    # truncate
    os.truncate(p, 4)
    check(read_file(p) == b"0123", "truncate down")
    os.truncate(p, 8)
    check(read_file(p) == b"0123\0\0\0\0", "truncate up reads zeros")
    fd = os.open(p, os.O_RDWR)
    os.ftruncate(fd, 2)
    os.close(fd)
    check(read_file(p) == b"01", "ftruncate")
    # mtime changes on write
    os.utime(p, ns=(0, 0))
    write_file(p, b"x", os.O_WRONLY)
    check(os.stat(p).st_mtime_ns > 0, "write updates mtime")
    # statfs
    sv = os.statvfs(d)
    check(sv.f_namemax == 255, "statfs namemax")
    check(sv.f_blocks > 0, "statfs reports capacity")


def g_sparse(d):
    p = os.path.join(d, "sparse")
    off = 100 << 20
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b"Z", off)
    os.fsync(fd)
    check(os.fstat(fd).st_size == off + 1, "sparse size")
    check(os.pread(fd, 4096, 50 << 20) == b"\0" * 4096, "hole reads zeros")
    check(os.pread(fd, 2, off) == b"Z", "byte past the hole")
    check(os.fstat(fd).st_blocks * 512 < 8 << 20, "holes cost no chunks")
    check(os.lseek(fd, 0, os.SEEK_HOLE) == 0, "SEEK_HOLE at 0")
    check(os.lseek(fd, 0, os.SEEK_DATA) == off, "SEEK_DATA finds the chunk: %d" %
          os.lseek(fd, 0, os.SEEK_DATA))
    check(os.lseek(fd, off, os.SEEK_HOLE) == off + 1, "SEEK_HOLE at EOF")
    expect_errno(errno.ENXIO, "SEEK_DATA past EOF", os.lseek, fd, off + 5,
                 os.SEEK_DATA)
    os.close(fd)
    # fallocate mode 0 grows the size
    q = os.path.join(d, "falloc")
    fd = os.open(q, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    check(os.fstat(fd).st_size == 1 << 20, "posix_fallocate grows the file")
    check(os.pread(fd, 10, 5000) == b"\0" * 10, "fallocated range reads zeros")
    os.close(fd)


def g_unlinked(d):
    p = os.path.join(d, "u")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b"before")
    os.fsync(fd)
    os.unlink(p)
    check(not os.path.exists(p), "unlinked name is gone")
    check(os.fstat(fd).st_nlink == 0, "open-unlinked nlink 0")
    os.write(fd, b"+after" * 100000)
    os.fsync(fd)
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 1 << 20)
    check(data == b"before" + b"+after" * 100000, "open-unlinked read/write")
    os.close(fd)
    # a second handle opened before unlink also works
    write_file(p, b"X" * 5000000)
    fd1 = os.open(p, os.O_RDONLY)
    os.unlink(p)
    check(os.pread(fd1, 10, 4999990) == b"X" * 10, "read of unlinked multi-chunk file")
    os.close(fd1)


def g_perm(d):
    """As an unprivileged user: d holds files made by root (see t3002)."""
    expect_errno(errno.EACCES, "read 0600 file of another user", os.open,
                 os.path.join(d, "secret"), os.O_RDONLY)
    expect_errno(errno.EACCES, "write 0644 file of another user", os.open,
                 os.path.join(d, "public"), os.O_WRONLY)
    check(read_file(os.path.join(d, "public")) == b"public", "read 0644 file")
    expect_errno(errno.EACCES, "create in 0755 dir of another user", os.open,
                 os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY)
    expect_errno(errno.EACCES, "unlink in 0755 dir of another user", os.unlink,
                 os.path.join(d, "public"))
    expect_errno(errno.EACCES, "mkdir in 0755 dir of another user", os.mkdir,
                 os.path.join(d, "nd"))
    expect_errno(errno.EACCES, "lookup in 0700 dir", os.stat,
                 os.path.join(d, "private", "f"))
    expect_errno(errno.EACCES, "readdir of 0300 dir", os.listdir,
                 os.path.join(d, "wronly"))
    expect_errno(errno.EPERM, "chmod of another user's file", os.chmod,
                 os.path.join(d, "public"), 0o777)
    expect_errno(errno.EPERM, "chown to another user", os.chown,
                 os.path.join(d, "mine"), 0, -1)
    expect_errno(errno.EACCES, "open FIFO of another user for writing", os.open,
                 os.path.join(d, "fifo"), os.O_WRONLY | os.O_NONBLOCK)
    expect_errno(errno.EACCES, "exec bit missing", os.execv,
                 os.path.join(d, "public"), ["x"])
    # sticky /tmp-like directory: cannot remove another user's file
    expect_errno(errno.EPERM, "unlink another user's file in sticky dir",
                 os.unlink, os.path.join(d, "sticky", "rootfile"))
    # what the user owns works
    mine = os.path.join(d, "mine")
    write_file(mine, b"ok")
    os.chmod(mine, 0o600)
    check(read_file(mine) == b"ok", "owner reads own file")
    write_file(os.path.join(d, "sticky", "userfile"), b"u")
    os.unlink(os.path.join(d, "sticky", "userfile"))
    # group access through a supplementary group
    check(read_file(os.path.join(d, "groupfile")) == b"group",
          "read through a supplementary group")
    expect_errno(errno.EPERM, "utimes of another user's file", os.utime,
                 os.path.join(d, "public"), (1, 1))
    expect_errno(errno.EACCES, "setxattr user.* on another user's file",
                 os.setxattr, os.path.join(d, "public"), "user.x", b"1")


GROUPS = {
    "open": g_open, "dirs": g_dirs, "rename": g_rename, "links": g_links,
    "xattr": g_xattr, "attr": g_attr, "sparse": g_sparse,
    "unlinked": g_unlinked, "perm": g_perm,
}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    top = sys.argv[1]
    names = sys.argv[2:] or [n for n in GROUPS if n != "perm"]
    for n in names:
        if n == "perm":
            GROUPS[n](top)
            continue
        d = os.path.join(top, n)
        os.mkdir(d)
        try:
            GROUPS[n](d)
        except Exception as e:  # an unexpected error fails the group
            check(False, "%s: unexpected %r" % (n, e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
