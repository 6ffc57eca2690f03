/* Tests of buildid: image parsing, content hash, sanitising and both input shapes. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buildid.h"
#include "check_main.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ENV "[{\"name\":\"LOG_LEVEL\",\"value\":\"info\"},{\"name\":\"DB_PASSWORD\"," \
	"\"valueFrom\":{\"secretKeyRef\":{\"name\":\"db\",\"key\":\"pw\"}}}]"

/*
 * Expected IDs: the hash is the first 10 hex of SHA-256 over the JSON of
 * {args, command, env, image} with sorted keys and no spaces, computed
 * independently of this code.
 */
struct id_case {
	const char	*what;
	const char	*container;
	const char	*want;
};

static const struct id_case id_cases[] = {
	{ "tag", "{\"name\":\"worker\",\"image\":\"ghcr.io/acme/orders-worker:v2.3.0\"}",
	  "v2.3.0-1eb8a57728" },
	{ "digest", "{\"name\":\"worker\",\"image\":\"ghcr.io/acme/orders@" DIGEST "\"}",
	  "0123456789ab-bd26ee006d" },
	{ "tag+digest", "{\"name\":\"worker\",\"image\":\"ghcr.io/acme/orders:v2@" DIGEST "\"}",
	  "v2-8d4900de3a" },
	{ "registry with port, no tag", "{\"name\":\"worker\",\"image\":\"registry.local:5000/orders\"}",
	  "orders-4c60eae105" },
	{ "registry with port and tag", "{\"name\":\"worker\",\"image\":\"registry.local:5000/team/orders:1.0\"}",
	  "1.0-6de50a7201" },
	{ "no tag, no registry", "{\"name\":\"worker\",\"image\":\"busybox\"}",
	  "busybox-86f4436baf" },
	{ "tag needing sanitising", "{\"name\":\"worker\",\"image\":\"orders:v1+meta\"}",
	  "v1-meta-2e50160dc7" },
	{ "tag with trimmed ends", "{\"name\":\"worker\",\"image\":\"orders:__v1__\"}",
	  "v1-98bc6ec1fe" },
	{ "long tag cut to 63", "{\"name\":\"worker\",\"image\":\"orders:"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-49eeefc567" },
	{ "fields outside the code are ignored", "{\"name\":\"worker\",\"image\":\"ghcr.io/acme/orders-worker:v2.3.0\","
	  "\"command\":[\"/bin/worker\"],\"args\":[\"--queue\",\"orders\"],\"env\":" ENV ","
	  "\"resources\":{\"limits\":{\"cpu\":\"1\"}},\"ports\":[{\"containerPort\":8080}]}",
	  "v2.3.0-787ed0f108" },
	{ "key order does not matter", "{\"env\":" ENV ",\"args\":[\"--queue\",\"orders\"],"
	  "\"command\":[\"/bin/worker\"],\"image\":\"ghcr.io/acme/orders-worker:v2.3.0\"}",
	  "v2.3.0-787ed0f108" },
	{ "null fields are absent", "{\"name\":\"worker\",\"image\":\"busybox\",\"env\":null,\"args\":null}",
	  "busybox-86f4436baf" },
	{ "non-ASCII name", "{\"name\":\"worker\",\"image\":\"caf\xc3\xa9/w\xc3\xb6rker:v1\"}",
	  "v1-3ddc1ff1b9" },
};

START_TEST(test_buildid_table)
{
	const struct id_case *c = &id_cases[_i];
	char *cause = NULL;
	char *id = buildid_compute(c->container, strlen(c->container), NULL, &cause);

	ck_assert_msg(id != NULL, "%s: %s", c->what, cause);
	ck_assert_msg(strcmp(id, c->want) == 0, "%s: got %s, want %s", c->what, id, c->want);
	ck_assert_uint_le(strlen(id), BUILDID_MAX);
	free(id);
}
END_TEST

START_TEST(test_buildid_code_changes_change_the_id)
{
	const char *base = "{\"image\":\"w:v1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}";
	const char *variants[] = {
		"{\"image\":\"w:v1\",\"env\":[{\"name\":\"A\",\"value\":\"2\"}]}",
		"{\"image\":\"w:v1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}],\"command\":[\"x\"]}",
		"{\"image\":\"w:v1\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}],\"args\":[\"x\"]}",
		"{\"image\":\"w:v1@" DIGEST "\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}",
		"{\"image\":\"w:v1\",\"env\":[{\"value\":\"1\",\"name\":\"A\"},{\"name\":\"B\"}]}",
	};
	char *cause = NULL, *a = buildid_compute(base, strlen(base), NULL, &cause);

	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		char *b = buildid_compute(variants[i], strlen(variants[i]), NULL, &cause);

		ck_assert_ptr_nonnull(b);
		ck_assert_msg(strcmp(a, b) != 0, "variant %zu kept %s", i, a);
		ck_assert_int_eq(strncmp(b, "v1-", 3), 0);
		free(b);
	}
	free(a);
}
END_TEST

struct bad_case {
	const char	*container;
	size_t		 len;	/* 0: strlen */
	const char	*has;
};

static const struct bad_case bad_cases[] = {
	{ "", 0, "container JSON is invalid" },
	{ "{", 0, "container JSON is invalid" },
	{ "[]", 0, "expected a JSON object" },
	{ "\"w:v1\"", 0, "container JSON is invalid" },
	{ "{}", 0, "\"image\" is missing or empty" },
	{ "{\"image\":\"\"}", 0, "\"image\" is missing or empty" },
	{ "{\"image\":42}", 0, "\"image\" is missing or empty" },
	{ "{\"image\":\"a\",\"image\":\"b\"}", 0, "container JSON is invalid" },
	{ "{\"image\":\"w:\xff\"}", 0, "container JSON is invalid" },
	{ "{\"image\":\"w\\u0000x\"}", 0, "container JSON is invalid" },
	{ "{\"image\":\"w:v1\"}\0trailing", 25, "container JSON is invalid" },
};

START_TEST(test_buildid_bad_input_table)
{
	const struct bad_case *c = &bad_cases[_i];
	char *cause = NULL;
	char *id = buildid_compute(c->container, c->len ? c->len : strlen(c->container),
	    NULL, &cause);

	ck_assert_ptr_null(id);
	ck_assert_msg(strstr(cause, c->has) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, c->has);
	free(cause);
}
END_TEST

START_TEST(test_buildid_huge_and_deep_input)
{
	size_t n = 2 * 1024 * 1024, depth = 100000;
	char *big = malloc(n), *deep = malloc(2 * depth + 1), *cause = NULL;

	memset(big, ' ', n);
	ck_assert_ptr_null(buildid_compute(big, n, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "larger than"));
	free(cause);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	ck_assert_ptr_null(buildid_compute(deep, 2 * depth, NULL, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "invalid"));
	free(cause);
	free(big);
	free(deep);
}
END_TEST

struct san_case {
	const char	*in;
	size_t		 max;
	const char	*want;
};

static const struct san_case san_cases[] = {
	{ "v1.2.3", 63, "v1.2.3" }, { "a b  c", 63, "a-b-c" },
	{ "a//b", 63, "a-b" }, { "a-/b", 63, "a--b" }, { "--a--", 63, "a" },
	{ "._-a_.-", 63, "a" }, { "!!!", 63, "" }, { "", 63, "" },
	{ "caf\xc3\xa9", 63, "caf" }, { "\xff\xfe" "x", 63, "x" },
	{ "abcdef", 3, "abc" }, { "ab-def", 3, "ab" }, { "a.-bcd", 3, "a" },
};

START_TEST(test_buildid_sanitize_table)
{
	char *s = strdup(san_cases[_i].in);

	buildid_sanitize(s, san_cases[_i].max);
	ck_assert_str_eq(s, san_cases[_i].want);
	free(s);
}
END_TEST

START_TEST(test_buildid_override)
{
	char *cause = NULL, *id;

	id = buildid_compute("not json", 8, "v2 beta!", &cause);
	ck_assert_str_eq(id, "v2-beta");
	free(id);
	ck_assert_ptr_null(buildid_compute("{}", 2, "!!!", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "twa.dev/build-id: value \"!!!\""));
	free(cause);
}
END_TEST

/* The same worker as a Deployment's pod template and as the pod the webhook sees. */
static const char *deployment_json =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"orders-v2\","
	"\"labels\":{\"twa.dev/deployment\":\"orders\"}},\"spec\":{\"replicas\":3,\"template\":"
	"{\"metadata\":{\"labels\":{\"twa.dev/inject\":\"true\"},\"annotations\":{\"twa.dev/rollout\":\"Progressive\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"worker\",\"image\":\"ghcr.io/acme/orders-worker:v2.3.0\","
	"\"command\":[\"/bin/worker\"],\"args\":[\"--queue\",\"orders\"],\"env\":" ENV "}]}}}}";
static const char *pod_json =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"orders-v2-5d8f-\","
	"\"labels\":{\"twa.dev/inject\":\"true\",\"pod-template-hash\":\"5d8f\"},"
	"\"annotations\":{\"twa.dev/rollout\":\"Progressive\"}},\"spec\":{\"initContainers\":"
	"[{\"name\":\"twa\",\"image\":\"twa:0.1.0\",\"restartPolicy\":\"Always\"}],"
	"\"containers\":[{\"name\":\"twa\",\"image\":\"twa:0.1.0\"},{\"name\":\"worker\","
	"\"image\":\"ghcr.io/acme/orders-worker:v2.3.0\",\"command\":[\"/bin/worker\"],"
	"\"args\":[\"--queue\",\"orders\"],\"env\":" ENV ",\"resources\":{},"
	"\"terminationMessagePath\":\"/dev/termination-log\",\"imagePullPolicy\":\"IfNotPresent\"}]}}";

START_TEST(test_buildid_webhook_and_leader_agree)
{
	json_t *dep = json_loads(deployment_json, 0, NULL), *pod = json_loads(pod_json, 0, NULL);
	char *cause = NULL, *a, *b;

	ck_assert_ptr_nonnull(dep);
	ck_assert_ptr_nonnull(pod);
	a = buildid_for_pod(json_object_get(json_object_get(dep, "spec"), "template"), &cause);
	b = buildid_for_pod(pod, &cause);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(a, "v2.3.0-787ed0f108");
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* The override annotation wins in both shapes. */
	json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
	    "twa.dev/build-id", json_string("release-42"));
	b = buildid_for_pod(pod, &cause);
	ck_assert_str_eq(b, "release-42");
	free(b);
	json_decref(dep);
	json_decref(pod);
}
END_TEST

START_TEST(test_buildid_pod_without_worker)
{
	const char *only_agent = "{\"metadata\":{},\"spec\":{\"containers\":[{\"name\":\"twa\",\"image\":\"twa\"}]}}";
	const char *no_spec = "{\"metadata\":{}}";
	json_t *a = json_loads(only_agent, 0, NULL), *b = json_loads(no_spec, 0, NULL);
	char *cause = NULL;

	ck_assert_ptr_null(buildid_for_pod(a, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "no worker container"));
	free(cause);
	ck_assert_ptr_null(buildid_for_pod(b, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "spec.containers"));
	free(cause);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Assemble the suite. */
static Suite *
buildid_suite(void)
{
	Suite *s = suite_create("buildid");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_buildid_table, 0, N_CASES(id_cases));
	tcase_add_test(tc, test_buildid_code_changes_change_the_id);
	tcase_add_loop_test(tc, test_buildid_bad_input_table, 0, N_CASES(bad_cases));
	tcase_add_test(tc, test_buildid_huge_and_deep_input);
	tcase_add_loop_test(tc, test_buildid_sanitize_table, 0, N_CASES(san_cases));
	tcase_add_test(tc, test_buildid_override);
	tcase_add_test(tc, test_buildid_webhook_and_leader_agree);
	tcase_add_test(tc, test_buildid_pod_without_worker);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(buildid_suite)
