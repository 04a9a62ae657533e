/* check_log.c - log line format: "level subsystem: message", one line. */
#include "config.h"
#include "common/log.h"

#include "t/unit/unit.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_format_plain)
{
	char buf[256];
	int n;

	unsetenv("JOURNAL_STREAM");
	gn_log_init("mds", GN_LOG_INFO);
	n = gn_log_format(buf, sizeof(buf), GN_LOG_ERR,
			  "cannot open '%s' err=%d", "/x", 5);
	ck_assert_str_eq(buf, "error mds: cannot open '/x' err=5");
	ck_assert_int_eq(n, (int)strlen(buf));
}
END_TEST

START_TEST(test_format_journal_priority)
{
	char buf[256];

	setenv("JOURNAL_STREAM", "8:1234", 1);
	gn_log_init("ds", GN_LOG_INFO);
	gn_log_format(buf, sizeof(buf), GN_LOG_WARN, "slow disk ms=%d", 40);
	ck_assert_str_eq(buf, "<4>warn ds: slow disk ms=40");
	unsetenv("JOURNAL_STREAM");
}
END_TEST

START_TEST(test_newlines_folded)
{
	char buf[256];

	gn_log_init("fs", GN_LOG_INFO);
	gn_log_format(buf, sizeof(buf), GN_LOG_INFO, "a\nb\nc");
	ck_assert_str_eq(buf, "info fs: a b c");
}
END_TEST

START_TEST(test_truncated_not_overflowed)
{
	char buf[16];
	int n;

	gn_log_init("fs", GN_LOG_INFO);
	n = gn_log_format(buf, sizeof(buf), GN_LOG_INFO, "%s",
			  "a very long message indeed");
	ck_assert_int_eq(n, 15);
	ck_assert_int_eq(strlen(buf), 15);
}
END_TEST

START_TEST(test_levels)
{
	enum gn_log_level l;

	ck_assert_int_eq(gn_log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, GN_LOG_DEBUG);
	ck_assert_int_eq(gn_log_level_parse("loud", &l), -22);
	gn_log_init("x", GN_LOG_WARN);
	ck_assert(gn_log_enabled(GN_LOG_ERR));
	ck_assert(!gn_log_enabled(GN_LOG_INFO));
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("log", &tc);

	tcase_add_test(tc, test_format_plain);
	tcase_add_test(tc, test_format_journal_priority);
	tcase_add_test(tc, test_newlines_folded);
	tcase_add_test(tc, test_truncated_not_overflowed);
	tcase_add_test(tc, test_levels);
	return gn_unit_run(s);
}
