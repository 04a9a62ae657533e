# proto/: the wire format.  protoc-c generates the C code at build time;
# it is compiled into its own library with relaxed warnings.
PROTO_SRC = %reldir%/common.proto %reldir%/diag.proto %reldir%/mds.proto \
	%reldir%/ds.proto
PROTO_GEN_C = $(PROTO_SRC:.proto=.pb-c.c)
PROTO_GEN_H = $(PROTO_SRC:.proto=.pb-c.h)

EXTRA_DIST += $(PROTO_SRC)
BUILT_SOURCES += $(PROTO_GEN_C) $(PROTO_GEN_H)
CLEANFILES += $(PROTO_GEN_C) $(PROTO_GEN_H)

noinst_LTLIBRARIES += libproto.la
nodist_libproto_la_SOURCES = $(PROTO_GEN_C) $(PROTO_GEN_H)
libproto_la_CFLAGS = $(PROTOBUF_C_CFLAGS) $(SAN_CFLAGS) -pthread
libproto_la_LIBADD = $(PROTOBUF_C_LIBS)

%reldir%/%.pb-c.c %reldir%/%.pb-c.h: %reldir%/%.proto
	@$(MKDIR_P) %reldir%
	$(AM_V_GEN)$(PROTOC_C) -I$(srcdir)/%reldir% --c_out=%reldir% $<
