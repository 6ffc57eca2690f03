/* Tests of `twa webhook` against the Kubernetes API simulator: the server version decides the injection. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "check_main.h"
#include "proc.h"
#include "selfsigned.h"
#include "tlsclient.h"
#include "xalloc.h"

#define HOST "twa-webhook.twa-system.svc"

/* One simulator and one webhook pointed at it. */
struct rig {
	char		*dir, *ca_sim, *ca_wh, *token_file;
	struct proc	*sim, *wh;
	int		 port, admin, wh_port;
};

/* Write text to dir/name. Caller frees the path. */
static char *
put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* An admin API request to the simulator; returns the status. */
static int
admin(struct rig *r, const char *method, const char *path, const char *body,
    char **out)
{
	char *resp = NULL, *cause = NULL;
	int st = proc_http(r->admin, method, path, body, &resp, &cause);

	ck_assert_msg(st > 0, "admin %s %s: %s", method, path, cause);
	if (out != NULL)
		*out = resp;
	else
		free(resp);
	return st;
}

/* Start the simulator impersonating version and a webhook with token (file text). */
static void
rig_start(struct rig *r, const char *version, const char *token,
    const char *fault)
{
	char tmpl[] = "/tmp/twa-webhook-kube.XXXXXX", *cause = NULL;
	char *mk = proc_srcpath("t/sim/kube/mkcerts.sh"), *cmd, *server, *log;
	char *cert, *key, *twa = proc_buildpath("twa"), *simjs;
	const char *node = getenv("NODE") != NULL ? getenv("NODE") : "node";
	struct selfsigned_pem set;
	const char *const names[] = { HOST };

	memset(r, 0, sizeof *r);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	r->dir = xstrdup(tmpl);
	cmd = xasprintf("sh '%s' '%s' >/dev/null 2>&1", mk, r->dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	r->ca_sim = xasprintf("%s/ca.crt", r->dir);
	simjs = proc_srcpath("t/sim/kube/server.js");
	cert = xasprintf("%s/server.crt", r->dir);
	key = xasprintf("%s/server.key", r->dir);
	log = xasprintf("%s/sim.log", r->dir);
	{
		const char *argv[] = { node, simjs, "--cert", cert, "--key", key,
		    "--token", "tok-webhook,system:serviceaccount:twa-system:twa-webhook",
		    "--namespace", "twa-system", "--version", version, NULL };

		r->sim = proc_start((char *const *)argv, log, 20000, &cause);
		ck_assert_msg(r->sim != NULL, "simulator: %s", cause);
	}
	r->port = proc_port(r->sim, "port");
	r->admin = proc_port(r->sim, "admin");
	if (fault != NULL)
		ck_assert_int_eq(admin(r, "POST", "/faults", fault, NULL) / 100, 2);
	free(cert);
	free(key);
	free(log);
	/* The webhook's own serving certificate. */
	ck_assert_int_eq(selfsigned_create(names, 1, (int64_t)time(NULL), 30, 10,
	    NULL, &set, &cause), 0);
	r->ca_wh = put(r->dir, "wh-ca.crt", set.ca_cert);
	cert = put(r->dir, "wh.crt", set.cert);
	key = put(r->dir, "wh.key", set.key);
	selfsigned_clear(&set);
	r->token_file = put(r->dir, "token", token);
	server = xasprintf("https://127.0.0.1:%d", r->port);
	log = xasprintf("%s/webhook.log", r->dir);
	{
		const char *argv[] = { twa, "webhook", "--listen", "127.0.0.1:0",
		    "--cert-file", cert, "--key-file", key, "--kube-server", server,
		    "--kube-ca", r->ca_sim, "--kube-token-file", r->token_file,
		    "--temporal-address", "t:7233", "--shutdown-delay", "0",
		    "--print-port", "--log-level", "debug", NULL };

		r->wh = proc_start((char *const *)argv, log, 20000, &cause);
		ck_assert_msg(r->wh != NULL, "webhook: %s", cause);
	}
	r->wh_port = proc_port(r->wh, "port");
	free(server);
	free(log);
	free(cert);
	free(key);
	free(twa);
	free(simjs);
	free(mk);
}

/* Stop both and remove the files. */
static void
rig_stop(struct rig *r)
{
	char *cmd = xasprintf("rm -rf '%s'", r->dir);

	proc_stop(r->wh);
	proc_stop(r->sim);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(r->dir);
	free(r->ca_sim);
	free(r->ca_wh);
	free(r->token_file);
}

/* A request to the webhook; the status and the body in *out. */
static int
call(struct rig *r, const char *method, const char *path, const char *body,
    char **out)
{
	struct tlsclient_response resp;
	char *cause = NULL;
	int st;

	if (tlsclient_once(r->wh_port, r->ca_wh, HOST, method, path, body,
	    body != NULL ? strlen(body) : 0, &resp, &cause) != 0)
		ck_abort_msg("%s %s: %s", method, path, cause);
	st = resp.status;
	if (out != NULL)
		*out = xstrdup(resp.body != NULL ? resp.body : "");
	tlsclient_response_clear(&resp);
	return st;
}

/* Condition: /readyz answers 200. */
static bool
ready(void *arg)
{
	char *out;
	int st = call(arg, "GET", "/readyz", NULL, &out);

	free(out);
	return st == 200;
}

/* The review of the fixture pod. Caller frees. */
static char *
pod_review(void)
{
	char *path = proc_srcpath("t/unit/webhook-fixtures/review-deployment-pod.json");
	json_t *j = json_load_file(path, 0, NULL);
	char *text;

	ck_assert_ptr_nonnull(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(path);
	return text;
}

/* Mutate the fixture pod and say where the agent went: 'i' init, 'c' containers. */
static char
agent_place(struct rig *r)
{
	char *body = pod_review(), *out, *patch;
	unsigned char *dec;
	json_t *resp;
	const char *b64;
	char place = '?';
	int n;

	ck_assert_int_eq(call(r, "POST", "/mutate", body, &out), 200);
	resp = json_loads(out, 0, NULL);
	b64 = json_string_value(json_object_get(json_object_get(resp, "response"),
	    "patch"));
	ck_assert_ptr_nonnull(b64);
	dec = xcalloc(1, strlen(b64) + 1);
	n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)strlen(b64));
	ck_assert_int_gt(n, 0);
	patch = (char *)dec;
	if (strstr(patch, "\"path\":\"/spec/initContainers\"") != NULL &&
	    strstr(patch, "\"restartPolicy\":\"Always\"") != NULL)
		place = 'i';
	else if (strstr(patch, "\"path\":\"/spec/containers/-\",\"value\":{\"name\":\"twa\"") != NULL)
		place = 'c';
	free(dec);
	json_decref(resp);
	free(out);
	free(body);
	return place;
}

/* Count GET /version requests the simulator logged with status code. */
static int
version_requests(struct rig *r, int code)
{
	char *out, *q = xasprintf("/requests?code=%d", code);
	json_t *j, *e;
	size_t i;
	int n = 0;

	ck_assert_int_eq(admin(r, "GET", q, NULL, &out), 200);
	j = json_loads(out, 0, NULL);
	json_array_foreach(json_is_array(j) ? j : json_object_get(j, "requests"), i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));

		n += p != NULL && strcmp(p, "/version") == 0;
	}
	json_decref(j);
	free(out);
	free(q);
	return n;
}

START_TEST(test_kube_old_server_regular_container)
{
	struct rig r;
	char *out;

	rig_start(&r, "1.28", "tok-webhook", NULL);
	ck_assert(proc_wait_until(ready, &r, 15000));
	ck_assert_int_eq(agent_place(&r), 'c');
	ck_assert_int_eq(call(&r, "GET", "/metrics", NULL, &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "twa_webhook_native_sidecar{server_version="
	    "\"1.28\"} 0"));
	free(out);
	ck_assert_int_ge(version_requests(&r, 200), 1);
	rig_stop(&r);
}
END_TEST

START_TEST(test_kube_new_server_native_sidecar)
{
	struct rig r;
	char *out;

	rig_start(&r, "1.30", "tok-webhook", NULL);
	ck_assert(proc_wait_until(ready, &r, 15000));
	ck_assert_int_eq(agent_place(&r), 'i');
	ck_assert_int_eq(call(&r, "GET", "/metrics", NULL, &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "twa_webhook_native_sidecar{server_version="
	    "\"1.30\"} 1"));
	free(out);
	rig_stop(&r);
}
END_TEST

/* Context for the retry conditions. */
struct want {
	struct rig	*r;
	int		 code, n;
};

/* Condition: at least n GET /version answered code. */
static bool
saw_versions(void *arg)
{
	struct want *w = arg;

	return version_requests(w->r, w->code) >= w->n;
}

START_TEST(test_kube_version_retried_until_known)
{
	struct rig r;
	struct want w = { &r, 503, 2 };
	char *body = pod_review(), *out;

	rig_start(&r, "1.29", "tok-webhook", "{\"action\":\"status\",\"code\":503,"
	    "\"path\":\"^/version$\",\"count\":3}");
	ck_assert(proc_wait_until(saw_versions, &w, 15000));
	/* While the version is unknown: not ready, /mutate 503, /validate fine. */
	if (version_requests(&r, 200) == 0) {
		ck_assert_int_eq(call(&r, "POST", "/mutate", body, &out), 503);
		ck_assert_ptr_nonnull(strstr(out, "not known yet"));
		free(out);
	}
	ck_assert(proc_wait_until(ready, &r, 20000));
	ck_assert_int_eq(version_requests(&r, 503), 3);
	ck_assert_int_eq(agent_place(&r), 'i');
	free(body);
	rig_stop(&r);
}
END_TEST

START_TEST(test_kube_unauthorized_then_token_accepted)
{
	struct rig r;
	struct want w = { &r, 401, 2 };
	char *out;

	rig_start(&r, "1.29", "tok-not-yet", NULL);
	ck_assert(proc_wait_until(saw_versions, &w, 15000));
	ck_assert_int_eq(call(&r, "GET", "/readyz", NULL, &out), 503);
	ck_assert_ptr_nonnull(strstr(out, "version"));
	free(out);
	/* The cluster learns the token (the kubelet would rotate the file). */
	ck_assert_int_eq(admin(&r, "POST", "/tokens", "{\"token\":\"tok-not-yet\","
	    "\"user\":\"system:serviceaccount:twa-system:twa-webhook\"}", NULL) / 100, 2);
	ck_assert(proc_wait_until(ready, &r, 40000));
	rig_stop(&r);
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook_kube(void)
{
	Suite *s = suite_create("webhook_kube");
	TCase *tc = tcase_create("kube");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_kube_old_server_regular_container);
	tcase_add_test(tc, test_kube_new_server_native_sidecar);
	tcase_add_test(tc, test_kube_version_retried_until_known);
	tcase_add_test(tc, test_kube_unauthorized_then_token_accepted);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook_kube)
