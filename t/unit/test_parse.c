/* Tests of parse: bounded numbers, durations and percentages. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "parse.h"

struct int_case {
	const char	*in;
	int64_t		 min, max;
	int		 rc;
	int64_t		 want;
	const char	*cause_has;
};

static const struct int_case int_cases[] = {
	{ "0", 0, 10, 0, 0, NULL },
	{ "10", 0, 10, 0, 10, NULL },
	{ "11", 0, 10, -1, 0, "out of range (expected 0..10)" },
	{ "-1", 0, 10, -1, 0, "out of range" },
	{ "-5", -10, 10, 0, -5, NULL },
	{ "", 0, 10, -1, 0, "not a whole number" },
	{ "-", 0, 10, -1, 0, "not a whole number" },
	{ "+1", 0, 10, -1, 0, "not a whole number" },
	{ " 1", 0, 10, -1, 0, "not a whole number" },
	{ "1 ", 0, 10, -1, 0, "not a whole number" },
	{ "0x10", 0, 100, -1, 0, "not a whole number" },
	{ "1e3", 0, 10000, -1, 0, "not a whole number" },
	{ "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX, NULL },
	{ "9223372036854775808", 0, INT64_MAX, -1, 0, "out of range" },
	{ "-9223372036854775808", INT64_MIN, 0, 0, INT64_MIN, NULL },
	{ "-9223372036854775809", INT64_MIN, 0, -1, 0, "out of range" },
	{ "99999999999999999999999999", 0, 10, -1, 0, "out of range" },
	{ "007", 0, 10, 0, 7, NULL },
	{ "\xff\xfe", 0, 10, -1, 0, "not a whole number" },
};

START_TEST(test_parse_int_table)
{
	const struct int_case *c = &int_cases[_i];
	int64_t v = -12345;
	char *cause = NULL;
	int rc = parse_int(c->in, c->min, c->max, &v, &cause);

	ck_assert_msg(rc == c->rc, "input \"%s\": rc %d, want %d", c->in, rc, c->rc);
	if (rc == 0) {
		ck_assert_int_eq(v, c->want);
		ck_assert_ptr_null(cause);
	} else {
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, c->cause_has) != NULL,
		    "cause \"%s\" lacks \"%s\"", cause, c->cause_has);
		ck_assert_int_eq(v, -12345);
		free(cause);
	}
}
END_TEST

struct dur_case {
	const char	*in;
	int		 rc;
	int64_t		 want;
	const char	*cause_has;
};

static const struct dur_case dur_cases[] = {
	{ "30s", 0, 30000, NULL },
	{ "5m", 0, 300000, NULL },
	{ "1h30m", 0, 5400000, NULL },
	{ "24h", 0, 86400000, NULL },
	{ "250ms", 0, 250, NULL },
	{ "1.5h", 0, 5400000, NULL },
	{ "0.5s", 0, 500, NULL },
	{ ".5s", 0, 500, NULL },
	{ "2d", 0, 172800000, NULL },
	{ "1m30s500ms", 0, 90500, NULL },
	{ "0", 0, 0, NULL },
	{ "0s", 0, 0, NULL },
	{ "", -1, 0, "is not a duration" },
	{ "30", -1, 0, "is not a duration" },
	{ "s", -1, 0, "is not a duration" },
	{ "5x", -1, 0, "is not a duration" },
	{ "5 m", -1, 0, "is not a duration" },
	{ "-5s", -1, 0, "is not a duration" },
	{ "5mm", -1, 0, "is not a duration" },
	{ "5min", -1, 0, "is not a duration" },
	{ "1.s", 0, 1000, NULL },
	{ ".s", -1, 0, "is not a duration" },
	{ "99999999999999999999h", -1, 0, "out of range" },
	{ "9223372036854775807d", -1, 0, "out of range" },
	{ "400d", -1, 0, "out of range (expected from 0s to 365d)" },
	{ "\xc3\x28s", -1, 0, "is not a duration" },
};

START_TEST(test_parse_duration_table)
{
	const struct dur_case *c = &dur_cases[_i];
	int64_t v = -1;
	char *cause = NULL;
	int rc = parse_duration(c->in, 0, 365LL * 86400000, &v, &cause);

	ck_assert_msg(rc == c->rc, "input \"%s\": rc %d, want %d (%s)", c->in,
	    rc, c->rc, cause != NULL ? cause : "");
	if (rc == 0)
		ck_assert_int_eq(v, c->want);
	else {
		ck_assert_msg(strstr(cause, c->cause_has) != NULL,
		    "cause \"%s\" lacks \"%s\"", cause, c->cause_has);
		free(cause);
	}
}
END_TEST

START_TEST(test_parse_duration_bounds_named)
{
	int64_t v;
	char *cause = NULL;

	ck_assert_int_eq(parse_duration("500ms", 1000, 60000, &v, &cause), -1);
	ck_assert_str_eq(cause, "\"500ms\" is out of range (expected from 1s to 1m)");
	free(cause);
}
END_TEST

START_TEST(test_parse_duration_huge_input)
{
	size_t n = 100000;
	char *s = malloc(n + 2), *cause = NULL;
	int64_t v;

	memset(s, '9', n);
	s[n] = 's';
	s[n + 1] = '\0';
	ck_assert_int_eq(parse_duration(s, 0, INT64_MAX, &v, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "out of range"));
	ck_assert_uint_lt(strlen(cause), 200);
	free(cause);
	free(s);
}
END_TEST

struct fmt_case {
	int64_t		 ms;
	const char	*want;
};

static const struct fmt_case fmt_cases[] = {
	{ 0, "0s" }, { 1, "1ms" }, { 1000, "1s" }, { 90000, "1m30s" },
	{ 5400000, "1h30m" }, { 86400000, "1d" }, { 90061001, "1d1h1m1s1ms" },
	{ -1500, "-1s500ms" },
};

START_TEST(test_parse_duration_format_table)
{
	char buf[PARSE_DURATION_LEN];
	int64_t back;
	char *cause = NULL;

	parse_duration_format(fmt_cases[_i].ms, buf);
	ck_assert_str_eq(buf, fmt_cases[_i].want);
	if (fmt_cases[_i].ms >= 0) {
		ck_assert_int_eq(parse_duration(buf, 0, INT64_MAX, &back, &cause), 0);
		ck_assert_int_eq(back, fmt_cases[_i].ms);
	}
}
END_TEST

START_TEST(test_parse_duration_format_extremes)
{
	char buf[PARSE_DURATION_LEN];

	parse_duration_format(INT64_MAX, buf);
	ck_assert_uint_lt(strlen(buf), PARSE_DURATION_LEN);
	parse_duration_format(INT64_MIN, buf);
	ck_assert_uint_lt(strlen(buf), PARSE_DURATION_LEN);
	ck_assert_int_eq(buf[0], '-');
}
END_TEST

struct pct_case {
	const char	*in;
	int		 rc;
	int		 want;
};

static const struct pct_case pct_cases[] = {
	{ "10%", 0, 10 }, { "1%", 0, 1 }, { "99%", 0, 99 }, { "0%", -1, 0 },
	{ "100%", -1, 0 }, { "%", -1, 0 }, { "10", -1, 0 }, { "10%%", -1, 0 },
	{ "-5%", -1, 0 }, { "5.5%", -1, 0 }, { "", -1, 0 },
	{ "99999999999999999999%", -1, 0 },
};

START_TEST(test_parse_percent_table)
{
	int v = -1;
	char *cause = NULL;
	int rc = parse_percent(pct_cases[_i].in, 1, 99, &v, &cause);

	ck_assert_msg(rc == pct_cases[_i].rc, "input \"%s\"", pct_cases[_i].in);
	if (rc == 0)
		ck_assert_int_eq(v, pct_cases[_i].want);
	else {
		ck_assert_ptr_nonnull(strstr(cause, "expected 1%..99%"));
		free(cause);
	}
}
END_TEST

/* Assemble the suite. */
static Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_int_table, 0, N_CASES(int_cases));
	tcase_add_loop_test(tc, test_parse_duration_table, 0, N_CASES(dur_cases));
	tcase_add_test(tc, test_parse_duration_bounds_named);
	tcase_add_test(tc, test_parse_duration_huge_input);
	tcase_add_loop_test(tc, test_parse_duration_format_table, 0, N_CASES(fmt_cases));
	tcase_add_test(tc, test_parse_duration_format_extremes);
	tcase_add_loop_test(tc, test_parse_percent_table, 0, N_CASES(pct_cases));
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(parse_suite)
