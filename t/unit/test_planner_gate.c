/* test_planner_gate: the gate workflow rule and its deterministic IDs. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "check_main.h"
#include "test_planner_fixture.h"

START_TEST(test_gate_starts_one_per_task_queue)
{
	struct fx f;
	struct planner_result r;
	char id[PLANNER_GATE_ID_MAX + 1];
	const struct planner_action *a;

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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
	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_v2s(&f)->gate_input = NULL;
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

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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
	fx_v2s(&f)->gate_timeout_ms = 0;
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

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	f.tq[1][0].gate = PLANNER_GATE_COMPLETED;
	f.tq[1][2].gate = PLANNER_GATE_COMPLETED;
	fx_plan(&f, &r);
	ck_actions(&r, "SetRamping v2 10%; Event Normal GatePassed");
	planner_result_free(&r);
	fx_gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_gated(&f, SETTINGS_ROLLOUT_ALL_AT_ONCE);
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

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_find_version(&f, "v2")->task_queues_known = false;
	fx_plan(&f, &r);
	ck_actions(&r, "");
	ck_assert_ptr_nonnull(strstr(r.summary, "waiting to learn the task queues"));
	planner_result_free(&r);
	/* Only activity queues: nothing to run the gate on. */
	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
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

	fx_gated(&f, SETTINGS_ROLLOUT_PROGRESSIVE);
	fx_ramp_v2(&f, 10, T0 - 6 * MIN, T0 - 6 * MIN);	/* gate history gone */
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

/* Every test of this program in one suite. */
static Suite *
gate_suite(void)
{
	Suite *s = suite_create("planner_gate");
	TCase *tc = tcase_create("gate");

	tcase_add_test(tc, test_gate_starts_one_per_task_queue);
	tcase_add_test(tc, test_gate_waits_while_running);
	tcase_add_test(tc, test_gate_success_promotes);
	tcase_add_loop_test(tc, test_gate_failure_blocks, 0,
	    sizeof gate_fail / sizeof gate_fail[0]);
	tcase_add_test(tc, test_gate_timeout_blocks);
	tcase_add_test(tc, test_gate_waits_for_task_queues);
	tcase_add_test(tc, test_gate_skipped_once_ramping);
	tcase_add_test(tc, test_gate_id_format);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(gate_suite)
