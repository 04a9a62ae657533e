/* check_metrics.c - the metrics registry and its text rendering.  The
 * HTTP endpoint is tested by t/t9005-ops-metrics.sh (no network here). */
#include "config.h"
#include "common/metrics.h"

#include "t/unit/unit.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The rendered text, freed by the caller. */
static char *render(void)
{
	char *out = NULL;
	size_t len = 0;

	ck_assert_int_eq(gn_metrics_render(&out, &len), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

START_TEST(counter_and_same_handle)
{
	struct gn_metric *a = gn_metric_counter("t_requests_total", "requests", NULL);
	struct gn_metric *b = gn_metric_counter("t_requests_total", "requests", "");
	char *t;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);
	gn_metric_inc(a);
	gn_metric_add(b, 41);
	ck_assert(gn_metric_value(a) == 42);
	t = render();
	ck_assert(has_line(t, "# HELP t_requests_total requests"));
	ck_assert(has_line(t, "# TYPE t_requests_total counter"));
	ck_assert(has_line(t, "t_requests_total 42"));
	free(t);
}
END_TEST

START_TEST(labels_escaped_and_grouped)
{
	struct gn_metric *x = gn_metric_counter("t_err_total", "errors", "kind=io");
	struct gn_metric *y = gn_metric_counter("t_err_total", "errors",
						"kind=a\"b\\c\nd,ds=3");
	char *t, *first, *second, *other;

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_ne(x, y);
	gn_metric_add(y, 7);
	/* A family registered between the two series must not split them. */
	gn_metric_gauge("t_between", "between", NULL);
	t = render();
	ck_assert(has_line(t, "t_err_total{kind=\"io\"} 0"));
	ck_assert(has_line(t, "t_err_total{kind=\"a\\\"b\\\\c\\nd\",ds=\"3\"} 7"));
	first = strstr(t, "t_err_total{kind=\"io\"}");
	second = strstr(t, "t_err_total{kind=\"a");
	other = strstr(t, "# TYPE t_between");
	ck_assert(first && second && other);
	ck_assert(first < second && second < other);
	free(t);
}
END_TEST

START_TEST(gauge_values)
{
	struct gn_metric *g = gn_metric_gauge("t_temp", "temp", NULL);
	char *t;

	gn_metric_set(g, 10);
	gn_metric_gauge_add(g, -12.5);
	ck_assert(gn_metric_value(g) == -2.5);
	t = render();
	ck_assert(has_line(t, "t_temp -2.5"));
	free(t);
	gn_metric_set(g, NAN);
	t = render();
	ck_assert(has_line(t, "t_temp NaN"));
	free(t);
	gn_metric_set(g, INFINITY);
	t = render();
	ck_assert(has_line(t, "t_temp +Inf"));
	free(t);
}
END_TEST

START_TEST(histogram_cumulative)
{
	static const double b[] = { 0.1, 1, 10 };
	struct gn_metric *h = gn_metric_histogram("t_lat_seconds", "lat", "op=r", b, 3);
	char *t;

	ck_assert_ptr_nonnull(h);
	gn_metric_observe(h, 0.1);	/* le is inclusive */
	gn_metric_observe(h, 0.5);
	gn_metric_observe(h, 0.5);
	gn_metric_observe(h, 100);
	gn_metric_observe(h, NAN);	/* ignored */
	t = render();
	ck_assert(has_line(t, "# TYPE t_lat_seconds histogram"));
	ck_assert(has_line(t, "t_lat_seconds_bucket{op=\"r\",le=\"0.1\"} 1"));
	ck_assert(has_line(t, "t_lat_seconds_bucket{op=\"r\",le=\"1\"} 3"));
	ck_assert(has_line(t, "t_lat_seconds_bucket{op=\"r\",le=\"10\"} 3"));
	ck_assert(has_line(t, "t_lat_seconds_bucket{op=\"r\",le=\"+Inf\"} 4"));
	ck_assert(has_line(t, "t_lat_seconds_sum{op=\"r\"} 101.1"));
	ck_assert(has_line(t, "t_lat_seconds_count{op=\"r\"} 4"));
	free(t);
}
END_TEST

START_TEST(bad_registrations)
{
	static const double unsorted[] = { 1, 0.5 };

	ck_assert_ptr_null(gn_metric_counter("9starts_with_digit", "x", NULL));
	ck_assert_ptr_null(gn_metric_counter("has-dash", "x", NULL));
	ck_assert_ptr_null(gn_metric_counter("t_ok", "x", "novalue"));
	ck_assert_ptr_null(gn_metric_counter("t_ok", "x", "le=1"));
	ck_assert_ptr_null(gn_metric_counter("t_ok", "x", "bad key=1"));
	ck_assert_ptr_null(gn_metric_histogram("t_h", "x", NULL, unsorted, 2));
	ck_assert_ptr_nonnull(gn_metric_counter("t_typed", "x", NULL));
	ck_assert_ptr_null(gn_metric_gauge("t_typed", "x", NULL));
	/* Updates through NULL handles are no-ops, not crashes. */
	gn_metric_inc(NULL);
	gn_metric_set(NULL, 1);
	gn_metric_observe(NULL, 1);
	gn_metrics_rpc_done(NULL, 0, 1);
	ck_assert(gn_metric_value(NULL) == 0);
}
END_TEST

START_TEST(rpc_series)
{
	struct gn_rpc_metrics *m = gn_metrics_rpc_method(GN_METRICS_SERVER,
							 "/gannet.Mds/Lookup");
	char *t;

	ck_assert_ptr_eq(m, gn_metrics_rpc_method(GN_METRICS_SERVER,
						  "/gannet.Mds/Lookup"));
	ck_assert_ptr_ne(m, gn_metrics_rpc_method(GN_METRICS_CLIENT,
						  "/gannet.Mds/Lookup"));
	gn_metrics_rpc_done(m, 0, 2000000);	/* 2 ms */
	gn_metrics_rpc_done(m, 5, 1000);	/* NOT_FOUND */
	gn_metrics_rpc_done(m, 5, 1000);
	gn_metrics_rpc_done(m, 99, 1000);	/* out of range -> UNKNOWN */
	t = render();
	ck_assert(has_line(t, "gannet_rpc_server_requests_total{method=\"/gannet.Mds/Lookup\"} 4"));
	ck_assert(has_line(t, "gannet_rpc_server_errors_total{method=\"/gannet.Mds/Lookup\",code=\"NOT_FOUND\"} 2"));
	ck_assert(has_line(t, "gannet_rpc_server_errors_total{method=\"/gannet.Mds/Lookup\",code=\"UNKNOWN\"} 1"));
	ck_assert(has_line(t, "gannet_rpc_server_duration_seconds_count{method=\"/gannet.Mds/Lookup\"} 4"));
	ck_assert(has_line(t, "gannet_rpc_server_duration_seconds_bucket{method=\"/gannet.Mds/Lookup\",le=\"0.0025\"} 4"));
	ck_assert(has_line(t, "gannet_rpc_server_duration_seconds_bucket{method=\"/gannet.Mds/Lookup\",le=\"0.001\"} 3"));
	free(t);
}
END_TEST

static int collected;

static void collect(void *arg)
{
	collected++;
	gn_metric_set(gn_metric_gauge("t_collected", "set at scrape", NULL),
		      *(double *)arg);
}

START_TEST(collector_runs_each_scrape)
{
	static double v = 7;
	char *t;

	gn_metrics_add_collector(collect, &v);
	t = render();
	ck_assert_int_eq(collected, 1);
	ck_assert(has_line(t, "t_collected 7"));
	free(t);
	v = 8;
	t = render();
	ck_assert_int_eq(collected, 2);
	ck_assert(has_line(t, "t_collected 8"));
	free(t);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, counter_and_same_handle);
	tcase_add_test(tc, labels_escaped_and_grouped);
	tcase_add_test(tc, gauge_values);
	tcase_add_test(tc, histogram_cumulative);
	tcase_add_test(tc, bad_registrations);
	tcase_add_test(tc, rpc_series);
	tcase_add_test(tc, collector_runs_each_scrape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return gn_unit_run(metrics_suite());
}
