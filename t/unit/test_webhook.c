/* Tests of the webhook decisions: AdmissionReview in, AdmissionReview out, patches applied and checked. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buildid.h"
#include "check_main.h"
#include "proc.h"
#include "test_webhook_apply.h"
#include "webhook.h"
#include "xalloc.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* A webhook configuration for version 1.minor. */
static struct webhook_config
cfg_for(int minor, const char *address)
{
	struct webhook_config c = {
		.agent_image = "twa:test", .agent_cpu = "50m",
		.agent_memory = "64Mi", .agent_log_level = "info",
		.temporal_address = address, .agent_port = 9464,
		.server_major = 1, .server_minor = minor,
	};

	return c;
}

/* Load a fixture from t/unit/webhook-fixtures. */
static json_t *
fixture(const char *name)
{
	char *rel = xasprintf("t/unit/webhook-fixtures/%s", name);
	char *path = proc_srcpath(rel);
	json_error_t err;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);

	ck_assert_msg(j != NULL, "%s: %s", path, err.text);
	free(rel);
	free(path);
	return j;
}

/* An AdmissionReview text for obj. */
static char *
review(const char *uid, const char *group, const char *kind, const char *op,
    const char *ns, json_t *obj)
{
	json_t *r = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, s:O*}}",
	    "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
	    "request", "uid", uid, "kind", "group", group, "version",
	    strcmp(group, "apps") == 0 ? "v1" : "v1", "kind", kind,
	    "operation", op, "object", obj);
	char *text;

	ck_assert_ptr_nonnull(r);
	if (ns != NULL)
		json_object_set_new(json_object_get(r, "request"), "namespace",
		    json_string(ns));
	text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return text;
}

/* The "response" of a reply (checks the envelope and uid); caller decrefs. */
static json_t *
response_of(const struct webhook_reply *rep, const char *uid)
{
	json_t *root = json_loadb(rep->body, rep->len, 0, NULL), *resp;

	ck_assert_int_eq(rep->http_status, 200);
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(json_string_value(json_object_get(root, "apiVersion")),
	    "admission.k8s.io/v1");
	ck_assert_str_eq(json_string_value(json_object_get(root, "kind")),
	    "AdmissionReview");
	resp = json_incref(json_object_get(root, "response"));
	json_decref(root);
	ck_assert_str_eq(json_string_value(json_object_get(resp, "uid")), uid);
	return resp;
}

/* Decode the base64 patch of a response (NULL when it has none). */
static json_t *
patch_of(const json_t *resp)
{
	const char *b64 = json_string_value(json_object_get(resp, "patch"));
	unsigned char *buf;
	json_t *p;
	int n;

	if (b64 == NULL) {
		ck_assert_ptr_null(json_object_get(resp, "patchType"));
		return NULL;
	}
	ck_assert_str_eq(json_string_value(json_object_get(resp, "patchType")),
	    "JSONPatch");
	buf = xmalloc(strlen(b64) + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)strlen(b64));
	ck_assert_int_gt(n, 0);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	p = json_loadb((char *)buf, (size_t)n, 0, NULL);
	free(buf);
	ck_assert_ptr_nonnull(p);
	return p;
}

/*
 * Run pod through /mutate in namespace ns and return the patched pod;
 * the response must allow it. Also checks the patch never replaces whole
 * objects and that the patched pod comes back with no patch at all.
 */
static json_t *
mutate(json_t *pod, const char *ns, const struct webhook_config *cfg,
    size_t *nops)
{
	struct webhook_reply rep;
	json_t *resp, *patch, *out, *op;
	char *body = review("u-1", "", "Pod", "CREATE", ns, pod), *cause = NULL;
	size_t i;

	webhook_handle(WEBHOOK_MUTATE, body, strlen(body), cfg, &rep);
	free(body);
	resp = response_of(&rep, "u-1");
	ck_assert_msg(json_is_true(json_object_get(resp, "allowed")), "%s",
	    rep.body);
	patch = patch_of(resp);
	out = json_deep_copy(pod);
	if (nops != NULL)
		*nops = json_array_size(patch);
	json_array_foreach(patch, i, op) {
		const char *path = json_string_value(json_object_get(op, "path"));

		ck_assert_ptr_nonnull(strchr(path + 1, '/'));	/* never a whole top-level field */
		ck_assert_str_ne(json_string_value(json_object_get(op, "op")),
		    "replace");
	}
	if (patch != NULL)
		ck_assert_msg(apply_patch(out, patch, &cause) == 0, "%s", cause);
	json_decref(patch);
	json_decref(resp);
	webhook_reply_clear(&rep);
	/* Admission runs again: nothing more to do. */
	body = review("u-2", "", "Pod", "CREATE", ns, out);
	webhook_handle(WEBHOOK_MUTATE, body, strlen(body), cfg, &rep);
	free(body);
	resp = response_of(&rep, "u-2");
	ck_assert(json_is_true(json_object_get(resp, "allowed")));
	ck_assert_msg(json_object_get(resp, "patch") == NULL, "second pass "
	    "patched: %s", rep.body);
	ck_assert_int_eq(rep.result, WEBHOOK_ALLOWED);
	json_decref(resp);
	webhook_reply_clear(&rep);
	return out;
}

/* The container named name in spec.<list>, or NULL; *at gets its index. */
static json_t *
container(json_t *pod, const char *list, const char *name, size_t *at)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"), list),
	    i, c) {
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) {
			if (at != NULL)
				*at = i;
			return c;
		}
	}
	return NULL;
}

/* The env entry name of container c, or NULL. */
static json_t *
env(json_t *c, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return e;
	return NULL;
}

/* The literal value of env name in c (fails when absent or not literal). */
static const char *
env_str(json_t *c, const char *name)
{
	json_t *e = env(c, name);

	ck_assert_msg(e != NULL, "env %s missing", name);
	ck_assert_msg(json_is_string(json_object_get(e, "value")), "env %s has "
	    "no literal value", name);
	return json_string_value(json_object_get(e, "value"));
}

/* Count env entries of c whose name starts with prefix. */
static size_t
env_count(json_t *c, const char *prefix)
{
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(c, "env"), i, e)
		n += strncmp(json_string_value(json_object_get(e, "name")), prefix,
		    strlen(prefix)) == 0;
	return n;
}

/* The element of array arr whose key is value, or NULL. */
static json_t *
named(json_t *arr, const char *key, const char *value)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(json_object_get(e, key));

		if (s != NULL && strcmp(s, value) == 0)
			return e;
	}
	return NULL;
}

/* Check the fieldRef of env name in the agent. */
static void
check_field(json_t *agent, const char *name, const char *path)
{
	json_t *e = env(agent, name);

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(json_object_get(e, "value"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(e, "valueFrom"), "fieldRef"), "fieldPath")), path);
}

/* Checks every injected pod passes: agent, volumes, token, marker. */
static json_t *
check_agent(json_t *pod, bool native, const char *build_id)
{
	json_t *spec = json_object_get(pod, "spec"), *agent, *v, *m;
	size_t at = 99;

	agent = container(pod, native ? "initContainers" : "containers", "twa", &at);
	ck_assert_ptr_nonnull(agent);
	ck_assert_ptr_null(container(pod, native ? "containers" : "initContainers",
	    "twa", NULL));
	if (native) {
		ck_assert_uint_eq(at, 0);
		ck_assert_str_eq(json_string_value(json_object_get(agent,
		    "restartPolicy")), "Always");
	} else {
		ck_assert_uint_eq(at, json_array_size(json_object_get(spec,
		    "containers")) - 1);
		ck_assert_ptr_null(json_object_get(agent, "restartPolicy"));
	}
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(agent,
	    "args"), 0)), "agent");
	check_field(agent, "POD_NAME", "metadata.name");
	check_field(agent, "POD_NAMESPACE", "metadata.namespace");
	check_field(agent, "POD_UID", "metadata.uid");
	ck_assert_str_eq(env_str(agent, "TEMPORAL_WORKER_BUILD_ID"), build_id);
	ck_assert_str_eq(env_str(agent, "TWA_PODINFO_DIR"), WEBHOOK_PODINFO_DIR);
	ck_assert_str_eq(env_str(agent, "TWA_LISTEN"), ":9464");
	m = named(json_object_get(agent, "volumeMounts"), "mountPath", SA_DIR);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_string_value(json_object_get(m, "name")),
	    WEBHOOK_TOKEN_VOLUME);
	ck_assert_ptr_nonnull(named(json_object_get(agent, "volumeMounts"),
	    "name", WEBHOOK_PODINFO_VOLUME));
	ck_assert(json_is_true(json_object_get(json_object_get(agent,
	    "securityContext"), "runAsNonRoot")));
	v = named(json_object_get(spec, "volumes"), "name", WEBHOOK_PODINFO_VOLUME);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(named(json_object_get(json_object_get(v,
	    "downwardAPI"), "items"), "path", "annotations"));
	v = named(json_object_get(spec, "volumes"), "name", WEBHOOK_TOKEN_VOLUME);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(json_object_get(json_array_get(json_object_get(
	    json_object_get(v, "projected"), "sources"), 0), "serviceAccountToken"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(pod, "metadata"), "annotations"), WEBHOOK_MARKER)),
	    build_id);
	return agent;
}

/* Whether any container other than the agent mounts the token path. */
static bool
workers_have_token(json_t *pod)
{
	static const char *const lists[] = { "initContainers", "containers" };
	json_t *c;
	size_t i;

	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(json_object_get(pod, "spec"),
		    lists[l]), i, c)
			if (strcmp(json_string_value(json_object_get(c, "name")),
			    "twa") != 0 && named(json_object_get(c, "volumeMounts"),
			    "mountPath", SA_DIR) != NULL)
				return true;
	return false;
}

START_TEST(test_webhook_deployment_pod_native)
{
	struct webhook_config cfg = cfg_for(29, NULL);
	json_t *rv = fixture("review-deployment-pod.json"), *pod, *out, *agent, *w;
	json_t *resp, *patch, *op, *ann;
	struct webhook_reply rep;
	char *text = json_dumps(rv, JSON_COMPACT), *id, *cause = NULL;
	bool marker_op = false;
	size_t i;

	pod = json_object_get(json_object_get(rv, "request"), "object");
	id = buildid_for_pod(pod, &cause);
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(strlen(id), strlen("v2.0.1-") + 10);
	ck_assert_int_eq(strncmp(id, "v2.0.1-", 7), 0);
	/* The review exactly as the API server sends it. */
	webhook_handle(WEBHOOK_MUTATE, text, strlen(text), &cfg, &rep);
	ck_assert_int_eq(rep.result, WEBHOOK_PATCHED);
	ck_assert_str_eq(rep.uid, "0df28fbd-5f5f-11e8-bc74-36e6bb280816");
	resp = response_of(&rep, "0df28fbd-5f5f-11e8-bc74-36e6bb280816");
	ck_assert(json_is_true(json_object_get(resp, "allowed")));
	patch = patch_of(resp);
	ck_assert_uint_eq(json_array_size(patch), rep.nops);
	json_array_foreach(patch, i, op)
		marker_op |= strcmp(json_string_value(json_object_get(op, "path")),
		    "/metadata/annotations/status.twa.dev~1injected") == 0;
	ck_assert_msg(marker_op, "no escaped marker op in %s", rep.body);
	json_decref(patch);
	json_decref(resp);
	webhook_reply_clear(&rep);
	free(text);
	/* The patched pod. */
	out = mutate(pod, "orders", &cfg, NULL);
	agent = check_agent(out, true, id);
	ck_assert_str_eq(env_str(agent, "TEMPORAL_DEPLOYMENT_NAME"), "orders/orders");
	ck_assert_str_eq(env_str(agent, "TEMPORAL_NAMESPACE"), "orders-prod");
	ck_assert_str_eq(env_str(agent, "TEMPORAL_ADDRESS"),
	    "temporal-frontend.temporal.svc:7233");
	ck_assert_str_eq(env_str(agent, "TWA_DEPLOYMENT"), "orders");
	ck_assert_str_eq(env_str(agent, "TWA_LOG_LEVEL"), "info");
	ck_assert_str_eq(json_string_value(json_object_get(agent, "image")), "twa:test");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(agent, "resources"), "limits"), "memory")), "64Mi");
	w = container(out, "containers", "worker", NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(w, "env")), 6);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(w, "env"), 0), "name")), "APP_ENV");
	ck_assert_ptr_nonnull(json_object_get(env(w, "GOMAXPROCS"), "valueFrom"));
	ck_assert_str_eq(env_str(w, "TEMPORAL_ADDRESS"),
	    "temporal-frontend.temporal.svc:7233");
	ck_assert_str_eq(env_str(w, "TEMPORAL_NAMESPACE"), "orders-prod");
	ck_assert_str_eq(env_str(w, "TEMPORAL_DEPLOYMENT_NAME"), "orders/orders");
	ck_assert_str_eq(env_str(w, "TEMPORAL_WORKER_BUILD_ID"), id);
	ck_assert_uint_eq(env_count(w, "TEMPORAL_"), 4);
	ck_assert_ptr_null(env(w, "POD_NAME"));
	/* The worker lost the automatic token; the pod asks for none. */
	ck_assert(!workers_have_token(out));
	ck_assert_ptr_null(named(json_object_get(json_object_get(out, "spec"),
	    "volumes"), "name", "kube-api-access-x9z2k"));
	ck_assert(json_is_false(json_object_get(json_object_get(out, "spec"),
	    "automountServiceAccountToken")));
	/* Nothing else changed. */
	ann = json_object_get(json_object_get(out, "metadata"), "annotations");
	ck_assert_uint_eq(json_object_size(ann), 6);
	ck_assert_ptr_null(json_object_get(json_object_get(out, "metadata"), "name"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out,
	    "metadata"), "generateName")), "orders-v2-7c9d8f6b5-");
	ck_assert(json_equal(json_object_get(json_object_get(out, "spec"),
	    "tolerations"), json_object_get(json_object_get(pod, "spec"),
	    "tolerations")));
	json_decref(out);
	json_decref(rv);
	free(id);
}
END_TEST

START_TEST(test_webhook_old_cluster_regular_container)
{
	struct webhook_config cfg = cfg_for(28, NULL);
	json_t *rv = fixture("review-deployment-pod.json"), *pod, *out;
	char *cause = NULL, *id;

	pod = json_object_get(json_object_get(rv, "request"), "object");
	id = buildid_for_pod(pod, &cause);
	out = mutate(pod, "orders", &cfg, NULL);
	check_agent(out, false, id);
	ck_assert_ptr_null(json_object_get(json_object_get(out, "spec"),
	    "initContainers"));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(out, "spec"), "containers"), 0),
	    "name")), "worker");
	json_decref(out);
	json_decref(rv);
	free(id);
}
END_TEST

START_TEST(test_webhook_init_containers_existing_env)
{
	struct webhook_config cfg = cfg_for(30, "unused:7233");
	json_t *pod = fixture("pod-init-containers.json"), *out, *agent, *w, *m, *vols;
	char *cause = NULL, *id = buildid_for_pod(pod, &cause);
	size_t at = 99;

	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(strncmp(id, "9f86d081884c-", 13), 0);
	out = mutate(pod, "billing", &cfg, NULL);
	agent = check_agent(out, true, id);
	ck_assert_str_eq(json_string_value(json_object_get(agent, "image")),
	    "registry.example.com/twa:0.1.0-rc1");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(agent, "resources"), "requests"), "cpu")), "100m");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(agent, "resources"), "limits"), "memory")), "48Mi");
	ck_assert_str_eq(env_str(agent, "TWA_LOG_LEVEL"), "debug");
	ck_assert_str_eq(env_str(agent, "TEMPORAL_ADDRESS"),
	    "temporal.example.com:7233");
	/* The user's init container moved behind the agent, untouched but for the token. */
	m = container(out, "initContainers", "migrate", &at);
	ck_assert_uint_eq(at, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(m, "volumeMounts")), 1);
	ck_assert_ptr_null(json_object_get(m, "env"));
	/* Values the user set win; the rest are added. */
	w = container(out, "containers", "worker", NULL);
	ck_assert_str_eq(env_str(w, "TEMPORAL_ADDRESS"), "temporal-override:7233");
	ck_assert_str_eq(env_str(w, "TEMPORAL_NAMESPACE"), "billing");
	ck_assert_str_eq(env_str(w, "TEMPORAL_DEPLOYMENT_NAME"), "billing/billing");
	ck_assert_str_eq(env_str(w, "TEMPORAL_WORKER_BUILD_ID"), id);
	ck_assert_uint_eq(json_array_size(json_object_get(w, "env")), 5);
	ck_assert_uint_eq(json_array_size(json_object_get(w, "volumeMounts")), 2);
	/* Every worker container gets the env; the agent takes the pod's address. */
	w = container(out, "containers", "statsd-exporter", NULL);
	ck_assert_str_eq(env_str(w, "TEMPORAL_ADDRESS"), "temporal.example.com:7233");
	ck_assert_uint_eq(json_array_size(json_object_get(w, "volumeMounts")), 0);
	ck_assert(!workers_have_token(out));
	vols = json_object_get(json_object_get(out, "spec"), "volumes");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vols, 0),
	    "name")), "config");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vols, 1),
	    "name")), "cache");
	ck_assert_uint_eq(json_array_size(vols), 4);
	json_decref(out);
	json_decref(pod);
	free(id);
}
END_TEST

START_TEST(test_webhook_no_env_no_annotations)
{
	struct webhook_config cfg = cfg_for(29, "temporal-default.temporal:7233");
	json_t *pod = fixture("pod-no-env.json"), *out, *w;
	char *cause = NULL, *id = buildid_for_pod(pod, &cause);
	struct webhook_reply rep;
	json_t *resp;
	char *body;

	out = mutate(pod, NULL, &cfg, NULL);	/* namespace from the object */
	check_agent(out, true, id);
	w = container(out, "containers", "hello", NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(w, "env")), 4);
	ck_assert_str_eq(env_str(w, "TEMPORAL_ADDRESS"), "temporal-default.temporal:7233");
	ck_assert_str_eq(env_str(w, "TEMPORAL_NAMESPACE"), "default");
	ck_assert_str_eq(env_str(w, "TEMPORAL_DEPLOYMENT_NAME"), "sandbox/hello");
	ck_assert_ptr_null(json_object_get(w, "volumeMounts"));
	ck_assert_uint_eq(json_object_size(json_object_get(json_object_get(out,
	    "metadata"), "annotations")), 1);
	ck_assert(json_is_false(json_object_get(json_object_get(out, "spec"),
	    "automountServiceAccountToken")));
	json_decref(out);
	/* Without an address anywhere the pod is refused, saying how to fix it. */
	cfg.temporal_address = NULL;
	body = review("u-9", "", "Pod", "CREATE", "sandbox", pod);
	webhook_handle(WEBHOOK_MUTATE, body, strlen(body), &cfg, &rep);
	resp = response_of(&rep, "u-9");
	ck_assert(json_is_false(json_object_get(resp, "allowed")));
	ck_assert_int_eq(rep.result, WEBHOOK_DENIED);
	ck_assert_ptr_nonnull(strstr(rep.message, "twa.dev/temporal-address"));
	ck_assert_ptr_nonnull(strstr(rep.message, "--temporal-address"));
	json_decref(resp);
	webhook_reply_clear(&rep);
	free(body);
	json_decref(pod);
	free(id);
}
END_TEST

START_TEST(test_webhook_tls_api_key_token_asked)
{
	struct webhook_config cfg = cfg_for(33, NULL);
	json_t *pod = fixture("pod-tls.json"), *out, *agent, *w, *v, *ref;
	size_t nops = 0;

	out = mutate(pod, "payments", &cfg, &nops);
	agent = check_agent(out, true, "payments-2026.11.3");
	w = container(out, "containers", "worker", NULL);
	for (int i = 0; i < 2; i++) {
		json_t *c = i == 0 ? w : agent;

		ck_assert_str_eq(env_str(c, "TEMPORAL_TLS"), "true");
		ck_assert_str_eq(env_str(c, "TEMPORAL_TLS_CLIENT_CERT_PATH"),
		    WEBHOOK_TLS_DIR "/tls.crt");
		ck_assert_str_eq(env_str(c, "TEMPORAL_TLS_CLIENT_KEY_PATH"),
		    WEBHOOK_TLS_DIR "/tls.key");
		ck_assert_str_eq(env_str(c, "TEMPORAL_TLS_SERVER_NAME"),
		    "payments.a1b2c.tmprl.cloud");
		ck_assert_str_eq(env_str(c, "TEMPORAL_WORKER_BUILD_ID"),
		    "payments-2026.11.3");
		ref = json_object_get(json_object_get(env(c, "TEMPORAL_API_KEY"),
		    "valueFrom"), "secretKeyRef");
		ck_assert_str_eq(json_string_value(json_object_get(ref, "name")),
		    "temporal-cloud");
		ck_assert_str_eq(json_string_value(json_object_get(ref, "key")), "token");
		ck_assert_ptr_nonnull(named(json_object_get(c, "volumeMounts"),
		    "mountPath", WEBHOOK_TLS_DIR));
	}
	ck_assert_uint_eq(env_count(w, "TEMPORAL_"), 9);
	v = named(json_object_get(json_object_get(out, "spec"), "volumes"), "name",
	    WEBHOOK_TLS_VOLUME);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v,
	    "secret"), "secretName")), "temporal-client-tls");
	/* automountServiceAccountToken: true: the pod asked, the worker keeps it. */
	ck_assert(workers_have_token(out));
	ck_assert_ptr_nonnull(named(json_object_get(json_object_get(out, "spec"),
	    "volumes"), "name", "kube-api-access-m2n3b"));
	ck_assert(json_is_true(json_object_get(json_object_get(out, "spec"),
	    "automountServiceAccountToken")));
	json_decref(out);
	json_decref(pod);
}
END_TEST

/* Every fixture on every kind of cluster: applies, is idempotent, keeps the build ID. */
START_TEST(test_webhook_idempotent_everywhere)
{
	static const char *const files[] = { "pod-init-containers.json",
	    "pod-no-env.json", "pod-tls.json" };
	static const int minors[] = { 27, 28, 29, 33 };
	struct webhook_config cfg;

	for (size_t f = 0; f < N_CASES(files); f++) {
		for (size_t m = 0; m < N_CASES(minors); m++) {
			json_t *pod = fixture(files[f]), *out, *extra, *w;
			char *cause = NULL, *id = buildid_for_pod(pod, &cause);
			size_t nops = 0;

			cfg = cfg_for(minors[m], "t:7233");
			out = mutate(pod, "ns1", &cfg, &nops);
			ck_assert_uint_gt(nops, 3);
			check_agent(out, minors[m] >= 29, id);
			/* Another webhook adds a container; we are called again. */
			extra = json_pack("{s:s, s:s}", "name", "late-sidecar",
			    "image", "example/late:1");
			json_array_append_new(json_object_get(json_object_get(out,
			    "spec"), "containers"), extra);
			json_t *again = mutate(out, "ns1", &cfg, &nops);

			/* one env array, and the TLS mount where there is TLS */
			ck_assert_uint_eq(nops, strcmp(files[f], "pod-tls.json") == 0 ? 2 : 1);
			w = container(again, "containers", "late-sidecar", NULL);
			ck_assert_str_eq(env_str(w, "TEMPORAL_WORKER_BUILD_ID"), id);
			json_decref(again);
			json_decref(out);
			json_decref(pod);
			free(id);
		}
	}
}
END_TEST

START_TEST(test_webhook_already_injected_legacy)
{
	struct webhook_config cfg = cfg_for(30, "t:7233");
	json_t *pod = fixture("pod-no-env.json"), *out, *again;
	struct webhook_config old = cfg_for(27, "t:7233");
	size_t nops = 99;

	/* Injected as a regular container by an older cluster's webhook ... */
	out = mutate(pod, "sandbox", &old, NULL);
	/* ... and seen again after an upgrade: left as it is. */
	again = mutate(out, "sandbox", &cfg, &nops);
	ck_assert_uint_eq(nops, 0);
	ck_assert(json_equal(out, again));
	json_decref(again);
	json_decref(out);
	json_decref(pod);
}
END_TEST

START_TEST(test_webhook_not_labelled)
{
	static const char *const labels[] = {
		"{\"twa.dev/inject\": \"false\", \"twa.dev/deployment\": \"x\"}",
		"{\"twa.dev/deployment\": \"x\"}", "{}", NULL,
	};
	struct webhook_config cfg = cfg_for(29, "t:7233");

	for (size_t i = 0; i < N_CASES(labels); i++) {
		json_t *pod = fixture("pod-no-env.json");
		size_t nops = 99;
		json_t *out;

		if (labels[i] != NULL)
			json_object_set_new(json_object_get(pod, "metadata"), "labels",
			    json_loads(labels[i], 0, NULL));
		else
			json_object_del(json_object_get(pod, "metadata"), "labels");
		out = mutate(pod, "sandbox", &cfg, &nops);
		ck_assert_uint_eq(nops, 0);
		json_decref(out);
		json_decref(pod);
	}
}
END_TEST

/* One pod that must be refused: an edit of pod-no-env and words of the reason. */
struct denial_case {
	const char	*path;		/* member to set, "a.b.c" */
	const char	*value;		/* JSON, or NULL to delete */
	const char	*ns;
	const char	*expect[3];
};

static const struct denial_case denial_cases[] = {
	{ "metadata:labels:twa.dev/deployment", NULL, "s",
	  { "label twa.dev/deployment is missing", "twa.dev/inject=true", NULL } },
	{ "metadata:labels:twa.dev/deployment", "\"Orders_1\"", "s",
	  { "twa.dev/deployment", "\"Orders_1\"", "DNS label" } },
	{ "metadata:annotations", "{\"twa.dev/rollout\": \"Fast\"}", "s",
	  { "twa.dev/rollout", "\"Fast\"", "Manual, AllAtOnce or Progressive" } },
	{ "metadata:annotations", "{\"twa.dev/rolout\": \"Manual\"}", "s",
	  { "twa.dev/rolout", "not a twa annotation", NULL } },
	{ "metadata:annotations", "{\"twa.dev/max-versions\": 5}", "s",
	  { "twa.dev/max-versions", "not a string", NULL } },
	{ "metadata:annotations", "{\"twa.dev/agent-cpu\": \"0\", "
	  "\"twa.dev/report-interval\": \"1h\"}", "s",
	  { "twa.dev/agent-cpu", "twa.dev/report-interval", "1s to 10m" } },
	{ "metadata:annotations", "[]", "s", { "metadata.annotations", "object", NULL } },
	{ "metadata:annotations", "{\"twa.dev/build-id\": \"...\"}", "s",
	  { "twa.dev/build-id", "\"...\"", NULL } },
	{ "spec:containers", NULL, "s", { "spec.containers", "non-empty", NULL } },
	{ "spec:containers", "[]", "s", { "spec.containers", "non-empty", NULL } },
	{ "spec:containers", "[{\"name\": \"w\"}]", "s",
	  { "no build ID", "image", NULL } },
	{ "spec:containers", "[{\"image\": \"x:1\"}]", "s",
	  { "spec.containers[0]", "name", NULL } },
	{ "spec:containers", "[{\"name\": \"w\", \"image\": \"x:1\", \"env\": {}}]", "s",
	  { "spec.containers[0].env", "array", NULL } },
	{ "spec:containers", "[{\"name\": \"w\", \"image\": \"x:1\", \"env\": [1]}]", "s",
	  { "spec.containers[0].env[0]", "name", NULL } },
	{ "spec:initContainers", "\"x\"", "s", { "spec.initContainers", "array", NULL } },
	{ "spec:volumes", "[{}]", "s", { "spec.volumes[0]", "name", NULL } },
	{ "spec:automountServiceAccountToken", "\"yes\"", "s",
	  { "automountServiceAccountToken", "true or false", NULL } },
	{ "metadata:namespace", NULL, NULL, { "namespace", NULL, NULL } },
	{ "spec", NULL, "s", { "spec", "missing", NULL } },
};

/* Set or delete a member named by a path of ':'-separated keys. */
static void
edit(json_t *doc, const char *path, const char *value)
{
	char *copy = xstrdup(path), *p = copy, *colon;
	json_t *cur = doc;

	while ((colon = strchr(p, ':')) != NULL) {
		*colon = '\0';
		if (json_object_get(cur, p) == NULL)
			json_object_set_new(cur, p, json_object());
		cur = json_object_get(cur, p);
		p = colon + 1;
	}
	if (value == NULL)
		json_object_del(cur, p);
	else
		json_object_set_new(cur, p, json_loads(value, JSON_DECODE_ANY, NULL));
	free(copy);
}

START_TEST(test_webhook_denials)
{
	const struct denial_case *c = &denial_cases[_i];
	struct webhook_config cfg = cfg_for(29, "t:7233");
	json_t *pod = fixture("pod-no-env.json"), *resp, *st;
	struct webhook_reply rep;
	char *body;

	edit(pod, c->path, c->value);
	body = review("deny-1", "", "Pod", "CREATE", c->ns, pod);
	webhook_handle(WEBHOOK_MUTATE, body, strlen(body), &cfg, &rep);
	resp = response_of(&rep, "deny-1");
	ck_assert_msg(json_is_false(json_object_get(resp, "allowed")), "case %d: %s",
	    _i, rep.body);
	ck_assert_int_eq(rep.result, WEBHOOK_DENIED);
	ck_assert_ptr_null(json_object_get(resp, "patch"));
	st = json_object_get(resp, "status");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "code")), 400);
	ck_assert_str_eq(json_string_value(json_object_get(st, "message")),
	    rep.message);
	ck_assert_int_eq(strncmp(rep.message, "twa: pod not injected: ", 23), 0);
	for (size_t i = 0; i < 3 && c->expect[i] != NULL; i++)
		ck_assert_msg(strstr(rep.message, c->expect[i]) != NULL,
		    "case %d: \"%s\" not in \"%s\"", _i, c->expect[i], rep.message);
	json_decref(resp);
	webhook_reply_clear(&rep);
	free(body);
	json_decref(pod);
}
END_TEST

/* Bodies that are not AdmissionReviews, and the words of the 400. */
static const struct {
	const char *body;
	const char *expect;
} bad_bodies[] = {
	{ "", "not valid JSON" },
	{ "{", "not valid JSON" },
	{ "\xff\xfe{}", "not valid JSON" },
	{ "{\"a\":1,\"a\":2}", "not valid JSON" },
	{ "[]", "JSON array" },
	{ "null", "not valid JSON" },
	{ "{}", "apiVersion is missing" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
	  "\"request\":{\"uid\":\"u\"}}", "\"admission.k8s.io/v1beta1\"" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}",
	  "kind is \"Pod\"" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
	  "request is missing" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	  "\"request\":[]}", "request is not an object" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	  "\"request\":{\"operation\":\"CREATE\"}}", "request.uid is missing" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	  "\"request\":{\"uid\":7}}", "request.uid is not a string" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	  "\"request\":{\"uid\":\"\"}}", "request.uid" },
	{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
	  "\"request\":{\"uid\":\"u\"}}", "request.operation is missing" },
};

START_TEST(test_webhook_bad_requests)
{
	struct webhook_config cfg = cfg_for(29, "t:7233");
	struct webhook_reply rep;
	json_t *st;

	for (int kind = 0; kind < 2; kind++) {
		webhook_handle(kind, bad_bodies[_i].body, strlen(bad_bodies[_i].body),
		    &cfg, &rep);
		ck_assert_int_eq(rep.http_status, 400);
		ck_assert_int_eq(rep.result, WEBHOOK_BAD_REQUEST);
		ck_assert_msg(strstr(rep.message, bad_bodies[_i].expect) != NULL,
		    "case %d: \"%s\" not in \"%s\"", _i, bad_bodies[_i].expect,
		    rep.message);
		st = json_loadb(rep.body, rep.len, 0, NULL);
		ck_assert_str_eq(json_string_value(json_object_get(st, "kind")), "Status");
		ck_assert_int_eq(json_integer_value(json_object_get(st, "code")), 400);
		ck_assert_str_eq(json_string_value(json_object_get(st, "message")),
		    rep.message);
		json_decref(st);
		webhook_reply_clear(&rep);
	}
}
END_TEST

START_TEST(test_webhook_hostile_sizes)
{
	struct webhook_config cfg = cfg_for(29, "t:7233");
	struct webhook_reply rep;
	size_t n = 200000;
	char *deep = xmalloc(2 * n + 1), *big, *body;
	json_t *pod;

	/* Nesting far past any real object. */
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	webhook_handle(WEBHOOK_MUTATE, deep, 2 * n, &cfg, &rep);
	ck_assert_int_eq(rep.http_status, 400);
	ck_assert_ptr_nonnull(strstr(rep.message, "depth"));
	webhook_reply_clear(&rep);
	/* Deep nesting inside a valid review, under the parser's limit. */
	pod = fixture("pod-no-env.json");
	{
		json_t *cur = json_object_get(pod, "metadata");

		for (int i = 0; i < 1000; i++) {
			json_t *inner = json_object();

			json_object_set_new(cur, "x", inner);
			cur = inner;
		}
	}
	body = review("deep", "", "Pod", "CREATE", "s", pod);
	webhook_handle(WEBHOOK_MUTATE, body, strlen(body), &cfg, &rep);
	ck_assert_int_eq(rep.http_status, 200);
	ck_assert_int_eq(rep.result, WEBHOOK_PATCHED);
	webhook_reply_clear(&rep);
	free(body);
	json_decref(pod);
	/* A uid past the limit. */
	big = xmalloc(WEBHOOK_MAX_UID + 2);
	memset(big, 'u', WEBHOOK_MAX_UID + 1);
	big[WEBHOOK_MAX_UID + 1] = '\0';
	body = xasprintf("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":"
	    "\"AdmissionReview\",\"request\":{\"uid\":\"%s\"}}", big);
	webhook_handle(WEBHOOK_VALIDATE, body, strlen(body), &cfg, &rep);
	ck_assert_int_eq(rep.http_status, 400);
	webhook_reply_clear(&rep);
	free(body);
	free(big);
	free(deep);
}
END_TEST

START_TEST(test_webhook_other_kinds_and_operations)
{
	struct webhook_config cfg = cfg_for(29, "t:7233");
	json_t *pod = fixture("pod-no-env.json"), *dep = fixture("deployment-orders.json");
	struct {
		enum webhook_kind kind;
		const char *group, *k, *op;
		json_t *obj;
		const char *warning;
	} cases[] = {
		{ WEBHOOK_MUTATE, "", "Pod", "UPDATE", pod, "Pod CREATE" },
		{ WEBHOOK_MUTATE, "apps", "Deployment", "CREATE", dep, "apps/Deployment" },
		{ WEBHOOK_VALIDATE, "", "Pod", "CREATE", pod, "only apps/Deployment" },
		{ WEBHOOK_VALIDATE, "apps", "Deployment", "DELETE", NULL, "DELETE" },
	};

	for (size_t i = 0; i < N_CASES(cases); i++) {
		struct webhook_reply rep;
		char *body = review("o", cases[i].group, cases[i].k, cases[i].op,
		    "orders", cases[i].obj);
		json_t *resp;

		webhook_handle(cases[i].kind, body, strlen(body), &cfg, &rep);
		resp = response_of(&rep, "o");
		ck_assert(json_is_true(json_object_get(resp, "allowed")));
		ck_assert_ptr_null(json_object_get(resp, "patch"));
		ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(
		    json_object_get(resp, "warnings"), 0)), cases[i].warning));
		json_decref(resp);
		webhook_reply_clear(&rep);
		free(body);
	}
	json_decref(pod);
	json_decref(dep);
}
END_TEST

/* A Deployment edit for /validate and what must happen. */
struct validate_case {
	const char	*path, *value;
	const char	*address;	/* webhook flag */
	bool		 allowed;
	const char	*expect[3];	/* in the message, or in a warning */
};

static const struct validate_case validate_cases[] = {
	{ "metadata:name", "\"orders-v2\"", NULL, true, { NULL } },
	{ "metadata:labels:twa.dev/deployment", "\"Orders\"", NULL, false,
	  { "label twa.dev/deployment", "\"Orders\"", "DNS label" } },
	{ "metadata:labels:twa.dev/deployment", NULL, NULL, true, { NULL } },
	{ "spec:template:metadata:labels:twa.dev/deployment", "\"billing\"", NULL,
	  false, { "\"billing\"", "expected \"orders\"", NULL } },
	{ "spec:template:metadata:labels:twa.dev/deployment", NULL, NULL, false,
	  { "twa.dev/deployment is missing", "expected \"orders\"", NULL } },
	{ "spec:template:metadata:annotations:twa.dev/ramp-steps",
	  "\"50%/5m,10%/5m\"", NULL, false,
	  { "twa.dev/ramp-steps", "\"50%/5m,10%/5m\"", "strictly rising" } },
	{ "spec:template:metadata:annotations:twa.dev/gate-input", "\"{bad\"", NULL,
	  false, { "twa.dev/gate-input", "\"{bad\"", "JSON" } },
	{ "spec:template:metadata:annotations:twa.dev/temporal-address", NULL, NULL,
	  false, { "no Temporal address", "--temporal-address", NULL } },
	{ "spec:template:metadata:annotations:twa.dev/temporal-address", NULL,
	  "temporal:7233", true, { NULL } },
	{ "spec:template:metadata:annotations:twa.dev/min-ready", "\"0%\"", NULL,
	  false, { "twa.dev/min-ready", "\"0%\"", "1%..100%" } },
	{ "spec:template:spec:containers", "[{\"name\":\"twa\",\"image\":\"x:1\"}]",
	  NULL, false, { "no build ID", "no worker container", NULL } },
	{ "metadata:annotations", "{\"twa.dev/rollout\": \"Manual\"}", NULL, true,
	  { "has no effect", "spec.template.metadata.annotations", NULL } },
	{ "spec:template:metadata:labels:twa.dev/inject", NULL, NULL, true,
	  { "no twa agent", NULL, NULL } },
	{ "spec:template", NULL, NULL, false, { "spec.template", "missing", NULL } },
};

START_TEST(test_webhook_validate)
{
	const struct validate_case *c = &validate_cases[_i];
	struct webhook_config cfg = cfg_for(29, c->address);
	json_t *dep = fixture("deployment-orders.json"), *resp;
	struct webhook_reply rep;
	char *body, *all;

	edit(dep, c->path, c->value);
	body = review("v-1", "apps", "Deployment", "UPDATE", "orders", dep);
	webhook_handle(WEBHOOK_VALIDATE, body, strlen(body), &cfg, &rep);
	resp = response_of(&rep, "v-1");
	ck_assert_msg(json_is_boolean(json_object_get(resp, "allowed")) &&
	    json_is_true(json_object_get(resp, "allowed")) == c->allowed,
	    "case %d: %s", _i, rep.body);
	ck_assert_ptr_null(json_object_get(resp, "patch"));
	all = json_dumps(resp, 0);
	for (size_t i = 0; i < 3 && c->expect[i] != NULL; i++) {
		json_t *js = json_string(c->expect[i]);
		char *q = json_dumps(js, JSON_ENCODE_ANY);

		json_decref(js);

		/* compare as JSON text: quotes inside are escaped there */
		q[strlen(q) - 1] = '\0';
		ck_assert_msg(strstr(all, q + 1) != NULL, "case %d: %s not in %s",
		    _i, q + 1, all);
		free(q);
	}
	if (!c->allowed)
		ck_assert_int_eq(strncmp(rep.message, "twa: Deployment orders-v2: ",
		    27), 0);
	free(all);
	json_decref(resp);
	webhook_reply_clear(&rep);
	free(body);
	json_decref(dep);
}
END_TEST

START_TEST(test_webhook_validate_all_errors_at_once)
{
	struct webhook_config cfg = cfg_for(29, NULL);
	json_t *dep = fixture("deployment-orders.json"), *ann;
	struct webhook_reply rep;
	char *body;

	ann = json_object_get(json_object_get(json_object_get(json_object_get(dep,
	    "spec"), "template"), "metadata"), "annotations");
	json_object_set_new(ann, "twa.dev/rollout", json_string("Canary"));
	json_object_set_new(ann, "twa.dev/max-versions", json_string("1"));
	json_object_set_new(ann, "twa.dev/worker-probe", json_string("grpc://:1"));
	body = review("v-2", "apps", "Deployment", "CREATE", "orders", dep);
	webhook_handle(WEBHOOK_VALIDATE, body, strlen(body), &cfg, &rep);
	ck_assert_int_eq(rep.result, WEBHOOK_DENIED);
	ck_assert_ptr_nonnull(strstr(rep.message, "twa.dev/rollout: value \"Canary\""));
	ck_assert_ptr_nonnull(strstr(rep.message, "twa.dev/max-versions: value \"1\""));
	ck_assert_ptr_nonnull(strstr(rep.message, "twa.dev/worker-probe: value "
	    "\"grpc://:1\""));
	ck_assert_ptr_nonnull(strstr(rep.message, "; "));
	webhook_reply_clear(&rep);
	free(body);
	json_decref(dep);
}
END_TEST

START_TEST(test_webhook_user_keys_with_slash_and_tilde)
{
	struct webhook_config cfg = cfg_for(29, "t:7233");
	json_t *pod = fixture("pod-no-env.json"), *out, *ann;

	json_object_set_new(json_object_get(pod, "metadata"), "annotations",
	    json_pack("{s:s, s:s}", "a.example.com/x~y", "1", "b/c", "2"));
	out = mutate(pod, "s", &cfg, NULL);
	ann = json_object_get(json_object_get(out, "metadata"), "annotations");
	ck_assert_uint_eq(json_object_size(ann), 3);
	ck_assert_str_eq(json_string_value(json_object_get(ann, "a.example.com/x~y")), "1");
	ck_assert_ptr_nonnull(json_object_get(ann, WEBHOOK_MARKER));
	json_decref(out);
	json_decref(pod);
}
END_TEST

START_TEST(test_webhook_parse_version)
{
	static const struct { const char *in; int ok, major, minor; } cases[] = {
		{ "1.29", 1, 1, 29 }, { "v1.28.3", 1, 1, 28 }, { "1.30+", 1, 1, 30 },
		{ "1.31.0-gke.1", 1, 1, 31 }, { "2.0", 1, 2, 0 }, { "1", 0, 0, 0 },
		{ "1.x", 0, 0, 0 }, { "", 0, 0, 0 }, { "0.29", 0, 0, 0 },
		{ "1.29x", 0, 0, 0 }, { "12345.1", 0, 0, 0 }, { "1.29 ", 0, 0, 0 },
	};

	for (size_t i = 0; i < N_CASES(cases); i++) {
		int major = -1, minor = -1;
		char *cause = NULL;
		int r = webhook_parse_version(cases[i].in, &major, &minor, &cause);

		ck_assert_msg((r == 0) == cases[i].ok, "%s", cases[i].in);
		if (r == 0) {
			ck_assert_int_eq(major, cases[i].major);
			ck_assert_int_eq(minor, cases[i].minor);
		} else {
			ck_assert_ptr_nonnull(strstr(cause, "server version"));
			free(cause);
		}
	}
}
END_TEST

START_TEST(test_webhook_native_threshold)
{
	struct webhook_config c = cfg_for(28, NULL);

	ck_assert(!webhook_native_sidecar(&c));
	c.server_minor = 29;
	ck_assert(webhook_native_sidecar(&c));
	c.server_major = 2;
	c.server_minor = 0;
	ck_assert(webhook_native_sidecar(&c));
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_webhook_deployment_pod_native);
	tcase_add_test(tc, test_webhook_old_cluster_regular_container);
	tcase_add_test(tc, test_webhook_init_containers_existing_env);
	tcase_add_test(tc, test_webhook_no_env_no_annotations);
	tcase_add_test(tc, test_webhook_tls_api_key_token_asked);
	tcase_add_test(tc, test_webhook_idempotent_everywhere);
	tcase_add_test(tc, test_webhook_already_injected_legacy);
	tcase_add_test(tc, test_webhook_not_labelled);
	tcase_add_loop_test(tc, test_webhook_denials, 0, N_CASES(denial_cases));
	tcase_add_loop_test(tc, test_webhook_bad_requests, 0, N_CASES(bad_bodies));
	tcase_add_test(tc, test_webhook_hostile_sizes);
	tcase_add_test(tc, test_webhook_other_kinds_and_operations);
	tcase_add_loop_test(tc, test_webhook_validate, 0, N_CASES(validate_cases));
	tcase_add_test(tc, test_webhook_validate_all_errors_at_once);
	tcase_add_test(tc, test_webhook_user_keys_with_slash_and_tilde);
	tcase_add_test(tc, test_webhook_parse_version);
	tcase_add_test(tc, test_webhook_native_threshold);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook)
