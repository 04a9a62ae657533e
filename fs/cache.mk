# fs/cache.mk - the client's read cache and read-ahead detector, with their
# unit tests.  libfs puts $(GN_FS_CACHE_SRC) in its sources.
GN_FS_CACHE_SRC = %reldir%/cache.c %reldir%/cache.h \
	%reldir%/dcache.c %reldir%/dcache.h \
	%reldir%/readahead.c %reldir%/readahead.h

check_PROGRAMS += t/unit/check_fs_cache t/unit/check_fs_readahead \
	t/unit/check_fs_dcache
TESTS += t/unit/check_fs_cache t/unit/check_fs_readahead \
	t/unit/check_fs_dcache
t_unit_check_fs_cache_SOURCES = t/unit/check_fs_cache.c \
	%reldir%/cache.c %reldir%/cache.h
t_unit_check_fs_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_fs_cache_LDADD = libcommon.la libproto.la $(CHECK_LIBS)
t_unit_check_fs_readahead_SOURCES = t/unit/check_fs_readahead.c \
	%reldir%/readahead.c %reldir%/readahead.h
t_unit_check_fs_readahead_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_fs_readahead_LDADD = $(CHECK_LIBS)
# With the read path in front of the tier: all of libfs.
t_unit_check_fs_dcache_SOURCES = t/unit/check_fs_dcache.c
t_unit_check_fs_dcache_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_fs_dcache_LDADD = libfs.la $(UNIT_LIBS) $(FUSE_LIBS) $(XXHASH_LIBS)
