/*
 * test_rollout: end-to-end rollouts with several `twa agent` processes on
 * the simulators: first version, AllAtOnce v1 -> v2, Progressive through
 * every step, gate pass and gate fail, an invalid annotation at run time.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "e2e.h"
#include "proc.h"
#include "xalloc.h"

/* Start a world for scenario name. */
static struct e2e *
world(const char *name)
{
	struct e2e_opts o = { .scenario = name };

	return e2e_start(&o);
}

/* Deploy v1 and wait for it to be current. */
static void
first_version(struct e2e *w, int replicas)
{
	e2e_deploy(w, "orders-v1", "v1", replicas, NULL, 0);
	ck_assert(e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1",
	    30000));
	ck_assert(e2e_wait(w, "a leader status", e2e_cond_leader, NULL, 10000));
}

/* Whether the status lists build in a state starting with state. */
static bool
status_state(struct e2e *w, const char *build, const char *state)
{
	json_t *st = e2e_status(w), *v;
	bool ok = false;
	size_t i;

	json_array_foreach(json_object_get(st, "versions"), i, v) {
		const char *b = json_string_value(json_object_get(v, "build"));
		const char *s = json_string_value(json_object_get(v, "state"));

		if (b != NULL && s != NULL && strcmp(b, build) == 0 &&
		    strncmp(s, state, strlen(state)) == 0)
			ok = true;
	}
	json_decref(st);
	return ok;
}

/* The status shows v1 Current. */
static bool
cond_status_v1_current(struct e2e *w, void *arg)
{
	(void)arg;
	return status_state(w, "v1", "Current");
}

/* A field of version build in the Temporal state (string), or "". */
static char *
version_field(struct e2e *w, const char *build, const char *field)
{
	json_t *d = e2e_tdep(w);
	const char *s = json_string_value(json_object_get(json_object_get(
	    json_object_get(d, "versions"), build), field));
	char *r = xstrdup(s != NULL ? s : "");

	json_decref(d);
	return r;
}

/* The first version becomes current whatever the strategy. */
START_TEST(test_first_version)
{
	struct e2e *w = world("first");
	json_t *d;
	char *leader;

	e2e_deploy(w, "orders-v1", "v1", 3, "{\"twa.dev/rollout\":"
	    "\"Progressive\"}", 0);
	ck_assert(e2e_wait(w, "v1 current", e2e_cond_current, (void *)"v1",
	    30000));
	ck_assert(e2e_wait(w, "status v1 Current", cond_status_v1_current,
	    NULL, 10000));
	ck_assert(e2e_wait(w, "Event Promoted", e2e_cond_event,
	    (void *)"Promoted", 5000));
	d = e2e_tdep(w);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "managerIdentity")), "twa:" E2E_TDEPLOYMENT);
	ck_assert_str_eq(json_string_value(json_object_get(d,
	    "lastModifierIdentity")), "twa:" E2E_TDEPLOYMENT);
	json_decref(d);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 0);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentCurrentVersion"), 1);
	leader = e2e_leader(w);
	ck_assert_msg(strncmp(leader, "orders-v1-", 10) == 0, "leader %s",
	    leader);
	/* twa status --json: election, the leader's status, every pod */
	d = e2e_status_json(w);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d,
	    "election"), "holderIdentity")), leader);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d,
	    "status"), "target")), "v1");
	ck_assert_int_eq(json_array_size(json_object_get(d, "pods")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(d, "status"), "versions"), 0),
	    "state")), "Current");
	json_decref(d);
	free(leader);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* AllAtOnce: v2 becomes current in one write once all its pods are ready. */
START_TEST(test_all_at_once)
{
	struct e2e *w = world("allatonce");
	const struct e2e_route *r;
	size_t n;

	first_version(w, 2);
	e2e_deploy(w, "orders-v2", "v2", 2, NULL, 0);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    30000));
	ck_assert(e2e_wait(w, "Event Promoted on orders-v2", e2e_cond_event,
	    (void *)"Promoted", 5000));
	ck_assert_int_ge(e2e_events(w, "Promoted", "orders-v2"), 1);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 0);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentCurrentVersion"), 2);
	/* never a ramp: v1 current, then v2 current */
	n = e2e_routes(w, &r);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(r[i].ramp, "");
	ck_assert_int_ge(e2e_route_find(w, 0, "v2", "", 0), 1);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* Progressive: every step in order, each held for its duration. */
START_TEST(test_progressive)
{
	struct e2e *w = world("progressive");
	const struct e2e_route *r;
	int i25, i50, i75, icur;

	first_version(w, 2);
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/rollout\":"
	    "\"Progressive\",\"twa.dev/ramp-steps\":\"25%/2s,50%/2s,75%/2s\"}",
	    0);
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    40000));
	e2e_routes(w, &r);
	i25 = e2e_route_find(w, 0, "v1", "v2", 25);
	i50 = e2e_route_find(w, 0, "v1", "v2", 50);
	i75 = e2e_route_find(w, 0, "v1", "v2", 75);
	icur = e2e_route_find(w, 0, "v2", "", 0);
	ck_assert_int_ge(i25, 0);
	ck_assert_int_eq(i50, i25 + 1);
	ck_assert_int_eq(i75, i50 + 1);
	ck_assert_int_eq(icur, i75 + 1);
	/* each step held its 2 s, by the server's clock */
	ck_assert_int_ge(r[i50].changed - r[i25].changed, 2000);
	ck_assert_int_ge(r[i75].changed - r[i50].changed, 2000);
	ck_assert_int_ge(r[icur].changed - r[i75].changed, 2000);
	ck_assert_int_lt(r[icur].changed - r[i25].changed, 6000 + 3000);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 3);
	ck_assert(e2e_wait(w, "Event RampStep", e2e_cond_event,
	    (void *)"RampStep", 5000));
	ck_assert_int_ge(e2e_events(w, "RampStarted", "orders-v2"), 1);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* Whether the gate run of v2 completed. */
static bool
cond_gate_done(struct e2e *w, void *status)
{
	char *s = e2e_workflow_status(w, "twa-gate:" E2E_TDEPLOYMENT ":v2:"
	    E2E_TQ);
	bool ok = s != NULL && strcmp(s, status) == 0;

	free(s);
	return ok;
}

/* Gate pass: the gate runs pinned to v2 before v2 gets any traffic. */
START_TEST(test_gate_pass)
{
	struct e2e *w = world("gatepass");
	json_t *st = NULL, *item;
	char *first, *closed = NULL;
	size_t i;

	first_version(w, 2);
	ck_assert_int_eq(e2e_tadmin(w, "POST", "/gate-outcomes",
	    "{\"workflowType\":\"SmokeTest\",\"outcome\":\"success\","
	    "\"delayMs\":1500}", NULL), 200);
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/gate-workflow\":"
	    "\"SmokeTest\",\"twa.dev/gate-input\":\"{\\\"smoke\\\":true}\"}",
	    0);
	ck_assert(e2e_wait(w, "gate completed", cond_gate_done,
	    (void *)"Completed", 30000));
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    20000));
	ck_assert(e2e_wait(w, "Event GatePassed", e2e_cond_event,
	    (void *)"GatePassed", 5000));
	ck_assert_int_ge(e2e_events(w, "GateStarted", "orders-v2"), 1);
	/* pinned to v2, closed before v2 was first activated */
	ck_assert_int_eq(e2e_tadmin(w, "GET", "/state", NULL, &st), 200);
	json_array_foreach(json_object_get(json_object_get(json_object_get(st,
	    "namespaces"), "default"), "workflows"), i, item) {
		if (strcmp(json_string_value(json_object_get(item, "workflowId")),
		    "twa-gate:" E2E_TDEPLOYMENT ":v2:" E2E_TQ) != 0)
			continue;
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(item, "pinned"), "buildId")), "v2");
		ck_assert_str_eq(json_string_value(json_object_get(item,
		    "workflowType")), "SmokeTest");
		closed = xstrdup(json_string_value(json_object_get(item,
		    "closeTime")));
	}
	json_decref(st);
	ck_assert_ptr_nonnull(closed);
	first = version_field(w, "v2", "firstActivationTime");
	ck_assert_msg(strcmp(closed, first) <= 0, "gate closed at %s, v2 "
	    "activated at %s", closed, first);
	free(first);
	free(closed);
	ck_assert_int_eq(e2e_trequests(w, "StartWorkflowExecution"), 1);
	e2e_stop(w);
}
END_TEST

/* The gate failed: v2 gets no traffic, a Warning says why. */
START_TEST(test_gate_fail)
{
	struct e2e *w = world("gatefail");
	long long sets;
	char *cur, *first, *text;
	json_t *st;

	first_version(w, 2);
	ck_assert_int_eq(e2e_tadmin(w, "POST", "/gate-outcomes",
	    "{\"workflowType\":\"SmokeTest\",\"outcome\":\"failure\","
	    "\"delayMs\":500}", NULL), 200);
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/gate-workflow\":"
	    "\"SmokeTest\",\"twa.dev/rollout\":\"Progressive\","
	    "\"twa.dev/ramp-steps\":\"50%/1s\"}", 0);
	ck_assert(e2e_wait(w, "gate failed", cond_gate_done, (void *)"Failed",
	    30000));
	ck_assert(e2e_wait(w, "Warning GateFailed", e2e_cond_event,
	    (void *)"GateFailed", 10000));
	sets = e2e_trequests(w, "SetWorkerDeploymentCurrentVersion");
	e2e_run_for(w, 3000);
	cur = e2e_current(w);
	ck_assert_str_eq(cur, "v1");
	free(cur);
	first = version_field(w, "v2", "firstActivationTime");
	ck_assert_str_eq(first, "");
	free(first);
	ck_assert_int_eq(e2e_trequests(w, "SetWorkerDeploymentCurrentVersion"),
	    sets);
	ck_assert_int_eq(e2e_trequests(w,
	    "SetWorkerDeploymentRampingVersion"), 0);
	/* started once, never again */
	ck_assert_int_eq(e2e_trequests(w, "StartWorkflowExecution"), 1);
	ck_assert_int_eq(e2e_events(w, "GateFailed", "orders-v2"), 1);
	st = e2e_status(w);
	ck_assert_ptr_nonnull(st);
	text = json_dumps(st, 0);
	ck_assert_ptr_nonnull(strstr(text, "failed"));
	free(text);
	json_decref(st);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* An invalid annotation at run time keeps the last good value. */
START_TEST(test_invalid_annotation)
{
	struct e2e *w = world("invalid");
	const struct e2e_route *r;
	int i50, icur;

	first_version(w, 2);
	/*
	 * The annotation change replaces v2's pods (a new pod template):
	 * with abort-on-unhealthy the ramp could be cut while they restart,
	 * which is not what this scenario is about.
	 */
	e2e_deploy(w, "orders-v2", "v2", 2, "{\"twa.dev/rollout\":"
	    "\"Progressive\",\"twa.dev/ramp-steps\":\"50%/3s\","
	    "\"twa.dev/abort-on-unhealthy\":\"false\"}", 0);
	ck_assert(e2e_wait(w, "v2 pods ready", e2e_cond_ready, (void *)"v2",
	    30000));
	/* steps not rising: rejected; the leader keeps 50%/3s */
	e2e_annotate(w, "orders-v2", "twa.dev/ramp-steps", "50%/3s,10%/1s");
	ck_assert(e2e_wait(w, "Warning InvalidAnnotation", e2e_cond_event,
	    (void *)"InvalidAnnotation", 20000));
	ck_assert(e2e_wait(w, "v2 current", e2e_cond_current, (void *)"v2",
	    40000));
	e2e_routes(w, &r);
	i50 = e2e_route_find(w, 0, "v1", "v2", 50);
	icur = e2e_route_find(w, 0, "v2", "", 0);
	ck_assert_int_ge(i50, 0);
	ck_assert_int_eq(icur, i50 + 1);
	ck_assert_int_eq(e2e_route_find(w, 0, "v1", "v2", 10), -1);
	/* once per distinct message from the leader, not once per pass */
	ck_assert_int_eq(e2e_events(w, "InvalidAnnotation", "orders-v2"), 1);
	e2e_print_status(w);
	e2e_stop(w);
}
END_TEST

/* The suite. */
static Suite *
rollout_suite(void)
{
	const struct {
		const char	*name;
		const TTest	*test;
	} cases[] = {
		{ "first_version", test_first_version },
		{ "all_at_once", test_all_at_once },
		{ "progressive", test_progressive },
		{ "gate_pass", test_gate_pass },
		{ "gate_fail", test_gate_fail },
		{ "invalid_annotation", test_invalid_annotation },
	};
	Suite *s = suite_create("rollout");

	for (int i = 0; i < N_CASES(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

CHECK_MAIN(rollout_suite)
