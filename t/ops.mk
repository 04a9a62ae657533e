# Tests of the operations area: gannetctl, units, man pages, metrics.
GN_TT_SOURCES += t/helper/tt-ops.c

check_PROGRAMS += t/unit/check_metrics
TESTS += t/unit/check_metrics
t_unit_check_metrics_SOURCES = t/unit/check_metrics.c
t_unit_check_metrics_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_metrics_LDADD = $(UNIT_LIBS)

GN_INTEGRATION_TESTS += t/t9001-ops-man.sh t/t9002-ops-units.sh \
	t/t9003-ops-notify.sh t/t9004-ops-gannetctl.sh t/t9005-ops-metrics.sh \
	t/metrics-check.py

# gannetctl's output layer, compiled in (gannetctl is a program, not a library).
check_PROGRAMS += t/unit/check_ctl
TESTS += t/unit/check_ctl
t_unit_check_ctl_SOURCES = t/unit/check_ctl.c fs/ctl_out.c fs/ctl_i.h
t_unit_check_ctl_CFLAGS = $(UNIT_CFLAGS)
t_unit_check_ctl_LDADD = $(UNIT_LIBS)
