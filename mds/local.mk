# mds/: the metadata server.  libmds.la holds everything but main() so
# that unit tests and test-tool link it; only mds/db*.c include <lmdb.h>.
noinst_LTLIBRARIES += libmds.la
libmds_la_SOURCES = \
	%reldir%/db.c %reldir%/db.h \
	%reldir%/hmap.c %reldir%/hmap.h \
	%reldir%/mds.c %reldir%/mds.h %reldir%/mds_i.h \
	%reldir%/ns_inode.c %reldir%/ns_dir.c %reldir%/ns_rename.c \
	%reldir%/ns_xattr.c %reldir%/ns_file.c %reldir%/ns_ds.c \
	%reldir%/session.c %reldir%/check.c \
	%reldir%/rpc_mds.h %reldir%/rpc_table.c %reldir%/rpc_util.c \
	%reldir%/rpc_ns.c %reldir%/rpc_file.c %reldir%/rpc_admin.c
libmds_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
libmds_la_LIBADD = libcommon.la libproto.la $(LMDB_LIBS)

sbin_PROGRAMS += gannet-mds
gannet_mds_SOURCES = %reldir%/main.c
gannet_mds_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
gannet_mds_LDADD = libmds.la libcommon.la libproto.la $(LMDB_LIBS)

dist_noinst_SCRIPTS += contrib/bench/md-bench
