/* Tests of the elector and the health board against the API simulator, on one event loop. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "check_main.h"
#include "kube.h"
#include "lease.h"
#include "proc.h"
#include "test_kube_simlib.h"
#include "xalloc.h"

#define LEASE_PATH "/objects/leases/work/twa-t"

static struct ksim *sim;
static struct event_base *base;

/* One elector's observed transitions. */
struct who {
	const char	*id;
	struct kube	*k;
	struct lease	*l;
	int		 started, stopped;
	long long	 stopped_at;
	bool		 released;
};

/* Fixture: a fresh simulator per test. */
static void
setup(void)
{
	char *cause = NULL;

	sim = ksim_start(&cause);
	ck_assert_msg(sim != NULL, "cannot start the simulator: %s", cause);
	base = event_base_new();
}

/* Fixture teardown. */
static void
teardown(void)
{
	event_base_free(base);
	ksim_stop(sim);
}

/* Leadership callback. */
static void
who_leading_cb(bool leading, void *arg)
{
	struct who *w = arg;

	if (leading)
		w->started++;
	else {
		w->stopped++;
		w->stopped_at = proc_now_ms();
	}
}

/* Start an elector id with lease/renew/retry ms. */
static void
who_start(struct who *w, const char *id, int64_t lease, int64_t renew,
    int64_t retry, bool poll)
{
	struct lease_config c = { "twa-t", "work", id, lease, renew, retry,
	    poll };
	char *cause = NULL;

	memset(w, 0, sizeof *w);
	w->id = id;
	w->k = ksim_kube(sim, base, NULL);
	w->l = lease_new(w->k, &c, who_leading_cb, w, &cause);
	ck_assert_msg(w->l != NULL, "%s", cause);
	lease_start(w->l);
}

/* Stop an elector without releasing. */
static void
who_free(struct who *w)
{
	lease_free(w->l);
	kube_free(w->k);
	w->l = NULL;
	w->k = NULL;
}

/* Run the loop for ms. */
static void
run_ms(int ms)
{
	bool never = false;

	ksim_loop_until(base, &never, ms);
}

/* Run the loop until cond holds or ms pass; evaluates to cond. */
#define WAIT_UNTIL(cond, ms) __extension__ ({				\
	long long wait_end_ = proc_now_ms() + (ms);			\
	while (!(cond) && proc_now_ms() < wait_end_)			\
		run_ms(20);						\
	(cond);								\
})

/* The Lease object from the simulator (caller decrefs), or NULL. */
static json_t *
get_lease(void)
{
	json_t *o = NULL;

	if (ksim_admin(sim, "GET", LEASE_PATH, NULL, &o) != 200) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Release callback. */
static void
released_cb(void *arg)
{
	((struct who *)arg)->released = true;
}

START_TEST(test_create_race_and_release)
{
	struct who a, b;
	json_t *o, *spec;

	who_start(&a, "pod-a", 3000, 2000, 300, true);
	who_start(&b, "pod-b", 3000, 2000, 300, true);
	ck_assert(WAIT_UNTIL(a.started + b.started > 0, 10000));
	run_ms(300);
	/* both found the Lease missing; exactly one created it and leads */
	ck_assert_int_eq(a.started + b.started, 1);
	ck_assert(lease_leading(a.l) != lease_leading(b.l));
	{
		struct who *lead = lease_leading(a.l) ? &a : &b;
		struct who *other = lead == &a ? &b : &a;
		struct lease_stats st;

		/*
		 * Told the Lease is missing, the other tries to create it:
		 * 409, a lost race (unless a poll in flight proves the Lease
		 * exists first; then tell it again).
		 */
		for (int i = 0; i < 30; i++) {
			lease_observe_missing(other->l);
			run_ms(100);
			lease_get_stats(other->l, &st);
			if (st.lost_races > 0)
				break;
		}
		ck_assert_uint_ge(st.lost_races, 1);
		ck_assert(!lease_leading(other->l));
		ck_assert(lease_leading(lead->l));
		ck_assert_str_eq(lease_holder(other->l), lead->id);
		lease_release(lead->l, released_cb, lead);
		/* leadership ends before the release is even sent */
		ck_assert_int_eq(lead->stopped, 1);
		ck_assert(!lease_leading(lead->l));
		ck_assert(ksim_loop_until(base, &lead->released, 5000));
		o = get_lease();
		spec = json_object_get(o, "spec");
		ck_assert_int_eq(json_integer_value(json_object_get(spec,
		    "leaseDurationSeconds")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(spec,
		    "leaseTransitions")), 0);
		json_decref(o);
		/* the other takes it at its next poll */
		ck_assert(WAIT_UNTIL(other->started == 1, 5000));
		o = get_lease();
		spec = json_object_get(o, "spec");
		ck_assert_str_eq(json_string_value(json_object_get(spec,
		    "holderIdentity")), other->id);
		ck_assert_int_eq(json_integer_value(json_object_get(spec,
		    "leaseTransitions")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(spec,
		    "leaseDurationSeconds")), 3);
		json_decref(o);
	}
	who_free(&a);
	who_free(&b);
}
END_TEST

START_TEST(test_annotation_churn_does_not_break_renewals)
{
	struct who a;
	struct board *bd[20];
	struct kube *k = ksim_kube(sim, base, NULL);
	struct board_config bc = { "twa-t", "work", NULL, "b1", 200, 0, 2,
	    NULL };
	struct lease_stats st;
	char names[20][16];
	char *cause = NULL;

	who_start(&a, "pod-a", 3000, 2000, 200, true);
	ck_assert(WAIT_UNTIL(lease_leading(a.l), 10000));
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof names[i], "w-%d", i);
		bc.pod = names[i];
		bd[i] = board_new(k, NULL, &bc, &cause);
		ck_assert_ptr_nonnull(bd[i]);
		board_start(bd[i]);
	}
	/*
	 * 100 annotation writes a second for 3 s: the renewals (every
	 * 200 ms when answered at once) go on and none fails.
	 */
	run_ms(3000);
	lease_get_stats(a.l, &st);
	ck_assert_uint_ge(st.renewals, 3);
	ck_assert_uint_eq(st.renew_failures, 0);
	ck_assert_int_eq(a.stopped, 0);
	ck_assert(lease_leading(a.l));
	for (int i = 0; i < 20; i++) {
		struct board_stats bs;

		board_get_stats(bd[i], &bs);
		ck_assert_uint_ge(bs.writes, 3);
		ck_assert_uint_eq(bs.write_failures, 0);
		board_free(bd[i]);
	}
	kube_free(k);
	who_free(&a);
}
END_TEST

START_TEST(test_intruder_makes_leader_step_down)
{
	struct who a;
	json_t *o;
	long long t0;
	const char *body = "{\"spec\":{\"holderIdentity\":\"intruder\","
	    "\"renewTime\":\"2030-01-01T00:00:00.000000Z\"}}";

	who_start(&a, "pod-a", 3000, 2000, 300, true);
	ck_assert(WAIT_UNTIL(lease_leading(a.l), 10000));
	t0 = proc_now_ms();
	ck_assert_int_eq(ksim_admin(sim, "PATCH", LEASE_PATH, body, NULL), 200);
	/*
	 * The next renewal's test fails: step down at once, before the
	 * renew deadline (2 s after the last renewal, sent at most 300 ms
	 * before the intrusion) would have.
	 */
	ck_assert(WAIT_UNTIL(a.stopped == 1, 3000));
	ck_assert_int_lt(a.stopped_at - t0, 1700);
	ck_assert(!lease_leading(a.l));
	/* the failed renewal is followed by a read that names the intruder */
	ck_assert(WAIT_UNTIL(lease_holder(a.l) != NULL &&
	    strcmp(lease_holder(a.l), "intruder") == 0, 2000));
	/* the intruder never renews: after a lease duration a takes it back */
	ck_assert(WAIT_UNTIL(a.started == 2, 8000));
	ck_assert_int_ge(proc_now_ms() - t0, 3000);
	o = get_lease();
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o,
	    "spec"), "leaseTransitions")), 1);
	json_decref(o);
	who_free(&a);
}
END_TEST

/* Create a pod named name labelled app=x. */
static void
make_pod(const char *name)
{
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
	    "\"metadata\":{\"name\":\"%s\",\"namespace\":\"work\",\"labels\":"
	    "{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
	    "\"image\":\"i\"}]}}", name);
	int st = ksim_admin(sim, "POST", "/objects/pods?namespace=work", body,
	    NULL);

	ck_assert_msg(st == 201, "create pod %s: %d", name, st);
	free(body);
}

/* The annotation key's value on the Lease (caller frees), or NULL. */
static char *
annotation(const char *key)
{
	json_t *o = get_lease();
	const char *v = json_string_value(json_object_get(json_object_get(
	    json_object_get(o, "metadata"), "annotations"), key));
	char *out = v != NULL ? xstrdup(v) : NULL;

	json_decref(o);
	return out;
}

/* Done callback of board_stop. */
static void
stopped_cb(void *arg)
{
	*(bool *)arg = true;
}

START_TEST(test_board_prune_and_hashed_keys)
{
	static const char *longname = "worker-with-a-very-long-generated-pod-"
	    "name-that-is-over-sixty-three-chars-0";
	struct who a;
	struct kube *k = ksim_kube(sim, base, NULL);
	struct board_config bc = { "twa-t", "work", "pod-a", "b1", 1000, 200,
	    2, "app=x" };
	struct board *lead, *p1, *gone, *lng;
	char *cause = NULL, *v, *key;
	const struct board_entry *ents;
	json_t *j;
	long long t_last, t_pruned = 0, end;
	bool done = false;

	make_pod("pod-a");
	make_pod("p-1");
	make_pod("p-gone");
	make_pod(longname);
	who_start(&a, "pod-a", 3000, 2000, 300, false);
	lead = board_new(a.k, a.l, &bc, &cause);
	board_set_state(lead, BOARD_READY, "");
	board_start(lead);
	bc.pod = "p-1";
	p1 = board_new(k, NULL, &bc, &cause);
	board_start(p1);
	/* a slow writer: its entry is stale only after 3 x 5 s */
	bc.pod = "p-gone";
	bc.report_ms = 5000;
	gone = board_new(k, NULL, &bc, &cause);
	board_start(gone);
	bc.report_ms = 1000;
	bc.pod = longname;
	lng = board_new(k, NULL, &bc, &cause);
	board_start(lng);
	ck_assert(WAIT_UNTIL(lease_leading(a.l) && board_entries(lead, &ents)
	    == 4, 10000));
	run_ms(1200);	/* the leader names its standbys in its next write */
	/* the long name is hashed into a valid key; the value names the pod */
	key = board_key(longname);
	ck_assert_ptr_nonnull(strstr(key, "agents.twa.dev/h-"));
	v = annotation(key);
	ck_assert_ptr_nonnull(v);
	j = json_loads(v, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "pod")), longname);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")),
	    "starting");
	json_decref(j);
	free(v);
	free(key);
	/* the status names the leader and the standbys */
	v = annotation("twa.dev/status");
	ck_assert_ptr_nonnull(v);
	j = json_loads(v, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "leader")),
	    "pod-a");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "standbys")), 2);
	json_decref(j);
	free(v);
	/* p-gone's agent dies and its pod is deleted: pruned before it is stale */
	board_free(gone);
	t_last = proc_now_ms();
	ck_assert_int_eq(ksim_admin(sim, "DELETE", "/objects/pods/work/p-gone"
	    "?force=true", NULL, NULL), 200);
	end = proc_now_ms() + 8000;
	while (proc_now_ms() < end) {
		run_ms(50);
		v = annotation("agents.twa.dev/p-gone");
		free(v);
		if (v == NULL) {
			t_pruned = proc_now_ms();
			break;
		}
	}
	ck_assert_msg(t_pruned > 0, "p-gone was not pruned");
	/* by the pods list, well before 3 x 5 s without a write */
	ck_assert_int_lt(t_pruned - t_last, 4000);
	/* the live ones stay */
	v = annotation("agents.twa.dev/p-1");
	ck_assert_ptr_nonnull(v);
	free(v);
	/* p-1 stops writing (pod still there): pruned once stale */
	board_free(p1);
	end = proc_now_ms() + 6000;
	while (proc_now_ms() < end && (v = annotation("agents.twa.dev/p-1"))
	    != NULL) {
		free(v);
		run_ms(100);
	}
	ck_assert_int_lt(proc_now_ms(), end);
	/* the final report says terminating */
	board_stop(lng, stopped_cb, &done);
	ck_assert(ksim_loop_until(base, &done, 5000));
	key = board_key(longname);
	v = annotation(key);
	ck_assert_ptr_nonnull(strstr(v, "\"state\":\"terminating\""));
	free(v);
	free(key);
	board_free(lng);
	board_free(lead);
	kube_free(k);
	who_free(&a);
}
END_TEST

START_TEST(test_board_debounce)
{
	struct kube *k = ksim_kube(sim, base, NULL);
	struct board_config bc = { "twa-t", "work", "p-1", "b1", 10000, 1000,
	    2, NULL };
	struct who a;
	struct board *b;
	struct board_stats st;
	char *cause = NULL, *v;

	who_start(&a, "pod-a", 3000, 2000, 300, true);
	ck_assert(WAIT_UNTIL(lease_leading(a.l), 10000));
	b = board_new(k, NULL, &bc, &cause);
	board_start(b);
	run_ms(300);
	/* ten changes in 1.5 s: at most one write a second */
	for (int i = 0; i < 10; i++) {
		board_set_state(b, i % 2 ? BOARD_READY : BOARD_UNHEALTHY,
		    i % 2 ? "" : "probe failed");
		run_ms(150);
	}
	run_ms(1200);
	board_get_stats(b, &st);
	ck_assert_uint_ge(st.writes, 2);
	ck_assert_uint_le(st.writes, 4);
	/* the last state is the one written */
	v = annotation("agents.twa.dev/p-1");
	ck_assert_ptr_nonnull(strstr(v, "\"state\":\"ready\""));
	free(v);
	board_free(b);
	kube_free(k);
	who_free(&a);
}
END_TEST

/* The suite. */
static Suite *
lease_sim_suite(void)
{
	Suite *s = suite_create("lease_sim");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_race_and_release);
	tcase_add_test(tc, test_annotation_churn_does_not_break_renewals);
	tcase_add_test(tc, test_intruder_makes_leader_step_down);
	tcase_add_test(tc, test_board_prune_and_hashed_keys);
	tcase_add_test(tc, test_board_debounce);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(lease_sim_suite)
