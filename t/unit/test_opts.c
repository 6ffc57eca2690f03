/* Tests of opts: table-driven command-line parsing and usage. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "opts.h"

enum { O_LISTEN, O_VERBOSE, O_REPLICAS, O_TIMEOUT, O_COUNT };

static const struct opt_spec specs[O_COUNT] = {
	{ "listen", 'l', OPT_STRING, "ADDR", ":9464", "address to listen on", 0, 0 },
	{ "verbose", 'v', OPT_FLAG, NULL, NULL, "log more", 0, 0 },
	{ "replicas", 0, OPT_INT, "N", "2", "how many", 1, 10 },
	{ "timeout", 't', OPT_DURATION, "DURATION", "5s", "per request", 1000, 60000 },
};

struct argv_case {
	const char	*args[6];
	int		 rc;
	int		 next;
	const char	*listen;
	int64_t		 replicas, timeout, verbose;
	const char	*has;
};

static const struct argv_case cases[] = {
	{ { "cmd", NULL }, 0, 1, ":9464", 2, 5000, 0, NULL },
	{ { "cmd", "--listen", ":1", NULL }, 0, 3, ":1", 2, 5000, 0, NULL },
	{ { "cmd", "--listen=:2", "-v", NULL }, 0, 3, ":2", 2, 5000, 1, NULL },
	{ { "cmd", "-l", ":3", "--replicas", "10", NULL }, 0, 5, ":3", 10, 5000, 0, NULL },
	{ { "cmd", "-t", "1m", "rest", NULL }, 0, 3, ":9464", 2, 60000, 0, NULL },
	{ { "cmd", "--", "-v", NULL }, 0, 2, ":9464", 2, 5000, 0, NULL },
	{ { "cmd", "-", NULL }, 0, 1, ":9464", 2, 5000, 0, NULL },
	{ { "cmd", "--help", NULL }, 1, 0, NULL, 0, 0, 0, NULL },
	{ { "cmd", "-v", "-h", NULL }, 1, 0, NULL, 0, 0, 0, NULL },
	{ { "cmd", "--replicas", "11", NULL }, -1, 0, NULL, 0, 0, 0, "option --replicas: \"11\" is out of range (expected 1..10)" },
	{ { "cmd", "--replicas", NULL }, -1, 0, NULL, 0, 0, 0, "option --replicas: expected a N after it" },
	{ { "cmd", "--timeout=2m", NULL }, -1, 0, NULL, 0, 0, 0, "option --timeout: \"2m\" is out of range (expected from 1s to 1m)" },
	{ { "cmd", "--listen=", NULL }, -1, 0, NULL, 0, 0, 0, "option --listen: expected a non-empty ADDR" },
	{ { "cmd", "--verbose=yes", NULL }, -1, 0, NULL, 0, 0, 0, "option --verbose takes no value" },
	{ { "cmd", "--bogus", NULL }, -1, 0, NULL, 0, 0, 0, "unknown option \"--bogus\"" },
	{ { "cmd", "-vl", NULL }, -1, 0, NULL, 0, 0, 0, "unknown option \"-vl\"" },
	{ { "cmd", "--list", "x", NULL }, -1, 0, NULL, 0, 0, 0, "unknown option \"--list\"" },
};

START_TEST(test_opts_table)
{
	const struct argv_case *c = &cases[_i];
	struct opt_value v[O_COUNT];
	char *cause = NULL;
	int argc = 0, next = -1, rc;

	while (c->args[argc] != NULL)
		argc++;
	rc = opts_parse(specs, O_COUNT, argc, (char *const *)c->args, 1, v, &next, &cause);
	ck_assert_msg(rc == c->rc, "case %d: rc %d (%s)", _i, rc, cause ? cause : "");
	if (rc == 0) {
		ck_assert_int_eq(next, c->next);
		ck_assert_str_eq(v[O_LISTEN].str, c->listen);
		ck_assert_int_eq(v[O_REPLICAS].num, c->replicas);
		ck_assert_int_eq(v[O_TIMEOUT].num, c->timeout);
		ck_assert_int_eq(v[O_VERBOSE].num, c->verbose);
		ck_assert(v[O_REPLICAS].set);
	} else if (rc < 0) {
		ck_assert_msg(strstr(cause, c->has) != NULL, "cause \"%s\" lacks \"%s\"",
		    cause, c->has);
		free(cause);
	}
}
END_TEST

START_TEST(test_opts_given_vs_default)
{
	const char *args[] = { "cmd", "--replicas", "2" };
	struct opt_value v[O_COUNT];
	char *cause = NULL;
	int next;

	ck_assert_int_eq(opts_parse(specs, O_COUNT, 3, (char *const *)args, 1, v, &next, &cause), 0);
	ck_assert(v[O_REPLICAS].given);
	ck_assert(!v[O_LISTEN].given);
	ck_assert(v[O_LISTEN].set);
	ck_assert(!v[O_VERBOSE].set);
}
END_TEST

START_TEST(test_opts_usage_lists_everything)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	opts_usage(m, "twa thing [OPTIONS]", "Does a thing.", specs, O_COUNT);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(buf, "usage: twa thing [OPTIONS]"));
	ck_assert_ptr_nonnull(strstr(buf, "-l, --listen ADDR"));
	ck_assert_ptr_nonnull(strstr(buf, "(default: :9464)"));
	ck_assert_ptr_nonnull(strstr(buf, "--replicas N"));
	ck_assert_ptr_nonnull(strstr(buf, "-v, --verbose"));
	ck_assert_ptr_nonnull(strstr(buf, "--help"));
	free(buf);
}
END_TEST

/* Assemble the suite. */
static Suite *
opts_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_opts_table, 0, N_CASES(cases));
	tcase_add_test(tc, test_opts_given_vs_default);
	tcase_add_test(tc, test_opts_usage_lists_everything);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(opts_suite)
