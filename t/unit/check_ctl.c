/* check_ctl.c - gannetctl's output layer (fs/ctl_out.c): JSON that always
 * parses, aligned tables, value formatting. */
#include "config.h"
#include "fs/ctl_i.h"

#include "t/unit/unit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run fn writing into a memory stream; returns the text (caller frees). */
static char *capture(void (*fn)(FILE *f))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fn(f);
	fclose(f);
	return buf;
}

static void nested_doc(FILE *f)
{
	struct ctl_json j;

	cj_begin(&j, f);
	cj_str(&j, "a", "x");
	cj_arr(&j, "list");
	cj_u64(&j, NULL, 1);
	cj_obj(&j, NULL);
	cj_bool(&j, "t", true);
	cj_i64(&j, "n", -5);
	cj_close_obj(&j);
	cj_obj(&j, NULL);
	cj_close_obj(&j);
	cj_close_arr(&j);
	cj_hex(&j, "id", 0xab);
	cj_str(&j, "null", NULL);
	cj_end_doc(&j);
}

START_TEST(json_structure)
{
	char *s = capture(nested_doc);

	ck_assert_str_eq(s, "{\"a\":\"x\",\"list\":[1,{\"t\":true,\"n\":-5},{}],"
			 "\"id\":\"00000000000000ab\",\"null\":null}\n");
	free(s);
}
END_TEST

static void escapes_doc(FILE *f)
{
	struct ctl_json j;

	cj_begin(&j, f);
	/* quote, backslash, newline, tab, a control byte, valid UTF-8 (é,
	 * a 4-byte emoji), a lone continuation byte, a truncated sequence. */
	cj_str(&j, "s", "q\"b\\n\n\t\x01 caf\xc3\xa9 \xf0\x9f\x90\xa6 \x80 \xe2\x82");
	cj_end_doc(&j);
}

START_TEST(json_escapes_and_bad_utf8)
{
	char *s = capture(escapes_doc);

	ck_assert_str_eq(s, "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001 caf\xc3\xa9 "
			 "\xf0\x9f\x90\xa6 \\u0080 \\u00e2\\u0082\"}\n");
	free(s);
}
END_TEST

static void table_doc(FILE *f)
{
	static const char *const head[] = { "ID", "NAME", "SIZE" };
	struct ctl_table t;

	ctl_table_init(&t, head, 3, 1u << 0 | 1u << 2);
	ctl_table_row(&t, "1", "alpha", "10");
	ctl_table_row(&t, "22", "b", NULL);
	ctl_table_print(&t, f);
	ctl_table_release(&t);
}

START_TEST(table_alignment)
{
	char *s = capture(table_doc);

	/* Right-aligned numbers, left-aligned text, "-" for a missing cell,
	 * no trailing blanks. */
	ck_assert_str_eq(s, "ID  NAME   SIZE\n"
			    " 1  alpha    10\n"
			    "22  b         -\n");
	free(s);
}
END_TEST

START_TEST(formatting)
{
	char b[64];

	ck_assert_str_eq(ctl_fmt_age(b, sizeof(b), 59000000000LL), "59s");
	ck_assert_str_eq(ctl_fmt_age(b, sizeof(b), 3661000000000LL), "1h 1m");
	ck_assert_str_eq(ctl_fmt_age(b, sizeof(b), 90000000000000LL), "1d 1h");
	ck_assert_str_eq(ctl_fmt_age(b, sizeof(b), -5), "0s");
	ck_assert_str_eq(ctl_fmt_time(b, sizeof(b), 0), "-");
	ck_assert_str_eq(ctl_fmt_time(b, sizeof(b), 1700000000123456789LL),
			 "2023-11-14T22:13:20Z");
	ck_assert_str_eq(ctl_ds_state(GANNET__DS_INFO__STATE__DRAINING), "draining");
	ck_assert_str_eq(ctl_ds_state(99), "unknown");
	ck_assert_str_eq(ctl_compression(GANNET__COMPRESSION__COMPRESSION_ZSTD), "zstd");
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("ctl", &tc);

	tcase_add_test(tc, json_structure);
	tcase_add_test(tc, json_escapes_and_bad_utf8);
	tcase_add_test(tc, table_alignment);
	tcase_add_test(tc, formatting);
	return gn_unit_run(s);
}
