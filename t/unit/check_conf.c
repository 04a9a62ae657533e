/* check_conf.c - gannet.conf parsing: values, defaults, FILE:LINE errors,
 * command-line overrides; and the parsers of common/util.h. */
#include "config.h"
#include "common/conf.h"
#include "common/util.h"

#include "t/unit/unit.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_conf(const char *text)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/check_conf.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

START_TEST(test_defaults)
{
	struct gn_conf c;

	gn_conf_init(&c);
	ck_assert_str_eq(c.mds.listen, "0.0.0.0:9400");
	ck_assert_str_eq(c.ds.listen, "0.0.0.0:9410");
	ck_assert_uint_eq(c.client.cache_size, 1ULL << 30);
	ck_assert(c.mds.group_commit);
	ck_assert_int_eq(c.mds.metrics_port, 9500);
	gn_conf_release(&c);
}
END_TEST

START_TEST(test_load_values)
{
	struct gn_conf c;
	char err[256];

	write_conf("# comment\n[mds]\nlisten = 127.0.0.1:7000\n"
		   "group_commit = no\n\n[client]\ncache_size = 64M\n"
		   "; another comment\ncache_dir = /var/cache/gannet\n");
	gn_conf_init(&c);
	ck_assert_int_eq(gn_conf_load(&c, path, err, sizeof(err)), 0);
	ck_assert_str_eq(c.mds.listen, "127.0.0.1:7000");
	ck_assert(!c.mds.group_commit);
	ck_assert_uint_eq(c.client.cache_size, 64ULL << 20);
	ck_assert_str_eq(c.client.cache_dir, "/var/cache/gannet");
	gn_conf_release(&c);
	unlink(path);
}
END_TEST

static void expect_error(const char *text, const char *want_suffix)
{
	struct gn_conf c;
	char err[256], want[320];

	write_conf(text);
	gn_conf_init(&c);
	ck_assert_int_eq(gn_conf_load(&c, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	ck_assert_str_eq(err, want);
	/* Nothing applied from a file with an error. */
	ck_assert_str_eq(c.mds.listen, "0.0.0.0:9400");
	gn_conf_release(&c);
	unlink(path);
}

START_TEST(test_unknown_key_line)
{
	expect_error("[mds]\nlisten = 1.2.3.4:1\n\n[client]\ncache_szie = 1G\n",
		     "5: unknown key 'cache_szie'");
}
END_TEST

START_TEST(test_unknown_section)
{
	expect_error("[mds]\nlisten = 1.2.3.4:1\n[mdss]\nx = 1\n",
		     "4: unknown section 'mdss'");
}
END_TEST

START_TEST(test_bad_values)
{
	expect_error("[mds]\nworkers = many\n",
		     "2: bad value 'many' for 'workers': expected an integer from 1 to 1024");
	expect_error("[mds]\nworkers = 0\n",
		     "2: bad value '0' for 'workers': expected an integer from 1 to 1024");
	expect_error("[client]\n\ncache_size = 12Q\n",
		     "3: bad value '12Q' for 'cache_size': expected a size such as 512M or 4G");
	expect_error("[mds]\ngroup_commit = maybe\n",
		     "2: bad value 'maybe' for 'group_commit': expected yes or no");
	expect_error("[mds]\ndefault_compression = lz4\n",
		     "2: bad value 'lz4' for 'default_compression': expected none|zstd");
}
END_TEST

START_TEST(test_syntax_error)
{
	expect_error("[mds]\nlisten = 1.2.3.4:1\nthis line has no equals sign\n",
		     "3: syntax error");
	expect_error("[mds\n", "1: syntax error");
}
END_TEST

START_TEST(test_first_error_reported)
{
	expect_error("[mds]\nbogus1 = 1\nbogus2 = 2\n", "2: unknown key 'bogus1'");
}
END_TEST

START_TEST(test_missing_file)
{
	struct gn_conf c;
	char err[256];

	gn_conf_init(&c);
	ck_assert_int_eq(gn_conf_load(&c, "/nonexistent/gannet.conf", err,
				      sizeof(err)), -ENOENT);
	gn_conf_release(&c);
}
END_TEST

START_TEST(test_flags_override)
{
	struct gn_conf c;
	char err[256];
	bool used;

	gn_conf_init(&c);
	ck_assert_int_eq(gn_conf_flag(&c, "mds", "--data-dir=/srv/m", NULL,
				      &used, err, sizeof(err)), 0);
	ck_assert(!used);
	ck_assert_str_eq(c.mds.data_dir, "/srv/m");
	ck_assert_int_eq(gn_conf_flag(&c, "mds", "--lease-ms", "250", &used,
				      err, sizeof(err)), 0);
	ck_assert(used);
	ck_assert_int_eq(c.mds.lease_ms, 250);
	/* A key of another program's section is not this program's flag. */
	ck_assert_int_eq(gn_conf_flag(&c, "mds", "--cache-size=1G", NULL, &used,
				      err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(gn_conf_flag(&c, "mds", "--workers=-3", NULL, &used,
				      err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(c.mds.workers, 32);
	ck_assert_int_eq(gn_conf_flag(&c, "mds", "--workers", NULL, &used,
				      err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "option '--workers' needs a value");
	ck_assert_int_eq(gn_conf_set(&c, "client", "writeback_limit", "512M",
				     err, sizeof(err)), 0);
	ck_assert_uint_eq(c.client.writeback_limit, 512ULL << 20);
	gn_conf_release(&c);
}
END_TEST

START_TEST(test_parsers)
{
	uint64_t v;
	int64_t i;
	bool b;
	char host[64];
	int port;

	ck_assert_int_eq(gn_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(gn_parse_size("1GiB", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(gn_parse_size("2k", &v), 0);
	ck_assert_uint_eq(v, 2048);
	ck_assert_int_eq(gn_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(gn_parse_size("1X", &v), -EINVAL);
	ck_assert_int_eq(gn_parse_size("99999999999T", &v), -ERANGE);
	ck_assert_int_eq(gn_parse_int("12a", &i), -EINVAL);
	ck_assert_int_eq(gn_parse_int("-12", &i), 0);
	ck_assert_int_eq(i, -12);
	ck_assert_int_eq(gn_parse_bool("On", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(gn_parse_hostport("mds1:9401", host, sizeof(host), &port, 9400), 0);
	ck_assert_str_eq(host, "mds1");
	ck_assert_int_eq(port, 9401);
	ck_assert_int_eq(gn_parse_hostport("mds1", host, sizeof(host), &port, 9400), 0);
	ck_assert_int_eq(port, 9400);
	ck_assert_int_eq(gn_parse_hostport("[::1]:5", host, sizeof(host), &port, 9400), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(gn_parse_hostport("h:70000", host, sizeof(host), &port, 9400), -EINVAL);
	ck_assert_int_eq(gn_parse_hostport(":5", host, sizeof(host), &port, 9400), -EINVAL);
}
END_TEST

int main(void)
{
	TCase *tc;
	Suite *s = gn_unit_suite("conf", &tc);

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_load_values);
	tcase_add_test(tc, test_unknown_key_line);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_first_error_reported);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_flags_override);
	tcase_add_test(tc, test_parsers);
	return gn_unit_run(s);
}
