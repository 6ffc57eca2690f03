/* test_planner: one named test per rollout rule, and the strategy x state table. */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "test_planner_fixture.h"
#include "xalloc.h"

/*
 * The common world: v1 is Current (3 pods), v2 is the target (Deployment
 * created an hour ago, 3 ready pods since 10 minutes, registered with a
 * workflow and an activity queue that have pollers). We manage it.
 */
static void
base(struct fx *f, enum settings_rollout rollout)
{
	struct planner_version *v;
	struct planner_deployment *d;

	fx_init(f, T0);
	f->obs.manager_identity = f->cfg.identity;
	v = fx_version(f, "v1", PLANNER_VS_CURRENT);
	v->create_time = T0 - 48 * HOUR;
	v->first_activation_time = T0 - 47 * HOUR;
	v->current_since = T0 - 47 * HOUR;
	v->last_current_time = T0;
	fx_current(f, "v1", T0 - 47 * HOUR);
	fx_deploy(f, "orders-v1", "v1", T0 - 48 * HOUR, 3);
	fx_pods(f, "v1", 3, PLANNER_POD_READY, T0 - 47 * HOUR);
	v = fx_version(f, "v2", PLANNER_VS_INACTIVE);
	v->create_time = T0 - 50 * MIN;
	fx_queue(f, v, "orders", PLANNER_QUEUE_WORKFLOW, true);
	fx_queue(f, v, "orders", PLANNER_QUEUE_ACTIVITY, true);
	d = fx_deploy(f, "orders-v2", "v2", T0 - HOUR, 3);
	fx_settings(f, d)->rollout = rollout;
	fx_pods(f, "v2", 3, PLANNER_POD_READY, T0 - 10 * MIN);
}

/* The settings of the target Deployment orders-v2. */
static struct settings *
v2s(struct fx *f)
{
	return fx_settings(f, fx_find_deploy(f, "orders-v2"));
}

/* Put v2 on the ramp at pct since t (server view). */
static void
ramp_v2(struct fx *f, double pct, int64_t since, int64_t changed)
{
	struct planner_version *v = fx_find_version(f, "v2");

	v->status = PLANNER_VS_RAMPING;
	v->first_activation_time = since;
	v->ramping_since = since;
	fx_ramp(f, "v2", pct, since);
	f->obs.routing.ramping_percent_changed_at = changed;
}

/* Make v1 Drained since t, with its Deployment still at replicas. */
static void
drain_v1(struct fx *f, int64_t t)
{
	struct planner_version *v = fx_find_version(f, "v1");

	v->status = PLANNER_VS_DRAINED;
	v->drainage = PLANNER_DRAINAGE_DRAINED;
	v->drainage_changed_at = t;
	v->drainage_checked_at = t;
	v->last_deactivation_time = t - 10 * MIN;
	v->last_current_time = t - 10 * MIN;
}

/* v2 becomes Current and v1 leaves (summary as given). */
static void
promote_v2(struct fx *f)
{
	fx_current(f, "v2", T0 - 2 * HOUR);
	fx_find_version(f, "v2")->status = PLANNER_VS_CURRENT;
	fx_find_version(f, "v2")->first_activation_time = T0 - 2 * HOUR;
	fx_find_version(f, "v2")->last_current_time = T0;
}

START_TEST(test_all_at_once_promotes_healthy_target)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *a;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	a = &r.actions[0];
	ck_assert_str_eq(a->identity, "twa:default/orders");
	ck_assert_uint_eq(a->conflict_token_len, 8);
	ck_assert_mem_eq(a->conflict_token, "tok-0001", 8);
	ck_assert_str_eq(a->regarding_name, "orders-v2");
	ck_assert_str_eq(a->event_reason, "Promoted");
	ck_assert_int_eq(a->event_type, PLANNER_EVENT_NORMAL);
	ck_assert_ptr_nonnull(strstr(a->reason, "AllAtOnce"));
	ck_assert_str_eq(r.summary, a->reason);
	ck_assert_int_eq(r.wake_at, 0);
	ck_assert_str_eq(r.status.target_build_id, "v2");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_all_at_once_waits_for_min_ready)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.pod[3].state = PLANNER_POD_STARTING;	/* first v2 pod */
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "2/3 healthy pods, needs 3"));
	ck_assert_int_eq(fx_status(&r, "v2")->required, 3);
	ck_assert_str_eq(r.summary, fx_status(&r, "v2")->blocked);
	planner_result_free(&r);
}
END_TEST

/* min-ready n% of total pods, rounded up, never below 1. */
static const struct {
	int	replicas, pct, ready, required;
	bool	promote;
} min_ready_pct[] = {
	{ 3, 50, 1, 2, false }, { 3, 50, 2, 2, true },
	{ 5, 30, 1, 2, false }, { 5, 30, 2, 2, true },
	{ 3, 1, 1, 1, true }, { 4, 100, 3, 4, false },
	{ 4, 100, 4, 4, true }, { 10, 95, 9, 10, false },
	{ 1, 1, 0, 1, false },
};

START_TEST(test_min_ready_percent_rounds_up)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_remove_pods(&f, "v2");
	fx_find_deploy(&f, "orders-v2")->replicas = min_ready_pct[_i].replicas;
	v2s(&f)->min_ready.value = min_ready_pct[_i].pct;
	fx_pods(&f, "v2", min_ready_pct[_i].ready, PLANNER_POD_READY,
	    T0 - 10 * MIN);
	fx_pods(&f, "v2", min_ready_pct[_i].replicas - min_ready_pct[_i].ready,
	    PLANNER_POD_STARTING, T0 - 10 * MIN);
	fx_plan(&f, &r);
	ck_assert_int_eq(fx_status(&r, "v2")->required,
	    min_ready_pct[_i].required);
	ck_actions(&r, min_ready_pct[_i].promote ? "SetCurrent v2" : "");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_min_ready_count)
{
	static const struct { int count, ready; const char *act, *why; } t[] = {
		{ 2, 2, "SetCurrent v2", NULL },
		{ 2, 1, "", "1/5 healthy pods, needs 2" },
		{ 6, 5, "", "min-ready 6 exceeds the 5 pods of v2" },
	};
	struct fx f;
	struct planner_result r;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
		fx_remove_pods(&f, "v2");
		fx_find_deploy(&f, "orders-v2")->replicas = 5;
		v2s(&f)->min_ready.is_percent = false;
		v2s(&f)->min_ready.value = t[i].count;
		fx_pods(&f, "v2", t[i].ready, PLANNER_POD_READY, T0 - MIN);
		fx_pods(&f, "v2", 5 - t[i].ready, PLANNER_POD_UNHEALTHY, T0 - MIN);
		fx_plan(&f, &r);
		ck_actions(&r, t[i].act);
		if (t[i].why != NULL)
			ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
			    t[i].why));
		planner_result_free(&r);
	}
}
END_TEST

START_TEST(test_min_ready_counts_pods_not_reporting)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_find_deploy(&f, "orders-v2")->replicas = 4;	/* one never reported */
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v2")->total, 4);
	ck_assert_int_eq(fx_status(&r, "v2")->healthy, 3);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_not_registered_waits)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_remove_version(&f, "v2");
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v2")->state, PLANNER_STATE_NOT_REGISTERED);
	ck_assert_ptr_nonnull(strstr(r.summary, "waiting for v2 to register"));
	planner_result_free(&r);
	/* The routing config ramps a build with no summary: still waits. */
	fx_ramp(&f, "v2", 10, T0 - MIN);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v2")->state, PLANNER_STATE_RAMPING);
	ck_assert_ptr_nonnull(strstr(r.summary, "waiting for v2 to register"));
	planner_result_free(&r);
	/* CREATED (1.31): known to Temporal, but no poller yet. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_find_version(&f, "v2")->status = PLANNER_VS_CREATED;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v2")->state, PLANNER_STATE_NOT_REGISTERED);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_no_pollers_waits)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.tq[1][0].has_pollers = false;
	f.tq[1][1].has_pollers = false;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "no live poller"));
	planner_result_free(&r);
	/* Queues not described yet: registration is enough. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_find_version(&f, "v2")->task_queues_known = false;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_manual_never_touches_routing)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_MANUAL);
	v2s(&f)->gate_workflow = (char *)"Gate";
	ramp_v2(&f, 50, T0 - HOUR, T0 - HOUR);	/* long past every step */
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "Manual rollout"));
	planner_result_free(&r);
	/* Target current with a stale ramp: still untouched under Manual. */
	base(&f, SETTINGS_ROLLOUT_MANUAL);
	promote_v2(&f);
	fx_ramp(&f, NULL, 20, T0 - HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_manual_still_sunsets)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_MANUAL);
	promote_v2(&f);
	drain_v1(&f, T0 - 2 * HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v1 0");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_progressive_starts_at_first_step)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%");
	ck_assert_str_eq(r.actions[0].event_reason, "RampStarted");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "step 1/2 (10%)"));
	planner_result_free(&r);
}
END_TEST

/* Step and its start from the server's percentage and change time only. */
static const struct {
	double		 pct;
	int64_t		 changed;	/* relative to T0 */
	const char	*act;
	int		 step;
	int64_t		 wake;		/* relative to T0, or 0 */
} steps_tab[] = {
	{ 10, -4 * MIN, "", 1, 1 * MIN },
	{ 10, -5 * MIN, "SetRamping v2 50%", 1, 0 },
	{ 10, -9 * MIN, "SetRamping v2 50%", 1, 0 },
	{ 50, -9 * MIN, "", 2, 1 * MIN },
	{ 50, -10 * MIN, "SetCurrent v2", 2, 0 },
	{ 50, -1 * SEC, "", 2, 10 * MIN - SEC },
};

START_TEST(test_progressive_replaces_unversioned_ramp)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp(&f, NULL, 20, T0 - HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason,
	    "replaces the ramp to unversioned workers"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_progressive_step_from_server_time)
{
	struct fx f;
	struct planner_result r;
	const struct planner_status_version *st;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	/* The ramp began long ago; only the percentage change time counts. */
	ramp_v2(&f, steps_tab[_i].pct, T0 - 5 * HOUR, T0 + steps_tab[_i].changed);
	fx_plan(&f, &r);
	ck_actions(&r, steps_tab[_i].act);
	st = fx_status(&r, "v2");
	ck_assert_int_eq(st->step, steps_tab[_i].step);
	ck_assert_int_eq(st->nsteps, 2);
	ck_assert_int_eq(st->step_started_at, T0 + steps_tab[_i].changed);
	ck_assert_int_eq(r.wake_at, steps_tab[_i].wake ? T0 + steps_tab[_i].wake : 0);
	if (steps_tab[_i].wake != 0) {
		ck_assert_int_eq(st->next_step_at, r.wake_at);
		ck_assert_ptr_null(st->blocked);
		ck_assert_ptr_nonnull(strstr(r.summary, "next at"));
	}
	planner_result_free(&r);
}
END_TEST

START_TEST(test_progressive_resume_after_leader_change)
{
	struct fx f;
	struct planner_result a, b;

	/* Leader A plans at 50% set 3 minutes ago; leader B, which has never
	   seen this rollout, plans the same observation a minute later. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 50, T0 - 20 * MIN, T0 - 3 * MIN);
	fx_plan(&f, &a);
	f.now += MIN;
	fx_touch(&f);
	fx_plan(&f, &b);
	ck_actions(&a, "");
	ck_actions(&b, "");
	ck_assert_int_eq(fx_status(&a, "v2")->step, 2);
	ck_assert_int_eq(fx_status(&b, "v2")->step, 2);
	ck_assert_int_eq(a.wake_at, T0 + 7 * MIN);
	ck_assert_int_eq(b.wake_at, T0 + 7 * MIN);
	planner_result_free(&a);
	planner_result_free(&b);
	f.now = T0 + 7 * MIN;
	fx_touch(&f);
	fx_plan(&f, &b);
	ck_actions(&b, "SetCurrent v2");
	planner_result_free(&b);
}
END_TEST

START_TEST(test_progressive_unmatched_percentage_moves_up)
{
	static const struct { double pct; const char *act, *why; } t[] = {
		{ 30, "SetRamping v2 50%", "at 30% matches no step; moving to step 2/2 (50%)" },
		{ 5, "SetRamping v2 10%", "at 5% matches no step; moving to step 1/2 (10%)" },
		{ 0, "SetRamping v2 10%", "at 0% matches no step" },
		{ 12.5, "SetRamping v2 50%", "at 12.5% matches no step" },
		{ 75, "SetCurrent v2", "at 75% is above the last step (50%)" },
		{ 100, "SetCurrent v2", "above the last step" },
	};
	struct fx f;
	struct planner_result r;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
		ramp_v2(&f, t[i].pct, T0 - MIN, T0 - MIN);
		fx_plan(&f, &r);
		ck_actions(&r, t[i].act);
		ck_assert_msg(strstr(r.actions[0].reason, t[i].why) != NULL,
		    "reason '%s' lacks '%s'", r.actions[0].reason, t[i].why);
		planner_result_free(&r);
	}
}
END_TEST

START_TEST(test_progressive_without_change_time_holds)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - HOUR, 0);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "no percentage change time"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_progressive_without_steps_promotes)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	v2s(&f)->nsteps = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason,
	    "Progressive without steps"));
	planner_result_free(&r);
}
END_TEST

/* A gate on v2 with two workflow queues and one activity queue. */
static void
gated(struct fx *f, enum settings_rollout rollout)
{
	struct planner_version *v;

	base(f, rollout);
	v = fx_find_version(f, "v2");
	v->ntask_queues = 0;
	fx_queue(f, v, "orders", PLANNER_QUEUE_WORKFLOW, true);
	fx_queue(f, v, "orders", PLANNER_QUEUE_ACTIVITY, true);
	fx_queue(f, v, "billing:eu", PLANNER_QUEUE_WORKFLOW, true);
	v2s(f)->gate_workflow = (char *)"SmokeTest";
	v2s(f)->gate_input = (char *)"{\"n\":1}";
}

START_TEST(test_gate_starts_one_per_task_queue)
{
	struct fx f;
	struct planner_result r;
	char id[PLANNER_GATE_ID_MAX + 1];
	const struct planner_action *a;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_plan(&f, &r);
	ck_actions(&r, "StartGate v2 orders; StartGate v2 billing:eu");
	a = &r.actions[0];
	planner_gate_id("default/orders", "v2", "orders", id);
	ck_assert_str_eq(a->workflow_id, id);
	ck_assert_str_eq(a->workflow_id, "twa-gate:default/orders:v2:orders");
	ck_assert_str_eq(r.actions[1].workflow_id,
	    "twa-gate:default/orders:v2:billing%3Aeu");
	ck_assert_str_eq(a->workflow_type, "SmokeTest");
	ck_assert_str_eq(a->input, "{\"n\":1}");
	ck_assert_int_eq(a->timeout_ms, 10 * MIN);
	ck_assert_str_eq(a->identity, "twa:default/orders");
	ck_assert_str_eq(a->build_id, "v2");
	ck_assert_str_eq(a->event_reason, "GateStarted");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "0 of 2 runs completed, 0 running, 2 starting"));
	planner_result_free(&r);
	/* No input annotation: no input. */
	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	v2s(&f)->gate_input = NULL;
	f.tq[1][2].gate = PLANNER_GATE_COMPLETED;
	fx_plan(&f, &r);
	ck_actions(&r, "StartGate v2 orders");
	ck_assert_ptr_null(r.actions[0].input);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_waits_while_running)
{
	struct fx f;
	struct planner_result r;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	f.tq[1][0].gate = PLANNER_GATE_RUNNING;
	f.tq[1][0].gate_started_at = T0 - 2 * MIN;
	f.tq[1][2].gate = PLANNER_GATE_COMPLETED;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 8 * MIN);
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "1 of 2 runs completed, 1 running"));
	planner_result_free(&r);
	/* Start time unknown: wait without a timer. */
	f.tq[1][0].gate_started_at = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, 0);
	planner_result_free(&r);
	/* No timeout: a run of any age is waited for. */
	f.tq[1][0].gate_started_at = T0 - 100 * HOUR;
	v2s(&f)->gate_timeout_ms = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, 0);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_success_promotes)
{
	struct fx f;
	struct planner_result r;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	f.tq[1][0].gate = PLANNER_GATE_COMPLETED;
	f.tq[1][2].gate = PLANNER_GATE_COMPLETED;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%; Event Normal GatePassed");
	planner_result_free(&r);
	gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.tq[1][0].gate = PLANNER_GATE_COMPLETED;
	f.tq[1][2].gate = PLANNER_GATE_COMPLETED;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2; Event Normal GatePassed");
	planner_result_free(&r);
}
END_TEST

static const struct {
	enum planner_gate_state	 gate;
	const char		*reason;
	const char		*what;
} gate_fail[] = {
	{ PLANNER_GATE_FAILED, "GateFailed", "failed" },
	{ PLANNER_GATE_TERMINATED, "GateFailed", "terminated" },
	{ PLANNER_GATE_CANCELED, "GateFailed", "canceled" },
	{ PLANNER_GATE_TIMED_OUT, "GateTimedOut", "timed out" },
};

START_TEST(test_gate_failure_blocks)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *e;

	gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.tq[1][0].gate = PLANNER_GATE_COMPLETED;
	f.tq[1][2].gate = gate_fail[_i].gate;
	fx_plan(&f, &r);
	ck_assert_uint_eq(r.nactions, 1);
	e = fx_event(&r, gate_fail[_i].reason);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->event_type, PLANNER_EVENT_WARNING);
	ck_assert_ptr_nonnull(strstr(e->message, gate_fail[_i].what));
	ck_assert_ptr_nonnull(strstr(e->message,
	    "twa-gate:default/orders:v2:billing%3Aeu"));
	ck_assert_str_eq(e->regarding_name, "orders-v2");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked, "blocked"));
	planner_result_free(&r);
	/* Both queues failed: the first one is named. */
	f.tq[1][0].gate = gate_fail[_i].gate;
	fx_plan(&f, &r);
	ck_assert_uint_eq(r.nactions, 1);
	ck_assert_ptr_nonnull(strstr(r.actions[0].message,
	    "twa-gate:default/orders:v2:orders)"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_timeout_blocks)
{
	struct fx f;
	struct planner_result r;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	f.tq[1][0].gate = PLANNER_GATE_RUNNING;
	f.tq[1][0].gate_started_at = T0 - 10 * MIN;
	f.tq[1][2].gate = PLANNER_GATE_NOT_STARTED;
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning GateTimedOut");
	ck_assert_ptr_nonnull(strstr(r.actions[0].message, "ran past gate-timeout"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_waits_for_task_queues)
{
	struct fx f;
	struct planner_result r;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_find_version(&f, "v2")->task_queues_known = false;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "waiting to learn the task queues"));
	planner_result_free(&r);
	/* Only activity queues: nothing to run the gate on. */
	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	f.tq[1][0].type = PLANNER_QUEUE_ACTIVITY;
	f.tq[1][2].type = PLANNER_QUEUE_NEXUS;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "polls no workflow task queue"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_skipped_once_ramping)
{
	struct fx f;
	struct planner_result r;

	gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - 6 * MIN, T0 - 6 * MIN);	/* gate history gone */
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 50%");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_gate_id_format)
{
	char id[PLANNER_GATE_ID_MAX + 1], id2[PLANNER_GATE_ID_MAX + 1];
	char big[600];
	size_t n;

	n = planner_gate_id("ns/orders", "v1.2-abc_D", "tq", id);
	ck_assert_str_eq(id, "twa-gate:ns/orders:v1.2-abc_D:tq");
	ck_assert_uint_eq(n, strlen(id));
	planner_gate_id("ns/orders", "v1", "a:b c%\xc3\xa9", id);
	ck_assert_str_eq(id, "twa-gate:ns/orders:v1:a%3Ab%20c%25%C3%A9");
	/* Escaping keeps distinct queues distinct. */
	planner_gate_id("ns/orders", "v1", "a:b", id);
	planner_gate_id("ns/orders", "v1", "a-b", id2);
	ck_assert_str_ne(id, id2);
	/* Too long: cut, then a hash of the whole ID; still distinct. */
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	n = planner_gate_id("ns/orders", "v1", big, id);
	ck_assert_uint_eq(n, PLANNER_GATE_ID_MAX);
	ck_assert_uint_eq(strlen(id), PLANNER_GATE_ID_MAX);
	ck_assert_int_eq(id[PLANNER_GATE_ID_MAX - 17], '~');
	big[300] = 'x';
	planner_gate_id("ns/orders", "v1", big, id2);
	ck_assert_str_ne(id, id2);
	ck_assert_int_eq(strncmp(id, id2, PLANNER_GATE_ID_MAX - 17), 0);
	/* Escapes that straddle the limit. */
	memset(big, ':', 300);
	big[300] = '\0';
	n = planner_gate_id("d", "b", big, id);
	ck_assert_uint_eq(n, PLANNER_GATE_ID_MAX);
	/* Exactly at the limit: no hash. */
	memset(big, 'q', sizeof big);
	big[PLANNER_GATE_ID_MAX - strlen("twa-gate:d:b:")] = '\0';
	n = planner_gate_id("d", "b", big, id);
	ck_assert_uint_eq(n, PLANNER_GATE_ID_MAX);
	ck_assert_ptr_null(strchr(id, '~'));
}
END_TEST

START_TEST(test_abort_on_unhealthy)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *a;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - 16 * SEC);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	a = &r.actions[0];
	ck_assert_ptr_null(a->build_id);
	ck_assert_int_eq(a->percent, 0);
	ck_assert_int_eq(a->event_type, PLANNER_EVENT_WARNING);
	ck_assert_str_eq(a->event_reason, "RampAborted");
	ck_assert_str_eq(a->regarding_name, "orders-v2");
	ck_assert_ptr_nonnull(strstr(a->reason, "0/3 healthy pods"));
	ck_assert_mem_eq(a->conflict_token, "tok-0001", 8);
	planner_result_free(&r);
	/* Its workers stopped polling too: still an abort, not a wait. */
	f.tq[1][0].has_pollers = false;
	f.tq[1][1].has_pollers = false;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_abort_waits_one_report_interval)
{
	struct fx f;
	struct planner_result r;

	/* One of three pods unhealthy since 10 s: below 100% for 10 s. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
	f.pod[3].state = PLANNER_POD_UNHEALTHY;
	f.pod[3].changed_at = T0 - 10 * SEC;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 5 * SEC + 1);
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "holding the ramp of v2 at 10%"));
	planner_result_free(&r);
	/* Exactly one interval is not longer than one interval. */
	f.now = T0 + 5 * SEC;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	planner_result_free(&r);
	f.now = T0 + 5 * SEC + 1;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_abort_counts_deficit_from_latest_changes)
{
	struct fx f;
	struct planner_result r;

	/* min-ready 1 of 3: below only once all three are down; the deficit
	   starts at the latest of the three changes. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	v2s(&f)->min_ready.is_percent = false;
	v2s(&f)->min_ready.value = 1;
	ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - MIN);
	f.pod[4].changed_at = T0 - 5 * SEC;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 10 * SEC + 1);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_abort_disabled_holds)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	v2s(&f)->abort_on_unhealthy = false;
	ramp_v2(&f, 10, T0 - 20 * MIN, T0 - 20 * MIN);
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - 10 * MIN);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, 0);
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "abort-on-unhealthy is off"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_abort_missing_pods_count_from_ramp_start)
{
	struct fx f;
	struct planner_result r;

	/* Four replicas, three reports: the missing pod counts as bad since
	   the ramp began. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_find_deploy(&f, "orders-v2")->replicas = 4;
	ramp_v2(&f, 10, T0 - 10 * SEC, T0 - 10 * SEC);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 5 * SEC + 1);
	planner_result_free(&r);
	f.now = T0 + 6 * SEC;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	planner_result_free(&r);
	/* Every pod gone and no ramp time known: abort at once. */
	fx_remove_pods(&f, "v2");
	f.obs.routing.ramping_changed_at = 0;
	fx_find_version(&f, "v2")->ramping_since = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason,
	    "0/4 healthy pods, below min-ready 4 since an unknown time"));
	planner_result_free(&r);
	fx_pods(&f, "v2", 3, PLANNER_POD_READY, T0 - 10 * MIN);
	/* The routing config lacks the ramp time: the summary's counts. */
	f.obs.routing.ramping_changed_at = 0;
	fx_find_version(&f, "v2")->ramping_since = T0 + 2 * SEC;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 17 * SEC + 1);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_no_reramp_until_recovered)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;

	/* The ramp of v2 was aborted 1 minute ago; v2 is Draining. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	v = fx_find_version(&f, "v2");
	v->status = PLANNER_VS_DRAINING;
	v->drainage = PLANNER_DRAINAGE_DRAINING;
	v->first_activation_time = T0 - 5 * MIN;
	v->last_deactivation_time = T0 - MIN;
	v->drainage_changed_at = T0 - MIN;
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - 2 * MIN);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "waiting for min-ready"));
	planner_result_free(&r);
	/* Healthy again since 5 s: wait for a full report interval. */
	fx_set_pods(&f, "v2", PLANNER_POD_READY, T0 - 5 * SEC);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 10 * SEC);
	ck_assert_ptr_nonnull(strstr(r.summary, "recovering"));
	planner_result_free(&r);
	f.now = T0 + 10 * SEC;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%");
	planner_result_free(&r);
}
END_TEST

/* Point the target back at v1 by scaling v2 (Current) to 0. */
static void
rollback_world(struct fx *f, int64_t v1_last_current)
{
	struct planner_version *v;

	gated(f, SETTINGS_ROLLOUT_PROGRESSIVE);
	promote_v2(f);
	v = fx_find_version(f, "v1");
	v->status = PLANNER_VS_DRAINING;
	v->drainage = PLANNER_DRAINAGE_DRAINING;
	v->last_current_time = v1_last_current;
	v->last_deactivation_time = v1_last_current;
	fx_find_deploy(f, "orders-v2")->replicas = 0;
	/* v1's own template carries the same Progressive plan with a gate. */
	fx_settings(f, fx_find_deploy(f, "orders-v1"))->rollout =
	    SETTINGS_ROLLOUT_PROGRESSIVE;
	fx_settings(f, fx_find_deploy(f, "orders-v1"))->gate_workflow =
	    (char *)"SmokeTest";
}

START_TEST(test_rollback_within_hour)
{
	struct fx f;
	struct planner_result r;

	rollback_world(&f, T0 - 30 * MIN);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v1");
	ck_actions(&r, "SetCurrent v1");
	ck_assert_str_eq(r.actions[0].event_reason, "RolledBack");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "rollback"));
	planner_result_free(&r);
	/* Exactly one hour still counts. */
	rollback_world(&f, T0 - HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v1");
	planner_result_free(&r);
	/* Older than an hour: an ordinary rollout, gate first. */
	rollback_world(&f, T0 - HOUR - 1);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "gate SmokeTest"));
	planner_result_free(&r);
	/* Manual: never, not even a rollback. */
	rollback_world(&f, T0 - MIN);
	fx_settings(&f, fx_find_deploy(&f, "orders-v1"))->rollout =
	    SETTINGS_ROLLOUT_MANUAL;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_first_version_no_current)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_remove_version(&f, "v1");
	fx_remove_deploy(&f, "orders-v1");
	fx_remove_pods(&f, "v1");
	fx_current(&f, NULL, 0);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "first version"));
	planner_result_free(&r);
	/* Nobody manages it yet: claim first, promote on the next pass. */
	f.obs.manager_identity = NULL;
	fx_plan(&f, &r);
	ck_actions(&r, "ClaimManager twa:default/orders");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "first version"));
	ck_assert_mem_eq(r.actions[0].conflict_token, "tok-0001", 8);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_newer_target_mid_ramp)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;
	struct planner_deployment *d;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 50, T0 - 20 * MIN, T0 - 9 * MIN);
	v = fx_version(&f, "v3", PLANNER_VS_INACTIVE);
	fx_queue(&f, v, "orders", PLANNER_QUEUE_WORKFLOW, true);
	d = fx_deploy(&f, "orders-v3", "v3", T0 - 5 * MIN, 2);
	fx_settings(&f, d)->rollout = SETTINGS_ROLLOUT_PROGRESSIVE;
	fx_pods(&f, "v3", 1, PLANNER_POD_STARTING, T0 - MIN);
	fx_pods(&f, "v3", 1, PLANNER_POD_READY, T0 - MIN);
	/* v3 not healthy yet: v2's ramp stays where it is, unadvanced. */
	f.now = T0 + 5 * MIN;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_str_eq(r.status.target_build_id, "v3");
	ck_assert_int_eq(fx_status(&r, "v2")->state, PLANNER_STATE_RAMPING);
	ck_assert(fabs(fx_status(&r, "v2")->ramp_percent - 50) < 1e-9);
	planner_result_free(&r);
	/* v3 healthy: it takes the ramp at step 1. */
	fx_set_pods(&f, "v3", PLANNER_POD_READY, T0);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v3 10%");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason,
	    "replaces the ramp of v2"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_newer_target_all_at_once_then_stale_ramp)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
	v = fx_version(&f, "v3", PLANNER_VS_INACTIVE);
	fx_deploy(&f, "orders-v3", "v3", T0 - MIN, 1);
	fx_pods(&f, "v3", 1, PLANNER_POD_READY, T0 - MIN);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v3");
	planner_result_free(&r);
	/* The server made v3 Current; v2's ramp is still set. */
	v->status = PLANNER_VS_CURRENT;
	fx_current(&f, "v3", T0);
	fx_find_version(&f, "v1")->status = PLANNER_VS_DRAINING;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	ck_assert_str_eq(r.actions[0].event_reason, "StaleRampCleared");
	ck_assert_str_eq(r.actions[0].regarding_name, "orders-v2");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_stale_ramp_cleared)
{
	struct fx f;
	struct planner_result r;

	/* A human ramped to unversioned workers after v2 became current. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	fx_ramp(&f, NULL, 20, T0 - HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping clear");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "unversioned workers"));
	ck_assert_str_eq(r.actions[0].regarding_name, "orders-v2");
	planner_result_free(&r);
	/* No ramp: steady. */
	fx_ramp(&f, NULL, 0, T0 - HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_str_eq(r.summary, "steady: v2 is current");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_manager_held_blocks)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *e;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld");
	e = &r.actions[0];
	ck_assert_ptr_nonnull(strstr(e->message, "held by 'alice@laptop'"));
	ck_assert_str_eq(e->regarding_name, "orders-v2");
	ck_assert_ptr_nonnull(strstr(r.status.blocked, "alice@laptop"));
	planner_result_free(&r);
	/* Gate starts are Temporal writes too. */
	gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld");
	planner_result_free(&r);
	/* So is deleting a drained version; scaling Kubernetes is not. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, T0 - 30 * HOUR);
	fx_remove_deploy(&f, "orders-v1");
	fx_version(&f, "v0", PLANNER_VS_DRAINED)->drainage_changed_at =
	    T0 - 2 * HOUR;
	fx_deploy(&f, "orders-v0", "v0", T0 - 60 * HOUR, 2);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v0 0; Event Warning ManagerIdentityHeld");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v1")->blocked,
	    "not deleting the Temporal version"));
	planner_result_free(&r);
	/* A promotion and a version delete wanted at once: both blocked. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	drain_v1(&f, T0 - 30 * HOUR);
	fx_remove_deploy(&f, "orders-v1");
	fx_current(&f, "v0", T0 - 30 * HOUR);
	fx_version(&f, "v0", PLANNER_VS_CURRENT)->create_time = T0 - 60 * HOUR;
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld; "
	    "Event Warning ManagerIdentityHeld");
	ck_assert_ptr_nonnull(strstr(r.status.blocked, "wanted: AllAtOnce"));
	planner_result_free(&r);
	/* An abort is a routing write: held, it cannot happen. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - MIN);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_manager_claimed_when_empty)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.manager_identity = "";
	fx_plan(&f, &r);
	ck_actions(&r, "ClaimManager twa:default/orders");
	ck_assert_str_eq(r.actions[0].event_reason, "ManagerIdentityClaimed");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "before: AllAtOnce"));
	ck_assert_uint_eq(r.actions[0].conflict_token_len, 8);
	planner_result_free(&r);
	/* Claimed: the next observation shows our identity and a new token. */
	f.obs.manager_identity = "twa:default/orders";
	memcpy(f.token, "tok-0002", 8);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_mem_eq(r.actions[0].conflict_token, "tok-0002", 8);
	planner_result_free(&r);
	/* Nothing to write: nothing is claimed. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	f.obs.manager_identity = NULL;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_no_token_no_routing_write)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.routing.conflict_token = NULL;
	f.obs.routing.conflict_token_len = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "no conflict token observed"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_max_versions_refuses)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;
	const struct planner_action *e;

	/* v0 still Draining, v1 Current, v2 the target: three live. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	v = fx_version(&f, "v0", PLANNER_VS_DRAINING);
	v->drainage = PLANNER_DRAINAGE_DRAINING;
	v->create_time = T0 - 100 * HOUR;
	v2s(&f)->max_versions = 2;
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning TooManyVersions");
	e = &r.actions[0];
	ck_assert_ptr_nonnull(strstr(e->message, "3 live versions"));
	ck_assert_ptr_nonnull(strstr(e->message, "max-versions 2"));
	planner_result_free(&r);
	v2s(&f)->max_versions = 3;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	planner_result_free(&r);
	/* Drained versions do not count. */
	v2s(&f)->max_versions = 2;
	v->status = PLANNER_VS_DRAINED;
	v->drainage = PLANNER_DRAINAGE_DRAINED;
	v->drainage_changed_at = T0 - MIN;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	planner_result_free(&r);
}
END_TEST

/* Summaries of a version that just left Current, as servers report them. */
static const struct {
	enum planner_version_status	status;
	enum planner_drainage		drainage;
	bool				activated;
} just_demoted[] = {
	{ PLANNER_VS_CURRENT, PLANNER_DRAINAGE_UNSPECIFIED, true },	/* async lag */
	{ PLANNER_VS_INACTIVE, PLANNER_DRAINAGE_UNSPECIFIED, true },
	{ PLANNER_VS_UNSPECIFIED, PLANNER_DRAINAGE_UNSPECIFIED, true },
	{ PLANNER_VS_UNSPECIFIED, PLANNER_DRAINAGE_UNSPECIFIED, false },
	{ PLANNER_VS_RAMPING, PLANNER_DRAINAGE_UNSPECIFIED, false },
	{ PLANNER_VS_CREATED, PLANNER_DRAINAGE_UNSPECIFIED, true },
	{ PLANNER_VS_DRAINING, PLANNER_DRAINAGE_UNSPECIFIED, true },
	{ PLANNER_VS_UNSPECIFIED, PLANNER_DRAINAGE_DRAINING, true },
};

START_TEST(test_drainage_missing_after_demotion_is_draining)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	v = fx_find_version(&f, "v1");
	v->status = just_demoted[_i].status;
	v->drainage = just_demoted[_i].drainage;
	if (!just_demoted[_i].activated) {
		v->first_activation_time = 0;
		v->current_since = 0;
		v->last_current_time = 0;
	}
	f.now = T0 + 400 * HOUR;	/* far past every delay */
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_assert_int_eq(fx_status(&r, "v1")->state, PLANNER_STATE_DRAINING);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, 0);
	planner_result_free(&r);
}
END_TEST

/* Drained v1 (since T0 - 2h unless said), at now = T0 + offset. */
static const struct {
	int64_t		 at;		/* now, relative to the drain */
	int		 replicas;
	bool		 deployment;	/* still exists */
	bool		 pollers;
	const char	*act;
	int64_t		 wake;		/* relative to the drain, 0: none */
} drained_tab[] = {
	{ 59 * MIN, 3, true, true, "", HOUR },
	{ HOUR, 3, true, true, "Scale orders-v1 0", 24 * HOUR },
	{ 23 * HOUR, 0, true, true, "", 24 * HOUR },
	{ 24 * HOUR, 0, true, true, "DeleteDeployment orders-v1", 0 },
	{ 24 * HOUR, 2, true, true, "Scale orders-v1 0", 0 },
	{ 25 * HOUR, 0, false, true, "", 0 },
	{ 25 * HOUR, 0, false, false, "DeleteVersion v1", 0 },
};

START_TEST(test_drained_scaledown_then_delete)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *a;
	int64_t drain = T0 - 2 * HOUR;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, drain);
	fx_queue(&f, fx_find_version(&f, "v1"), "orders", PLANNER_QUEUE_WORKFLOW,
	    drained_tab[_i].pollers);
	fx_find_deploy(&f, "orders-v1")->replicas = drained_tab[_i].replicas;
	if (!drained_tab[_i].deployment)
		fx_remove_deploy(&f, "orders-v1");
	f.now = drain + drained_tab[_i].at;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, drained_tab[_i].act);
	ck_assert_int_eq(r.wake_at, drained_tab[_i].wake ?
	    drain + drained_tab[_i].wake : 0);
	ck_assert_int_eq(fx_status(&r, "v1")->scale_down_at, drain + HOUR);
	ck_assert_int_eq(fx_status(&r, "v1")->delete_at, drain + 24 * HOUR);
	if (r.nactions > 0) {
		a = &r.actions[0];
		ck_assert_ptr_nonnull(strstr(a->reason, "Drained since"));
		ck_assert_str_eq(a->build_id, "v1");
		if (a->kind == PLANNER_DELETE_DEPLOYMENT) {
			ck_assert_str_eq(a->uid, "orders-v1");
			ck_assert_str_eq(a->event_reason, "DeploymentDeleted");
		}
		if (a->kind == PLANNER_SCALE) {
			ck_assert_int_eq(a->replicas, 0);
			ck_assert_str_eq(a->regarding_name, "orders-v1");
		}
		if (a->kind == PLANNER_DELETE_VERSION) {
			ck_assert_ptr_null(a->regarding_name);
			ck_assert_str_eq(a->identity, "twa:default/orders");
		}
	}
	if (!drained_tab[_i].deployment && drained_tab[_i].pollers)
		ck_assert_ptr_nonnull(strstr(fx_status(&r, "v1")->blocked,
		    "pollers"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_delete_delay_below_scaledown_waits_for_both)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, T0 - 3 * HOUR);
	fx_find_deploy(&f, "orders-v1")->replicas = 0;
	v2s(&f)->scaledown_delay_ms = 4 * HOUR;
	v2s(&f)->delete_delay_ms = 2 * HOUR;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + HOUR);
	ck_assert_int_eq(fx_status(&r, "v1")->delete_at, T0 + HOUR);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_drained_since_fallbacks)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, T0 - 2 * HOUR);
	v = fx_find_version(&f, "v1");
	v->drainage_changed_at = 0;
	v->drainage_checked_at = T0 - 30 * MIN;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 30 * MIN);
	planner_result_free(&r);
	v->drainage_checked_at = 0;
	v->last_deactivation_time = T0 - 2 * HOUR;
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v1 0");
	planner_result_free(&r);
	v->last_deactivation_time = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v1")->blocked,
	    "no drainage time"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_several_deployments_for_one_build)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *e;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, T0 - 2 * HOUR);
	fx_deploy(&f, "orders-v1-canary", "v1", T0 - 40 * HOUR, 1);
	fx_pods(&f, "v1", 1, PLANNER_POD_READY, T0 - 40 * HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v1 0; Scale orders-v1-canary 0; "
	    "Event Warning DuplicateBuildId");
	e = fx_event(&r, "DuplicateBuildId");
	ck_assert_ptr_nonnull(strstr(e->message,
	    "2 Deployments (orders-v1, orders-v1-canary)"));
	ck_assert_str_eq(e->regarding_name, "orders-v1-canary");
	ck_assert_int_eq(fx_status(&r, "v1")->total, 4);
	ck_assert_uint_eq(fx_status(&r, "v1")->ndeployments, 2);
	planner_result_free(&r);
	/* Ten Deployments of one drained build: all of them scaled. */
	for (int i = 0; i < 8; i++) {
		static const char *const names[] = { "x0", "x1", "x2", "x3",
		    "x4", "x5", "x6", "x7" };

		fx_deploy(&f, names[i], "v1", T0 - 50 * HOUR, 1);
	}
	fx_plan(&f, &r);
	ck_assert_uint_eq(fx_count(&r, PLANNER_SCALE), 10);
	ck_assert_ptr_nonnull(strstr(fx_event(&r, "DuplicateBuildId")->message,
	    "10 Deployments"));
	planner_result_free(&r);
	/* Both health pools count for a duplicated target. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_deploy(&f, "orders-v2-b", "v2", T0 - 2 * HOUR, 2);
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning DuplicateBuildId");
	ck_assert_int_eq(fx_status(&r, "v2")->total, 5);
	ck_assert_str_eq(r.actions[0].regarding_name, "orders-v2");
	planner_result_free(&r);
	/* Created at the same time: the greater name is the newest. */
	fx_find_deploy(&f, "orders-v2-b")->created_at = T0 - HOUR;
	fx_deploy(&f, "orders-v2-0", "v2", T0 - HOUR, 1);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.actions[0].regarding_name, "orders-v2-b");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_in_place_update_warns)
{
	struct fx f;
	struct planner_result r;
	struct planner_deployment *d;
	const struct planner_action *e;

	/* orders-v1 was edited in place: its template is now build v1b. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	fx_find_version(&f, "v1")->status = PLANNER_VS_DRAINING;
	fx_find_version(&f, "v1")->drainage = PLANNER_DRAINAGE_DRAINING;
	d = fx_find_deploy(&f, "orders-v1");
	d->build_id = "v1b";
	d->template_changed = true;
	d->prev_build_id = "v1";
	fx_plan(&f, &r);
	e = fx_event(&r, "InPlaceUpdate");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->event_type, PLANNER_EVENT_WARNING);
	ck_assert_str_eq(e->regarding_name, "orders-v1");
	ck_assert_ptr_nonnull(strstr(e->message, "from build v1 to v1b"));
	ck_assert_ptr_nonnull(strstr(e->message, "Draining"));
	planner_result_free(&r);
	/* The old version is Drained: nothing pinned is lost. */
	drain_v1(&f, T0 - MIN);
	fx_plan(&f, &r);
	ck_assert_ptr_null(fx_event(&r, "InPlaceUpdate"));
	planner_result_free(&r);
	/* Previous build unknown, or unchanged: nothing to say. */
	d->prev_build_id = NULL;
	fx_find_version(&f, "v1")->status = PLANNER_VS_DRAINING;
	fx_plan(&f, &r);
	ck_assert_ptr_null(fx_event(&r, "InPlaceUpdate"));
	planner_result_free(&r);
	d->prev_build_id = "v1b";
	fx_plan(&f, &r);
	ck_assert_ptr_null(fx_event(&r, "InPlaceUpdate"));
	planner_result_free(&r);
	d->prev_build_id = "v-unknown";
	fx_plan(&f, &r);
	ck_assert_ptr_null(fx_event(&r, "InPlaceUpdate"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_unknown_builds_in_health_ignored)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_set_pods(&f, "v2", PLANNER_POD_UNHEALTHY, T0 - MIN);
	fx_pods(&f, "zz-unknown", 3, PLANNER_POD_READY, T0 - MIN);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_uint_eq(r.status.unknown_health, 3);
	ck_assert_int_eq(fx_status(&r, "v2")->healthy, 0);
	ck_assert_ptr_null(fx_status(&r, "zz-unknown"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_stale_health_ignored)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.pod[3].written_at = T0 - 45 * SEC - 1;	/* past 3 intervals */
	f.pod[4].written_at = T0 - 45 * SEC;		/* just fresh */
	f.pod[5].written_at = 0;			/* unknown: fresh */
	fx_find_deploy(&f, "orders-v2")->replicas = 2;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_uint_eq(r.status.stale_health, 1);
	ck_assert_int_eq(fx_status(&r, "v2")->healthy, 2);
	planner_result_free(&r);
	/* Terminating pods are not healthy and not counted as pods. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_find_deploy(&f, "orders-v2")->replicas = 2;
	f.pod[3].state = PLANNER_POD_TERMINATING;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_int_eq(fx_status(&r, "v2")->total, 2);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_superseded_inactive_retired)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;

	/* v2 never got traffic (its gate failed); v3 superseded it. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	v = fx_version(&f, "v3", PLANNER_VS_INACTIVE);
	fx_deploy(&f, "orders-v3", "v3", T0 - 30 * MIN, 1);
	fx_settings(&f, fx_find_deploy(&f, "orders-v3"))->rollout =
	    SETTINGS_ROLLOUT_MANUAL;
	(void)v;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 30 * MIN);
	ck_assert_int_eq(fx_status(&r, "v2")->scale_down_at, T0 + 30 * MIN);
	planner_result_free(&r);
	f.now = T0 + 30 * MIN;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v2 0");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason, "never got traffic"));
	planner_result_free(&r);
	/* A gate run still open keeps it. */
	f.tq[1][0].gate = PLANNER_GATE_RUNNING;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(fx_status(&r, "v2")->blocked,
	    "gate workflow"));
	planner_result_free(&r);
	/* After the delete delay, gone on both sides. */
	f.tq[1][0].gate = PLANNER_GATE_FAILED;
	f.tq[1][0].has_pollers = false;
	f.tq[1][1].has_pollers = false;
	fx_find_deploy(&f, "orders-v2")->replicas = 0;
	f.now = T0 + 24 * HOUR;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_actions(&r, "DeleteDeployment orders-v2");
	planner_result_free(&r);
	fx_remove_deploy(&f, "orders-v2");
	fx_plan(&f, &r);
	ck_actions(&r, "DeleteVersion v2");
	planner_result_free(&r);
	/* Unknown to Temporal: the Deployment goes, no version delete. */
	fx_remove_version(&f, "v2");
	fx_deploy(&f, "orders-v2", "v2", T0 - HOUR, 0);
	fx_plan(&f, &r);
	ck_actions(&r, "DeleteDeployment orders-v2");
	planner_result_free(&r);
	fx_remove_deploy(&f, "orders-v2");
	fx_plan(&f, &r);
	ck_actions(&r, "");
	planner_result_free(&r);
	/* Known only as CREATED (no poller ever): left to Temporal. */
	fx_version(&f, "v2", PLANNER_VS_CREATED)->create_time = T0 - 2 * HOUR;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v2")->state, PLANNER_STATE_NOT_REGISTERED);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_newest_staged_at_zero_is_not_superseded)
{
	struct fx f;
	struct planner_result r;

	/* orders-v3 is the newest Deployment but staged at 0 replicas. */
	base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_version(&f, "v3", PLANNER_VS_INACTIVE);
	fx_deploy(&f, "orders-v3", "v3", T0 - MIN, 0);
	f.now = T0 + 100 * HOUR;
	fx_touch(&f);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v2");
	ck_actions(&r, "");
	ck_assert_int_eq(fx_status(&r, "v3")->scale_down_at, 0);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_draining_without_pods_warns)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	fx_find_version(&f, "v1")->status = PLANNER_VS_DRAINING;
	fx_find_deploy(&f, "orders-v1")->replicas = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning DrainingWithoutPods");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_temporal_not_observed)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	promote_v2(&f);
	drain_v1(&f, T0 - 100 * HOUR);
	f.obs.temporal_observed = false;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.status.blocked, "Temporal state not observed"));
	ck_assert_str_eq(r.summary, r.status.blocked);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_no_target)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_find_deploy(&f, "orders-v1")->deleting = true;
	fx_find_deploy(&f, "orders-v2")->replicas = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_null(r.status.target_build_id);
	ck_assert_ptr_nonnull(strstr(r.status.blocked, "no target"));
	planner_result_free(&r);
	/* Nothing observed at all. */
	fx_init(&f, T0);
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_uint_eq(r.status.nversions, 0);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_target_selection)
{
	struct fx f;
	struct planner_result r;

	/* Same creation time: the greater name wins. */
	base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_version(&f, "v3", PLANNER_VS_INACTIVE);
	fx_deploy(&f, "orders-v3", "v3", T0 - HOUR, 1);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v3");
	ck_assert(fx_status(&r, "v3")->target);
	ck_assert(!fx_status(&r, "v2")->target);
	planner_result_free(&r);
	/* Listed later with a smaller name: still the greater name. */
	fx_deploy(&f, "orders-a", "v2", T0 - HOUR, 1);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v3");
	planner_result_free(&r);
	fx_remove_deploy(&f, "orders-a");
	/* Being deleted: not a candidate. */
	fx_find_deploy(&f, "orders-v3")->deleting = true;
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v2");
	planner_result_free(&r);
	/* A newer Deployment of the current build makes it the target. */
	fx_deploy(&f, "orders-v1-new", "v1", T0 - MIN, 1);
	fx_plan(&f, &r);
	ck_assert_str_eq(r.status.target_build_id, "v1");
	ck_assert_str_eq(r.summary, "steady: v1 is current");
	planner_result_free(&r);
	/* Status lists newest first. */
	base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_plan(&f, &r);
	ck_assert_uint_eq(r.status.nversions, 2);
	ck_assert_str_eq(r.status.versions[0].build_id, "v2");
	ck_assert_str_eq(r.status.versions[1].build_id, "v1");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_settings_from_target)
{
	struct fx f;
	struct planner_result r;

	/* v1 (current) says Manual, v2 (target) says AllAtOnce: v2 wins. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_settings(&f, fx_find_deploy(&f, "orders-v1"))->rollout =
	    SETTINGS_ROLLOUT_MANUAL;
	fx_plan(&f, &r);
	ck_assert_int_eq(r.status.rollout, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	ck_actions(&r, "SetCurrent v2");
	planner_result_free(&r);
	/* Target without parsed settings: the defaults. */
	fx_find_deploy(&f, "orders-v2")->settings = NULL;
	f.defaults.rollout = SETTINGS_ROLLOUT_PROGRESSIVE;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%");
	planner_result_free(&r);
	/* No target: the current version's settings (Manual here). */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_settings(&f, fx_find_deploy(&f, "orders-v1"))->rollout =
	    SETTINGS_ROLLOUT_MANUAL;
	fx_find_deploy(&f, "orders-v2")->replicas = 0;
	fx_find_deploy(&f, "orders-v1")->replicas = 0;
	fx_plan(&f, &r);
	ck_assert_int_eq(r.status.rollout, SETTINGS_ROLLOUT_MANUAL);
	planner_result_free(&r);
}
END_TEST

/*
 * Every strategy against every state of the target; v1 is Current.
 * Draining and Drained targets were deactivated two hours ago (not a
 * rollback); "Rollback" is Draining and Current until 30 minutes ago.
 */
enum tstate { TS_NOT_REGISTERED, TS_INACTIVE, TS_RAMPING, TS_CURRENT,
    TS_DRAINING, TS_DRAINED, TS_ROLLBACK, TS_N };

static const char *const matrix[3][TS_N] = {
	[SETTINGS_ROLLOUT_MANUAL] = { "", "", "", "", "", "", "" },
	[SETTINGS_ROLLOUT_ALL_AT_ONCE] = { "", "SetCurrent v2", "SetCurrent v2",
	    "", "SetCurrent v2", "SetCurrent v2", "SetCurrent v2" },
	[SETTINGS_ROLLOUT_PROGRESSIVE] = { "", "SetRamping v2 10%", "",
	    "", "SetRamping v2 10%", "SetRamping v2 10%", "SetCurrent v2" },
};

START_TEST(test_strategy_state_matrix)
{
	struct fx f;
	struct planner_result r;
	struct planner_version *v;
	int strategy = _i / TS_N, ts = _i % TS_N;
	static const enum planner_state want[TS_N] = {
		PLANNER_STATE_NOT_REGISTERED, PLANNER_STATE_INACTIVE,
		PLANNER_STATE_RAMPING, PLANNER_STATE_CURRENT,
		PLANNER_STATE_DRAINING, PLANNER_STATE_DRAINED,
		PLANNER_STATE_DRAINING,
	};

	base(&f, (enum settings_rollout)strategy);
	v = fx_find_version(&f, "v2");
	switch (ts) {
	case TS_NOT_REGISTERED:
		fx_remove_version(&f, "v2");
		break;
	case TS_RAMPING:
		ramp_v2(&f, 10, T0 - MIN, T0 - MIN);
		break;
	case TS_CURRENT:
		promote_v2(&f);
		fx_find_version(&f, "v1")->status = PLANNER_VS_DRAINING;
		break;
	case TS_DRAINING:
	case TS_DRAINED:
	case TS_ROLLBACK:
		v->status = ts == TS_DRAINED ? PLANNER_VS_DRAINED :
		    PLANNER_VS_DRAINING;
		v->drainage = ts == TS_DRAINED ? PLANNER_DRAINAGE_DRAINED :
		    PLANNER_DRAINAGE_DRAINING;
		v->first_activation_time = T0 - 3 * HOUR;
		v->last_deactivation_time = ts == TS_ROLLBACK ? T0 - 30 * MIN :
		    T0 - 2 * HOUR;
		v->last_current_time = ts == TS_ROLLBACK ? T0 - 30 * MIN : 0;
		v->drainage_changed_at = v->last_deactivation_time;
		break;
	default:
		break;
	}
	fx_plan(&f, &r);
	ck_assert_int_eq(fx_status(&r, "v2")->state, want[ts]);
	ck_actions(&r, matrix[strategy][ts]);
	ck_assert_ptr_nonnull(r.summary);
	if (r.nactions == 0 && ts != TS_CURRENT && ts != TS_RAMPING)
		ck_assert_ptr_nonnull(fx_status(&r, "v2")->blocked);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_every_action_has_a_reason_and_order)
{
	struct fx f;
	struct planner_result r;

	/* A pass with a routing write, gate-less, scale and events at once. */
	base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	drain_v1(&f, T0 - 2 * HOUR);
	fx_current(&f, "v0", T0 - 2 * HOUR);
	fx_version(&f, "v0", PLANNER_VS_CURRENT)->create_time = T0 - 60 * HOUR;
	fx_deploy(&f, "orders-v1-b", "v1", T0 - 40 * HOUR, 1);
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2; Scale orders-v1 0; Scale orders-v1-b 0; "
	    "Event Warning DuplicateBuildId");
	for (size_t i = 0; i < r.nactions; i++) {
		ck_assert_ptr_nonnull(r.actions[i].reason);
		ck_assert(r.actions[i].reason[0] != '\0');
		ck_assert_ptr_nonnull(r.actions[i].event_reason);
		ck_assert(r.actions[i].event_reason[0] >= 'A' &&
		    r.actions[i].event_reason[0] <= 'Z');
	}
	ck_assert_str_eq(r.summary, r.actions[0].reason);
	planner_result_free(&r);
	planner_result_free(&r);	/* twice is harmless */
}
END_TEST

START_TEST(test_wake_is_earliest)
{
	struct fx f;
	struct planner_result r;

	/* Ramp step due in 4 minutes, v1 scaledown due in 30: 4 wins. */
	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, T0 - MIN, T0 - MIN);
	drain_v1(&f, T0 - 30 * MIN);
	fx_current(&f, "v0", T0 - 2 * HOUR);
	fx_version(&f, "v0", PLANNER_VS_CURRENT)->create_time = T0 - 60 * HOUR;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_int_eq(r.wake_at, T0 + 4 * MIN);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_status_json)
{
	struct fx f;
	struct planner_result r;
	json_t *j, *v;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 12.5, T0 - MIN, T0 - MIN);
	fx_version(&f, "v0", PLANNER_VS_DRAINED)->drainage_changed_at = T0 - MIN;
	fx_deploy(&f, "orders-v0", "v0", T0 - 90 * HOUR, 1);
	fx_plan(&f, &r);
	planner_result_free(&r);
	/* 12.5% matched no step: look at the next pass on 50%. */
	ramp_v2(&f, 50, T0 - MIN, T0 - MIN);
	f.obs.manager_identity = "bob";
	fx_plan(&f, &r);
	j = planner_status_json(&r.status);
	ck_assert_str_eq(json_string_value(json_object_get(j, "target")), "v2");
	ck_assert_str_eq(json_string_value(json_object_get(j, "rollout")),
	    "Progressive");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "unknownHealth")), 0);
	ck_assert_ptr_null(json_object_get(j, "blocked"));
	v = json_array_get(json_object_get(j, "versions"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "build")), "v2");
	ck_assert_str_eq(json_string_value(json_object_get(v, "state")),
	    "Ramping 50%");
	ck_assert(json_is_true(json_object_get(v, "target")));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "healthy")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "total")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "required")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "step")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "steps")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(v, "nextStepAt")),
	    "2025-01-01T00:09:00.000000Z");
	ck_assert_str_eq(json_string_value(json_object_get(v, "stepStartedAt")),
	    "2024-12-31T23:59:00.000000Z");
	v = json_array_get(json_object_get(j, "versions"), 2);
	ck_assert_str_eq(json_string_value(json_object_get(v, "state")), "Drained");
	ck_assert_str_eq(json_string_value(json_object_get(v, "scaleDownAt")),
	    "2025-01-01T00:59:00.000000Z");
	ck_assert_ptr_nonnull(json_object_get(v, "deleteAt"));
	ck_assert_ptr_null(json_object_get(v, "step"));
	ck_assert_ptr_null(json_object_get(v, "blocked"));
	json_decref(j);
	planner_result_free(&r);
	/* A blocked target. */
	ramp_v2(&f, 50, T0 - MIN, 0);
	fx_plan(&f, &r);
	j = planner_status_json(&r.status);
	v = json_array_get(json_object_get(j, "versions"), 0);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(v,
	    "blocked")), "no percentage change time"));
	json_decref(j);
	planner_result_free(&r);
	/* A damaged status still serialises. */
	fx_plan(&f, &r);
	r.status.versions[0].state = (enum planner_state)42;
	j = planner_status_json(&r.status);
	v = json_array_get(json_object_get(j, "versions"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "state")), "Unknown");
	json_decref(j);
	planner_result_free(&r);
	/* Deployment-wide block, no target, unknown rollout value. */
	fx_init(&f, T0);
	f.obs.temporal_observed = false;
	fx_plan(&f, &r);
	r.status.rollout = (enum settings_rollout)7;
	j = planner_status_json(&r.status);
	ck_assert(json_is_null(json_object_get(j, "target")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "rollout")), "Unknown");
	ck_assert_ptr_nonnull(json_object_get(j, "blocked"));
	json_decref(j);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_names_and_format)
{
	struct planner_action a;
	char *s;

	ck_assert_str_eq(planner_state_name(PLANNER_STATE_NOT_REGISTERED),
	    "NotRegistered");
	ck_assert_str_eq(planner_state_name(PLANNER_STATE_DRAINED), "Drained");
	ck_assert_str_eq(planner_state_name((enum planner_state)99), "Unknown");
	ck_assert_str_eq(planner_action_name(PLANNER_DELETE_VERSION),
	    "DeleteVersion");
	ck_assert_str_eq(planner_action_name((enum planner_action_kind)99),
	    "Unknown");
	memset(&a, 0, sizeof a);
	a.kind = (enum planner_action_kind)99;
	s = planner_action_format(&a);
	ck_assert_str_eq(s, "Unknown");
	free(s);
	a.kind = PLANNER_EVENT;
	a.event_type = PLANNER_EVENT_NORMAL;
	a.event_reason = (char *)"GatePassed";
	s = planner_action_format(&a);
	ck_assert_str_eq(s, "Event Normal GatePassed");
	free(s);
}
END_TEST

/* Hostile observations: each names what is wrong. */
static void
hostile(int i, struct fx *f, const char **want)
{
	static struct planner_task_queue badq = { .name = "", .type = 1 };
	static struct settings bad;

	base(f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_default_settings(&bad);
	switch (i) {
	case 0: f->cfg.identity = ""; *want = "config needs"; break;
	case 1: f->cfg.defaults = NULL; *want = "config needs"; break;
	case 2: f->cfg.deployment_name = NULL; *want = "config needs"; break;
	case 3: f->obs.versions = NULL; *want = "array is NULL"; break;
	case 4: f->obs.deployments = NULL; *want = "array is NULL"; break;
	case 5: f->obs.health = NULL; *want = "array is NULL"; break;
	case 6: f->obs.routing.conflict_token = NULL; *want = "array is NULL"; break;
	case 7: f->obs.routing.ramping_percent = NAN; *want = "expected 0..100"; break;
	case 8: f->obs.routing.ramping_percent = 100.5; *want = "expected 0..100"; break;
	case 9: f->obs.routing.ramping_percent = -1; *want = "expected 0..100"; break;
	case 10: fx_current(f, "", 0); *want = "routing build IDs"; break;
	case 11: fx_ramp(f, "", 5, T0); *want = "routing build IDs"; break;
	case 12: fx_ramp(f, "v1", 5, T0); *want = "both current and ramping"; break;
	case 13: f->ver[1].build_id = NULL; *want = "build_id is empty"; break;
	case 14: f->ver[1].build_id = "v1"; *want = "listed twice"; break;
	case 15: f->ver[1].status = (enum planner_version_status)7; *want = "out of range"; break;
	case 16: f->ver[1].drainage = (enum planner_drainage)3; *want = "out of range"; break;
	case 17: f->ver[1].task_queues = NULL; *want = "no array"; break;
	case 18: f->ver[1].task_queues = &badq; f->ver[1].ntask_queues = 1;
		*want = "task queue 0"; break;
	case 19: f->tq[1][0].type = (enum planner_queue_type)4; *want = "task queue 0"; break;
	case 20: f->tq[1][1].gate = (enum planner_gate_state)7; *want = "task queue 1"; break;
	case 21: f->dep[0].uid = NULL; *want = "must all be set"; break;
	case 22: f->dep[1].build_id = ""; *want = "must all be set"; break;
	case 23: f->dep[1].name = NULL; *want = "must all be set"; break;
	case 24: f->dep[1].replicas = -1; *want = "counts of 0 or more"; break;
	case 25: f->dep[1].ready_replicas = -1; *want = "counts of 0 or more"; break;
	case 26: f->dep[1].name = "orders-v1"; *want = "listed twice"; break;
	case 27: f->dep[1].uid = "orders-v1"; *want = "listed twice"; break;
	case 28: f->pod[0].pod = NULL; *want = "health entry 0"; break;
	case 29: f->pod[1].build_id = ""; *want = "health entry 1"; break;
	case 30: f->pod[2].state = (enum planner_pod_state)4; *want = "health entry 2"; break;
	case 31: f->pod[2].pod = f->pod[0].pod; *want = "listed twice"; break;
	case 32: f->s[1].rollout = (enum settings_rollout)3; *want = "settings of orders-v2: rollout"; break;
	case 33: f->s[1].nsteps = SETTINGS_MAX_STEPS + 1; *want = "more ramp steps"; break;
	case 34: f->s[1].min_ready.value = 0; *want = "min-ready"; break;
	case 35: f->s[1].min_ready.value = 101; *want = "min-ready"; break;
	case 36: f->s[1].min_ready.is_percent = false; f->s[1].min_ready.value = 0;
		*want = "min-ready"; break;
	case 37: f->s[1].max_versions = 0; *want = "max-versions"; break;
	case 38: f->s[1].report_interval_ms = 0; *want = "report interval"; break;
	case 39: f->s[1].scaledown_delay_ms = -1; *want = "negative"; break;
	case 40: f->s[1].delete_delay_ms = -1; *want = "negative"; break;
	case 41: f->s[1].gate_timeout_ms = -1; *want = "negative"; break;
	case 42: f->s[1].steps[0].percent = 0; *want = "strictly rising"; break;
	case 43: f->s[1].steps[1].percent = 100; *want = "strictly rising"; break;
	case 44: f->s[1].steps[1].percent = 10; *want = "strictly rising"; break;
	case 45: f->s[1].steps[1].duration_ms = -5; *want = "duration is negative"; break;
	case 46: f->defaults.max_versions = -3; *want = "settings of the defaults"; break;
	case 47: f->cfg.deployment_name = ""; *want = "config needs"; break;
	case 48: f->cfg.identity = NULL; *want = "config needs"; break;
	case 49: f->ver[0].build_id = ""; *want = "build_id is empty"; break;
	case 50: f->tq[1][0].name = NULL; *want = "task queue 0"; break;
	case 51: f->dep[0].name = ""; *want = "must all be set"; break;
	case 52: f->dep[0].uid = ""; *want = "must all be set"; break;
	case 53: f->dep[0].build_id = NULL; *want = "must all be set"; break;
	case 54: f->pod[0].pod = ""; *want = "health entry 0"; break;
	case 55: f->pod[1].build_id = NULL; *want = "health entry 1"; break;
	default: bad.rollout = (enum settings_rollout)-1;
		f->dep[0].settings = &bad; *want = "settings of orders-v1"; break;
	}
}

#define NHOSTILE 57

START_TEST(test_invalid_observation)
{
	struct fx f;
	struct planner_result r;
	const char *want = NULL;
	char *cause = NULL;

	hostile(_i, &f, &want);
	ck_assert_int_eq(planner_plan(&f.obs, &f.cfg, f.now, &r, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "case %d: cause '%s' lacks '%s'",
	    _i, cause, want);
	ck_assert_uint_eq(r.nactions, 0);
	ck_assert_ptr_null(r.summary);
	free(cause);
}
END_TEST

START_TEST(test_hostile_times_do_not_overflow)
{
	struct fx f;
	struct planner_result r;

	base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	ramp_v2(&f, 10, INT64_MIN + 1, INT64_MAX - 1);
	drain_v1(&f, INT64_MAX - 5);
	fx_current(&f, "v0", 1);
	fx_version(&f, "v0", PLANNER_VS_CURRENT)->create_time = INT64_MIN;
	f.pod[3].written_at = INT64_MIN;
	f.pod[4].changed_at = INT64_MAX;
	fx_settings(&f, fx_find_deploy(&f, "orders-v2"))->report_interval_ms =
	    INT64_MAX;
	fx_plan(&f, &r);
	ck_assert_ptr_nonnull(r.summary);
	planner_result_free(&r);
	f.now = INT64_MIN + 10;
	fx_plan(&f, &r);
	ck_assert_ptr_nonnull(r.summary);
	planner_result_free(&r);
}
END_TEST

static Suite *
planner_suite(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_all_at_once_promotes_healthy_target);
	tcase_add_test(tc, test_all_at_once_waits_for_min_ready);
	tcase_add_loop_test(tc, test_min_ready_percent_rounds_up, 0,
	    sizeof min_ready_pct / sizeof min_ready_pct[0]);
	tcase_add_test(tc, test_min_ready_count);
	tcase_add_test(tc, test_min_ready_counts_pods_not_reporting);
	tcase_add_test(tc, test_not_registered_waits);
	tcase_add_test(tc, test_no_pollers_waits);
	tcase_add_test(tc, test_manual_never_touches_routing);
	tcase_add_test(tc, test_manual_still_sunsets);
	tcase_add_test(tc, test_progressive_starts_at_first_step);
	tcase_add_test(tc, test_progressive_replaces_unversioned_ramp);
	tcase_add_loop_test(tc, test_progressive_step_from_server_time, 0,
	    sizeof steps_tab / sizeof steps_tab[0]);
	tcase_add_test(tc, test_progressive_resume_after_leader_change);
	tcase_add_test(tc, test_progressive_unmatched_percentage_moves_up);
	tcase_add_test(tc, test_progressive_without_change_time_holds);
	tcase_add_test(tc, test_progressive_without_steps_promotes);
	tcase_add_test(tc, test_gate_starts_one_per_task_queue);
	tcase_add_test(tc, test_gate_waits_while_running);
	tcase_add_test(tc, test_gate_success_promotes);
	tcase_add_loop_test(tc, test_gate_failure_blocks, 0,
	    sizeof gate_fail / sizeof gate_fail[0]);
	tcase_add_test(tc, test_gate_timeout_blocks);
	tcase_add_test(tc, test_gate_waits_for_task_queues);
	tcase_add_test(tc, test_gate_skipped_once_ramping);
	tcase_add_test(tc, test_gate_id_format);
	tcase_add_test(tc, test_abort_on_unhealthy);
	tcase_add_test(tc, test_abort_waits_one_report_interval);
	tcase_add_test(tc, test_abort_counts_deficit_from_latest_changes);
	tcase_add_test(tc, test_abort_disabled_holds);
	tcase_add_test(tc, test_abort_missing_pods_count_from_ramp_start);
	tcase_add_test(tc, test_no_reramp_until_recovered);
	tcase_add_test(tc, test_rollback_within_hour);
	tcase_add_test(tc, test_first_version_no_current);
	tcase_add_test(tc, test_newer_target_mid_ramp);
	tcase_add_test(tc, test_newer_target_all_at_once_then_stale_ramp);
	tcase_add_test(tc, test_stale_ramp_cleared);
	tcase_add_test(tc, test_manager_held_blocks);
	tcase_add_test(tc, test_manager_claimed_when_empty);
	tcase_add_test(tc, test_no_token_no_routing_write);
	tcase_add_test(tc, test_max_versions_refuses);
	tcase_add_loop_test(tc, test_drainage_missing_after_demotion_is_draining,
	    0, sizeof just_demoted / sizeof just_demoted[0]);
	tcase_add_loop_test(tc, test_drained_scaledown_then_delete, 0,
	    sizeof drained_tab / sizeof drained_tab[0]);
	tcase_add_test(tc, test_delete_delay_below_scaledown_waits_for_both);
	tcase_add_test(tc, test_drained_since_fallbacks);
	tcase_add_test(tc, test_several_deployments_for_one_build);
	tcase_add_test(tc, test_in_place_update_warns);
	tcase_add_test(tc, test_unknown_builds_in_health_ignored);
	tcase_add_test(tc, test_stale_health_ignored);
	tcase_add_test(tc, test_superseded_inactive_retired);
	tcase_add_test(tc, test_newest_staged_at_zero_is_not_superseded);
	tcase_add_test(tc, test_draining_without_pods_warns);
	tcase_add_test(tc, test_temporal_not_observed);
	tcase_add_test(tc, test_no_target);
	tcase_add_test(tc, test_target_selection);
	tcase_add_test(tc, test_settings_from_target);
	tcase_add_loop_test(tc, test_strategy_state_matrix, 0, 3 * TS_N);
	tcase_add_test(tc, test_every_action_has_a_reason_and_order);
	tcase_add_test(tc, test_wake_is_earliest);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_names_and_format);
	tcase_add_loop_test(tc, test_invalid_observation, 0, NHOSTILE);
	tcase_add_test(tc, test_hostile_times_do_not_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(planner_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
