/* Tests of the twa command line, run as a user would run it. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "xalloc.h"

/* Run "twa ARGS" with stdin from a file (or /dev/null); return its exit status and output. */
static int
run_twa(const char *args, const char *stdin_path, char **out, char **err)
{
	char *twa = proc_buildpath("twa"), *cmd, *o = xstrdup("/tmp/twa-cli-out.XXXXXX"),
	    *e = xstrdup("/tmp/twa-cli-err.XXXXXX");
	int fo = mkstemp(o), fe = mkstemp(e), st;
	FILE *f;
	long n;

	ck_assert_int_ge(fo, 0);
	ck_assert_int_ge(fe, 0);
	cmd = xasprintf("'%s' %s <%s >%s 2>%s", twa, args,
	    stdin_path != NULL ? stdin_path : "/dev/null", o, e);
	st = system(cmd);
	for (int i = 0; i < 2; i++) {
		const char *path = i == 0 ? o : e;
		char **dst = i == 0 ? out : err;

		f = fopen(path, "r");
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		*dst = xcalloc(1, (size_t)n + 1);
		if (n > 0 && fread(*dst, 1, (size_t)n, f) != (size_t)n)
			ck_abort_msg("short read");
		fclose(f);
		unlink(path);
	}
	close(fo);
	close(fe);
	free(cmd);
	free(twa);
	free(o);
	free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_cli_version)
{
	char *out, *err;

	ck_assert_int_eq(run_twa("version", NULL, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "twa " PACKAGE_VERSION "\n"));
	ck_assert_ptr_nonnull(strstr(out, "build options: sanitizers="));
	ck_assert_ptr_nonnull(strstr(out, "grpc"));
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("version extra", NULL, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unexpected argument \"extra\""));
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_usage_and_unknown)
{
	char *out, *err;

	ck_assert_int_eq(run_twa("", NULL, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "usage: twa COMMAND"));
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("--help", NULL, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "annotations"));
	ck_assert_ptr_nonnull(strstr(out, "build-id"));
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("deploy", NULL, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command \"deploy\""));
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("version --bogus", NULL, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown option \"--bogus\""));
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_help_for_each_command)
{
	const char *cmds[] = { "version", "annotations", "build-id" };

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *args = xasprintf("%s --help", cmds[i]), *out, *err, *want;

		ck_assert_int_eq(run_twa(args, NULL, &out, &err), 0);
		want = xasprintf("usage: twa %s", cmds[i]);
		ck_assert_msg(strstr(out, want) != NULL, "%s: %s", cmds[i], out);
		free(want);
		free(args);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(test_cli_annotations)
{
	char *out, *err;

	ck_assert_int_eq(run_twa("annotations", NULL, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "twa.dev/ramp-steps  (steps, default: 10%/5m,50%/10m)"));
	ck_assert_ptr_nonnull(strstr(out, "twa.dev/agent-memory"));
	free(out);
	free(err);
}
END_TEST

/* Write text to a temporary file. Caller frees the path and unlinks the file. */
static char *
temp_file(const char *text)
{
	char *path = xstrdup("/tmp/twa-cli-in.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_cli_build_id)
{
	char *dep = temp_file("{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"metadata\":{},"
	    "\"spec\":{\"containers\":[{\"name\":\"worker\",\"image\":\"busybox\"}]}}}}");
	char *ctr = temp_file("{\"name\":\"worker\",\"image\":\"busybox\"}");
	char *bad = temp_file("{\"image\":");
	char *args, *out, *err;

	args = xasprintf("build-id %s", dep);
	ck_assert_int_eq(run_twa(args, NULL, &out, &err), 0);
	ck_assert_str_eq(out, "busybox-86f4436baf\n");
	free(args);
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("build-id", ctr, &out, &err), 0);
	ck_assert_str_eq(out, "busybox-86f4436baf\n");
	free(out);
	free(err);
	args = xasprintf("build-id %s", bad);
	ck_assert_int_eq(run_twa(args, NULL, &out, &err), 1);
	ck_assert_ptr_nonnull(strstr(err, "invalid JSON at line 1"));
	free(args);
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("build-id /nonexistent/x.json", NULL, &out, &err), 1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.json"));
	free(out);
	free(err);
	ck_assert_int_eq(run_twa("build-id a b", NULL, &out, &err), 2);
	free(out);
	free(err);
	unlink(dep);
	unlink(ctr);
	unlink(bad);
	free(dep);
	free(ctr);
	free(bad);
}
END_TEST

/* Assemble the suite. */
static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cli_version);
	tcase_add_test(tc, test_cli_usage_and_unknown);
	tcase_add_test(tc, test_cli_help_for_each_command);
	tcase_add_test(tc, test_cli_annotations);
	tcase_add_test(tc, test_cli_build_id);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(cli_suite)
