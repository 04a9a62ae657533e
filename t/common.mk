# Tests of common/ (owned by the foundation issue).
GN_TT_SOURCES =
GN_TT_LIBS =
GN_INTEGRATION_TESTS =
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PROTOBUF_C_CFLAGS)
UNIT_LIBS = libcommon.la libproto.la $(CHECK_LIBS)
