/*
 * test_leader: the leader loop in this process (real Kubernetes client,
 * elector and leader) against both simulators, with the health board
 * written by the test: first version, AllAtOnce v1 -> v2 (and the time
 * from "healthy" to SetCurrent), then drain -> scale down -> delete ->
 * version deleted, and a leader that loses the lease stops acting.
 */
#include "config.h"

#include <check.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "e2e.h"
#include "kube.h"
#include "leader.h"
#include "lease.h"
#include "log.h"
#include "proc.h"
#include "timefmt.h"
#include "xalloc.h"

/* The leader under test and its loop. */
struct tl {
	struct e2e		*w;
	struct event_base	*base;
	struct kube		*k;
	struct lease		*l;
	struct leader		*ld;
	struct event		*tick;
	int			 starts;
};

static struct tl T;

/* The health entries the test stands in for (rewritten every 500 ms). */
struct tl_entry {
	char	pod[64];
	char	build[16];
	char	state[16];
};
static struct tl_entry tl_board[16];
static size_t tl_nboard;
static long long tl_board_written;

static void tl_health_write(const char *pod, const char *build,
    const char *state);

/* Elector callback: start or stop the leader. */
static void
tl_leading_cb(bool leading, void *arg)
{
	struct tl *t = arg;

	if (leading) {
		t->starts++;
		leader_start(t->ld);
	} else
		leader_stop(t->ld);
}

/* Every Lease object the elector received. */
static void
tl_object_cb(json_t *obj, int64_t sent, int64_t recv, void *arg)
{
	struct tl *t = arg;

	leader_observe_lease(t->ld, obj);
}

/* Break the loop after a short while. */
static void
tl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the loop for ms milliseconds; refresh the health board. */
static void
tl_pump(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (proc_now_ms() - tl_board_written >= 500) {
		tl_board_written = proc_now_ms();
		for (size_t i = 0; i < tl_nboard; i++)
			tl_health_write(tl_board[i].pod, tl_board[i].build,
			    tl_board[i].state);
	}
	evtimer_add(T.tick, &tv);
	event_base_dispatch(T.base);
}

/* Set the health entry of pod (kept fresh by tl_pump). */
static void
tl_health(const char *pod, const char *build, const char *state)
{
	size_t i;

	for (i = 0; i < tl_nboard; i++)
		if (strcmp(tl_board[i].pod, pod) == 0)
			break;
	ck_assert_uint_lt(i, sizeof tl_board / sizeof tl_board[0]);
	if (i == tl_nboard)
		tl_nboard++;
	snprintf(tl_board[i].pod, sizeof tl_board[i].pod, "%s", pod);
	snprintf(tl_board[i].build, sizeof tl_board[i].build, "%s", build);
	snprintf(tl_board[i].state, sizeof tl_board[i].state, "%s", state);
	tl_health_write(pod, build, state);
}

/* Write a health entry for pod as an agent would. */
static void
tl_health_write(const char *pod, const char *build, const char *state)
{
	struct timespec ts;
	char now[TIMEFMT_MICRO_LEN], *val, *body, *key;
	json_t *patch, *ann;

	clock_gettime(CLOCK_REALTIME, &ts);
	timefmt_micro((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now);
	val = xasprintf("{\"build\":\"%s\",\"state\":\"%s\",\"reason\":\"\","
	    "\"changed\":\"%s\",\"written\":\"%s\",\"pod\":\"%s\"}", build,
	    state, now, now, pod);
	key = xasprintf("agents.twa.dev/%s", pod);
	ann = json_object();
	json_object_set_new(ann, key, json_string(val));
	patch = json_pack("{s:{s:o}}", "metadata", "annotations", ann);
	free(key);
	body = json_dumps(patch, JSON_COMPACT);
	ck_assert_int_eq(e2e_kadmin(T.w, "PATCH", "/objects/leases/" E2E_NS
	    "/twa-" E2E_LABEL, body, NULL), 200);
	free(body);
	free(val);
	json_decref(patch);
}

/* Register a versioned poller of build on the workflow and activity queue. */
static void
tl_pollers(const char *build)
{
	char *body;

	for (int i = 0; i < 2; i++) {
		body = xasprintf("{\"taskQueue\":\"" E2E_TQ "\",\"type\":\"%s\","
		    "\"deploymentName\":\"" E2E_TDEPLOYMENT "\",\"buildId\":"
		    "\"%s\",\"identity\":\"worker-%s\"}", i == 0 ? "workflow" :
		    "activity", build, build);
		ck_assert_int_eq(e2e_tadmin(T.w, "POST", "/pollers", body, NULL),
		    200);
		free(body);
	}
}

/* Condition wrapper that runs the leader's loop first. */
struct tl_cond {
	bool	(*cond)(struct e2e *, void *);
	void	*arg;
};

/* Pump then check. */
static bool
tl_cond_cb(struct e2e *w, void *arg)
{
	struct tl_cond *c = arg;

	tl_pump(20);
	return c->cond(w, c->arg);
}

/* Wait for cond while the leader runs. */
static bool
tl_wait(const char *what, bool (*cond)(struct e2e *, void *), void *arg,
    int timeout_ms)
{
	struct tl_cond c = { cond, arg };

	return e2e_wait(T.w, what, tl_cond_cb, &c, timeout_ms);
}

/* Set up the world and the leader. */
static void
tl_setup(void)
{
	static const char *const targs[] = { "--poller-ttl", "600000", NULL };
	struct e2e_opts o = { .scenario = "leader", .no_kubelet = true,
	    .temporal_args = targs, .report_interval = "1s" };
	struct kube_config kc;
	struct lease_config lc = { .name = "twa-" E2E_LABEL, .namespace = E2E_NS,
	    .identity = "leader-0", .lease_ms = 3000, .renew_ms = 2000,
	    .retry_ms = 500, .poll = true };
	struct leader_config cfg;
	struct settings s;
	char *cause = NULL, *server;

	memset(&T, 0, sizeof T);
	tl_nboard = 0;
	T.w = e2e_start(&o);
	log_set_level(LOG_LEVEL_INFO);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T.base = event_base_new();
	T.tick = evtimer_new(T.base, tl_tick_cb, T.base);
	server = xasprintf("https://127.0.0.1:%d", e2e_kube_port(T.w));
	ck_assert_int_eq(kube_config_explicit(&kc, server, e2e_kube_ca(T.w),
	    e2e_kube_token_file(T.w), E2E_NS, &cause), 0);
	free(server);
	T.k = kube_new(T.base, &kc, &cause);
	kube_config_clear(&kc);
	ck_assert_msg(T.k != NULL, "kube_new: %s", cause);
	T.l = lease_new(T.k, &lc, tl_leading_cb, &T, &cause);
	ck_assert_msg(T.l != NULL, "lease_new: %s", cause);
	lease_set_object_cb(T.l, tl_object_cb, &T);
	settings_defaults(&s);
	memset(&cfg, 0, sizeof cfg);
	cfg.k8s_namespace = E2E_NS;
	cfg.deployment = E2E_LABEL;
	cfg.pod = "leader-0";
	cfg.lease_name = "twa-" E2E_LABEL;
	cfg.settings = &s;
	cfg.resync_ms = 30000;
	T.ld = leader_new(T.base, T.k, T.l, &cfg, &cause);
	settings_clear(&s);
	ck_assert_msg(T.ld != NULL, "leader_new: %s", cause);
	lease_start(T.l);
}

/* Tear everything down. */
static void
tl_teardown(void)
{
	leader_free(T.ld);
	lease_free(T.l);
	kube_free(T.k);
	event_free(T.tick);
	event_base_free(T.base);
	curl_global_cleanup();
	e2e_stop(T.w);
}

/* Whether the leader published a status naming itself. */
static bool
tl_cond_status(struct e2e *w, void *arg)
{
	json_t *st = e2e_status(w);
	bool ok = st != NULL && json_is_string(json_object_get(st, "leader"));

	(void)arg;
	json_decref(st);
	return ok;
}

/* First version, AllAtOnce v1 -> v2, then the sunset of v1. */
START_TEST(test_rollout_and_sunset)
{
	long long t0, dt;
	json_t *st;
	char *cur;

	tl_setup();
	e2e_deploy(T.w, "orders-v1", "v1", 2, NULL, 0);
	ck_assert(tl_wait("a leader status", tl_cond_status, NULL, 15000));
	tl_pollers("v1");
	tl_health("orders-v1-a", "v1", "ready");
	tl_health("orders-v1-b", "v1", "ready");
	ck_assert(tl_wait("v1 current", e2e_cond_current, (void *)"v1", 15000));
	ck_assert(tl_wait("Event Promoted", e2e_cond_event, (void *)"Promoted",
	    5000));
	ck_assert_int_ge(e2e_events(T.w, "Promoted", "orders-v1"), 1);

	/* v2: one pod ready, one starting: no promotion yet */
	e2e_deploy(T.w, "orders-v2", "v2", 2, "{\"twa.dev/scaledown-delay\":"
	    "\"0s\",\"twa.dev/delete-delay\":\"2s\"}", 0);
	tl_pollers("v2");
	tl_health("orders-v2-a", "v2", "ready");
	tl_health("orders-v2-b", "v2", "starting");
	ck_assert(tl_wait("v2 registered", (bool (*)(struct e2e *, void *))
	    e2e_version_exists, (void *)"v2", 10000));
	for (int i = 0; i < 50; i++)
		tl_pump(20);	/* a second of passes */
	cur = e2e_current(T.w);
	ck_assert_str_eq(cur, "v1");
	free(cur);
	st = e2e_status(T.w);
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(json_string_value(json_object_get(st, "target")), "v2");
	json_decref(st);

	t0 = proc_now_ms();
	tl_health("orders-v2-b", "v2", "ready");
	ck_assert(tl_wait("v2 current", e2e_cond_current, (void *)"v2", 10000));
	dt = proc_now_ms() - t0;
	printf("healthy -> SetCurrent (in-process leader): %lld ms\n", dt);
	ck_assert_int_lt(dt, 3000);

	/* v1 drains (no pinned workflows), is scaled down, deleted, forgotten */
	ck_assert(tl_wait("v1 scaled to 0", e2e_cond_scaled_to_zero,
	    (void *)"orders-v1", 20000));
	ck_assert(tl_wait("v1 deleted", e2e_cond_gone, (void *)"orders-v1",
	    20000));
	ck_assert_int_eq(e2e_tadmin(T.w, "POST", "/pollers/expire",
	    "{\"buildId\":\"v1\"}", NULL), 200);
	ck_assert(tl_wait("version v1 deleted", e2e_cond_version_deleted,
	    (void *)"v1", 20000));
	ck_assert(tl_wait("Event VersionDeleted", e2e_cond_event,
	    (void *)"VersionDeleted", 5000));
	ck_assert_int_ge(e2e_events(T.w, "ScaledDown", "orders-v1"), 1);
	ck_assert_int_ge(e2e_events(T.w, "DeploymentDeleted", "orders-v1"), 1);
	ck_assert_int_eq(e2e_replicas(T.w, "orders-v2"), 2);
	ck_assert_int_eq(T.starts, 1);

	/* what the agent serves on /metrics and /status */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		json_t *status;

		leader_metrics(T.ld, f);
		fclose(f);
		ck_assert_ptr_nonnull(strstr(text, "twa_leader_actions_total{"
		    "action=\"SetCurrent\",result=\"ok\"} 2\n"));
		ck_assert_ptr_nonnull(strstr(text, "twa_leader_actions_total{"
		    "action=\"Scale\",result=\"ok\"} 1\n"));
		ck_assert_ptr_nonnull(strstr(text, "twa_version_state{build="
		    "\"v2\",state=\"Current\"} 1\n"));
		free(text);
		status = leader_status(T.ld);
		ck_assert_ptr_nonnull(status);
		ck_assert_str_eq(json_string_value(json_object_get(status,
		    "target")), "v2");
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(status, "lastAction"), "outcome")), "ok");
		json_decref(status);
	}
	tl_teardown();
}
END_TEST

/* The suite. */
static Suite *
leader_suite(void)
{
	Suite *s = suite_create("leader");
	TCase *tc = tcase_create("in-process");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rollout_and_sunset);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(leader_suite)
