/* Tests of the pure parts of the kube client: JSON Patch, config, errors, Events, versions. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "jsonpatch.h"
#include "kube.h"
#include "kubeconfig.h"
#include "kubeevent.h"

static const struct {
	const char	*in;
	const char	*out;
} escapes[] = {
	{ "plain", "plain" },
	{ "", "" },
	{ "a/b", "a~1b" },
	{ "a~b", "a~0b" },
	{ "~1", "~01" },
	{ "/~", "~1~0" },
	{ "agents.twa.dev/pod-1", "agents.twa.dev~1pod-1" },
	{ "~~//", "~0~0~1~1" },
};

START_TEST(test_jsonpatch_escape)
{
	char *e = jsonpatch_escape(escapes[_i].in);

	ck_assert_str_eq(e, escapes[_i].out);
	free(e);
}
END_TEST

START_TEST(test_jsonpatch_pointer)
{
	const char *segs[] = { "metadata", "annotations", "twa.dev/status" };
	const char *arr[] = { "spec", "containers", "-" };
	char *p = jsonpatch_pointer(segs, 3);

	ck_assert_str_eq(p, "/metadata/annotations/twa.dev~1status");
	free(p);
	p = jsonpatch_pointer(arr, 3);
	ck_assert_str_eq(p, "/spec/containers/-");
	free(p);
	p = jsonpatch_pointer(NULL, 0);
	ck_assert_str_eq(p, "");
	free(p);
}
END_TEST

START_TEST(test_jsonpatch_ops)
{
	struct jsonpatch *p = jsonpatch_new();
	char *s, *cause = NULL;
	const char *seg[] = { "x" };

	jsonpatch_test(p, json_string("a"), "spec", "holderIdentity", NULL);
	jsonpatch_add(p, json_integer(3), "spec", "n", NULL);
	jsonpatch_replace(p, json_null(), "a~b", NULL);
	jsonpatch_remove(p, "metadata", "annotations", "k/x", NULL);
	ck_assert_uint_eq(jsonpatch_len(p), 4);
	s = jsonpatch_dump(p);
	ck_assert_str_eq(s, "[{\"op\":\"test\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"a\"},{\"op\":\"add\",\"path\":\"/spec/n\",\"value\":3},"
	    "{\"op\":\"replace\",\"path\":\"/a~0b\",\"value\":null},"
	    "{\"op\":\"remove\",\"path\":\"/metadata/annotations/k~1x\"}]");
	free(s);
	/* hostile: unknown op, missing value, value on remove */
	ck_assert_int_eq(jsonpatch_op(p, "move", seg, 1, json_true(), &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "move"));
	free(cause);
	ck_assert_int_eq(jsonpatch_op(p, "add", seg, 1, NULL, &cause), -1);
	free(cause);
	ck_assert_int_eq(jsonpatch_op(p, "remove", seg, 1, json_true(), &cause),
	    -1);
	free(cause);
	ck_assert_uint_eq(jsonpatch_len(p), 4);
	jsonpatch_free(p);
}
END_TEST

START_TEST(test_server_url)
{
	char *u = kube_server_url("10.0.0.1", "443");

	ck_assert_str_eq(u, "https://10.0.0.1:443");
	free(u);
	u = kube_server_url("fd00::1", "6443");
	ck_assert_str_eq(u, "https://[fd00::1]:6443");
	free(u);
	u = kube_server_url("[fd00::1]", "6443");
	ck_assert_str_eq(u, "https://[fd00::1]:6443");
	free(u);
	u = kube_server_url("api.example", "8443");
	ck_assert_str_eq(u, "https://api.example:8443");
	free(u);
}
END_TEST

START_TEST(test_config_explicit)
{
	struct kube_config c;
	char *cause = NULL;

	ck_assert_int_eq(kube_config_explicit(&c, "https://127.0.0.1:1/",
	    "/ca", NULL, "ns", &cause), 0);
	ck_assert_str_eq(c.server, "https://127.0.0.1:1");
	ck_assert_ptr_null(c.token_file);
	ck_assert_str_eq(c.namespace, "ns");
	kube_config_clear(&c);
	ck_assert_int_eq(kube_config_explicit(&c, "ftp://x", NULL, NULL, NULL,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "ftp://x"));
	free(cause);
	ck_assert_int_eq(kube_config_explicit(&c, NULL, NULL, NULL, NULL,
	    &cause), -1);
	free(cause);
}
END_TEST

/* Write text to dir/name. */
static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_config_incluster)
{
	char dir[] = "/tmp/twa-sa-XXXXXX", *cause = NULL;
	struct kube_config c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(kube_config_incluster(&c, dir, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "KUBERNETES_SERVICE_HOST"));
	free(cause);
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "99999", 1);
	ck_assert_int_eq(kube_config_incluster(&c, dir, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "KUBERNETES_SERVICE_PORT"));
	free(cause);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* no namespace file yet */
	ck_assert_int_eq(kube_config_incluster(&c, dir, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "namespace"));
	free(cause);
	write_file(dir, "namespace", "workers\n");
	ck_assert_int_eq(kube_config_incluster(&c, dir, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "ca.crt"));
	free(cause);
	write_file(dir, "ca.crt", "x");
	write_file(dir, "token", "tok\n");
	ck_assert_int_eq(kube_config_incluster(&c, dir, &cause), 0);
	ck_assert_str_eq(c.server, "https://[fd00:10::1]:443");
	ck_assert_str_eq(c.namespace, "workers");
	ck_assert_ptr_nonnull(strstr(c.token_file, "/token"));
	kube_config_clear(&c);
	{
		char p[512];

		snprintf(p, sizeof p, "%s/namespace", dir);
		unlink(p);
		snprintf(p, sizeof p, "%s/ca.crt", dir);
		unlink(p);
		snprintf(p, sizeof p, "%s/token", dir);
		unlink(p);
	}
	rmdir(dir);
}
END_TEST

START_TEST(test_config_read_caps)
{
	char path[] = "/tmp/twa-tok-XXXXXX", *cause = NULL, *t;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "abcdef  \n", 9), 9);
	close(fd);
	t = kube_config_read(path, 100, &cause);
	ck_assert_str_eq(t, "abcdef");
	free(t);
	ck_assert_ptr_null(kube_config_read(path, 4, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "larger"));
	free(cause);
	unlink(path);
	ck_assert_ptr_null(kube_config_read(path, 4, &cause));
	free(cause);
}
END_TEST

START_TEST(test_error_string)
{
	struct kube_error e = { .kind = KUBE_ERR_HTTP, .status = 409,
	    .reason = "AlreadyExists", .message = "leases \"x\" already exists" };
	char *s = kube_error_string(&e);

	ck_assert_str_eq(s, "HTTP 409 AlreadyExists: leases \"x\" already exists");
	free(s);
	ck_assert(kube_error_is(&e, 409));
	ck_assert(!kube_error_is(&e, 410));
	ck_assert(!kube_error_is(NULL, 409));
	e.kind = KUBE_ERR_TRANSPORT;
	e.curl_code = 7;
	e.message = "connect failed";
	s = kube_error_string(&e);
	ck_assert_str_eq(s, "transport error (curl 7): connect failed");
	free(s);
	ck_assert(!kube_error_is(&e, 409));
	e.kind = KUBE_ERR_HTTP;
	e.reason = "";
	e.status = 502;
	e.message = "<html>bad gateway</html>";
	s = kube_error_string(&e);
	ck_assert_str_eq(s, "HTTP 502 (no reason): <html>bad gateway</html>");
	free(s);
}
END_TEST

static const struct {
	const char	*in;
	int		 ok;
	int		 minor;
} minors[] = {
	{ "29", 1, 29 }, { "29+", 1, 29 }, { "30-gke.1", 1, 30 }, { "1", 1, 1 },
	{ "", 0, 0 }, { "+", 0, 0 }, { "x29", 0, 0 }, { "12345", 0, 0 },
	{ NULL, 0, 0 },
};

START_TEST(test_version_minor)
{
	int m = -1;
	char *cause = NULL;
	int rc = kube_version_minor(minors[_i].in, &m, &cause);

	if (minors[_i].ok) {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(m, minors[_i].minor);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(strstr(cause, "minor version"));
		free(cause);
	}
}
END_TEST

START_TEST(test_event_build)
{
	struct kube_event ev = {
		.regarding = { "apps/v1", "Deployment", "orders-v2", "work",
		    "uid-1" },
		.type = "Normal", .reason = "SetCurrent", .action = "Route",
		.note = "orders-v2 is current", .instance = "orders-v2-abc",
	};
	char *cause = NULL, big[2000];
	json_t *e = kube_event_build(&ev, 1700000000123456LL, &cause);

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "eventTime")),
	    "2023-11-14T22:13:20.123456Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e,
	    "metadata"), "name")), "orders-v2.17979cfe3d85ca00");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e,
	    "metadata"), "namespace")), "work");
	ck_assert_str_eq(json_string_value(json_object_get(e,
	    "reportingController")), "twa.dev/agent");
	ck_assert_str_eq(json_string_value(json_object_get(e,
	    "reportingInstance")), "orders-v2-abc");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e,
	    "regarding"), "uid")), "uid-1");
	ck_assert_ptr_null(json_object_get(e, "deprecatedCount"));
	json_decref(e);

	/* a note over 1024 bytes is cut on a UTF-8 boundary */
	memset(big, 'a', sizeof big);
	memcpy(big + 1023, "\xc3\xa9", 2);
	big[sizeof big - 1] = '\0';
	ev.note = big;
	e = kube_event_build(&ev, 1, &cause);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(e, "note"))),
	    1023);
	json_decref(e);

	ev.type = "Info";
	ck_assert_ptr_null(kube_event_build(&ev, 1, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "Info"));
	free(cause);
	ev.type = "Warning";
	ev.reason = "";
	ck_assert_ptr_null(kube_event_build(&ev, 1, &cause));
	free(cause);
	ev.reason = "X";
	ev.regarding.name = NULL;
	ck_assert_ptr_null(kube_event_build(&ev, 1, &cause));
	free(cause);
	ev.regarding.name = "n";
	ev.instance = NULL;
	ck_assert_ptr_null(kube_event_build(&ev, 1, &cause));
	free(cause);
}
END_TEST

/* The suite. */
static Suite *
kube_pure_suite(void)
{
	Suite *s = suite_create("kube_pure");
	TCase *tc = tcase_create("pure");

	tcase_add_loop_test(tc, test_jsonpatch_escape, 0, N_CASES(escapes));
	tcase_add_test(tc, test_jsonpatch_pointer);
	tcase_add_test(tc, test_jsonpatch_ops);
	tcase_add_test(tc, test_server_url);
	tcase_add_test(tc, test_config_explicit);
	tcase_add_test(tc, test_config_incluster);
	tcase_add_test(tc, test_config_read_caps);
	tcase_add_test(tc, test_error_string);
	tcase_add_loop_test(tc, test_version_minor, 0, N_CASES(minors));
	tcase_add_test(tc, test_event_build);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(kube_pure_suite)
