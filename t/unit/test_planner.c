/* test_planner: one named test per rollout rule; the strategy x state table. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "check_main.h"
#include "test_planner_fixture.h"

START_TEST(test_all_at_once_promotes_healthy_target)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *a;

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_remove_pods(&f, "v2");
	fx_find_deploy(&f, "orders-v2")->replicas = min_ready_pct[_i].replicas;
	fx_v2s(&f)->min_ready.value = min_ready_pct[_i].pct;
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
		fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
		fx_remove_pods(&f, "v2");
		fx_find_deploy(&f, "orders-v2")->replicas = 5;
		fx_v2s(&f)->min_ready.is_percent = false;
		fx_v2s(&f)->min_ready.value = t[i].count;
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.tq[1][0].has_pollers = false;
	f.tq[1][1].has_pollers = false;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "no live poller"));
	planner_result_free(&r);
	/* Queues not described yet: registration is enough. */
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_v2s(&f)->gate_workflow = (char *)"Gate";
	fx_ramp_v2(&f, 50, T0 - HOUR, T0 - HOUR);	/* long past every step */
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "Manual rollout"));
	planner_result_free(&r);
	/* Target current with a stale ramp: still untouched under Manual. */
	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_promote_v2(&f);
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

	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 2 * HOUR);
	fx_plan(&f, &r);
	ck_actions(&r, "Scale orders-v1 0");
	planner_result_free(&r);
}
END_TEST

START_TEST(test_progressive_starts_at_first_step)
{
	struct fx f;
	struct planner_result r;

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	/* The ramp began long ago; only the percentage change time counts. */
	fx_ramp_v2(&f, steps_tab[_i].pct, T0 - 5 * HOUR, T0 + steps_tab[_i].changed);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 50, T0 - 20 * MIN, T0 - 3 * MIN);
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
		fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
		fx_ramp_v2(&f, t[i].pct, T0 - MIN, T0 - MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - HOUR, 0);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_v2s(&f)->nsteps = 0;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	ck_assert_ptr_nonnull(strstr(r.actions[0].reason,
	    "Progressive without steps"));
	planner_result_free(&r);
}
END_TEST

START_TEST(test_abort_on_unhealthy)
{
	struct fx f;
	struct planner_result r;
	const struct planner_action *a;

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_v2s(&f)->min_ready.is_percent = false;
	fx_v2s(&f)->min_ready.value = 1;
	fx_ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_v2s(&f)->abort_on_unhealthy = false;
	fx_ramp_v2(&f, 10, T0 - 20 * MIN, T0 - 20 * MIN);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_find_deploy(&f, "orders-v2")->replicas = 4;
	fx_ramp_v2(&f, 10, T0 - 10 * SEC, T0 - 10 * SEC);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_gated(f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_promote_v2(f);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 50, T0 - 20 * MIN, T0 - 9 * MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld");
	e = &r.actions[0];
	ck_assert_ptr_nonnull(strstr(e->message, "held by 'alice@laptop'"));
	ck_assert_str_eq(e->regarding_name, "orders-v2");
	ck_assert_ptr_nonnull(strstr(r.status.blocked, "alice@laptop"));
	planner_result_free(&r);
	/* Gate starts are Temporal writes too. */
	fx_gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	f.obs.manager_identity = "alice@laptop";
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning ManagerIdentityHeld");
	planner_result_free(&r);
	/* So is deleting a drained version; scaling Kubernetes is not. */
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 30 * HOUR);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_drain_v1(&f, T0 - 30 * HOUR);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - 2 * MIN, T0 - 2 * MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	v = fx_version(&f, "v0", PLANNER_VS_DRAINING);
	v->drainage = PLANNER_DRAINAGE_DRAINING;
	v->create_time = T0 - 100 * HOUR;
	fx_v2s(&f)->max_versions = 2;
	fx_plan(&f, &r);
	ck_actions(&r, "Event Warning TooManyVersions");
	e = &r.actions[0];
	ck_assert_ptr_nonnull(strstr(e->message, "3 live versions"));
	ck_assert_ptr_nonnull(strstr(e->message, "max-versions 2"));
	planner_result_free(&r);
	fx_v2s(&f)->max_versions = 3;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
	planner_result_free(&r);
	/* Drained versions do not count. */
	fx_v2s(&f)->max_versions = 2;
	v->status = PLANNER_VS_DRAINED;
	v->drainage = PLANNER_DRAINAGE_DRAINED;
	v->drainage_changed_at = T0 - MIN;
	fx_plan(&f, &r);
	ck_actions(&r, "SetCurrent v2");
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

	fx_base(&f, (enum settings_rollout)strategy);
	v = fx_find_version(&f, "v2");
	switch (ts) {
	case TS_NOT_REGISTERED:
		fx_remove_version(&f, "v2");
		break;
	case TS_RAMPING:
		fx_ramp_v2(&f, 10, T0 - MIN, T0 - MIN);
		break;
	case TS_CURRENT:
		fx_promote_v2(&f);
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

/* Every test of this program in one suite. */
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
	tcase_add_loop_test(tc, test_strategy_state_matrix, 0, 3 * TS_N);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(planner_suite)
