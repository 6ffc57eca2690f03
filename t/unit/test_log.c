/* Tests of log: logfmt formatting, levels, context and the journal switch. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "log.h"

#define T0 1795452000123456LL	/* 2026-11-23T16:40:00.123456Z */

struct fmt_case {
	const char	*msg;
	struct log_field f;
	const char	*want;
};

static const struct fmt_case fmt_cases[] = {
	{ "started", LS("pod", "orders-v1-abc"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=started pod=orders-v1-abc\n" },
	{ "two words", LI("n", -42),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=\"two words\" n=-42\n" },
	{ "x", LU("n", 18446744073709551615ULL),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x n=18446744073709551615\n" },
	{ "x", LD("ratio", 0.5),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x ratio=0.5\n" },
	{ "x", LS("v", "a=b"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=\"a=b\"\n" },
	{ "x", LS("v", "say \"hi\"\\"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=\"say \\\"hi\\\"\\\\\"\n" },
	{ "line\nbreak", LS("v", "tab\there"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=\"line\\nbreak\" v=\"tab\\there\"\n" },
	{ "x", LS("v", ""),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=\"\"\n" },
	{ "x", LS("v", NULL),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=null\n" },
	{ "x", LS("v", "\x01\x7f"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=\"\\u0001\\u007f\"\n" },
	{ "x", LS("v", "caf\xc3\xa9"),
	  "ts=2026-11-23T16:40:00.123456Z level=info sub=t msg=x v=caf\xc3\xa9\n" },
};

START_TEST(test_log_format_table)
{
	const struct fmt_case *c = &fmt_cases[_i];
	char *line = log_format_line(T0, LOG_LEVEL_INFO, "t", c->msg, NULL, 0,
	    &c->f, 1);

	ck_assert_str_eq(line, c->want);
	free(line);
}
END_TEST

START_TEST(test_log_format_context_and_levels)
{
	struct log_field ctx[] = { LS("pod", "p-1"), LS("role", "leader") };
	char *line = log_format_line(T0, LOG_LEVEL_ERROR, "lease", "lost", ctx, 2,
	    NULL, 0);

	ck_assert_str_eq(line, "ts=2026-11-23T16:40:00.123456Z level=error "
	    "pod=p-1 role=leader sub=lease msg=lost\n");
	free(line);
}
END_TEST

/* Capture what the log macros write at a given threshold. */
static char *
capture(enum log_level threshold)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	log_set_stream(m);
	log_set_level(threshold);
	log_set_context("pod", "p-1");
	log_debug("t", "d", LI("n", 1));
	log_info("t", "i");
	log_warn("t", "w", LS("k", "v"));
	log_error("t", "e");
	log_reset_context();
	log_set_stream(NULL);
	fclose(m);
	return buf;
}

START_TEST(test_log_threshold)
{
	char *all = capture(LOG_LEVEL_DEBUG), *warn = capture(LOG_LEVEL_WARN);

	ck_assert_ptr_nonnull(strstr(all, "level=debug pod=p-1 sub=t msg=d n=1\n"));
	ck_assert_ptr_nonnull(strstr(all, "level=info pod=p-1 sub=t msg=i\n"));
	ck_assert_ptr_null(strstr(warn, "level=debug"));
	ck_assert_ptr_null(strstr(warn, "level=info"));
	ck_assert_ptr_nonnull(strstr(warn, "level=warn pod=p-1 sub=t msg=w k=v\n"));
	ck_assert_ptr_nonnull(strstr(warn, "level=error pod=p-1 sub=t msg=e\n"));
	free(all);
	free(warn);
}
END_TEST

static int side_effects;

/* Counts how often it is evaluated. */
static const char *
expensive(void)
{
	side_effects++;
	return "value";
}

START_TEST(test_log_level_checked_before_formatting)
{
	log_set_level(LOG_LEVEL_ERROR);
	side_effects = 0;
	log_debug("t", "skipped", LS("v", expensive()));
	ck_assert_int_eq(side_effects, 0);
	log_set_level(LOG_LEVEL_INFO);
}
END_TEST

START_TEST(test_log_context_set_replace_clear)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	log_set_stream(m);
	log_set_level(LOG_LEVEL_INFO);
	log_set_context("role", "follower");
	log_set_context("build", "v1-abc");
	log_set_context("role", "leader");
	log_info("t", "a");
	log_set_context("role", NULL);
	log_info("t", "b");
	log_reset_context();
	log_set_stream(NULL);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(buf, "role=leader build=v1-abc sub=t msg=a"));
	ck_assert_ptr_nonnull(strstr(buf, "build=v1-abc sub=t msg=b"));
	ck_assert_ptr_null(strstr(buf, "follower"));
	free(buf);
}
END_TEST

struct level_case {
	const char	*in;
	int		 rc;
	enum log_level	 want;
};

static const struct level_case level_cases[] = {
	{ "debug", 0, LOG_LEVEL_DEBUG }, { "info", 0, LOG_LEVEL_INFO },
	{ "warn", 0, LOG_LEVEL_WARN }, { "error", 0, LOG_LEVEL_ERROR },
	{ "INFO", -1, 0 }, { "", -1, 0 }, { "warning", -1, 0 },
};

START_TEST(test_log_level_parse_table)
{
	enum log_level l = LOG_LEVEL_INFO;

	ck_assert_int_eq(log_level_parse(level_cases[_i].in, &l), level_cases[_i].rc);
	if (level_cases[_i].rc == 0) {
		ck_assert_int_eq(l, level_cases[_i].want);
		ck_assert_str_eq(log_level_name(l), level_cases[_i].in);
	}
}
END_TEST

START_TEST(test_log_journal_detection)
{
	struct stat st;
	char js[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	log_init();
	ck_assert(!log_sink_is_journal());
	setenv("JOURNAL_STREAM", "1:2", 1);
	log_init();
	ck_assert(!log_sink_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	log_init();
	ck_assert(!log_sink_is_journal());
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	log_init();
	ck_assert(log_sink_is_journal());
	/* Writing to a missing journal socket must not crash. */
	log_info("t", "to the journal", LS("k", "v"), LI("n", 1), LD("d", 1.5));
	unsetenv("JOURNAL_STREAM");
	log_init();
	ck_assert(!log_sink_is_journal());
}
END_TEST

/* Assemble the suite. */
static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_log_format_table, 0, N_CASES(fmt_cases));
	tcase_add_test(tc, test_log_format_context_and_levels);
	tcase_add_test(tc, test_log_threshold);
	tcase_add_test(tc, test_log_level_checked_before_formatting);
	tcase_add_test(tc, test_log_context_set_replace_clear);
	tcase_add_loop_test(tc, test_log_level_parse_table, 0, N_CASES(level_cases));
	tcase_add_test(tc, test_log_journal_detection);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(log_suite)
