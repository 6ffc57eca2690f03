/* Tests of backoff: jittered exponential delays. */
#include "config.h"

#include <check.h>
#include <stdint.h>

#include "backoff.h"
#include "check_main.h"

static const struct backoff_policy pol = { 100, 10000, 0 };

START_TEST(test_backoff_bounds_every_attempt)
{
	/* Attempt a: delay within [d/2, d] with d = min(cap, base * 2^a). */
	for (unsigned a = 0; a < 80; a++) {
		int64_t d = a < 20 ? 100LL << a : 10000;

		if (d > 10000)
			d = 10000;
		for (uint64_t r = 0; r < 2000; r += 7) {
			int64_t v = backoff_delay(&pol, a, r * 0x9e3779b97f4a7c15ULL, -1);

			ck_assert_int_ge(v, d - d / 2);
			ck_assert_int_le(v, d);
		}
		ck_assert_int_eq(backoff_delay(&pol, a, 0, -1), d - d / 2);
		ck_assert_int_eq(backoff_delay(&pol, a, (uint64_t)(d / 2), -1), d);
	}
}
END_TEST

START_TEST(test_backoff_max_attempts)
{
	struct backoff_policy p = { 10, 1000, 3 };

	ck_assert_int_ge(backoff_delay(&p, 2, 0, -1), 0);
	ck_assert_int_eq(backoff_delay(&p, 3, 0, -1), -1);
	ck_assert_int_eq(backoff_delay(&p, UINT32_MAX, 0, -1), -1);
}
END_TEST

START_TEST(test_backoff_retry_after)
{
	ck_assert_int_eq(backoff_delay(&pol, 0, 0, 5000), 5000);
	/* Shorter than the computed delay: the computed one wins. */
	ck_assert_int_eq(backoff_delay(&pol, 10, 0, 10), 5000);
	/* Absurd server values are capped at 10 times the ceiling. */
	ck_assert_int_eq(backoff_delay(&pol, 0, 0, INT64_MAX), 100000);
	ck_assert_int_eq(backoff_delay(&pol, 0, 0, 0), 50);
}
END_TEST

START_TEST(test_backoff_degenerate_policy)
{
	struct backoff_policy zero = { 0, 0, 0 }, inv = { 500, 100, 0 };
	struct backoff_policy huge = { 1, INT64_MAX, 0 };

	ck_assert_int_eq(backoff_delay(&zero, 5, 12345, -1), 1);
	ck_assert_int_le(backoff_delay(&inv, 5, 12345, -1), 500);
	ck_assert_int_ge(backoff_delay(&inv, 5, 12345, -1), 250);
	ck_assert_int_gt(backoff_delay(&huge, 200, UINT64_MAX, -1), 0);
	ck_assert_int_gt(backoff_delay(&huge, 0, 0, INT64_MAX), 0);
}
END_TEST

/* Assemble the suite. */
static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_backoff_bounds_every_attempt);
	tcase_add_test(tc, test_backoff_max_attempts);
	tcase_add_test(tc, test_backoff_retry_after);
	tcase_add_test(tc, test_backoff_degenerate_policy);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(backoff_suite)
