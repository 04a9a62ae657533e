# Tests of ds/: the chunk store's unit test, the ds-* test-tool
# subcommands (t/helper/tt-ds.c) and the t2xxx integration scripts
# (t/lib-ds.sh holds their helpers for runs with a real MDS).
check_PROGRAMS += t/unit/check_ds_store
TESTS += t/unit/check_ds_store
t_unit_check_ds_store_SOURCES = t/unit/check_ds_store.c
t_unit_check_ds_store_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_ds_store_LDADD = libds.la $(UNIT_LIBS)

GN_TT_SOURCES += t/helper/tt-ds.c

GN_INTEGRATION_TESTS += t/t2001-ds-chain.sh t/t2002-ds-damage.sh \
	t/t2003-ds-crash.sh t/t2004-ds-enospc.sh t/t2005-ds-rereplicate.sh \
	t/t2006-ds-garbage.sh
EXTRA_DIST += t/lib-ds.sh

dist_noinst_SCRIPTS += contrib/bench/ds-bench
