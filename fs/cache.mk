# fs/cache.mk - the client's RAM read cache and its unit test.  libfs puts
# $(GN_FS_CACHE_SOURCES) in its sources.
GN_FS_CACHE_SOURCES = %reldir%/cache.c %reldir%/cache.h

check_PROGRAMS += t/unit/check_fs_cache
TESTS += t/unit/check_fs_cache
t_unit_check_fs_cache_SOURCES = t/unit/check_fs_cache.c $(GN_FS_CACHE_SOURCES)
t_unit_check_fs_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_fs_cache_LDADD = libcommon.la libproto.la $(CHECK_LIBS)
