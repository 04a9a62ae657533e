/*
 * unit.h - the part every Check test program shares: one suite with one
 * test case, run forked (Check's default, so a crash fails one test, not
 * the program), exit status EXIT_FAILURE when any test failed.
 *
 *   int main(void)
 *   {
 *           TCase *tc;
 *           Suite *s = gn_unit_suite("log", &tc);
 *           tcase_add_test(tc, test_format_plain);
 *           return gn_unit_run(s);
 *   }
 */
#ifndef GN_UNIT_H
#define GN_UNIT_H

#include <check.h>
#include <stdlib.h>

static inline Suite *gn_unit_suite(const char *name, TCase **tc)
{
	Suite *s = suite_create(name);

	*tc = tcase_create("core");
	suite_add_tcase(s, *tc);
	return s;
}

/* Runs s, frees it, and returns the exit status for main(). */
static inline int gn_unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
