/*
 * test_resilience: end-to-end rollouts that something gets in the way of:
 * the leader SIGKILLed mid-ramp, the API server answering 500s and
 * hanging for 30 s, Temporal unavailable for 30 s, and a human who changes
 * routing with the Temporal API mid-rollout while holding the manager
 * identity.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "e2e.h"
#include "proc.h"
#include "xalloc.h"

/* Deploy v1 (current) and v2 with Progressive steps; wait for ramp pct. */
static struct e2e *
ramping_world(const char *name, const char *steps, double pct)
{
	struct e2e_opts o = { .scenario = name };
	struct e2e *w = e2e_start(&o);
	struct e2e_ramp ramp = { "v2", pct };
	char *ann;

	e2e_deploy(w, "orders-v1", "v1", 2, NULL, 0);
	ck_assert(e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1",
	    30000));
	ann = xasprintf("{\"twa.dev/rollout\":\"Progressive\","
	    "\"twa.dev/ramp-steps\":\"%s\"}", steps);
	e2e_deploy(w, "orders-v2", "v2", 2, ann, 0);
	free(ann);
	ck_assert(e2e_wait(w, "the ramp", e2e_cond_ramp, &ramp, 30000));
	return w;
}

/* Whether the Lease holder differs from arg. */
static bool
cond_new_leader(struct e2e *w, void *old)
{
	char *l = e2e_leader(w);
	bool ok = *l != '\0' && strcmp(l, old) != 0;

	free(l);
	return ok;
}

/* Routing writes so far. */
static long long
routing_writes(struct e2e *w)
{
	return e2e_trequests(w, "SetWorkerDeploymentRampingVersion") +
	    e2e_trequests(w, "SetWorkerDeploymentCurrentVersion");
}

/*
 * Check the ramp went through pcts in order, then to current, each step
 * held at least hold_ms by the server's clock.
 */
static void
check_steps(struct e2e *w, const double *pcts, size_t n, int hold_ms)
{
	const struct e2e_route *r;
	int prev = -1, i;

	e2e_routes(w, &r);
	for (size_t k = 0; k < n; k++) {
		i = e2e_route_find(w, 0, "v1", "v2", pcts[k]);
		ck_assert_msg(i >= 0, "ramp %g%% never seen", pcts[k]);
		if (prev >= 0) {
			ck_assert_msg(i == prev + 1, "ramp %g%% does not follow "
			    "%g%% directly", pcts[k], pcts[k - 1]);
			ck_assert_msg(r[i].changed - r[prev].changed >= hold_ms,
			    "step %g%% held %lld ms", pcts[k - 1],
			    r[i].changed - r[prev].changed);
		}
		prev = i;
	}
	i = e2e_route_find(w, 0, "v2", "", 0);
	ck_assert_int_eq(i, prev + 1);
	ck_assert_msg(r[i].changed - r[prev].changed >= hold_ms,
	    "last step held %lld ms", r[i].changed - r[prev].changed);
}

/* The leader dies mid-ramp; another pod takes over at the right step. */
START_TEST(test_leader_killed)
{
	static const double pcts[] = { 20, 40, 60 };
	struct e2e *w = ramping_world("leaderkill", "20%/3s,40%/3s,60%/3s", 40);
	long long t_kill, t_new;
	char *old;

	old = e2e_leader(w);
	ck_assert_str_ne(old, "");
	t_kill = proc_now_ms();
	e2e_kill_agent(w, old, SIGKILL);
	ck_assert(e2e_wait(w, "a new leader", cond_new_leader, old, 15000));
	t_new = proc_now_ms();
	printf("leader killed -> new leader holds the Lease: %lld ms "
	    "(lease duration 3000 ms)\n", t_new - t_kill);
	ck_assert_int_lt(t_new - t_kill, 3000 + 2000 + 1000);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    30000));
	/* no step skipped, repeated or cut short by the change of leader */
	check_steps(w, pcts, 3, 3000);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 3);
	free(old);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* The API server fails every request for 15 s, then hangs them for 15 s. */
START_TEST(test_api_faults)
{
	static const double pcts[] = { 30, 60 };
	struct e2e *w = ramping_world("apifaults", "30%/2s,60%/2s", 30);
	json_t *f = NULL;
	long long before, t_end;
	char *path;
	int id;

	ck_assert_int_eq(e2e_kadmin(w, "POST", "/faults", "{\"action\":"
	    "\"status\",\"code\":500,\"count\":-1,\"path\":\"^/api\"}", &f),
	    201);
	id = (int)json_integer_value(json_object_get(f, "id"));
	json_decref(f);
	e2e_note(w, "FAULT the API server answers 500 to everything");
	/* a leader without renewals stops acting within its renew deadline */
	e2e_run_for(w, 2500);
	before = routing_writes(w);
	e2e_run_for(w, 12500);
	path = xasprintf("/faults/%d", id);
	ck_assert_int_eq(e2e_kadmin(w, "DELETE", path, NULL, NULL), 200);
	free(path);
	ck_assert_int_eq(e2e_kadmin(w, "POST", "/faults", "{\"action\":"
	    "\"delay\",\"delayMs\":4000,\"count\":-1,\"path\":\"^/api\"}", &f),
	    201);
	id = (int)json_integer_value(json_object_get(f, "id"));
	json_decref(f);
	e2e_note(w, "FAULT the API server holds every request 4 s");
	e2e_run_for(w, 15000);
	ck_assert_int_eq(routing_writes(w), before);
	path = xasprintf("/faults/%d", id);
	ck_assert_int_eq(e2e_kadmin(w, "DELETE", path, NULL, NULL), 200);
	free(path);
	e2e_note(w, "FAULT cleared");
	t_end = proc_now_ms();
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    40000));
	printf("API server back -> v2 current: %lld ms\n", proc_now_ms() - t_end);
	check_steps(w, pcts, 2, 2000);
	ck_assert_int_eq(e2e_restarts(w), 0);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* The leader's last error mentions code. */
static bool
cond_status_error(struct e2e *w, void *code)
{
	json_t *st = e2e_status(w);
	const char *m = json_string_value(json_object_get(json_object_get(st,
	    "lastError"), "message"));
	bool ok = m != NULL && strstr(m, code) != NULL;

	json_decref(st);
	return ok;
}

/* Temporal answers UNAVAILABLE to everything for 30 s. */
START_TEST(test_temporal_unavailable)
{
	static const double pcts[] = { 30, 60 };
	struct e2e *w = ramping_world("temporaldown", "30%/2s,60%/2s", 30);
	long long before, t_end, t_fault;
	const struct e2e_route *r;
	size_t n0, n1;
	json_t *f = NULL;
	char *path, *leader, *leader2;
	int id;

	leader = e2e_leader(w);
	ck_assert_int_eq(e2e_tadmin(w, "POST", "/faults", "{\"method\":\"*\","
	    "\"code\":\"UNAVAILABLE\",\"probability\":1,\"message\":"
	    "\"connection refused (simulated outage)\"}", &f), 200);
	id = (int)json_integer_value(json_object_get(f, "id"));
	json_decref(f);
	e2e_note(w, "FAULT Temporal answers UNAVAILABLE to everything");
	t_fault = proc_now_ms();
	n0 = e2e_routes(w, &r);
	before = routing_writes(w);
	ck_assert(e2e_wait(w, "the leader reports UNAVAILABLE",
	    cond_status_error, (void *)"UNAVAILABLE", 25000));
	e2e_print_status(w);
	e2e_run_for(w, (int)(30000 - (proc_now_ms() - t_fault)));
	n1 = e2e_routes(w, &r);
	ck_assert_uint_eq(n1, n0);	/* routing untouched */
	path = xasprintf("/faults/%d", id);
	ck_assert_int_eq(e2e_tadmin(w, "DELETE", path, NULL, NULL), 200);
	free(path);
	e2e_note(w, "FAULT cleared");
	t_end = proc_now_ms();
	ck_assert_int_eq(routing_writes(w), before);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    30000));
	printf("Temporal back -> v2 current: %lld ms\n", proc_now_ms() - t_end);
	check_steps(w, pcts, 2, 2000);
	/* the outage was Temporal's: leadership stayed where it was */
	leader2 = e2e_leader(w);
	ck_assert_str_eq(leader, leader2);
	free(leader);
	free(leader2);
	e2e_stop(w);
}
END_TEST

/* A delay fault on the method in arg has fired. */
static bool
cond_fault_fired(struct e2e *w, void *method)
{
	json_t *out = NULL, *f;
	bool ok = false;
	size_t i;

	if (e2e_tadmin(w, "GET", "/faults", NULL, &out) == 200)
		json_array_foreach(json_object_get(out, "faults"), i, f)
			if (strcmp(json_string_value(json_object_get(f,
			    "method")), method) == 0 &&
			    json_integer_value(json_object_get(f, "fired")) > 0)
				ok = true;
	json_decref(out);
	return ok;
}

/* twa's routing write was rejected on its conflict token. */
static bool
cond_conflict(struct e2e *w, void *arg)
{
	(void)arg;
	return e2e_terrors(w, "SetWorkerDeploymentRampingVersion",
	    "FAILED_PRECONDITION") > 0;
}

/* A human takes the manager identity and changes the ramp mid-rollout. */
START_TEST(test_human)
{
	struct e2e *w = ramping_world("human", "30%/3s,60%/3s", 30);
	long long writes;
	json_t *d;
	double pct;
	char *b;

	/*
	 * Hold twa's next routing write 2.5 s in the server; meanwhile alice
	 * takes the manager identity, which changes the conflict token: the
	 * held write then fails on its (now stale) token.
	 */
	ck_assert_int_eq(e2e_tadmin(w, "POST", "/faults", "{\"method\":"
	    "\"SetWorkerDeploymentRampingVersion\",\"delayMs\":2500,"
	    "\"count\":1}", NULL), 200);
	ck_assert(e2e_wait(w, "twa's next write held", cond_fault_fired,
	    (void *)"SetWorkerDeploymentRampingVersion", 15000));
	ck_assert_int_eq(e2e_human_set_manager(w, "alice"), 0);
	ck_assert(e2e_wait(w, "the held write rejected", cond_conflict, NULL,
	    10000));
	ck_assert(e2e_wait(w, "the leader reports the conflict",
	    cond_status_error, (void *)"conflict token mismatch", 10000));
	ck_assert_int_eq(e2e_human_set_ramping(w, "v2", 10), 0);
	ck_assert(e2e_wait(w, "Warning ManagerIdentityHeld", e2e_cond_event,
	    (void *)"ManagerIdentityHeld", 15000));
	writes = routing_writes(w);
	/* twa neither overrides nor fights: 6 s is two step durations */
	e2e_run_for(w, 6000);
	b = e2e_ramping(w, &pct);
	ck_assert_str_eq(b, "v2");
	ck_assert(pct == 10);
	free(b);
	ck_assert_int_eq(routing_writes(w), writes);
	d = e2e_tdep(w);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "managerIdentity")), "alice");
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "lastModifierIdentity")), "alice");
	json_decref(d);
	e2e_print_status(w);
	/* alice hands back: twa claims again and carries on from 10% */
	ck_assert_int_eq(e2e_human_set_manager(w, ""), 0);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    30000));
	ck_assert_int_ge(e2e_route_find(w, 0, "v1", "v2", 10), 0);
	ck_assert_int_ge(e2e_route_find(w, (size_t)e2e_route_find(w, 0, "v1",
	    "v2", 10), "v1", "v2", 30), 0);
	d = e2e_tdep(w);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "managerIdentity")), "twa:" E2E_TDEPLOYMENT);
	json_decref(d);
	ck_assert_int_ge(e2e_events(w, "ManagerIdentityClaimed", NULL), 2);
	e2e_stop(w);
}
END_TEST

/* The suite. */
static Suite *
resilience_suite(void)
{
	const struct {
		const char	*name;
		const TTest	*test;
	} cases[] = {
		{ "leader_killed", test_leader_killed },
		{ "api_faults", test_api_faults },
		{ "temporal_unavailable", test_temporal_unavailable },
		{ "human", test_human },
	};
	Suite *s = suite_create("resilience");

	for (int i = 0; i < N_CASES(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 150);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

CHECK_MAIN(resilience_suite)
