# Tests of fs/ (the FUSE client).  Integration scripts t/t3xxx-*.sh need
# /dev/fuse and root; they skip (77) otherwise.
check_PROGRAMS += t/unit/check_fs_chunkmap t/unit/check_fs_io
TESTS += t/unit/check_fs_chunkmap t/unit/check_fs_io
t_unit_check_fs_chunkmap_SOURCES = t/unit/check_fs_chunkmap.c
t_unit_check_fs_chunkmap_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_fs_chunkmap_LDADD = libfs.la $(UNIT_LIBS) $(FUSE_LIBS) $(XXHASH_LIBS)
t_unit_check_fs_io_SOURCES = t/unit/check_fs_io.c
t_unit_check_fs_io_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_fs_io_LDADD = libfs.la $(UNIT_LIBS) $(FUSE_LIBS) $(XXHASH_LIBS)

GN_INTEGRATION_TESTS += t/t3000-fs-mount.sh t/t3001-fs-posix.sh \
	t/t3002-fs-perm.sh t/t3003-fs-data.sh t/t3004-fs-two-mounts.sh \
	t/t3005-fs-ds-fault.sh t/t3006-fs-mds-fault.sh t/t3007-fs-programs.sh \
	t/t3808-fs-long-write.sh t/t3809-fs-warmup.sh t/t3810-fs-prefetch-list.sh t/t3811-fs-replica-dies.sh t/t3812-fs-replica-hangs.sh
EXTRA_DIST += t/helper/fs-posix.py t/helper/fs-randio.py
