# Tests of mds/.
check_PROGRAMS += t/unit/check_mds_ns
TESTS += t/unit/check_mds_ns
t_unit_check_mds_ns_SOURCES = t/unit/check_mds_ns.c
t_unit_check_mds_ns_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_mds_ns_LDADD = libmds.la $(UNIT_LIBS) $(LMDB_LIBS)
check_PROGRAMS += t/unit/check_mds_db
TESTS += t/unit/check_mds_db
t_unit_check_mds_db_SOURCES = t/unit/check_mds_db.c
t_unit_check_mds_db_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_mds_db_LDADD = libmds.la $(UNIT_LIBS) $(LMDB_LIBS)

GN_TT_SOURCES += t/helper/tt-mds.c
GN_TT_LIBS += libmds.la $(LMDB_LIBS)

GN_INTEGRATION_TESTS += t/t1001-mds-namespace.sh t/t1002-mds-sessions.sh \
	t/t1003-mds-restart.sh t/t1004-mds-crash.sh t/t1005-mds-chunks.sh \
	t/t1006-mds-names.sh t/t1007-mds-degraded.sh
