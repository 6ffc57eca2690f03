/* planner_rollout: the routing decision for the target and its gate. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "planner_int.h"
#include "xalloc.h"

/*
 * Emit one routing write (SET_CURRENT, or SET_RAMPING with v NULL to clear)
 * regarding version about, or what blocks it: a foreign manager identity, a
 * missing conflict token, or an unclaimed identity (then claim it first).
 */
static void __attribute__((format(printf, 8, 9)))
route(struct pl_ctx *c, enum planner_action_kind kind, struct pl_version *v,
    int percent, struct pl_version *about, enum planner_event_type et,
    const char *event_reason, const char *fmt, ...)
{
	const struct planner_routing *r = &c->obs->routing;
	struct planner_action *a;
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	if (c->held)
		pl_held(c, about, why);
	else if (!pl_token_ok(c))
		pl_block(c, about, "%s; blocked: no conflict token observed, "
		    "and routing is never written without one", why);
	else {
		if (c->obs->manager_identity == NULL ||
		    *c->obs->manager_identity == '\0') {
			a = pl_push(c, PLANNER_CLAIM_MANAGER, about,
			    PLANNER_EVENT_NORMAL, "ManagerIdentityClaimed",
			    "claiming the manager identity of %s as '%s' "
			    "before: %s", c->cfg->deployment_name,
			    c->cfg->identity, why);
		} else {
			a = pl_push(c, kind, about, et, event_reason, "%s", why);
			a->build_id = v != NULL ? xstrdup(v->build) : NULL;
			a->percent = percent;
		}
		a->identity = xstrdup(c->cfg->identity);
		a->conflict_token = xmalloc(r->conflict_token_len);
		memcpy(a->conflict_token, r->conflict_token, r->conflict_token_len);
		a->conflict_token_len = r->conflict_token_len;
	}
	free(why);
}

/* Block t on its health: min-ready not met. */
static void
block_health(struct pl_ctx *c, struct pl_version *t, const struct pl_health *h)
{
	if (h->impossible)
		pl_block(c, t, "min-ready %d exceeds the %d pods of %s; it can "
		    "never be met", h->required, t->total, t->build);
	else
		pl_block(c, t, "waiting for min-ready: %s has %d/%d healthy "
		    "pods, needs %d", t->build, t->healthy, t->total,
		    h->required);
}

/* The ramping target fell below min-ready: hold the step, or abort. */
static void
unhealthy_ramp(struct pl_ctx *c, struct pl_version *t, const struct pl_health *h)
{
	const struct settings *s = c->s;
	double p = c->obs->routing.ramping_percent;
	int64_t due = pl_add(h->below_since, s->report_interval_ms);
	char since[40], iv[40], at[40];

	pl_fmt_time(h->below_since, since, sizeof since);
	pl_fmt_dur(s->report_interval_ms, iv, sizeof iv);
	if (s->abort_on_unhealthy && c->now > due) {
		route(c, PLANNER_SET_RAMPING, NULL, 0, t, PLANNER_EVENT_WARNING,
		    "RampAborted", "aborting the ramp of %s at %g%%: %d/%d "
		    "healthy pods, below min-ready %d since %s, longer than "
		    "one report interval (%s)", t->build, p, t->healthy,
		    t->total, h->required, since, iv);
		return;
	}
	if (s->abort_on_unhealthy) {
		pl_wake(c, pl_add(due, 1));
		pl_fmt_time(due, at, sizeof at);
		pl_block(c, t, "holding the ramp of %s at %g%%: %d/%d healthy "
		    "pods, below min-ready %d since %s; aborting after %s",
		    t->build, p, t->healthy, t->total, h->required, since, at);
	} else
		pl_block(c, t, "holding the ramp of %s at %g%%: %d/%d healthy "
		    "pods, below min-ready %d since %s (abort-on-unhealthy is "
		    "off)", t->build, p, t->healthy, t->total, h->required,
		    since);
}

/* Start or wait for the gate of t; true once every run completed. */
static bool
gate_passed(struct pl_ctx *c, struct pl_version *t)
{
	const struct settings *s = c->s;
	const struct planner_version *sum = t->sum;
	const struct planner_task_queue *bad = NULL;
	size_t nwf = 0, ndone = 0, nrun = 0, nstart = 0;
	char id[PLANNER_GATE_ID_MAX + 1];
	struct planner_action *a;

	if (!sum->task_queues_known) {
		pl_block(c, t, "gate %s: waiting to learn the task queues of %s",
		    s->gate_workflow, t->build);
		return false;
	}
	for (size_t i = 0; i < sum->ntask_queues; i++) {
		const struct planner_task_queue *q = &sum->task_queues[i];
		int64_t due = pl_add(q->gate_started_at, s->gate_timeout_ms);

		if (q->type != PLANNER_QUEUE_WORKFLOW)
			continue;
		nwf++;
		if (q->gate == PLANNER_GATE_COMPLETED)
			ndone++;
		else if (q->gate == PLANNER_GATE_NOT_STARTED)
			nstart++;
		else if (q->gate != PLANNER_GATE_RUNNING)
			bad = bad != NULL ? bad : q;
		else if (s->gate_timeout_ms > 0 && q->gate_started_at != 0 &&
		    c->now >= due)
			bad = bad != NULL ? bad : q;
		else {
			nrun++;
			if (s->gate_timeout_ms > 0 && q->gate_started_at != 0)
				pl_wake(c, due);
		}
	}
	if (nwf == 0) {
		pl_block(c, t, "gate %s: %s polls no workflow task queue to run "
		    "it on", s->gate_workflow, t->build);
		return false;
	}
	if (bad != NULL) {
		bool timeout = bad->gate == PLANNER_GATE_RUNNING ||
		    bad->gate == PLANNER_GATE_TIMED_OUT;
		static const char *const what[] = { "not started", "running",
		    "completed", "failed", "timed out", "terminated", "canceled" };

		planner_gate_id(c->cfg->deployment_name, t->build, bad->name, id);
		pl_event(c, t, NULL, PLANNER_EVENT_WARNING, timeout ?
		    "GateTimedOut" : "GateFailed", "gate workflow %s (ID %s) "
		    "on task queue %s %s; %s is blocked for good, ship a new "
		    "build to retry", s->gate_workflow, id, bad->name,
		    bad->gate == PLANNER_GATE_RUNNING ? "ran past gate-timeout" :
		    what[bad->gate], t->build);
		pl_block(c, t, "gate %s %s on task queue %s; rollout of %s "
		    "blocked", s->gate_workflow, timeout ? "timed out" : "failed",
		    bad->name, t->build);
		return false;
	}
	if (nstart > 0 && c->held) {
		pl_held(c, t, "start the gate workflows");
		return false;
	}
	for (size_t i = 0; i < sum->ntask_queues; i++) {
		const struct planner_task_queue *q = &sum->task_queues[i];

		if (q->type != PLANNER_QUEUE_WORKFLOW ||
		    q->gate != PLANNER_GATE_NOT_STARTED)
			continue;
		planner_gate_id(c->cfg->deployment_name, t->build, q->name, id);
		a = pl_push(c, PLANNER_START_GATE, t, PLANNER_EVENT_NORMAL,
		    "GateStarted", "starting gate workflow %s pinned to %s on "
		    "task queue %s before any traffic", s->gate_workflow,
		    t->build, q->name);
		a->build_id = xstrdup(t->build);
		a->workflow_id = xstrdup(id);
		a->workflow_type = xstrdup(s->gate_workflow);
		a->task_queue = xstrdup(q->name);
		a->input = s->gate_input != NULL ? xstrdup(s->gate_input) : NULL;
		a->timeout_ms = s->gate_timeout_ms;
		a->identity = xstrdup(c->cfg->identity);
	}
	if (ndone == nwf) {
		pl_event(c, t, NULL, PLANNER_EVENT_NORMAL, "GatePassed",
		    "gate workflow %s completed on all %zu workflow task "
		    "queues of %s", s->gate_workflow, nwf, t->build);
		return true;
	}
	pl_block(c, t, "gate %s: %zu of %zu runs completed, %zu running, %zu "
	    "starting", s->gate_workflow, ndone, nwf, nrun, nstart);
	return false;
}

/* Refuse to promote t past max-versions live versions; true when refused. */
static bool
too_many(struct pl_ctx *c, struct pl_version *t)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nv; i++) {
		enum planner_state st = c->v[i].state;

		if (&c->v[i] == t || st == PLANNER_STATE_CURRENT ||
		    st == PLANNER_STATE_RAMPING || st == PLANNER_STATE_DRAINING)
			n++;
	}
	if (n <= (size_t)c->s->max_versions)
		return false;
	pl_event(c, t, NULL, PLANNER_EVENT_WARNING, "TooManyVersions",
	    "promoting %s would make %zu live versions (Current, Ramping, "
	    "Draining and the target), above max-versions %d; waiting for "
	    "older versions to drain", t->build, n, c->s->max_versions);
	pl_block(c, t, "%zu live versions with %s, above max-versions %d",
	    n, t->build, c->s->max_versions);
	return true;
}

/* Progressive: start, hold, or advance the ramp of t (see planner.h). */
static void
progressive(struct pl_ctx *c, struct pl_version *t)
{
	const struct settings *s = c->s;
	const struct planner_routing *r = &c->obs->routing;
	double p = r->ramping_percent;
	size_t i, n = s->nsteps;
	int64_t due;
	char at[40], held[40], next[40];

	if (t != c->ramping) {
		route(c, PLANNER_SET_RAMPING, t, s->steps[0].percent, t,
		    PLANNER_EVENT_NORMAL, "RampStarted", "starting the "
		    "Progressive ramp of %s at step 1/%zu (%d%%)%s%s", t->build,
		    n, s->steps[0].percent, c->ramping != NULL ?
		    "; replaces the ramp of " : c->ramp_exists ?
		    "; replaces the ramp to unversioned workers" : "",
		    c->ramping != NULL ? c->ramping->build : "");
		return;
	}
	for (i = 0; i < n; i++)
		if (fabs(p - s->steps[i].percent) < 0.001)
			break;
	if (i == n) {
		for (i = 0; i < n && s->steps[i].percent < p; i++)
			;
		if (i == n)
			route(c, PLANNER_SET_CURRENT, t, 0, t,
			    PLANNER_EVENT_NORMAL, "Promoted", "the ramp of %s at "
			    "%g%% is above the last step (%d%%); promoting to "
			    "current", t->build, p, s->steps[n - 1].percent);
		else
			route(c, PLANNER_SET_RAMPING, t, s->steps[i].percent, t,
			    PLANNER_EVENT_NORMAL, "RampStep", "the ramp of %s at "
			    "%g%% matches no step; moving to step %zu/%zu (%d%%), "
			    "the first above it", t->build, p, i + 1, n,
			    s->steps[i].percent);
		return;
	}
	t->st->step = (int)i + 1;
	t->st->step_started_at = r->ramping_percent_changed_at;
	if (r->ramping_percent_changed_at == 0) {
		pl_block(c, t, "the ramp of %s is at step %zu/%zu but Temporal "
		    "gave no percentage change time; holding", t->build, i + 1, n);
		return;
	}
	due = pl_add(r->ramping_percent_changed_at, s->steps[i].duration_ms);
	t->st->next_step_at = due;
	pl_fmt_time(r->ramping_percent_changed_at, at, sizeof at);
	pl_fmt_dur(s->steps[i].duration_ms, held, sizeof held);
	if (c->now < due) {
		pl_wake(c, due);
		pl_fmt_time(due, next, sizeof next);
		pl_note(c, "ramping %s at step %zu/%zu (%d%%) since %s; next at "
		    "%s", t->build, i + 1, n, s->steps[i].percent, at, next);
		return;
	}
	if (i + 1 < n)
		route(c, PLANNER_SET_RAMPING, t, s->steps[i + 1].percent, t,
		    PLANNER_EVENT_NORMAL, "RampStep", "step %zu/%zu of %s (%d%%) "
		    "held %s since %s; moving to step %zu/%zu (%d%%)", i + 1, n,
		    t->build, s->steps[i].percent, held, at, i + 2, n,
		    s->steps[i + 1].percent);
	else
		route(c, PLANNER_SET_CURRENT, t, 0, t, PLANNER_EVENT_NORMAL,
		    "Promoted", "last step %zu/%zu of %s (%d%%) held %s since "
		    "%s; promoting to current", i + 1, n, t->build,
		    s->steps[i].percent, held, at);
}

/* Whether t's task queues are known and none has a live poller. */
static bool
no_pollers(const struct pl_version *t)
{
	if (!t->sum->task_queues_known)
		return false;
	for (size_t i = 0; i < t->sum->ntask_queues; i++)
		if (t->sum->task_queues[i].has_pollers)
			return false;
	return true;
}

/* The target is current: clear a ramp that is still set, else steady. */
static void
steady(struct pl_ctx *c, struct pl_version *t)
{
	struct pl_version *about = c->ramping != NULL ? c->ramping : t;

	if (!c->ramp_exists || c->s->rollout == SETTINGS_ROLLOUT_MANUAL) {
		pl_note(c, "steady: %s is current", t->build);
		return;
	}
	route(c, PLANNER_SET_RAMPING, NULL, 0, about, PLANNER_EVENT_NORMAL,
	    "StaleRampCleared", "target %s is current; clearing the stale "
	    "ramp of %s at %g%%", t->build, c->ramping != NULL ?
	    c->ramping->build : "unversioned workers",
	    c->obs->routing.ramping_percent);
}

/* Decide the routing change for the target (see planner.h for the rules). */
void
pl_rollout(struct pl_ctx *c)
{
	const struct settings *s = c->s;
	struct pl_version *t = c->target;
	struct pl_health h;
	char at[40], iv[40];

	if (t == NULL) {
		pl_block(c, NULL, "no target: no Deployment of %s is live with "
		    "replicas above 0", c->cfg->deployment_name);
		return;
	}
	if (t->state == PLANNER_STATE_CURRENT) {
		steady(c, t);
		return;
	}
	if (s->rollout == SETTINGS_ROLLOUT_MANUAL) {
		pl_block(c, t, "Manual rollout: routing is left to the operator "
		    "(%s is %s)", t->build, planner_state_name(t->state));
		return;
	}
	if (t->state == PLANNER_STATE_NOT_REGISTERED || t->sum == NULL) {
		pl_block(c, t, "waiting for %s to register: no worker of this "
		    "build has polled Temporal yet", t->build);
		return;
	}
	if (t != c->ramping && no_pollers(t)) {
		pl_block(c, t, "waiting for pollers: %s has no live poller on "
		    "any task queue", t->build);
		return;
	}
	pl_health(c, t, &h);
	t->st->required = h.required;
	if (t == c->ramping && !h.met) {
		unhealthy_ramp(c, t, &h);
		return;
	}
	if (!h.met) {
		block_health(c, t, &h);
		return;
	}
	if (t->sum->last_current_time != 0 && c->now <=
	    pl_add(t->sum->last_current_time, PLANNER_ROLLBACK_WINDOW_MS)) {
		pl_fmt_time(t->sum->last_current_time, at, sizeof at);
		route(c, PLANNER_SET_CURRENT, t, 0, t, PLANNER_EVENT_NORMAL,
		    "RolledBack", "rollback: %s was current until %s, within "
		    "the last hour; promoting at once (no gate, no ramp)",
		    t->build, at);
		return;
	}
	if (t != c->ramping && t->activated &&
	    c->now < pl_add(h.met_since, s->report_interval_ms)) {
		pl_wake(c, pl_add(h.met_since, s->report_interval_ms));
		pl_fmt_time(h.met_since, at, sizeof at);
		pl_fmt_dur(s->report_interval_ms, iv, sizeof iv);
		pl_block(c, t, "%s lost its traffic before; recovering: "
		    "min-ready met since %s, promoting again after one report "
		    "interval (%s)", t->build, at, iv);
		return;
	}
	if (t != c->ramping && s->gate_workflow != NULL && !gate_passed(c, t))
		return;
	if (t != c->ramping && too_many(c, t))
		return;
	if (c->current == NULL)
		route(c, PLANNER_SET_CURRENT, t, 0, t, PLANNER_EVENT_NORMAL,
		    "Promoted", "first version: no current version and %s has "
		    "%d/%d healthy pods; promoting whatever the strategy",
		    t->build, t->healthy, t->total);
	else if (s->rollout == SETTINGS_ROLLOUT_ALL_AT_ONCE || s->nsteps == 0)
		route(c, PLANNER_SET_CURRENT, t, 0, t, PLANNER_EVENT_NORMAL,
		    "Promoted", "%s: %s has %d/%d healthy pods (min-ready %d); "
		    "promoting to current", s->nsteps == 0 &&
		    s->rollout == SETTINGS_ROLLOUT_PROGRESSIVE ?
		    "Progressive without steps" : "AllAtOnce", t->build,
		    t->healthy, t->total, h.required);
	else
		progressive(c, t);
}
