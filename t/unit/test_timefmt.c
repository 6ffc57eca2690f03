/* Tests of timefmt: MicroTime formatting and RFC 3339 parsing. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "timefmt.h"

struct fmt_case {
	int64_t		 us;
	const char	*want;
};

static const struct fmt_case fmt_cases[] = {
	{ 0, "1970-01-01T00:00:00.000000Z" },
	{ 1, "1970-01-01T00:00:00.000001Z" },
	{ 1795452000123456LL, "2026-11-23T16:40:00.123456Z" },
	{ -1, "1969-12-31T23:59:59.999999Z" },
	{ 951782400000000LL, "2000-02-29T00:00:00.000000Z" },
};

START_TEST(test_timefmt_micro_table)
{
	char buf[TIMEFMT_MICRO_LEN];
	int64_t back = 0;
	char *cause = NULL;

	timefmt_micro(fmt_cases[_i].us, buf);
	ck_assert_str_eq(buf, fmt_cases[_i].want);
	ck_assert_uint_eq(strlen(buf), TIMEFMT_MICRO_LEN - 1);
	ck_assert_int_eq(timefmt_parse(buf, &back, &cause), 0);
	ck_assert_int_eq(back, fmt_cases[_i].us);
}
END_TEST

START_TEST(test_timefmt_micro_out_of_range)
{
	char buf[TIMEFMT_MICRO_LEN];

	timefmt_micro(INT64_MAX, buf);
	ck_assert_uint_eq(strlen(buf), TIMEFMT_MICRO_LEN - 1);
	timefmt_micro(INT64_MIN, buf);
	ck_assert_uint_eq(strlen(buf), TIMEFMT_MICRO_LEN - 1);
}
END_TEST

struct parse_case {
	const char	*in;
	int		 rc;
	int64_t		 want;
};

static const struct parse_case parse_cases[] = {
	{ "2026-11-23T16:40:00Z", 0, 1795452000000000LL },
	{ "2026-11-23T16:40:00.5Z", 0, 1795452000500000LL },
	{ "2026-11-23T16:40:00.123456789Z", 0, 1795452000123456LL },
	{ "2026-11-23T17:40:00+01:00", 0, 1795452000000000LL },
	{ "2026-11-23T15:10:00-01:30", 0, 1795452000000000LL },
	{ "2026-11-23t16:40:00z", 0, 1795452000000000LL },
	{ "2026-11-23T16:40:00.1234567890Z", -1, 0 },
	{ "2026-11-23T16:40:00.Z", -1, 0 },
	{ "2026-11-23T16:40:00", -1, 0 },
	{ "2026-11-23 16:40:00Z", -1, 0 },
	{ "2026-13-01T00:00:00Z", -1, 0 },
	{ "2026-02-29T00:00:00Z", -1, 0 },
	{ "2024-02-29T00:00:00Z", 0, 1709164800000000LL },
	{ "2026-11-23T24:00:00Z", -1, 0 },
	{ "2026-11-23T16:40:00Zjunk", -1, 0 },
	{ "", -1, 0 },
	{ "\xff\xff\xff\xff", -1, 0 },
	{ "2026-11-23T16:40:00+25:00", -1, 0 },
};

START_TEST(test_timefmt_parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	int64_t v = 0;
	char *cause = NULL;
	int rc = timefmt_parse(c->in, &v, &cause);

	ck_assert_msg(rc == c->rc, "input \"%s\": rc %d", c->in, rc);
	if (rc == 0)
		ck_assert_int_eq(v, c->want);
	else {
		ck_assert_ptr_nonnull(strstr(cause, "is not RFC 3339"));
		free(cause);
	}
}
END_TEST

START_TEST(test_timefmt_clocks)
{
	int64_t w0 = (int64_t)time(NULL), now = timefmt_now_us(), m0, m1;

	/* The wall clock agrees with time(2) to the second. */
	ck_assert_int_ge(now / 1000000, w0);
	ck_assert_int_le(now / 1000000, w0 + 1);
	m0 = timefmt_mono_ms();
	m1 = timefmt_mono_ms();
	ck_assert_int_ge(m1, m0);
	ck_assert_int_gt(m0, 0);
}
END_TEST

/* Assemble the suite. */
static Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_timefmt_micro_table, 0, N_CASES(fmt_cases));
	tcase_add_test(tc, test_timefmt_micro_out_of_range);
	tcase_add_loop_test(tc, test_timefmt_parse_table, 0, N_CASES(parse_cases));
	tcase_add_test(tc, test_timefmt_clocks);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(timefmt_suite)
