/* Checks of deploy/: every manifest parses and has the shapes the webhook and the agent expect. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "proc.h"
#include "test_webhook_manifest.h"
#include "xalloc.h"

/* Load all of deploy/. */
static void
load_all(struct docs *ss, struct docs *cm, struct docs *ex)
{
	load_dir("selfsigned", ss);
	load_dir("cert-manager", cm);
	load_dir("examples/orders", ex);
}

/* Examples checked with the self-signed webhook's flags. */
static void
check_examples_with(const struct docs *ss, const struct docs *ex, struct problems *p)
{
	const json_t *dep = find(ss, "Deployment", WH_NAME, WH_NS);

	check_examples(ex, at(dep, "spec:template:spec:containers:0:args"), p);
}

START_TEST(test_deploy_manifests_pass)
{
	struct docs ss, cm, ex;
	struct problems p = { 0 };
	char *text;

	load_all(&ss, &cm, &ex);
	ck_assert_uint_ge(ss.n, 10);
	check_variant(&ss, true, &p);
	check_variant(&cm, false, &p);
	check_examples_with(&ss, &ex, &p);
	text = problems_text(&p);
	ck_assert_msg(p.n == 0, "deploy/ has problems:%s", text);
	free(text);
	problems_free(&p);
	docs_free(&ss);
	docs_free(&cm);
	docs_free(&ex);
}
END_TEST

START_TEST(test_deploy_dockerfile)
{
	char *path = proc_srcpath("deploy/Dockerfile"), *text = slurp(path), *all;
	char *listed = runtime_packages(text), *pkgs = missing_packages(listed);
	struct problems p = { 0 };

	if (pkgs == NULL)
		fprintf(stderr, "readelf, dpkg or ldconfig missing: runtime packages "
		    "not compared\n");
	else
		ck_assert_msg(strstr(listed, "libjansson4") != NULL, "listed: %s", listed);
	check_dockerfile(text, pkgs, &p);
	all = problems_text(&p);
	ck_assert_msg(p.n == 0, "%s", all);
	problems_free(&p);
	/* and it notices a library whose package the stage lacks, and a root user */
	if (pkgs != NULL) {
		char *fewer = xstrdup(listed), *j = strstr(fewer, " libjansson4"), *m;

		memset(j, ' ', strlen(" libjansson4"));
		m = missing_packages(fewer);
		ck_assert_str_eq(m, "libjansson4\n");
		check_dockerfile(text, m, &p);
		ck_assert_uint_eq(p.n, 1);
		ck_assert_ptr_nonnull(strstr(p.v[0], "libjansson4"));
		problems_free(&p);
		free(m);
		free(fewer);
	}
	{
		char *root = xstrdup(text), *u = strstr(root, "USER 65532");

		memcpy(u, "USER root ", 10);
		check_dockerfile(root, NULL, &p);
		ck_assert_uint_eq(p.n, 1);
		ck_assert_ptr_nonnull(strstr(p.v[0], "USER"));
		problems_free(&p);
		free(root);
	}
	free(all);
	free(pkgs);
	free(listed);
	free(text);
	free(path);
}
END_TEST

/* A deliberate break of the manifests and what the check must then say. */
struct breakage {
	const char	*dir;		/* "selfsigned", "cert-manager", "examples" */
	const char	*kind, *name;
	const char	*path;		/* ':'-separated; last part is set or deleted */
	const char	*value;		/* JSON; NULL deletes */
	const char	*expect;
};

static const struct breakage breakages[] = {
	{ "selfsigned", "MutatingWebhookConfiguration", "twa", "webhooks:0:failurePolicy",
	  "\"Ignore\"", "failurePolicy must be Fail" },
	{ "cert-manager", "ValidatingWebhookConfiguration", "twa",
	  "webhooks:0:failurePolicy", "\"Ignore\"", "failurePolicy must be Fail" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:objectSelector:matchLabels", "{\"twa.dev/injected\": \"true\"}",
	  "objectSelector label twa.dev/inject" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:objectSelector:matchLabels", "{\"twa.dev/inject\": true}",
	  "not a string" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:objectSelector:matchLabels", "{\"twa.dev/inject\": \"yes\"}",
	  "twa.dev/inject=true" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa", "webhooks:0:timeoutSeconds",
	  "10", "timeoutSeconds must be 5" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:reinvocationPolicy", "\"Never\"", "reinvocationPolicy must be IfNeeded" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa", "webhooks:0:sideEffects",
	  "\"Some\"", "sideEffects must be None" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:admissionReviewVersions", "[\"v1\", \"v1beta1\"]",
	  "admissionReviewVersions" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:clientConfig:service:path", "\"/inject\"", "expected /mutate" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa",
	  "webhooks:0:rules:0:operations", "[\"CREATE\", \"UPDATE\"]", "pods CREATE" },
	{ "selfsigned", "MutatingWebhookConfiguration", "twa", "webhooks:0:namespaceSelector",
	  NULL, "namespaceSelector must exclude" },
	{ "selfsigned", "ValidatingWebhookConfiguration", "twa",
	  "webhooks:0:objectSelector:matchExpressions:0:operator", "\"DoesNotExist\"",
	  "twa.dev/deployment Exists" },
	{ "selfsigned", "ValidatingWebhookConfiguration", "twa",
	  "webhooks:0:reinvocationPolicy", "\"IfNeeded\"", "not a field of validating" },
	{ "selfsigned", "ValidatingWebhookConfiguration", "twa",
	  "webhooks:0:clientConfig:service:port", "8443", "Service and port" },
	{ "selfsigned", "Deployment", WH_NAME, "spec:replicas", "1", "at least 2" },
	{ "selfsigned", "Deployment", WH_NAME,
	  "spec:template:spec:containers:0:securityContext:readOnlyRootFilesystem",
	  "false", "readOnlyRootFilesystem" },
	{ "selfsigned", "Deployment", WH_NAME,
	  "spec:template:spec:containers:0:securityContext:runAsNonRoot", NULL,
	  "runAsNonRoot" },
	{ "selfsigned", "Deployment", WH_NAME, "spec:template:spec:containers:0:args:3",
	  "\"--selfsigned\"", "--selfsigned is not an option" },
	{ "selfsigned", "Deployment", WH_NAME, "spec:template:spec:containers:0:args:10",
	  "\"--agent-cpu\"", "--agent-cpu" },
	{ "selfsigned", "Deployment", WH_NAME,
	  "spec:template:spec:containers:0:readinessProbe:httpGet:scheme", "\"HTTP\"",
	  "readinessProbe" },
	{ "selfsigned", "Deployment", WH_NAME,
	  "spec:template:metadata:labels:twa.dev/inject", "\"true\"", "inject into itself" },
	{ "selfsigned", "Deployment", WH_NAME, "spec:template:spec:containers:0:image",
	  "\"example/other:1\"", "differs from its own image" },
	{ "selfsigned", "Service", WH_NAME, "spec:ports:0:targetPort", "9443",
	  "targetPort" },
	{ "selfsigned", "ClusterRole", "twa-webhook", "rules:0:verbs",
	  "[\"get\", \"patch\", \"list\"]", "more than it needs" },
	{ "selfsigned", "Role", "twa-webhook", "rules:0:resourceNames", NULL,
	  "more than it needs" },
	{ "selfsigned", "Role", "twa-webhook", "rules:1:verbs", "[\"*\"]", "wildcard" },
	{ "selfsigned", "ClusterRoleBinding", "twa-webhook", "roleRef:name", "\"nope\"",
	  "does not exist" },
	{ "cert-manager", "MutatingWebhookConfiguration", "twa",
	  "metadata:annotations:cert-manager.io/inject-ca-from",
	  "\"twa-system/twa-webhook-ca-typo\"", "inject" },
	{ "cert-manager", "Certificate", "twa-webhook", "spec:secretName", "\"other\"",
	  "not the Certificate's" },
	{ "examples", "Role", "twa-agent", "rules:1:verbs", "[\"get\", \"list\", \"delete\"]",
	  "lacks \"orders apps/deployments watch *\"" },
	{ "examples", "Role", "twa-agent", "rules:2:resources", "[\"deployments\"]",
	  "deployments/scale" },
	{ "examples", "Role", "twa-agent", "rules:4:verbs", "[\"get\", \"list\", \"delete\"]",
	  "more than it needs" },
	{ "examples", "RoleBinding", "twa-agent", "subjects:0:name", "\"default\"",
	  "lacks" },
	{ "examples", "Deployment", "orders-v2",
	  "spec:template:metadata:annotations:twa.dev/rollout", "\"Fast\"",
	  "twa.dev/rollout: value \"Fast\"" },
	{ "examples", "Deployment", "orders-v2", "spec:template:metadata:labels:twa.dev/inject",
	  NULL, "warning" },
	{ "examples", "Deployment", "orders-v1", "spec:template:spec:containers:0:image",
	  "\"registry.example.com/orders-worker:2.0.0\"", "used twice" },
	{ "examples", "ServiceAccount", "orders-worker", "automountServiceAccountToken",
	  NULL, "should not automount" },
};

/* Set or delete the member at path of o. */
static void
edit(json_t *o, const char *path, const char *value)
{
	char *copy = xstrdup(path), *last = strrchr(copy, ':');
	json_t *parent = o;

	if (last != NULL) {
		*last++ = '\0';
		parent = at(o, copy);
	} else
		last = copy;
	ck_assert_msg(parent != NULL, "no %s", copy);
	if (json_is_array(parent)) {
		size_t k = (size_t)strtoul(last, NULL, 10);

		ck_assert(value != NULL);
		json_array_set_new(parent, k, json_loads(value, JSON_DECODE_ANY, NULL));
	} else if (value == NULL)
		ck_assert_int_eq(json_object_del(parent, last), 0);
	else
		json_object_set_new(parent, last, json_loads(value, JSON_DECODE_ANY, NULL));
	free(copy);
}

START_TEST(test_deploy_check_catches_breakage)
{
	const struct breakage *b = &breakages[_i];
	struct docs ss, cm, ex, *target;
	struct problems p = { 0 };
	json_t *o;
	char *text;

	load_all(&ss, &cm, &ex);
	target = strcmp(b->dir, "selfsigned") == 0 ? &ss :
	    strcmp(b->dir, "cert-manager") == 0 ? &cm : &ex;
	o = find(target, b->kind, b->name, NULL);
	ck_assert_msg(o != NULL, "no %s %s", b->kind, b->name);
	edit(o, b->path, b->value);
	if (target == &ex)
		check_examples_with(&ss, &ex, &p);
	else
		check_variant(target, target == &ss, &p);
	text = problems_text(&p);
	ck_assert_msg(p.n > 0 && strstr(text, b->expect) != NULL,
	    "case %d (%s %s %s): expected \"%s\" in:%s", _i, b->kind, b->name,
	    b->path, b->expect, text);
	free(text);
	problems_free(&p);
	docs_free(&ss);
	docs_free(&cm);
	docs_free(&ex);
}
END_TEST

/* Files outside the JSON subset of YAML are refused with their line. */
START_TEST(test_deploy_format_rules)
{
	static const struct { const char *text, *expect; } cases[] = {
		{ "# c\n---\n{\"a\": 1}\n", NULL },
		{ "# c\n---\n# about a\n{\"a\": 1}\n---\n{\"b\": 2}\n", NULL },
		{ "---\n{\n\t\"a\": 1}\n", "x.yaml:3: tab" },
		{ "---\n{\n# inside\n\"a\": 1}\n", "x.yaml:3: comment inside" },
		{ "---\n{\"a\": 1} # trailing\n", "not a JSON document" },
		{ "---\n{\"a\": 1, \"a\": 2}\n", "not a JSON document" },
		{ "---\n{\"a\": 1}\n{\"b\": 1}\n", "not a JSON document" },
		{ "---\n[1]\n", "one JSON object" },
		{ "---\na: 1\n", "not a JSON document" },
		{ "{\"a\": 1}\n", "before the first ---" },
		{ "---\n---\n{\"a\": 1}\n", "empty document" },
		{ "---\n{\"a\": 1}\n---\n", "empty document" },
	};

	for (size_t i = 0; i < N_CASES(cases); i++) {
		struct docs d = { 0 };
		char *cause = NULL;
		int r = parse_manifest("x.yaml", cases[i].text, &d, &cause);

		if (cases[i].expect == NULL)
			ck_assert_msg(r == 0, "case %zu: %s", i, cause);
		else
			ck_assert_msg(r != 0 && strstr(cause, cases[i].expect) != NULL,
			    "case %zu: %s", i, r == 0 ? "accepted" : cause);
		free(cause);
		docs_free(&d);
	}
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook_deploy(void)
{
	Suite *s = suite_create("webhook_deploy");
	TCase *tc = tcase_create("deploy");

	tcase_add_test(tc, test_deploy_format_rules);
	tcase_add_test(tc, test_deploy_manifests_pass);
	tcase_add_test(tc, test_deploy_dockerfile);
	tcase_add_loop_test(tc, test_deploy_check_catches_breakage, 0,
	    N_CASES(breakages));
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook_deploy)
