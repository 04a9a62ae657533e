# ds/: the data server.  libds.la holds everything (tests link it);
# gannet-ds is a thin main.c.
noinst_LTLIBRARIES += libds.la
libds_la_SOURCES = \
	%reldir%/ds.h %reldir%/store.h %reldir%/store_i.h \
	%reldir%/store.c %reldir%/store_io.c %reldir%/store_read.c \
	%reldir%/store_index.c %reldir%/store_share.c \
	%reldir%/rpc_chunk.c %reldir%/rpc_table.c %reldir%/replicate.c \
	%reldir%/mdslink.c %reldir%/scrub.c %reldir%/server.c
libds_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZSTD_CFLAGS) \
	$(XXHASH_CFLAGS)
libds_la_LIBADD = libcommon.la libproto.la $(ZSTD_LIBS) $(XXHASH_LIBS) \
	$(PTHREAD_LIBS)

sbin_PROGRAMS += gannet-ds
gannet_ds_SOURCES = %reldir%/main.c
gannet_ds_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
gannet_ds_LDADD = libds.la libcommon.la libproto.la
