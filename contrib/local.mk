# contrib/: test runner, quickstart, benchmarks, systemd units.
dist_noinst_SCRIPTS += %reldir%/run-tests %reldir%/quickstart \
	%reldir%/deps.sh %reldir%/bench/cksum-bench
EXTRA_DIST += .ci/run t/lsan.supp

noinst_PROGRAMS += %reldir%/bench/cksum_bench
%canon_reldir%_bench_cksum_bench_SOURCES = %reldir%/bench/cksum_bench.c
%canon_reldir%_bench_cksum_bench_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) -O2
%canon_reldir%_bench_cksum_bench_LDADD = $(XXHASH_LIBS)

include %reldir%/ops.mk
