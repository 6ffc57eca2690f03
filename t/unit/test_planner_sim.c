/*
 * test_planner_sim: rollouts on a simulated clock. A small model of the
 * Temporal server and the cluster executes each plan's actions (checking
 * conflict tokens and the manager identity like the server does), moves
 * drainage, gates, registration and pod health along a script, and the
 * test asserts the exact sequence of actions, their times and wake-ups.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "check_main.h"
#include "test_planner_fixture.h"
#include "xalloc.h"

#define RESYNC		(30 * SEC)
#define DRAIN_AFTER	(20 * MIN)	/* pinned workflows end this long after */

/* One scripted version: its Deployment and how its pods and gate behave. */
struct build {
	const char	*build;
	const char	*deploy;
	int64_t		 at;		/* Deployment created */
	int		 replicas;
	bool		 gate_fails;
	bool		 deployed;
	bool		 registered;
	bool		 ready;
};

/* One scripted pod health change of a build's first pod. */
struct health_change {
	const char		*build;
	int64_t			 at;
	enum planner_pod_state	 state;
	bool			 done;
};

/* An operator scaling a Deployment by hand. */
struct operator_scale {
	int64_t		 at;
	const char	*deploy;
	int		 replicas;
	bool		 done;
};

struct sim {
	struct fx		 f;
	struct settings		 tmpl;		/* every new Deployment's */
	struct operator_scale	*ops;
	size_t			 nops;
	struct build		*b;
	size_t			 nb;
	struct health_change	*hc;
	size_t			 nhc;
	int64_t			 outage_from, outage_to;	/* no leader */
	const char		*manager_human;		/* holds it in window */
	int64_t			 human_from, human_to;
	int			 token;
	char			*trace;
	char			*wakes;
	char			**seen;		/* Events already recorded */
	size_t			 nseen;
	int64_t			 last_wake;
};

/* Write t as "+H:MM:SS[.mmm]" after T0. */
static void
reltime(int64_t t, char *ts, size_t len)
{
	int64_t d = t - T0, ms = d % 1000, sec = d / 1000;

	if (ms != 0)
		snprintf(ts, len, "+%d:%02d:%02d.%03d", (int)(sec / 3600),
		    (int)(sec / 60 % 60), (int)(sec % 60), (int)ms);
	else
		snprintf(ts, len, "+%d:%02d:%02d", (int)(sec / 3600),
		    (int)(sec / 60 % 60), (int)(sec % 60));
}

/* Append "+H:MM:SS[.mmm] what" to *log. */
static void
logline(struct sim *s, char **log, int64_t t, const char *what)
{
	char ts[40], *n;

	reltime(t, ts, sizeof ts);
	if (getenv("TWA_SIM_DEBUG") != NULL)
		fprintf(stderr, "%s %s\n", ts, what);
	n = xasprintf("%s%s %s\n", *log, ts, what);
	free(*log);
	*log = n;
	(void)s;
}

/* Bump the model's conflict token. */
static void
new_token(struct sim *s)
{
	char buf[16];

	snprintf(buf, sizeof buf, "tok-%04d", ++s->token);
	memcpy(s->f.token, buf, 8);
	s->f.obs.routing.conflict_token_len = 8;
	s->f.obs.routing.conflict_token = s->f.token;
}

/* A version stops getting traffic: it starts draining now. */
static void
demote(struct sim *s, const char *build)
{
	struct planner_version *v = fx_find_version(&s->f, build);

	ck_assert_ptr_nonnull(v);
	v->status = PLANNER_VS_DRAINING;
	v->drainage = PLANNER_DRAINAGE_DRAINING;
	v->drainage_changed_at = s->f.now;
	v->drainage_checked_at = s->f.now;
	v->last_deactivation_time = s->f.now;
	if (v->current_since != 0)
		v->last_current_time = s->f.now;
	v->current_since = 0;
	v->ramping_since = 0;
}

/* A version starts getting traffic (Current or Ramping). */
static void
activate(struct sim *s, struct planner_version *v,
    enum planner_version_status st)
{
	v->status = st;
	v->drainage = PLANNER_DRAINAGE_UNSPECIFIED;
	v->drainage_changed_at = 0;
	if (v->first_activation_time == 0)
		v->first_activation_time = s->f.now;
	if (st == PLANNER_VS_CURRENT) {
		v->current_since = s->f.now;
		v->last_current_time = s->f.now;
		v->ramping_since = 0;
	} else if (v->ramping_since == 0)
		v->ramping_since = s->f.now;
}

/* Whether the server would accept a routing write with this token. */
static void
check_write(struct sim *s, const struct planner_action *a)
{
	const char *m = s->f.obs.manager_identity;

	ck_assert_uint_eq(a->conflict_token_len, 8);
	ck_assert_msg(memcmp(a->conflict_token, s->f.token, 8) == 0,
	    "routing write with a stale conflict token");
	ck_assert_str_eq(a->identity, s->f.cfg.identity);
	if (a->kind != PLANNER_CLAIM_MANAGER)
		ck_assert_msg(m != NULL && strcmp(m, a->identity) == 0,
		    "routing write without holding the manager identity");
}

/* Execute one action on the model, as the server and cluster would. */
static void
apply(struct sim *s, const struct planner_action *a)
{
	struct fx *f = &s->f;
	struct planner_routing *r = &f->obs.routing;
	struct planner_version *v;
	struct planner_deployment *d;

	switch (a->kind) {
	case PLANNER_CLAIM_MANAGER:
		check_write(s, a);
		f->obs.manager_identity = f->cfg.identity;
		new_token(s);
		break;
	case PLANNER_SET_CURRENT:
		check_write(s, a);
		v = fx_find_version(f, a->build_id);
		ck_assert_ptr_nonnull(v);
		if (r->current_build_id != NULL)
			demote(s, r->current_build_id);
		if (r->ramping_build_id != NULL &&
		    strcmp(r->ramping_build_id, a->build_id) == 0)
			fx_ramp(f, NULL, 0, f->now);
		activate(s, v, PLANNER_VS_CURRENT);
		fx_current(f, v->build_id, f->now);	/* a's strings die */
		new_token(s);
		break;
	case PLANNER_SET_RAMPING:
		check_write(s, a);
		if (r->ramping_build_id != NULL && (a->build_id == NULL ||
		    strcmp(r->ramping_build_id, a->build_id) != 0))
			demote(s, r->ramping_build_id);
		v = NULL;
		if (a->build_id != NULL) {
			v = fx_find_version(f, a->build_id);
			ck_assert_ptr_nonnull(v);
			activate(s, v, PLANNER_VS_RAMPING);
		}
		fx_ramp(f, v != NULL ? v->build_id : NULL, a->percent, f->now);
		new_token(s);
		break;
	case PLANNER_START_GATE:
		v = fx_find_version(f, a->build_id);
		ck_assert_ptr_nonnull(v);
		for (size_t i = 0; i < v->ntask_queues; i++) {
			struct planner_task_queue *q = &f->tq[v - f->ver][i];

			if (strcmp(q->name, a->task_queue) == 0 &&
			    q->type == PLANNER_QUEUE_WORKFLOW) {
				ck_assert_int_eq(q->gate, PLANNER_GATE_NOT_STARTED);
				q->gate = PLANNER_GATE_RUNNING;
				q->gate_started_at = f->now;
			}
		}
		break;
	case PLANNER_SCALE:
		d = fx_find_deploy(f, a->deployment);
		ck_assert_ptr_nonnull(d);
		d->replicas = 0;
		d->ready_replicas = 0;
		fx_remove_pods(f, d->build_id);
		break;
	case PLANNER_DELETE_DEPLOYMENT:
		d = fx_find_deploy(f, a->deployment);
		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d->uid, a->uid);
		ck_assert_int_eq(d->replicas, 0);
		fx_remove_pods(f, d->build_id);
		fx_remove_deploy(f, a->deployment);
		break;
	case PLANNER_DELETE_VERSION:
		v = fx_find_version(f, a->build_id);
		ck_assert_ptr_nonnull(v);
		ck_assert_msg(v->status == PLANNER_VS_DRAINED ||
		    v->status == PLANNER_VS_INACTIVE, "deleting a version "
		    "that may hold pinned workflows");
		for (size_t i = 0; i < v->ntask_queues; i++)
			ck_assert(!v->task_queues[i].has_pollers);
		fx_remove_version(f, a->build_id);
		break;
	case PLANNER_EVENT:
		break;
	}
}

/* Advance everything scripted up to now; returns the next scripted time. */
static int64_t
world(struct sim *s)
{
	struct fx *f = &s->f;
	int64_t next = INT64_MAX, now = f->now;

#define NEXT(t) do { if ((t) > now && (t) < next) next = (t); } while (0)
	for (size_t i = 0; i < s->nb; i++) {
		struct build *b = &s->b[i];
		struct planner_version *v;

		if (!b->deployed && now >= b->at) {
			struct planner_deployment *d = fx_deploy(f, b->deploy,
			    b->build, b->at, b->replicas);

			*fx_settings(f, d) = s->tmpl;
			fx_pods(f, b->build, b->replicas, PLANNER_POD_STARTING,
			    b->at);
			b->deployed = true;
		}
		NEXT(b->at);
		if (b->deployed && !b->registered && now >= b->at + 20 * SEC) {
			if (f->obs.nversions == 0)
				new_token(s);	/* the deployment now exists */
			v = fx_version(f, b->build, PLANNER_VS_INACTIVE);
			v->create_time = b->at + 20 * SEC;
			fx_queue(f, v, "orders", PLANNER_QUEUE_WORKFLOW, true);
			fx_queue(f, v, "orders", PLANNER_QUEUE_ACTIVITY, true);
			b->registered = true;
		}
		NEXT(b->at + 20 * SEC);
		if (b->deployed && !b->ready && now >= b->at + 30 * SEC) {
			fx_set_pods(f, b->build, PLANNER_POD_READY, b->at + 30 * SEC);
			b->ready = true;
		}
		NEXT(b->at + 30 * SEC);
	}
	for (size_t i = 0; i < f->obs.nversions; i++) {
		struct planner_version *v = &f->ver[i];
		struct planner_deployment *d = NULL;
		int64_t t;

		for (size_t j = 0; j < f->obs.ndeployments; j++)
			if (strcmp(f->dep[j].build_id, v->build_id) == 0)
				d = &f->dep[j];
		for (size_t j = 0; j < v->ntask_queues; j++) {
			struct planner_task_queue *q = &f->tq[i][j];
			bool fails = false;

			q->has_pollers = d != NULL && d->replicas > 0;
			for (size_t k = 0; k < s->nb; k++)
				if (strcmp(s->b[k].build, v->build_id) == 0)
					fails = s->b[k].gate_fails;
			t = q->gate_started_at + MIN;
			if (q->gate == PLANNER_GATE_RUNNING && now >= t)
				q->gate = fails ? PLANNER_GATE_FAILED :
				    PLANNER_GATE_COMPLETED;
			if (q->gate == PLANNER_GATE_RUNNING)
				NEXT(t);
		}
		t = v->drainage_changed_at + DRAIN_AFTER;
		if (v->drainage == PLANNER_DRAINAGE_DRAINING && now >= t) {
			v->status = PLANNER_VS_DRAINED;
			v->drainage = PLANNER_DRAINAGE_DRAINED;
			v->drainage_changed_at = t;
			v->drainage_checked_at = t;
		}
		if (v->drainage == PLANNER_DRAINAGE_DRAINING)
			NEXT(t);
	}
	for (size_t i = 0; i < s->nhc; i++) {
		struct health_change *h = &s->hc[i];

		if (!h->done && now >= h->at) {
			for (size_t j = 0; j < f->obs.nhealth; j++) {
				if (strcmp(f->pod[j].build_id, h->build) == 0) {
					f->pod[j].state = h->state;
					f->pod[j].changed_at = h->at;
					break;
				}
			}
			h->done = true;
		}
		NEXT(h->at);
	}
	for (size_t i = 0; i < s->nops; i++) {
		struct operator_scale *op = &s->ops[i];
		struct planner_deployment *d;

		if (!op->done && now >= op->at) {
			d = fx_find_deploy(f, op->deploy);
			ck_assert_ptr_nonnull(d);
			d->replicas = op->replicas;
			if (op->replicas == 0)
				fx_remove_pods(f, d->build_id);
			op->done = true;
		}
		NEXT(op->at);
	}
	if (s->manager_human != NULL) {
		if (now >= s->human_from && now < s->human_to &&
		    f->obs.manager_identity != s->manager_human) {
			f->obs.manager_identity = s->manager_human;
			new_token(s);
		} else if (now >= s->human_to &&
		    f->obs.manager_identity == s->manager_human) {
			f->obs.manager_identity = NULL;
			new_token(s);
		}
		NEXT(s->human_from);
		NEXT(s->human_to);
	}
	NEXT(s->outage_to);
#undef NEXT
	fx_touch(f);
	return next;
}

/* Record an Event once, as the agent does; other actions always. */
static void
record(struct sim *s, const struct planner_action *a)
{
	char *what = planner_action_format(a);

	if (a->kind == PLANNER_EVENT) {
		char *key = xasprintf("%s|%s|%s", a->event_reason, a->message,
		    a->regarding_name != NULL ? a->regarding_name : "");

		for (size_t i = 0; i < s->nseen; i++) {
			if (strcmp(s->seen[i], key) == 0) {
				free(key);
				free(what);
				return;
			}
		}
		s->seen = xreallocarray(s->seen, s->nseen + 1, sizeof *s->seen);
		s->seen[s->nseen++] = key;
	} else if (a->kind == PLANNER_SET_RAMPING && a->build_id == NULL) {
		char *n = xasprintf("%s (%s)", what, a->event_reason);

		free(what);
		what = n;
	}
	logline(s, &s->trace, s->f.now, what);
	free(what);
}

/* Run the leader loop from T0 to end: plan, act, re-plan, sleep. */
static void
run(struct sim *s, int64_t end)
{
	struct fx *f = &s->f;
	int64_t next;

	s->trace = xstrdup("");
	s->wakes = xstrdup("");
	f->now = T0;
	for (int iter = 0; f->now <= end; iter++) {
		struct planner_result r;
		bool acted = false;

		ck_assert_int_lt(iter, 100000);
		next = world(s);
		if (f->now >= s->outage_from && f->now < s->outage_to) {
			f->now = s->outage_to;
			continue;
		}
		for (int pass = 0; pass < 8; pass++) {
			fx_plan(f, &r);
			acted = false;
			for (size_t i = 0; i < r.nactions; i++) {
				record(s, &r.actions[i]);
				apply(s, &r.actions[i]);
				acted |= r.actions[i].kind != PLANNER_EVENT;
			}
			if (!acted && r.wake_at != s->last_wake) {
				char *w;

				if (r.wake_at != 0) {
					char ts[40];

					reltime(r.wake_at, ts, sizeof ts);
					w = xasprintf("wake %s", ts);
					logline(s, &s->wakes, f->now, w);
					free(w);
				}
				s->last_wake = r.wake_at;
			}
			if (r.wake_at != 0 && r.wake_at < next)
				next = r.wake_at;
			planner_result_free(&r);
			if (!acted)
				break;
			ck_assert_int_lt(pass, 7);
			world(s);
		}
		if (next > f->now + RESYNC)
			next = f->now + RESYNC;
		f->now = next;
	}
}

/* Release what a run allocated. */
static void
sim_free(struct sim *s)
{
	free(s->trace);
	free(s->wakes);
	for (size_t i = 0; i < s->nseen; i++)
		free(s->seen[i]);
	free(s->seen);
}

START_TEST(test_sim_v1_to_v3_ramps_gate_abort_sunset)
{
	struct build b[] = {
		{ "v1", "orders-v1", T0, 2, false, false, false, false },
		{ "v2", "orders-v2", T0 + HOUR, 2, false, false, false, false },
		{ "v3a", "orders-v3a", T0 + 3 * HOUR, 2, true, false, false, false },
		{ "v3", "orders-v3", T0 + 4 * HOUR, 2, false, false, false, false },
	};
	struct health_change hc[] = {
		{ "v3", T0 + 4 * HOUR + 3 * MIN, PLANNER_POD_UNHEALTHY, false },
		{ "v3", T0 + 4 * HOUR + 10 * MIN, PLANNER_POD_READY, false },
	};
	struct sim s;

	memset(&s, 0, sizeof s);
	fx_init(&s.f, T0);
	s.f.obs.routing.conflict_token_len = 0;	/* no deployment yet */
	s.f.obs.routing.conflict_token = NULL;
	fx_default_settings(&s.tmpl);
	s.tmpl.rollout = SETTINGS_ROLLOUT_PROGRESSIVE;
	s.tmpl.gate_workflow = (char *)"Smoke";
	s.b = b;
	s.nb = sizeof b / sizeof b[0];
	s.hc = hc;
	s.nhc = sizeof hc / sizeof hc[0];
	/* The leader dies 5 minutes into v2's rollout; a new one takes
	   over 7 minutes later with nothing but the observation. */
	s.outage_from = T0 + HOUR + 5 * MIN;
	s.outage_to = T0 + HOUR + 12 * MIN;
	run(&s, T0 + 30 * HOUR);
	ck_assert_str_eq(s.trace,
	    "+0:00:30 StartGate v1 orders\n"
	    "+0:01:30 ClaimManager twa:default/orders\n"
	    "+0:01:30 Event Normal GatePassed\n"
	    "+0:01:30 SetCurrent v1\n"
	    "+1:00:30 StartGate v2 orders\n"
	    "+1:01:30 SetRamping v2 10%\n"
	    "+1:01:30 Event Normal GatePassed\n"
	    "+1:12:00 SetRamping v2 50%\n"
	    "+1:22:00 SetCurrent v2\n"
	    "+2:42:00 Scale orders-v1 0\n"
	    "+3:00:30 StartGate v3a orders\n"
	    "+3:01:30 Event Warning GateFailed\n"
	    "+4:00:30 StartGate v3 orders\n"
	    "+4:01:30 SetRamping v3 10%\n"
	    "+4:01:30 Event Normal GatePassed\n"
	    "+4:03:15.001 SetRamping clear (RampAborted)\n"
	    "+4:10:15 SetRamping v3 10%\n"
	    "+4:15:15 SetRamping v3 50%\n"
	    "+4:25:15 SetCurrent v3\n"
	    "+5:00:00 Scale orders-v3a 0\n"
	    "+5:45:15 Scale orders-v2 0\n"
	    "+25:42:00 DeleteDeployment orders-v1\n"
	    "+25:42:00 DeleteVersion v1\n"
	    "+28:00:00 DeleteDeployment orders-v3a\n"
	    "+28:00:00 DeleteVersion v3a\n"
	    "+28:45:15 DeleteDeployment orders-v2\n"
	    "+28:45:15 DeleteVersion v2\n");
	/* After each pass without actions, when the next timed decision
	   changed: gate timeouts, ramp steps, the abort deadline, recovery,
	   scaledown and delete deadlines. */
	ck_assert_str_eq(s.wakes,
	    "+0:00:30 wake +0:10:30\n"		/* v1 gate timeout */
	    "+1:00:30 wake +1:10:30\n"		/* v2 gate timeout */
	    "+1:01:30 wake +1:06:30\n"		/* v2 step 1 held 5m */
	    "+1:12:00 wake +1:22:00\n"		/* v2 step 2 held 10m */
	    "+1:42:00 wake +2:42:00\n"		/* v1 drained: scaledown */
	    "+2:42:00 wake +25:42:00\n"		/* v1 delete */
	    "+3:00:30 wake +3:10:30\n"		/* v3a gate timeout */
	    "+3:01:30 wake +25:42:00\n"
	    "+4:00:00 wake +5:00:00\n"		/* v3a superseded: scaledown */
	    "+4:00:30 wake +4:10:30\n"		/* v3 gate timeout */
	    "+4:01:30 wake +4:06:30\n"		/* v3 step 1 */
	    "+4:03:00 wake +4:03:15.001\n"	/* abort deadline */
	    "+4:03:15.001 wake +5:00:00\n"
	    "+4:10:00 wake +4:10:15\n"		/* recovered for an interval */
	    "+4:10:15 wake +4:15:15\n"
	    "+4:15:15 wake +4:25:15\n"
	    "+4:25:15 wake +5:00:00\n"
	    "+5:00:00 wake +5:45:15\n"		/* v2 drained at 4:45:15 */
	    "+5:45:15 wake +25:42:00\n"
	    "+25:42:00 wake +28:00:00\n"
	    "+28:00:00 wake +28:45:15\n");
	sim_free(&s);
}
END_TEST

START_TEST(test_sim_first_version_manager_held_rollback)
{
	struct build b[] = {
		{ "v1", "orders-v1", T0, 2, false, false, false, false },
		{ "v2", "orders-v2", T0 + HOUR, 2, false, false, false, false },
		{ "v3", "orders-v3", T0 + HOUR + 20 * MIN, 2, false, false, false,
		    false },
	};
	struct operator_scale ops[] = {
		/* v3 misbehaves: the operator points the target back at v2. */
		{ T0 + HOUR + 50 * MIN, "orders-v3", 0, false },
	};
	struct sim s;

	memset(&s, 0, sizeof s);
	fx_init(&s.f, T0);
	s.f.obs.routing.conflict_token_len = 0;
	s.f.obs.routing.conflict_token = NULL;
	fx_default_settings(&s.tmpl);
	s.tmpl.rollout = SETTINGS_ROLLOUT_PROGRESSIVE;
	s.tmpl.steps[0].percent = 20;
	s.tmpl.nsteps = 1;
	s.b = b;
	s.nb = sizeof b / sizeof b[0];
	s.ops = ops;
	s.nops = sizeof ops / sizeof ops[0];
	/* A human holds the manager identity from 1:10 to 1:40. */
	s.manager_human = "alice@laptop";
	s.human_from = T0 + HOUR + 10 * MIN;
	s.human_to = T0 + HOUR + 40 * MIN;
	run(&s, T0 + 27 * HOUR);
	ck_assert_str_eq(s.trace,
	    "+0:00:30 ClaimManager twa:default/orders\n"
	    "+0:00:30 SetCurrent v1\n"			/* first version */
	    "+1:00:30 SetRamping v2 20%\n"
	    "+1:05:30 SetCurrent v2\n"
	    "+1:20:30 Event Warning ManagerIdentityHeld\n"
	    "+1:40:00 ClaimManager twa:default/orders\n"
	    "+1:40:00 SetRamping v3 20%\n"
	    "+1:45:00 SetCurrent v3\n"
	    "+1:50:00 SetCurrent v2\n"			/* rollback */
	    "+1:50:00 Event Warning DrainingWithoutPods\n"
	    "+2:25:30 Scale orders-v1 0\n"
	    "+25:25:30 DeleteDeployment orders-v1\n"
	    "+25:25:30 DeleteVersion v1\n"
	    "+26:10:00 DeleteDeployment orders-v3\n"
	    "+26:10:00 DeleteVersion v3\n");
	ck_assert_str_eq(s.wakes,
	    "+1:00:30 wake +1:05:30\n"		/* v2 step held 5m */
	    "+1:25:30 wake +2:25:30\n"		/* v1 drained: scaledown */
	    "+1:40:00 wake +1:45:00\n"		/* v3 step held 5m */
	    "+1:45:00 wake +2:25:30\n"
	    "+2:25:30 wake +25:25:30\n"		/* v1 delete; v3 is at 0 */
	    "+25:25:30 wake +26:10:00\n");	/* v3 drained at 2:10 */
	sim_free(&s);
}
END_TEST

/* Every test of this program in one suite. */
static Suite *
sim_suite(void)
{
	Suite *s = suite_create("planner_sim");
	TCase *tc = tcase_create("sim");

	tcase_add_test(tc, test_sim_v1_to_v3_ramps_gate_abort_sunset);
	tcase_add_test(tc, test_sim_first_version_manager_held_rollback);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(sim_suite)
