# common/: logging, config, errors, checksums, buffers, daemons and the
# RPC layer (the only code that includes gRPC headers).
noinst_LTLIBRARIES += libcommon.la
libcommon_la_SOURCES = \
	%reldir%/log.c %reldir%/log.h \
	%reldir%/util.c %reldir%/util.h \
	%reldir%/status.c %reldir%/status.h \
	%reldir%/cksum.c %reldir%/cksum.h \
	%reldir%/buf.c %reldir%/buf.h \
	%reldir%/conf.c %reldir%/conf_keys.c %reldir%/conf.h \
	%reldir%/daemon.c %reldir%/daemon.h \
	%reldir%/metrics.c %reldir%/metrics.h \
	%reldir%/rpc.h %reldir%/rpc_i.h %reldir%/rpc.c %reldir%/rpc_client.c \
	%reldir%/rpc_wire.c %reldir%/rpc_diag.c
libcommon_la_CFLAGS = $(AM_CFLAGS) $(GRPC_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(INIH_CFLAGS) $(XXHASH_CFLAGS) $(SYSTEMD_CFLAGS) $(MHD_CFLAGS)
libcommon_la_LIBADD = libproto.la $(GRPC_LIBS) $(PROTOBUF_C_LIBS) \
	$(INIH_LIBS) $(XXHASH_LIBS) $(SYSTEMD_LIBS) $(MHD_LIBS) $(PTHREAD_LIBS) -lm
