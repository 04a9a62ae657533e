/* check_status.c - the errno <-> gRPC status table. */
#include "config.h"
#include "common/status.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_known_mappings)
{
	ck_assert_int_eq(gn_errno_to_status(0), GN_STATUS_OK);
	ck_assert_int_eq(gn_errno_to_status(-ENOENT), GN_STATUS_NOT_FOUND);
	ck_assert_int_eq(gn_errno_to_status(ENOENT), GN_STATUS_NOT_FOUND);
	ck_assert_int_eq(gn_errno_to_status(-EEXIST), GN_STATUS_ALREADY_EXISTS);
	ck_assert_int_eq(gn_errno_to_status(-EACCES), GN_STATUS_PERMISSION_DENIED);
	ck_assert_int_eq(gn_errno_to_status(-ENOSPC), GN_STATUS_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(gn_errno_to_status(-ETIMEDOUT), GN_STATUS_DEADLINE_EXCEEDED);
	ck_assert_int_eq(gn_errno_to_status(-GN_ERR_CKSUM), GN_STATUS_DATA_LOSS);
	ck_assert_int_eq(gn_errno_to_status(-EINVAL), GN_STATUS_INVALID_ARGUMENT);
	ck_assert_int_eq(gn_errno_to_status(-ENOSYS), GN_STATUS_UNIMPLEMENTED);
	ck_assert_int_eq(gn_errno_to_status(-12345), GN_STATUS_UNKNOWN);
}
END_TEST

/* Every status maps back to an errno that maps to the same status, so a
 * status without gn-errno metadata still round-trips. */
START_TEST(test_round_trip)
{
	for (int st = 1; st <= 16; st++) {
		int err = gn_status_to_errno(st);
		ck_assert_int_lt(err, 0);
		if (st == GN_STATUS_UNKNOWN)
			continue;
		ck_assert_msg(gn_errno_to_status(err) == (enum gn_status)st,
			      "status %d -> errno %d -> status %d", st, err,
			      gn_errno_to_status(err));
	}
	ck_assert_int_eq(gn_status_to_errno(GN_STATUS_OK), 0);
	ck_assert_int_eq(gn_status_to_errno(GN_STATUS_DATA_LOSS), -GN_ERR_CKSUM);
}
END_TEST

START_TEST(test_names_and_posix)
{
	ck_assert_str_eq(gn_status_name(GN_STATUS_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	ck_assert_str_eq(gn_status_name(99), "UNKNOWN");
	ck_assert_str_eq(gn_strerror(-GN_ERR_CKSUM), "checksum mismatch");
	ck_assert_str_eq(gn_strerror(-ENOENT), strerror(ENOENT));
	ck_assert_int_eq(gn_errno_posix(-GN_ERR_CKSUM), EIO);
	ck_assert_int_eq(gn_errno_posix(-ENOSPC), ENOSPC);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("status", &tc);

	tcase_add_test(tc, test_known_mappings);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_names_and_posix);
	return gn_unit_run(s);
}
