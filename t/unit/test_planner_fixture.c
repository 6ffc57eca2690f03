/* test_planner_fixture: an observed world the planner tests build and edit. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_planner_fixture.h"
#include "xalloc.h"

/* Fail the test when an array is full (no ck_assert: it is hot). */
static void
room(size_t used, size_t cap, const char *what)
{
	if (used >= cap)
		ck_abort_msg("fixture: more than %zu %s", cap, what);
}

/* The settings every test starts from (the annotation defaults). */
void
fx_default_settings(struct settings *s)
{
	memset(s, 0, sizeof *s);
	s->rollout = SETTINGS_ROLLOUT_ALL_AT_ONCE;
	s->steps[0].percent = 10;
	s->steps[0].duration_ms = 5 * MIN;
	s->steps[1].percent = 50;
	s->steps[1].duration_ms = 10 * MIN;
	s->nsteps = 2;
	s->gate_timeout_ms = 10 * MIN;
	s->min_ready.is_percent = true;
	s->min_ready.value = 100;
	s->abort_on_unhealthy = true;
	s->scaledown_delay_ms = HOUR;
	s->delete_delay_ms = 24 * HOUR;
	s->max_versions = 20;
	s->report_interval_ms = 15 * SEC;
}

/* Empty world at now: Temporal observed, token set, nobody manages it. */
void
fx_init(struct fx *f, int64_t now)
{
	memset(f, 0, sizeof *f);
	f->now = now;
	fx_default_settings(&f->defaults);
	memcpy(f->token, "tok-0001", 8);
	f->obs.temporal_observed = true;
	f->obs.routing.conflict_token = f->token;
	f->obs.routing.conflict_token_len = sizeof f->token;
	f->obs.versions = f->ver;
	f->obs.deployments = f->dep;
	f->obs.health = f->pod;
	f->cfg.deployment_name = "default/orders";
	f->cfg.identity = "twa:default/orders";
	f->cfg.defaults = &f->defaults;
}

/* Add a version summary; returns it for tweaking. */
struct planner_version *
fx_version(struct fx *f, const char *build, enum planner_version_status st)
{
	struct planner_version *v;

	room(f->obs.nversions, FX_MAX, "versions");
	v = &f->ver[f->obs.nversions];
	memset(v, 0, sizeof *v);
	v->build_id = build;
	v->status = st;
	v->create_time = f->now;
	v->task_queues = f->tq[f->obs.nversions];
	f->obs.nversions++;
	return v;
}

/* The summary of build, or NULL. */
struct planner_version *
fx_find_version(struct fx *f, const char *build)
{
	for (size_t i = 0; i < f->obs.nversions; i++)
		if (strcmp(f->ver[i].build_id, build) == 0)
			return &f->ver[i];
	return NULL;
}

/* Remove the summary of build (if any), keeping queue arrays paired. */
void
fx_remove_version(struct fx *f, const char *build)
{
	struct planner_version *v = fx_find_version(f, build);
	size_t i, n = f->obs.nversions;

	if (v == NULL)
		return;
	i = (size_t)(v - f->ver);
	memmove(&f->ver[i], &f->ver[i + 1], (n - i - 1) * sizeof f->ver[0]);
	memmove(&f->tq[i], &f->tq[i + 1], (n - i - 1) * sizeof f->tq[0]);
	f->obs.nversions--;
	for (i = 0; i < f->obs.nversions; i++)
		f->ver[i].task_queues = f->tq[i];
}

/* Add a Deployment with default settings; returns it. */
struct planner_deployment *
fx_deploy(struct fx *f, const char *name, const char *build, int64_t created,
    int replicas)
{
	struct planner_deployment *d;
	size_t i = f->obs.ndeployments;

	room(i, FX_MAX, "Deployments");
	d = &f->dep[i];
	memset(d, 0, sizeof *d);
	d->name = name;
	d->uid = name;	/* distinct per name, good enough as a UID */
	d->build_id = build;
	d->created_at = created;
	d->replicas = replicas;
	d->ready_replicas = replicas;
	fx_default_settings(&f->s[i]);
	d->settings = &f->s[i];
	f->obs.ndeployments++;
	return d;
}

/* The Deployment called name, or NULL. */
struct planner_deployment *
fx_find_deploy(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->obs.ndeployments; i++)
		if (strcmp(f->dep[i].name, name) == 0)
			return &f->dep[i];
	return NULL;
}

/* Remove the Deployment called name (if any), keeping settings paired. */
void
fx_remove_deploy(struct fx *f, const char *name)
{
	struct planner_deployment *d = fx_find_deploy(f, name);
	size_t i, n = f->obs.ndeployments;

	if (d == NULL)
		return;
	i = (size_t)(d - f->dep);
	memmove(&f->dep[i], &f->dep[i + 1], (n - i - 1) * sizeof f->dep[0]);
	memmove(&f->s[i], &f->s[i + 1], (n - i - 1) * sizeof f->s[0]);
	f->obs.ndeployments--;
	for (i = 0; i < f->obs.ndeployments; i++)
		f->dep[i].settings = &f->s[i];
}

/* The settings of Deployment d. */
struct settings *
fx_settings(struct fx *f, struct planner_deployment *d)
{
	return &f->s[d - f->dep];
}

/* Add a task queue to v; returns it. */
struct planner_task_queue *
fx_queue(struct fx *f, struct planner_version *v, const char *name,
    enum planner_queue_type type, bool pollers)
{
	struct planner_task_queue *q;

	room(v->ntask_queues, FX_MAX_TQ, "task queues");
	q = &f->tq[v - f->ver][v->ntask_queues++];
	memset(q, 0, sizeof *q);
	q->name = name;
	q->type = type;
	q->has_pollers = pollers;
	v->task_queues_known = true;
	return q;
}

/* Add n health entries of build in state, changed at changed, written now. */
void
fx_pods(struct fx *f, const char *build, int n, enum planner_pod_state state,
    int64_t changed)
{
	static unsigned serial;

	for (int k = 0; k < n; k++) {
		size_t i = f->obs.nhealth;

		room(i, FX_MAX_PODS, "health entries");
		snprintf(f->podname[i], sizeof f->podname[i], "%s-pod-%u",
		    build, serial++);
		f->pod[i].pod = f->podname[i];
		f->pod[i].build_id = build;
		f->pod[i].state = state;
		f->pod[i].changed_at = changed;
		f->pod[i].written_at = f->now;
		f->obs.nhealth++;
	}
}

/* Set every entry of build to state, changed at changed. */
void
fx_set_pods(struct fx *f, const char *build, enum planner_pod_state state,
    int64_t changed)
{
	for (size_t i = 0; i < f->obs.nhealth; i++) {
		if (strcmp(f->pod[i].build_id, build) != 0)
			continue;
		f->pod[i].state = state;
		f->pod[i].changed_at = changed;
	}
}

/* Remove every entry of build. */
void
fx_remove_pods(struct fx *f, const char *build)
{
	size_t j = 0;

	for (size_t i = 0; i < f->obs.nhealth; i++) {
		if (strcmp(f->pod[i].build_id, build) == 0)
			continue;
		if (i != j) {
			f->pod[j] = f->pod[i];
			memcpy(f->podname[j], f->podname[i], sizeof f->podname[j]);
			f->pod[j].pod = f->podname[j];
		}
		j++;
	}
	f->obs.nhealth = j;
}

/* Set routing: current build (NULL: unversioned), changed at t. */
void
fx_current(struct fx *f, const char *build, int64_t t)
{
	f->obs.routing.current_build_id = build;
	f->obs.routing.current_changed_at = t;
}

/* Set routing: ramp build at pct, changed at t (build NULL, pct 0: none). */
void
fx_ramp(struct fx *f, const char *build, double pct, int64_t t)
{
	struct planner_routing *r = &f->obs.routing;

	if (r->ramping_build_id == NULL || build == NULL ||
	    strcmp(r->ramping_build_id, build) != 0)
		r->ramping_changed_at = t;
	r->ramping_build_id = build;
	r->ramping_percent = pct;
	r->ramping_percent_changed_at = t;
}

/* Plan at f->now; fails the test on error. */
void
fx_plan(struct fx *f, struct planner_result *r)
{
	char *cause = NULL;

	if (planner_plan(&f->obs, &f->cfg, f->now, r, &cause) != 0)
		ck_abort_msg("planner_plan failed: %s", cause);
}

/* Mark every health entry as written now. */
void
fx_touch(struct fx *f)
{
	for (size_t i = 0; i < f->obs.nhealth; i++)
		f->pod[i].written_at = f->now;
}

/* Actions as "SetCurrent v2; Event Warning X" (empty: ""). Caller frees. */
char *
fx_actions(const struct planner_result *r)
{
	char *s = xstrdup(""), *n, *a;

	for (size_t i = 0; i < r->nactions; i++) {
		a = planner_action_format(&r->actions[i]);
		n = xasprintf("%s%s%s", s, i > 0 ? "; " : "", a);
		free(a);
		free(s);
		s = n;
	}
	return s;
}

/* Number of actions of a kind. */
size_t
fx_count(const struct planner_result *r, enum planner_action_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nactions; i++)
		if (r->actions[i].kind == k)
			n++;
	return n;
}

/* The first action of a kind, or NULL. */
const struct planner_action *
fx_first(const struct planner_result *r, enum planner_action_kind k)
{
	for (size_t i = 0; i < r->nactions; i++)
		if (r->actions[i].kind == k)
			return &r->actions[i];
	return NULL;
}

/* The first Event with this reason, or NULL. */
const struct planner_action *
fx_event(const struct planner_result *r, const char *event_reason)
{
	for (size_t i = 0; i < r->nactions; i++)
		if (r->actions[i].kind == PLANNER_EVENT &&
		    strcmp(r->actions[i].event_reason, event_reason) == 0)
			return &r->actions[i];
	return NULL;
}

/* The status line of build, or NULL. */
const struct planner_status_version *
fx_status(const struct planner_result *r, const char *build)
{
	for (size_t i = 0; i < r->status.nversions; i++)
		if (strcmp(r->status.versions[i].build_id, build) == 0)
			return &r->status.versions[i];
	return NULL;
}

/*
 * The common world: v1 is Current (3 pods), v2 is the target (Deployment
 * created an hour ago, 3 ready pods since 10 minutes, registered with a
 * workflow and an activity queue that have pollers). We manage it.
 */
void
fx_base(struct fx *f, enum settings_rollout rollout)
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
struct settings *
fx_v2s(struct fx *f)
{
	return fx_settings(f, fx_find_deploy(f, "orders-v2"));
}

/* Put v2 on the ramp at pct since t (server view). */
void
fx_ramp_v2(struct fx *f, double pct, int64_t since, int64_t changed)
{
	struct planner_version *v = fx_find_version(f, "v2");

	v->status = PLANNER_VS_RAMPING;
	v->first_activation_time = since;
	v->ramping_since = since;
	fx_ramp(f, "v2", pct, since);
	f->obs.routing.ramping_percent_changed_at = changed;
}

/* Make v1 Drained since t, with its Deployment still at replicas. */
void
fx_drain_v1(struct fx *f, int64_t t)
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
void
fx_promote_v2(struct fx *f)
{
	fx_current(f, "v2", T0 - 2 * HOUR);
	fx_find_version(f, "v2")->status = PLANNER_VS_CURRENT;
	fx_find_version(f, "v2")->first_activation_time = T0 - 2 * HOUR;
	fx_find_version(f, "v2")->last_current_time = T0;
}

/* A gate on v2 with two workflow queues and one activity queue. */
void
fx_gated(struct fx *f, enum settings_rollout rollout)
{
	struct planner_version *v;

	fx_base(f, rollout);
	v = fx_find_version(f, "v2");
	v->ntask_queues = 0;
	fx_queue(f, v, "orders", PLANNER_QUEUE_WORKFLOW, true);
	fx_queue(f, v, "orders", PLANNER_QUEUE_ACTIVITY, true);
	fx_queue(f, v, "billing:eu", PLANNER_QUEUE_WORKFLOW, true);
	fx_v2s(f)->gate_workflow = (char *)"SmokeTest";
	fx_v2s(f)->gate_input = (char *)"{\"n\":1}";
}
