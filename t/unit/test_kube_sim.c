/* Tests of the kube client against the Kubernetes API simulator: each verb and each failure. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube.h"
#include "kubeevent.h"
#include "kubewatch.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

#define LEASES "/apis/coordination.k8s.io/v1/namespaces/work/leases"

static struct ksim *sim;
static struct event_base *base;
static struct kube *kc;

/* One request's outcome. */
struct res {
	bool			 done;
	json_t			*obj;
	enum kube_error_kind	 kind;
	long			 status;
	char			 reason[64];
	char			 message[512];
	unsigned		 attempts;
	int			 curl_code;
};

/* Fixture: a fresh simulator and client per test. */
static void
setup(void)
{
	char *cause = NULL;

	sim = ksim_start(&cause);
	ck_assert_msg(sim != NULL, "cannot start the simulator: %s", cause);
	base = event_base_new();
	kc = ksim_kube(sim, base, NULL);
	kube_set_backoff(kc, 50, 400);
}

/* Fixture teardown. */
static void
teardown(void)
{
	kube_free(kc);
	event_base_free(base);
	ksim_stop(sim);
}

/* Response callback: record the outcome in a struct res. */
static void
res_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct res *r = arg;

	r->done = true;
	if (err == NULL) {
		r->obj = json_incref(obj);
		return;
	}
	r->kind = err->kind;
	r->status = err->status;
	r->attempts = err->attempts;
	r->curl_code = err->curl_code;
	snprintf(r->reason, sizeof r->reason, "%s", err->reason);
	snprintf(r->message, sizeof r->message, "%s", err->message);
}

/* Wait for r; fails the test after 20 s. */
static void
wait_res(struct res *r)
{
	ck_assert_msg(ksim_loop_until(base, &r->done, 20000),
	    "request did not finish");
}

/* Reset r for reuse. */
static void
res_clear(struct res *r)
{
	json_decref(r->obj);
	memset(r, 0, sizeof *r);
}

/* Create Lease name with an optional annotation value; returns it (caller decrefs). */
static json_t *
make_lease(const char *name, const char *ann)
{
	struct res r = { 0 };
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}",
	    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
	    "metadata", "name", name, "labels", "app", "t",
	    "spec", "holderIdentity", "x");

	if (ann != NULL)
		json_object_set_new(json_object_get(o, "metadata"),
		    "annotations", json_pack("{s:s}", "big", ann));
	kube_create(kc, LEASES, o, NULL, res_cb, &r);
	json_decref(o);
	wait_res(&r);
	ck_assert_msg(r.obj != NULL, "create %s: %ld %s %s", name, r.status,
	    r.reason, r.message);
	return r.obj;
}

/* Add a fault rule through the admin API. */
static void
fault(const char *json)
{
	int st = ksim_admin(sim, "POST", "/faults", json, NULL);

	ck_assert_msg(st == 201, "POST /faults %s: %d", json, st);
}

/* Field of a JSON object at a.b, as a string. */
static const char *
str_at(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

START_TEST(test_verbs)
{
	struct res r = { 0 };
	json_t *l = make_lease("one", NULL), *p;
	char *path = xasprintf(LEASES "/one"), *stale;
	const char *uid = str_at(l, "metadata", "uid");

	/* create again: 409 AlreadyExists */
	p = json_pack("{s:{s:s}}", "metadata", "name", "one");
	kube_create(kc, LEASES, p, NULL, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_int_eq(r.kind, KUBE_ERR_HTTP);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(r.reason, "AlreadyExists");
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);

	/* GET, and a 404 with its Status */
	kube_get(kc, path, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_str_eq(str_at(r.obj, "spec", "holderIdentity"), "x");
	res_clear(&r);
	kube_get(kc, LEASES "/none", NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.reason, "NotFound");
	ck_assert_ptr_nonnull(strstr(r.message, "none"));
	res_clear(&r);

	/* merge patch of one annotation; then PUT with the old rv: 409 Conflict */
	stale = xstrdup(str_at(l, "metadata", "resourceVersion"));
	p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
	    "agents.twa.dev/a", "{}");
	kube_patch(kc, path, KUBE_PATCH_MERGE, p, NULL, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_str_ne(str_at(r.obj, "metadata", "resourceVersion"), stale);
	res_clear(&r);
	kube_put(kc, path, l, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(r.reason, "Conflict");
	res_clear(&r);
	free(stale);

	/* JSON Patch: a failing test is 422 Invalid, a passing one applies */
	p = json_loads("[{\"op\":\"test\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"y\"},{\"op\":\"add\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"z\"}]", 0, NULL);
	kube_patch(kc, path, KUBE_PATCH_JSON, p, NULL, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(r.reason, "Invalid");
	res_clear(&r);
	p = json_loads("[{\"op\":\"test\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"x\"},{\"op\":\"add\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"z\"}]", 0, NULL);
	kube_patch(kc, path, KUBE_PATCH_JSON, p, NULL, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_str_eq(str_at(r.obj, "spec", "holderIdentity"), "z");
	/* PUT with the current rv */
	json_object_set_new(json_object_get(r.obj, "spec"), "holderIdentity",
	    json_string("w"));
	p = json_incref(r.obj);
	res_clear(&r);
	kube_put(kc, path, p, NULL, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_str_eq(str_at(r.obj, "spec", "holderIdentity"), "w");
	res_clear(&r);

	/* DELETE with a UID precondition: wrong uid 409, right uid gone */
	kube_delete(kc, path, "0000-not-it", NULL, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(r.reason, "Conflict");
	res_clear(&r);
	kube_delete(kc, path, uid, "Background", NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	res_clear(&r);
	kube_get(kc, path, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 404);
	res_clear(&r);
	json_decref(l);
	free(path);
}
END_TEST

START_TEST(test_list_pages)
{
	struct res r = { 0 };
	char name[16];
	uint64_t before;

	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof name, "l%d", i);
		json_decref(make_lease(name, NULL));
	}
	before = kube_requests_sent(kc);
	kube_list(kc, LEASES, "labelSelector=app%3Dt", 3, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_uint_eq(json_array_size(json_object_get(r.obj, "items")), 7);
	ck_assert_uint_eq(kube_requests_sent(kc) - before, 3);
	ck_assert_ptr_nonnull(str_at(r.obj, "metadata", "resourceVersion"));
	ck_assert_ptr_null(json_object_get(json_object_get(r.obj, "metadata"),
	    "continue"));
	res_clear(&r);
	/* the continue token expired (410): the list starts over, once */
	fault("{\"action\":\"status\",\"method\":\"GET\",\"query\":"
	    "\"continue=\",\"code\":410,\"reason\":\"Expired\",\"count\":1}");
	before = kube_requests_sent(kc);
	kube_list(kc, LEASES, NULL, 3, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_msg(r.obj != NULL, "%ld %s", r.status, r.message);
	ck_assert_uint_eq(json_array_size(json_object_get(r.obj, "items")), 7);
	ck_assert_uint_eq(kube_requests_sent(kc) - before, 2 + 3);
	res_clear(&r);
	fault("{\"action\":\"status\",\"method\":\"GET\",\"query\":"
	    "\"continue=\",\"code\":410,\"reason\":\"Expired\",\"count\":2}");
	kube_list(kc, LEASES, NULL, 3, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 410);
	ck_assert_str_eq(r.reason, "Expired");
	res_clear(&r);
	kube_list(kc, LEASES, "labelSelector=app%3Dnone", 0, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_uint_eq(json_array_size(json_object_get(r.obj, "items")), 0);
	res_clear(&r);
}
END_TEST

START_TEST(test_token_reread_after_401)
{
	struct res r = { 0 };
	char *tf = xasprintf("%s/token2", sim->dir);
	struct kube *k2;
	uint64_t before;

	ck_assert_int_eq(ksim_add_token(sim, "tok-a", "agent-a"), 0);
	ck_assert_int_eq(ksim_add_token(sim, "tok-b", "agent-a"), 0);
	ck_assert_int_eq(ksim_write_file(tf, "tok-a\n"), 0);
	k2 = ksim_kube(sim, base, tf);
	kube_get(k2, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	res_clear(&r);
	/* the kubelet rotates the token and the old one expires */
	ck_assert_int_eq(ksim_write_file(tf, "tok-b\n"), 0);
	ck_assert_int_eq(ksim_admin(sim, "POST", "/tokens/tok-a/expire", "{}",
	    NULL), 200);
	before = kube_requests_sent(k2);
	kube_get(k2, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_msg(r.obj != NULL, "after rotation: %ld %s", r.status,
	    r.message);
	ck_assert_uint_eq(kube_requests_sent(k2) - before, 2);
	res_clear(&r);
	/* a token that stays bad: 401 Unauthorized after one re-read */
	ck_assert_int_eq(ksim_admin(sim, "DELETE", "/tokens/tok-b", NULL, NULL),
	    200);
	kube_get(k2, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(r.reason, "Unauthorized");
	ck_assert_uint_eq(r.attempts, 2);
	res_clear(&r);
	kube_free(k2);
	free(tf);
}
END_TEST

START_TEST(test_forbidden_anonymous)
{
	struct res r = { 0 };
	struct kube_config c;
	struct kube *k2;
	char *cause = NULL;

	ck_assert_int_eq(kube_config_explicit(&c, sim->server, sim->ca, NULL,
	    "work", &cause), 0);
	k2 = kube_new(base, &c, &cause);
	kube_config_clear(&c);
	kube_get(k2, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.kind, KUBE_ERR_HTTP);
	ck_assert_int_eq(r.status, 403);
	ck_assert_str_eq(r.reason, "Forbidden");
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);
	kube_free(k2);
}
END_TEST

START_TEST(test_throttle_retry_after)
{
	struct res r = { 0 };
	long long t0;
	uint64_t before;
	json_t *o;

	fault("{\"action\":\"throttle\",\"method\":\"GET\",\"path\":\"leases\","
	    "\"retryAfter\":1,\"count\":1}");
	before = kube_requests_sent(kc);
	t0 = proc_now_ms();
	kube_get(kc, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_int_ge(proc_now_ms() - t0, 1000);
	ck_assert_uint_eq(kube_requests_sent(kc) - before, 2);
	res_clear(&r);
	/* a create is not repeated on its own */
	fault("{\"action\":\"throttle\",\"method\":\"POST\",\"form\":\"status\","
	    "\"retryAfter\":1,\"count\":1}");
	o = json_pack("{s:{s:s}}", "metadata", "name", "t1");
	kube_create(kc, LEASES, o, NULL, res_cb, &r);
	json_decref(o);
	wait_res(&r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.reason, "TooManyRequests");
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);
}
END_TEST

START_TEST(test_server_errors)
{
	struct res r = { 0 };
	struct kube_opts three = { .max_attempts = 3 };
	struct kube_opts idem = { .retry = KUBE_RETRY_IDEMPOTENT };
	uint64_t before;
	json_t *p, *l = make_lease("s", NULL);

	fault("{\"action\":\"status\",\"method\":\"GET\",\"code\":500,\"count\":2}");
	before = kube_requests_sent(kc);
	kube_get(kc, LEASES "/s", NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_uint_eq(kube_requests_sent(kc) - before, 3);
	res_clear(&r);

	fault("{\"action\":\"status\",\"method\":\"GET\",\"code\":503,\"count\":-1}");
	kube_get(kc, LEASES "/s", &three, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.reason, "ServiceUnavailable");
	ck_assert_uint_eq(r.attempts, 3);
	res_clear(&r);
	ck_assert_int_eq(ksim_admin(sim, "DELETE", "/faults", NULL, NULL), 200);

	/* a conditional JSON Patch is never repeated */
	fault("{\"action\":\"status\",\"method\":\"PATCH\",\"code\":500,\"count\":1}");
	p = json_loads("[{\"op\":\"test\",\"path\":\"/spec/holderIdentity\","
	    "\"value\":\"x\"}]", 0, NULL);
	kube_patch(kc, LEASES "/s", KUBE_PATCH_JSON, p, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 500);
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);
	/* an idempotent merge patch is */
	fault("{\"action\":\"status\",\"method\":\"PATCH\",\"code\":502,"
	    "\"body\":\"<html>bad gateway</html>\",\"contentType\":\"text/html\","
	    "\"count\":1}");
	json_decref(p);
	p = json_loads("{\"metadata\":{\"annotations\":{\"k\":\"v\"}}}", 0, NULL);
	kube_patch(kc, LEASES "/s", KUBE_PATCH_MERGE, p, &idem, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	res_clear(&r);
	/* a proxy's HTML error keeps its text as the message */
	fault("{\"action\":\"status\",\"method\":\"PATCH\",\"code\":502,"
	    "\"body\":\"<html>bad gateway</html>\",\"contentType\":\"text/html\","
	    "\"count\":1}");
	kube_patch(kc, LEASES "/s", KUBE_PATCH_MERGE, p, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 502);
	ck_assert_str_eq(r.reason, "");
	ck_assert_ptr_nonnull(strstr(r.message, "bad gateway"));
	res_clear(&r);
	json_decref(p);
	json_decref(l);
}
END_TEST

START_TEST(test_timeouts)
{
	struct res r = { 0 };
	struct kube_opts quick = { .timeout_ms = 300, .deadline_ms = 5000 };
	long long t0;
	json_t *p;

	json_decref(make_lease("t", NULL));
	fault("{\"action\":\"delay\",\"method\":\"GET\",\"delayMs\":3000,"
	    "\"count\":1}");
	t0 = proc_now_ms();
	kube_get(kc, LEASES "/t", &quick, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_int_lt(proc_now_ms() - t0, 2500);
	res_clear(&r);
	fault("{\"action\":\"delay\",\"method\":\"PATCH\",\"delayMs\":3000,"
	    "\"count\":1}");
	p = json_loads("{\"metadata\":{\"annotations\":{\"k\":\"v\"}}}", 0, NULL);
	t0 = proc_now_ms();
	kube_patch(kc, LEASES "/t", KUBE_PATCH_MERGE, p, &quick, res_cb, &r);
	json_decref(p);
	wait_res(&r);
	ck_assert_int_eq(r.kind, KUBE_ERR_TIMEOUT);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_lt(proc_now_ms() - t0, 2500);
	res_clear(&r);
}
END_TEST

START_TEST(test_dropped_connection)
{
	struct res r = { 0 };
	struct kube *k2;
	uint64_t before;
	json_t *o;

	fault("{\"action\":\"drop\",\"method\":\"GET\",\"count\":1}");
	before = kube_requests_sent(kc);
	kube_get(kc, LEASES, NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	ck_assert_uint_eq(kube_requests_sent(kc) - before, 2);
	res_clear(&r);
	/*
	 * A create on a fresh connection is not repeated (on a reused one
	 * curl itself may resend a request the server never answered).
	 */
	k2 = ksim_kube(sim, base, NULL);
	fault("{\"action\":\"drop\",\"method\":\"POST\",\"count\":1}");
	o = json_pack("{s:{s:s}}", "metadata", "name", "d1");
	kube_create(k2, LEASES, o, NULL, res_cb, &r);
	json_decref(o);
	wait_res(&r);
	ck_assert_int_eq(r.kind, KUBE_ERR_TRANSPORT);
	ck_assert_int_ne(r.curl_code, 0);
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);
	kube_free(k2);
}
END_TEST

START_TEST(test_oversized_response)
{
	struct res r = { 0 };
	struct kube_opts small = { .max_body = 8192 };
	char *big = xmalloc(65537);

	memset(big, 'x', 65536);
	big[65536] = '\0';
	json_decref(make_lease("big", big));
	free(big);
	kube_get(kc, LEASES "/big", &small, res_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.kind, KUBE_ERR_TOO_LARGE);
	ck_assert_uint_eq(r.attempts, 1);
	res_clear(&r);
	kube_get(kc, LEASES "/big", NULL, res_cb, &r);
	wait_res(&r);
	ck_assert_ptr_nonnull(r.obj);
	res_clear(&r);
}
END_TEST

/* What a watch saw. */
struct wlog {
	unsigned	 syncs, added, modified, deleted, bookmarks, failed;
	char		 names[2048];	/* "+a +b ~a -b" */
	bool		 flag;		/* set by the test's condition */
	unsigned	 sync_items;
};

/* Watch callback: log events. */
static void
wlog_cb(enum kubewatch_what what, json_t *obj, const struct kube_error *err,
    void *arg)
{
	struct wlog *w = arg;
	const char *name = obj != NULL ? str_at(obj, "metadata", "name") : NULL;
	size_t n = strlen(w->names);
	const char *tag = NULL;

	switch (what) {
	case KUBEWATCH_SYNC:
		w->syncs++;
		w->sync_items = json_array_size(json_object_get(obj, "items"));
		break;
	case KUBEWATCH_ADDED:
		w->added++;
		tag = "+";
		break;
	case KUBEWATCH_MODIFIED:
		w->modified++;
		tag = "~";
		break;
	case KUBEWATCH_DELETED:
		w->deleted++;
		tag = "-";
		break;
	case KUBEWATCH_BOOKMARK:
		w->bookmarks++;
		break;
	case KUBEWATCH_FAILED:
		w->failed++;
		break;
	}
	if (tag != NULL && name != NULL && n + strlen(name) + 3 < sizeof w->names)
		snprintf(w->names + n, sizeof w->names - n, "%s%s%s",
		    n > 0 ? " " : "", tag, name);
}

/* Condition: the log has at least *want added events. */
struct wcond {
	struct wlog	*w;
	unsigned	 added, syncs;
};

/* Run the loop until the watch log reaches the wanted counts. */
static bool
wait_watch(struct wlog *w, unsigned added, unsigned syncs, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;

	while (proc_now_ms() < end) {
		bool tick = false;

		if (w->added >= added && w->syncs >= syncs)
			return true;
		ksim_loop_until(base, &tick, 20);
	}
	return w->added >= added && w->syncs >= syncs;
}

START_TEST(test_watch_cut_and_resume)
{
	struct wlog w = { 0 };
	struct kubewatch *kw;

	json_decref(make_lease("w0", NULL));
	kw = kubewatch_start(kc, LEASES, NULL, 60, wlog_cb, &w);
	ck_assert(wait_watch(&w, 0, 1, 10000));
	ck_assert_uint_eq(w.sync_items, 1);
	json_decref(make_lease("w1", NULL));
	ck_assert(wait_watch(&w, 1, 1, 10000));
	/* abort the stream mid-way: the watch resumes without re-listing */
	fault("{\"action\":\"cutWatch\",\"afterEvents\":1,\"count\":1}");
	ck_assert_int_eq(ksim_admin(sim, "POST", "/watches/cut",
	    "{\"mode\":\"abort\"}", NULL), 200);
	json_decref(make_lease("w2", NULL));
	json_decref(make_lease("w3", NULL));
	json_decref(make_lease("w4", NULL));
	ck_assert_msg(wait_watch(&w, 4, 1, 15000), "events: %s", w.names);
	ck_assert_uint_eq(kubewatch_lists(kw), 1);
	ck_assert_uint_ge(w.failed, 1);
	ck_assert_str_eq(w.names, "+w1 +w2 +w3 +w4");
	/* a clean end of stream is resumed as well */
	ck_assert_int_eq(ksim_admin(sim, "POST", "/watches/cut",
	    "{\"mode\":\"end\"}", NULL), 200);
	json_decref(make_lease("w5", NULL));
	ck_assert_msg(wait_watch(&w, 5, 1, 15000), "events: %s", w.names);
	ck_assert_uint_eq(kubewatch_lists(kw), 1);
	kubewatch_stop(kw);
}
END_TEST

/* Cut the watch, let its resume point expire, and expect a re-list. */
static void
expire_and_relist(const char *form)
{
	struct wlog w = { 0 };
	struct kubewatch *kw;
	char *body = xasprintf("{\"expiredWatchForm\":\"%s\"}", form);

	ck_assert_int_eq(ksim_admin(sim, "PATCH", "/settings", body, NULL), 200);
	free(body);
	json_decref(make_lease("e0", NULL));
	kw = kubewatch_start(kc, LEASES, NULL, 60, wlog_cb, &w);
	ck_assert(wait_watch(&w, 0, 1, 10000));
	/* hold the resumed watch until the history is compacted past it */
	fault("{\"action\":\"delay\",\"method\":\"GET\",\"query\":\"watch=\","
	    "\"delayMs\":800,\"count\":1}");
	ck_assert_int_eq(ksim_admin(sim, "POST", "/watches/cut",
	    "{\"mode\":\"abort\"}", NULL), 200);
	json_decref(make_lease("e1", NULL));
	ck_assert_int_eq(ksim_admin(sim, "POST", "/compact", "{}", NULL), 200);
	ck_assert_msg(wait_watch(&w, 0, 2, 15000), "no re-list (%s)", form);
	ck_assert_uint_eq(kubewatch_lists(kw), 2);
	ck_assert_uint_eq(w.sync_items, 2);
	json_decref(make_lease("e2", NULL));
	ck_assert_msg(wait_watch(&w, 1, 2, 10000), "events: %s", w.names);
	ck_assert_str_eq(w.names, "+e2");
	kubewatch_stop(kw);
}

START_TEST(test_watch_410_event)
{
	expire_and_relist("event");
}
END_TEST

START_TEST(test_watch_410_http)
{
	expire_and_relist("http");
}
END_TEST

START_TEST(test_watch_bookmarks)
{
	struct wlog w = { 0 };
	struct kubewatch *kw;
	long long end;

	ck_assert_int_eq(ksim_admin(sim, "PATCH", "/settings",
	    "{\"bookmarkIntervalMs\":100}", NULL), 200);
	kw = kubewatch_start(kc, LEASES, NULL, 60, wlog_cb, &w);
	end = proc_now_ms() + 10000;
	while (w.bookmarks < 2 && proc_now_ms() < end) {
		bool tick = false;

		ksim_loop_until(base, &tick, 20);
	}
	ck_assert_uint_ge(w.bookmarks, 2);
	ck_assert_ptr_nonnull(kubewatch_rv(kw));
	kubewatch_stop(kw);
}
END_TEST

/* Stream line callback: count lines. */
static void
count_line_cb(const char *line, size_t len, void *arg)
{
	(*(unsigned *)arg)++;
}

struct stream_res {
	struct res	 r;
	unsigned	 lines;
};

/* Stream done callback. */
static void
stream_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	res_cb(obj, err, &((struct stream_res *)arg)->r);
}

/* Line callback of the stream in test_watch_oversized_event. */
static void
stream_line_cb(const char *line, size_t len, void *arg)
{
	count_line_cb(line, len, &((struct stream_res *)arg)->lines);
}

START_TEST(test_watch_oversized_event)
{
	struct stream_res s = { { 0 }, 0 };
	struct kube_opts small = { .max_body = 16384, .timeout_ms = 20000 };
	char *big = xmalloc(40001);
	struct kube_req *rq;

	memset(big, 'y', 40000);
	big[40000] = '\0';
	json_decref(make_lease("small", NULL));
	json_decref(make_lease("huge", big));
	free(big);
	rq = kube_stream(kc, LEASES "?watch=1&resourceVersion=0&"
	    "timeoutSeconds=10", &small, stream_line_cb, stream_done_cb, &s);
	ck_assert_ptr_nonnull(rq);
	wait_res(&s.r);
	ck_assert_int_eq(s.r.kind, KUBE_ERR_TOO_LARGE);
	res_clear(&s.r);
}
END_TEST

/* Version callback. */
static void
version_cb(int major, int minor, const struct kube_error *err, void *arg)
{
	struct res *r = arg;

	r->done = true;
	r->status = err == NULL ? major * 100 + minor : -1;
}

START_TEST(test_events_and_version)
{
	struct res r = { 0 };
	struct kube_event ev = {
		.regarding = { "coordination.k8s.io/v1", "Lease", "ev", "work",
		    NULL },
		.type = "Normal", .reason = "Elected", .action = "Lead",
		.note = "test event", .instance = "pod-1",
	};
	char *cause = NULL;
	json_t *l = make_lease("ev", NULL);

	ev.regarding.uid = str_at(l, "metadata", "uid");
	ck_assert_ptr_nonnull(kube_event_create(kc, &ev, res_cb, &r, &cause));
	wait_res(&r);
	ck_assert_msg(r.obj != NULL, "event: %ld %s %s", r.status, r.reason,
	    r.message);
	ck_assert_str_eq(json_string_value(json_object_get(r.obj,
	    "reportingController")), "twa.dev/agent");
	res_clear(&r);
	ev.type = "Bad";
	ck_assert_ptr_null(kube_event_create(kc, &ev, res_cb, &r, &cause));
	free(cause);
	kube_version(kc, version_cb, &r);
	wait_res(&r);
	ck_assert_int_eq(r.status, 130);
	json_decref(l);
}
END_TEST

START_TEST(test_cancel)
{
	struct res r = { 0 };
	struct kube_req *q;
	bool never = false;

	fault("{\"action\":\"delay\",\"method\":\"GET\",\"delayMs\":500,"
	    "\"count\":1}");
	q = kube_get(kc, LEASES, NULL, res_cb, &r);
	ksim_loop_until(base, &never, 100);
	kube_cancel(q);
	ksim_loop_until(base, &never, 700);
	ck_assert(!r.done);
	/* a list cancelled between pages */
	q = kube_list(kc, LEASES, NULL, 1, NULL, res_cb, &r);
	kube_cancel(q);
	ksim_loop_until(base, &never, 200);
	ck_assert(!r.done);
}
END_TEST

/* The suite. */
static Suite *
kube_sim_suite(void)
{
	Suite *s = suite_create("kube_sim");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_verbs);
	tcase_add_test(tc, test_list_pages);
	tcase_add_test(tc, test_token_reread_after_401);
	tcase_add_test(tc, test_forbidden_anonymous);
	tcase_add_test(tc, test_throttle_retry_after);
	tcase_add_test(tc, test_server_errors);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_dropped_connection);
	tcase_add_test(tc, test_oversized_response);
	tcase_add_test(tc, test_watch_cut_and_resume);
	tcase_add_test(tc, test_watch_410_event);
	tcase_add_test(tc, test_watch_410_http);
	tcase_add_test(tc, test_watch_bookmarks);
	tcase_add_test(tc, test_watch_oversized_event);
	tcase_add_test(tc, test_events_and_version);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(kube_sim_suite)
