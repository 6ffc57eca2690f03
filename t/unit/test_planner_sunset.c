/*
 * test_planner_sunset: sunset and warnings, health accounting, target and
 * settings choice, the status, and hostile observations.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "check_main.h"
#include "test_planner_fixture.h"
#include "xalloc.h"

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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, drain);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 3 * HOUR);
	fx_find_deploy(&f, "orders-v1")->replicas = 0;
	fx_v2s(&f)->scaledown_delay_ms = 4 * HOUR;
	fx_v2s(&f)->delete_delay_ms = 2 * HOUR;
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 2 * HOUR);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 2 * HOUR);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
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
	fx_drain_v1(&f, T0 - MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_promote_v2(&f);
	fx_drain_v1(&f, T0 - 100 * HOUR);
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

	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
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
	fx_base(&f, SETTINGS_ROLLOUT_MANUAL);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_settings(&f, fx_find_deploy(&f, "orders-v1"))->rollout =
	    SETTINGS_ROLLOUT_MANUAL;
	fx_find_deploy(&f, "orders-v2")->replicas = 0;
	fx_find_deploy(&f, "orders-v1")->replicas = 0;
	fx_plan(&f, &r);
	ck_assert_int_eq(r.status.rollout, SETTINGS_ROLLOUT_MANUAL);
	planner_result_free(&r);
}
END_TEST

START_TEST(test_every_action_has_a_reason_and_order)
{
	struct fx f;
	struct planner_result r;

	/* A pass with a routing write, gate-less, scale and events at once. */
	fx_base(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
	fx_drain_v1(&f, T0 - 2 * HOUR);
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
	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - MIN, T0 - MIN);
	fx_drain_v1(&f, T0 - 30 * MIN);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 12.5, T0 - MIN, T0 - MIN);
	fx_version(&f, "v0", PLANNER_VS_DRAINED)->drainage_changed_at = T0 - MIN;
	fx_deploy(&f, "orders-v0", "v0", T0 - 90 * HOUR, 1);
	fx_plan(&f, &r);
	planner_result_free(&r);
	/* 12.5% matched no step: look at the next pass on 50%. */
	fx_ramp_v2(&f, 50, T0 - MIN, T0 - MIN);
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
	fx_ramp_v2(&f, 50, T0 - MIN, 0);
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

	fx_base(f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_base(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, INT64_MIN + 1, INT64_MAX - 1);
	fx_drain_v1(&f, INT64_MAX - 5);
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

/* Every test of this program in one suite. */
static Suite *
planner_suite(void)
{
	Suite *s = suite_create("planner_sunset");
	TCase *tc = tcase_create("rules");

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
	tcase_add_test(tc, test_every_action_has_a_reason_and_order);
	tcase_add_test(tc, test_wake_is_earliest);
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_names_and_format);
	tcase_add_loop_test(tc, test_invalid_observation, 0, NHOSTILE);
	tcase_add_test(tc, test_hostile_times_do_not_overflow);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(planner_suite)
