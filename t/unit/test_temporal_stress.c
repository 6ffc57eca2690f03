/*
 * Stress test of the Temporal client: 1000 concurrent calls against a
 * simulator that fails 30 % of all calls with UNAVAILABLE. Every call must
 * report exactly once, and the server's request count must equal the
 * client's successes plus the failures the server injected (no lost or
 * duplicated completion). Run under valgrind with CK_FORK=no.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "check_main.h"
#include "log.h"
#include "temporal.h"
#include "test_temporal_sim.h"
#include "xalloc.h"

#define NCALLS	1000
#define DEP	"prod/orders"

struct stress {
	int	 reported;	/* callbacks run */
	int	 ok;
	int	 unavailable;
	int	 other;
	int	 twice;		/* a call that reported again */
	bool	 all;		/* reported == NCALLS */
	char	 seen[NCALLS];
};

struct slot {
	struct stress	*st;
	int		 i;
};

/* Account one completion. */
static void
stress_note(struct slot *s, const struct temporal_error *e)
{
	struct stress *st = s->st;

	if (st->seen[s->i]++ != 0)
		st->twice++;
	if (e == NULL)
		st->ok++;
	else if (e->code == TEMPORAL_UNAVAILABLE)
		st->unavailable++;
	else {
		st->other++;
		fprintf(stderr, "call %d: %s: %s\n", s->i,
		    temporal_code_name(e->code), e->message);
	}
	st->reported++;
	st->all = st->reported == NCALLS;
}

static void
stress_count_cb(const struct temporal_error *e, int64_t n, void *arg)
{
	stress_note(arg, e);
}

static void
stress_deployment_cb(const struct temporal_error *e,
    struct temporal_deployment *d, void *arg)
{
	if (d != NULL)
		ck_assert_str_eq(d->name, DEP);
	temporal_deployment_free(d);
	stress_note(arg, e);
}

static void
stress_version_cb(const struct temporal_error *e,
    struct temporal_version_info *v, void *arg)
{
	if (v != NULL)
		ck_assert_str_eq(v->build_id, "v1");
	temporal_version_info_free(v);
	stress_note(arg, e);
}

static void
stress_task_queue_cb(const struct temporal_error *e,
    struct temporal_task_queue_info *q, void *arg)
{
	temporal_task_queue_info_free(q);
	stress_note(arg, e);
}

static void
stress_system_info_cb(const struct temporal_error *e,
    struct temporal_system_info *s, void *arg)
{
	temporal_system_info_free(s);
	stress_note(arg, e);
}

/* Issue call i of a mix of read RPCs. */
static void
stress_call(struct temporal *t, struct slot *s)
{
	char *cause = NULL;
	int rc = -1;

	switch (s->i % 5) {
	case 0:
		rc = temporal_count_workflows(t, "ExecutionStatus = 'Running'",
		    stress_count_cb, s, &cause);
		break;
	case 1:
		rc = temporal_describe_deployment(t, DEP, stress_deployment_cb,
		    s, &cause);
		break;
	case 2:
		rc = temporal_describe_version(t, DEP, "v1", stress_version_cb,
		    s, &cause);
		break;
	case 3:
		rc = temporal_describe_task_queue(t, "orders-tq",
		    TEMPORAL_TQ_WORKFLOW, stress_task_queue_cb, s, &cause);
		break;
	case 4:
		rc = temporal_get_system_info(t, stress_system_info_cb, s,
		    &cause);
		break;
	}
	ck_assert_msg(rc == 0, "call %d: %s", s->i, cause);
}

/* Sum of the simulator's per-method request counters. */
static long long
requests_total(struct tsim *sim)
{
	json_t *st, *reqs, *v;
	const char *k;
	long long n = 0;

	ck_assert_int_eq(tsim_admin(sim, "GET", "/state", NULL, &st), 200);
	reqs = json_object_get(json_object_get(st, "counters"), "requests");
	ck_assert(json_is_object(reqs));
	json_object_foreach(reqs, k, v)
		n += json_integer_value(v);
	json_decref(st);
	return n;
}

/* One round of NCALLS calls with at most attempts attempts each. */
static void
stress_round(struct event_base *base, struct tsim *sim, unsigned attempts,
    struct stress *st)
{
	struct temporal_config cfg = {
		.address = sim->addr, .ns = "default",
		.identity = "twa:prod/orders", .timeout_ms = 20000,
		.retry = { 1, 20, attempts },
	};
	struct slot *slots;
	struct temporal *t;
	char *cause = NULL;

	memset(st, 0, sizeof *st);
	slots = xcalloc(NCALLS, sizeof *slots);
	t = temporal_new(base, &cfg, &cause);
	ck_assert_msg(t != NULL, "%s", cause);
	for (int i = 0; i < NCALLS; i++) {
		slots[i].st = st;
		slots[i].i = i;
		stress_call(t, &slots[i]);
	}
	ck_assert_uint_eq(temporal_pending(t), NCALLS);
	ck_assert_msg(loop_until(base, &st->all, 240000),
	    "only %d of %d calls reported", st->reported, NCALLS);
	ck_assert_uint_eq(temporal_pending(t), 0);
	temporal_free(t);
	ck_assert_int_eq(st->reported, NCALLS);
	ck_assert_int_eq(st->twice, 0);
	ck_assert_int_eq(st->other, 0);
	for (int i = 0; i < NCALLS; i++)
		ck_assert_int_eq(st->seen[i], 1);
	free(slots);
}

START_TEST(test_stress_unavailable)
{
	static const char *const args[] = { "--require-namespace-header",
	    "--log-level", "error", NULL };
	struct event_base *base;
	struct tsim *sim;
	struct stress st;
	long long req0, req1, inj0, inj1, injected;

	log_set_level(LOG_LEVEL_ERROR);
	base = event_base_new();
	sim = tsim_start(args, 0);
	tsim_poller(sim, "orders-tq", DEP, "v1");
	ck_assert_int_eq(tsim_admin(sim, "POST", "/faults",
	    "{\"method\":\"*\",\"code\":\"UNAVAILABLE\",\"probability\":0.3,"
	    "\"seed\":20240601}", NULL), 200);

	/* With retries: every call ends up succeeding. */
	req0 = requests_total(sim);
	inj0 = tsim_state_int(sim, "counters.faultsInjected");
	stress_round(base, sim, 15, &st);
	req1 = requests_total(sim);
	inj1 = tsim_state_int(sim, "counters.faultsInjected");
	ck_assert_int_eq(st.ok, NCALLS);
	ck_assert_int_eq(st.unavailable, 0);
	/* 30 % of about 1430 requests, with a wide margin. */
	ck_assert_int_gt(inj1 - inj0, 250);
	ck_assert_int_lt(inj1 - inj0, 650);
	/* Each request either failed by injection or answered a call (+ the version probe). */
	ck_assert_int_eq(req1 - req0, NCALLS + 1 + (inj1 - inj0));

	/* Without retries: each injected failure reaches exactly one callback. */
	stress_round(base, sim, 1, &st);
	ck_assert_int_eq(requests_total(sim) - req1, NCALLS + 1);
	injected = tsim_state_int(sim, "counters.faultsInjected") - inj1;
	/* The probe's own failure, if any, reaches no user callback. */
	ck_assert_msg(injected - st.unavailable == 0 ||
	    injected - st.unavailable == 1, "%lld injected, %d reported",
	    injected, st.unavailable);
	ck_assert_int_eq(st.ok + st.unavailable, NCALLS);
	ck_assert_int_gt(st.unavailable, 200);
	ck_assert_int_lt(st.unavailable, 420);

	ck_assert_int_eq(tsim_admin(sim, "DELETE", "/faults", NULL, NULL), 200);
	tsim_stop(sim);
	event_base_free(base);
}
END_TEST

static Suite *
temporal_stress_suite(void)
{
	Suite *s = suite_create("temporal_stress");
	TCase *tc = tcase_create("stress");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_stress_unavailable);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(temporal_stress_suite)
