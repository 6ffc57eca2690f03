/*
 * test_planner_prop: properties over randomly generated observations.
 * TWA_PLANNER_PROPERTY_RUNS (default 100000, 25000 in sanitizer builds)
 * states from a seeded PRNG
 * (TWA_PLANNER_SEED, default fixed, so every run is reproducible); a
 * failure prints the seed and the case number to replay it.
 *
 * The checks re-derive what they need from the observation on their own,
 * as simply as possible, instead of asking the planner:
 *  - at most one routing write per plan, so never ramp and set current
 *    for the same version at once;
 *  - never scale or delete a Deployment of a version that is Current,
 *    Ramping or may be Draining, nor one of the target;
 *  - never delete before both delays have passed since Drained (or since
 *    a never-activated version was superseded);
 *  - routing writes only with the observed conflict token;
 *  - no Temporal write at all while another client holds the manager
 *    identity, and a claim only when nobody does;
 *  - every action has a reason and a CamelCase Event reason; wake-ups lie
 *    in the future.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "planner.h"
#include "check_main.h"
#include "test_planner_fixture.h"
#include "xalloc.h"

/* ASan and UBSan make each plan about six times slower: fewer states. */
#ifdef TWA_SANITIZERS
#define DEFAULT_RUNS	25000
#else
#define DEFAULT_RUNS	100000
#endif
#define DEFAULT_SEED	0x7761u		/* "wa" */

static const char *const builds[] = { "b0", "b1", "b2", "b3", "b4", "b5" };
static const char *const dnames[] = { "d0", "d1", "d2", "d3", "d4", "d5",
    "d6", "d7" };
static const char *const queues[] = { "q0", "q1", "q2" };

/* splitmix64: small, fast, good enough for test data. */
static uint64_t
next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
below(uint64_t *s, uint64_t n)
{
	return next(s) % n;
}

/* A time near now: unset, past (minutes to days), or slightly ahead. */
static int64_t
rtime(uint64_t *s, int64_t now)
{
	switch (below(s, 8)) {
	case 0:
		return 0;
	case 1:
		return now + (int64_t)below(s, 10 * MIN);
	case 2:
		return now - (int64_t)below(s, 2 * MIN);
	case 3:
		return now - (int64_t)below(s, 30 * MIN);
	case 4:
		return now - (int64_t)below(s, 3 * HOUR);
	default:
		return now - (int64_t)below(s, 60 * HOUR);
	}
}

/* A delay: 0, short, the defaults, or random. */
static int64_t
rdelay(uint64_t *s)
{
	static const int64_t d[] = { 0, 30 * SEC, 10 * MIN, HOUR, 24 * HOUR };

	if (below(s, 4) == 0)
		return (int64_t)below(s, 48 * HOUR);
	return d[below(s, 5)];
}

/* Random but valid settings. */
static void
rsettings(uint64_t *s, struct settings *st)
{
	int pct = 0;

	fx_default_settings(st);
	st->rollout = (enum settings_rollout)below(s, 3);
	st->nsteps = below(s, 4);
	for (size_t i = 0; i < st->nsteps; i++) {
		pct += 1 + (int)below(s, 30);
		st->steps[i].percent = pct;
		st->steps[i].duration_ms = (int64_t)below(s, 20 * MIN);
	}
	st->gate_workflow = below(s, 3) == 0 ? (char *)"Gate" : NULL;
	st->gate_timeout_ms = (int64_t)below(s, 20 * MIN);
	st->min_ready.is_percent = below(s, 2) == 0;
	st->min_ready.value = st->min_ready.is_percent ?
	    1 + (int)below(s, 100) : 1 + (int)below(s, 5);
	st->abort_on_unhealthy = below(s, 4) != 0;
	st->scaledown_delay_ms = rdelay(s);
	st->delete_delay_ms = rdelay(s);
	st->max_versions = 1 + (int)below(s, 5);
	st->report_interval_ms = SEC * (1 + (int64_t)below(s, 60));
}

/*
 * Give the newest Deployment's build what promotion needs, so that half
 * the states reach the routing and gate rules: a registered summary with
 * polled queues and as many ready pods as replicas.
 */
static void
healthy_target(uint64_t *s, struct fx *f)
{
	const struct planner_deployment *t = NULL;
	struct planner_version *v;
	static const enum planner_version_status st[] = { PLANNER_VS_INACTIVE,
	    PLANNER_VS_INACTIVE, PLANNER_VS_RAMPING, PLANNER_VS_DRAINING,
	    PLANNER_VS_DRAINED };

	for (size_t i = 0; i < f->obs.ndeployments; i++) {
		const struct planner_deployment *d = &f->dep[i];

		if (!d->deleting && d->replicas > 0 && (t == NULL ||
		    d->created_at > t->created_at))
			t = d;
	}
	if (t == NULL)
		return;
	v = fx_find_version(f, t->build_id);
	if (v == NULL)
		v = fx_version(f, t->build_id, st[below(s, 5)]);
	if (!v->task_queues_known && below(s, 2) == 0) {
		struct planner_task_queue *q = fx_queue(f, v, "q0",
		    PLANNER_QUEUE_WORKFLOW, true);

		q->gate = below(s, 2) == 0 ? PLANNER_GATE_NOT_STARTED :
		    PLANNER_GATE_COMPLETED;
	}
	fx_pods(f, t->build_id, t->replicas, PLANNER_POD_READY,
	    f->now - (int64_t)below(s, HOUR));
}

/* Fill f with a random observation. */
static void
generate(uint64_t *s, struct fx *f)
{
	int64_t now = T0 + (int64_t)below(s, 100 * HOUR);
	size_t nv = below(s, 6), nd = below(s, 7), nh = below(s, 13);
	static const char *const managers[] = { NULL, "", "twa:default/orders",
	    "alice" };
	static const double pcts[] = { 0, 5, 10, 12.5, 50, 75, 100 };
	bool used[6] = { false };
	struct planner_routing *r;

	fx_init(f, now);
	rsettings(s, &f->defaults);
	r = &f->obs.routing;
	f->obs.temporal_observed = below(s, 10) != 0;
	f->obs.manager_identity = managers[below(s, 4)];
	if (below(s, 3) == 0) {
		r->conflict_token = NULL;
		r->conflict_token_len = 0;
	}
	for (size_t i = 0; i < nv; i++) {
		size_t b = below(s, 6);
		struct planner_version *v;

		if (used[b])
			continue;
		used[b] = true;
		v = fx_version(f, builds[b],
		    (enum planner_version_status)below(s, 7));
		v->create_time = rtime(s, now);
		v->drainage = (enum planner_drainage)below(s, 3);
		v->drainage_changed_at = rtime(s, now);
		v->drainage_checked_at = rtime(s, now);
		v->current_since = below(s, 3) == 0 ? rtime(s, now) : 0;
		v->ramping_since = below(s, 3) == 0 ? rtime(s, now) : 0;
		v->routing_update_time = rtime(s, now);
		v->first_activation_time = below(s, 2) == 0 ? rtime(s, now) : 0;
		v->last_deactivation_time = below(s, 2) == 0 ? rtime(s, now) : 0;
		v->last_current_time = below(s, 2) == 0 ? rtime(s, now) : 0;
		if (below(s, 4) != 0) {
			size_t nq = below(s, 4);

			v->task_queues_known = true;
			for (size_t q = 0; q < nq; q++) {
				struct planner_task_queue *tq = fx_queue(f, v,
				    queues[below(s, 3)],
				    (enum planner_queue_type)below(s, 4),
				    below(s, 4) != 0);

				tq->gate = (enum planner_gate_state)below(s, 7);
				tq->gate_started_at = rtime(s, now);
			}
		}
	}
	if (below(s, 5) != 0)
		r->current_build_id = builds[below(s, 6)];
	if (below(s, 2) == 0) {
		const char *b = builds[below(s, 6)];

		if (r->current_build_id == NULL ||
		    strcmp(b, r->current_build_id) != 0)
			r->ramping_build_id = b;
	}
	if (r->ramping_build_id != NULL || below(s, 8) == 0)
		r->ramping_percent = below(s, 4) == 0 ?
		    (double)below(s, 10001) / 100 : pcts[below(s, 7)];
	r->current_changed_at = rtime(s, now);
	r->ramping_changed_at = rtime(s, now);
	r->ramping_percent_changed_at = rtime(s, now);
	for (size_t i = 0; i < nd; i++) {
		struct planner_deployment *d = fx_deploy(f, dnames[i],
		    builds[below(s, 6)], rtime(s, now), (int)below(s, 5));

		d->deleting = below(s, 10) == 0;
		d->ready_replicas = (int32_t)below(s, 5);
		d->available_since = rtime(s, now);
		d->template_changed = below(s, 6) == 0;
		d->prev_build_id = d->template_changed ? builds[below(s, 6)] : NULL;
		if (below(s, 8) == 0)
			d->settings = NULL;
		else
			rsettings(s, fx_settings(f, d));
	}
	if (below(s, 2) == 0)
		healthy_target(s, f);
	for (size_t i = 0; i < nh; i++) {
		fx_pods(f, below(s, 8) == 0 ? "zz" : builds[below(s, 6)], 1,
		    (enum planner_pod_state)below(s, 4), rtime(s, now));
		f->pod[f->obs.nhealth - 1].written_at = below(s, 6) == 0 ?
		    now - (int64_t)below(s, 5 * MIN) : now;
	}
}

/* The summary of build in f, or NULL. */
static const struct planner_version *
summary(const struct fx *f, const char *build)
{
	for (size_t i = 0; i < f->obs.nversions; i++)
		if (strcmp(f->ver[i].build_id, build) == 0)
			return &f->ver[i];
	return NULL;
}

/* Whether two possibly-NULL builds are equal. */
static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Whether build may still have pinned workflows or gets traffic. */
static bool
protected_build(const struct fx *f, const char *build)
{
	const struct planner_version *v = summary(f, build);
	bool activated;

	if (same(build, f->obs.routing.current_build_id) ||
	    same(build, f->obs.routing.ramping_build_id))
		return true;
	if (v == NULL)
		return false;
	if (v->status == PLANNER_VS_DRAINED ||
	    v->drainage == PLANNER_DRAINAGE_DRAINED)
		return false;
	activated = v->first_activation_time || v->last_deactivation_time ||
	    v->last_current_time || v->current_since || v->ramping_since ||
	    v->drainage != PLANNER_DRAINAGE_UNSPECIFIED ||
	    v->status == PLANNER_VS_DRAINING;
	return activated || (v->status != PLANNER_VS_INACTIVE &&
	    v->status != PLANNER_VS_CREATED);
}

/* The newest live Deployment with replicas: the target's. */
static const struct planner_deployment *
target_deploy(const struct fx *f)
{
	const struct planner_deployment *best = NULL;

	for (size_t i = 0; i < f->obs.ndeployments; i++) {
		const struct planner_deployment *d = &f->dep[i];

		if (d->deleting || d->replicas == 0)
			continue;
		if (best == NULL || d->created_at > best->created_at ||
		    (d->created_at == best->created_at &&
		    strcmp(d->name, best->name) > 0))
			best = d;
	}
	return best;
}

/* Deployment-wide settings, derived the documented way. */
static const struct settings *
wide_settings(const struct fx *f)
{
	const struct planner_deployment *t = target_deploy(f), *best = NULL;
	const char *build = t != NULL ? t->build_id :
	    f->obs.routing.current_build_id;

	for (size_t i = 0; build != NULL && i < f->obs.ndeployments; i++) {
		const struct planner_deployment *d = &f->dep[i];

		if (d->deleting || strcmp(d->build_id, build) != 0)
			continue;
		if (best == NULL || d->created_at > best->created_at ||
		    (d->created_at == best->created_at &&
		    strcmp(d->name, best->name) > 0))
			best = d;
	}
	return best != NULL && best->settings != NULL ? best->settings :
	    &f->defaults;
}

/* When build's sunset clock started (Drained or superseded); 0: never. */
static int64_t
sunset_since(const struct fx *f, const char *build)
{
	const struct planner_version *v = summary(f, build);
	int64_t mine = 0, since = 0;
	bool any = false;

	if (v != NULL && (v->status == PLANNER_VS_DRAINED ||
	    v->drainage == PLANNER_DRAINAGE_DRAINED))
		return v->drainage_changed_at ? v->drainage_changed_at :
		    v->drainage_checked_at ? v->drainage_checked_at :
		    v->last_deactivation_time;
	for (size_t i = 0; i < f->obs.ndeployments; i++) {
		if (strcmp(f->dep[i].build_id, build) != 0)
			continue;
		if (!any || f->dep[i].created_at > mine)
			mine = f->dep[i].created_at;
		any = true;
	}
	if (!any && v != NULL)
		mine = v->create_time;
	for (size_t i = 0; i < f->obs.ndeployments; i++)
		if (strcmp(f->dep[i].build_id, build) != 0 &&
		    f->dep[i].created_at > mine &&
		    (since == 0 || f->dep[i].created_at < since))
			since = f->dep[i].created_at;
	return since;
}

/* Check every property on one plan; NULL or what is broken (static). */
static const char *
violation(const struct fx *f, const struct planner_result *r)
{
	const struct planner_routing *ro = &f->obs.routing;
	const char *m = f->obs.manager_identity;
	bool held = m != NULL && *m != '\0' && strcmp(m, f->cfg.identity) != 0;
	const struct settings *ws = wide_settings(f);
	const struct planner_deployment *td = target_deploy(f);
	size_t routing = 0;

	if (r->wake_at != 0 && r->wake_at <= f->now)
		return "wake-up not in the future";
	if (r->summary == NULL)
		return "no summary";
	for (size_t i = 0; i < r->nactions; i++) {
		const struct planner_action *a = &r->actions[i];
		const struct planner_deployment *d = NULL;
		int64_t since;
		bool temporal = a->kind == PLANNER_CLAIM_MANAGER ||
		    a->kind == PLANNER_SET_CURRENT ||
		    a->kind == PLANNER_SET_RAMPING ||
		    a->kind == PLANNER_START_GATE ||
		    a->kind == PLANNER_DELETE_VERSION;

		if (a->reason == NULL || a->reason[0] == '\0' ||
		    a->event_reason == NULL || a->event_reason[0] < 'A' ||
		    a->event_reason[0] > 'Z')
			return "action without a reason or CamelCase Event reason";
		if (i > 0 && r->actions[i - 1].kind > a->kind)
			return "actions out of execution order";
		if (temporal && held)
			return "Temporal write while another manager holds the identity";
		if (temporal && !f->obs.temporal_observed)
			return "Temporal write without a Temporal observation";
		if (a->kind <= PLANNER_SET_RAMPING) {
			routing++;
			if (ro->conflict_token_len == 0 ||
			    a->conflict_token_len != ro->conflict_token_len ||
			    memcmp(a->conflict_token, ro->conflict_token,
			    ro->conflict_token_len) != 0)
				return "routing write without the observed token";
			if (!same(a->identity, f->cfg.identity))
				return "routing write without our identity";
		}
		if (a->kind == PLANNER_CLAIM_MANAGER && m != NULL && *m != '\0')
			return "claim while the identity is held";
		if (a->kind == PLANNER_SET_RAMPING && (a->build_id == NULL ?
		    a->percent != 0 : a->percent < 1 || a->percent > 99))
			return "ramp percentage out of range";
		if (a->kind == PLANNER_SET_RAMPING && a->build_id == NULL &&
		    ro->ramping_build_id == NULL && ro->ramping_percent == 0)
			return "clearing a ramp that does not exist";
		if ((a->kind == PLANNER_SET_CURRENT ||
		    a->kind == PLANNER_SET_RAMPING) && a->build_id != NULL &&
		    summary(f, a->build_id) == NULL)
			return "routing to a version Temporal does not know";
		if (a->kind == PLANNER_SET_CURRENT &&
		    same(a->build_id, ro->current_build_id))
			return "setting current what is current";
		if (a->kind != PLANNER_SCALE &&
		    a->kind != PLANNER_DELETE_DEPLOYMENT &&
		    a->kind != PLANNER_DELETE_VERSION)
			continue;
		if (a->kind != PLANNER_DELETE_VERSION) {
			for (size_t j = 0; j < f->obs.ndeployments; j++)
				if (same(f->dep[j].name, a->deployment))
					d = &f->dep[j];
			if (d == NULL || !same(d->uid, a->uid) ||
			    !same(d->build_id, a->build_id) || d->deleting)
				return "scale or delete of an unknown Deployment";
			if (a->kind == PLANNER_SCALE && (a->replicas != 0 ||
			    d->replicas == 0))
				return "scale that is not a scale to 0";
			if (a->kind == PLANNER_DELETE_DEPLOYMENT &&
			    d->replicas != 0)
				return "delete of a Deployment not at 0";
		} else {
			for (size_t j = 0; j < f->obs.ndeployments; j++)
				if (same(f->dep[j].build_id, a->build_id))
					return "version deleted while a Deployment is left";
			if (summary(f, a->build_id) == NULL)
				return "delete of a version Temporal does not know";
		}
		if (protected_build(f, a->build_id))
			return "scale or delete of a Current, Ramping or Draining version";
		if (td != NULL && same(td->build_id, a->build_id))
			return "scale or delete of the target";
		since = sunset_since(f, a->build_id);
		if (since == 0 || f->now < since + ws->scaledown_delay_ms)
			return "scale or delete before scaledown-delay";
		if (a->kind != PLANNER_SCALE &&
		    f->now < since + ws->delete_delay_ms)
			return "delete before delete-delay";
	}
	if (routing > 1)
		return "more than one routing write in one plan";
	return NULL;
}

/* Read a bounded number from the environment, or def. */
static int64_t
env_number(const char *name, int64_t min, int64_t max, int64_t def)
{
	const char *v = getenv(name);
	char *cause = NULL;
	int64_t n;

	if (v == NULL || *v == '\0')
		return def;
	if (parse_int(v, min, max, &n, &cause) != 0)
		ck_abort_msg("%s: %s", name, cause);
	return n;
}

START_TEST(test_planner_properties)
{
	int64_t runs = env_number("TWA_PLANNER_PROPERTY_RUNS", 1, 100000000,
	    DEFAULT_RUNS);
	uint64_t seed = (uint64_t)env_number("TWA_PLANNER_SEED", 0, INT64_MAX,
	    DEFAULT_SEED);
	struct timespec t0, t1, c0, c1;
	size_t nact[PLANNER_EVENT + 1] = { 0 };
	struct fx *f = xmalloc(sizeof *f);
	double secs, cpu;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (int64_t i = 0; i < runs; i++) {
		uint64_t s = seed ^ ((uint64_t)i * 0x2545f4914f6cdd1dULL);
		struct planner_result r;
		const char *bad;
		char *cause = NULL, *acts;

		generate(&s, f);
		if (planner_plan(&f->obs, &f->cfg, f->now, &r, &cause) != 0)
			ck_abort_msg("seed %llu case %lld: plan failed: %s",
			    (unsigned long long)seed, (long long)i, cause);
		bad = violation(f, &r);
		if (bad != NULL) {
			acts = fx_actions(&r);
			ck_abort_msg("seed %llu case %lld: %s; actions: %s "
			    "(replay: TWA_PLANNER_SEED=%llu "
			    "TWA_PLANNER_PROPERTY_RUNS=%lld)",
			    (unsigned long long)seed, (long long)i, bad, acts,
			    (unsigned long long)seed, (long long)i + 1);
		}
		for (size_t k = 0; k < r.nactions; k++)
			nact[r.actions[k].kind]++;
		planner_result_free(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("planner properties: %lld states, seed %llu, %.3f s (%.3f s "
	    "CPU); actions: claim %zu, current %zu, ramp %zu, gate %zu, "
	    "scale %zu, delete %zu, delete-version %zu, event %zu\n",
	    (long long)runs, (unsigned long long)seed, secs, cpu, nact[0],
	    nact[1], nact[2], nact[3], nact[4], nact[5], nact[6], nact[7]);
	/* The generator must reach every kind, or the properties are idle. */
	if (runs >= 10000)
		for (int k = 0; k <= PLANNER_EVENT; k++)
			ck_assert_msg(nact[k] > 0, "no %s action in %lld states",
			    planner_action_name((enum planner_action_kind)k),
			    (long long)runs);
	free(f);
}
END_TEST

/* Every test of this program in one suite. */
static Suite *
prop_suite(void)
{
	Suite *s = suite_create("planner_prop");
	TCase *tc = tcase_create("properties");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_planner_properties);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(prop_suite)
