/* planner: check the observation, build the view of every version, plan. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "planner_int.h"
#include "xalloc.h"

/* Whether s is NULL or empty. */
static bool
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Saturating t + d for times and durations in ms. */
int64_t
pl_add(int64_t t, int64_t d)
{
	if (d > 0 && t > INT64_MAX - d)
		return INT64_MAX;
	if (d < 0 && t < INT64_MIN - d)
		return INT64_MIN;
	return t + d;
}

/* Check one settings struct the planner relies on; -1 with a cause. */
static int
check_settings(const struct settings *s, const char *where, char **cause)
{
	const char *why = NULL;

	if (s->rollout != SETTINGS_ROLLOUT_MANUAL &&
	    s->rollout != SETTINGS_ROLLOUT_ALL_AT_ONCE &&
	    s->rollout != SETTINGS_ROLLOUT_PROGRESSIVE)
		why = "rollout is not Manual, AllAtOnce or Progressive";
	else if (s->nsteps > SETTINGS_MAX_STEPS)
		why = "more ramp steps than SETTINGS_MAX_STEPS";
	else if (s->min_ready.is_percent ?
	    s->min_ready.value < 1 || s->min_ready.value > 100 :
	    s->min_ready.value < 1)
		why = "min-ready is not 1..100% or a count of at least 1";
	else if (s->max_versions < 1)
		why = "max-versions is below 1";
	else if (s->report_interval_ms <= 0)
		why = "report interval is not positive";
	else if (s->scaledown_delay_ms < 0 || s->delete_delay_ms < 0 ||
	    s->gate_timeout_ms < 0)
		why = "a delay or timeout is negative";
	for (size_t i = 0; why == NULL && i < s->nsteps; i++) {
		if (s->steps[i].percent < 1 || s->steps[i].percent > 99 ||
		    (i > 0 && s->steps[i].percent <= s->steps[i - 1].percent))
			why = "ramp step percentages are not strictly rising in 1..99";
		else if (s->steps[i].duration_ms < 0)
			why = "a ramp step duration is negative";
	}
	if (why == NULL)
		return 0;
	*cause = xasprintf("planner: settings of %s: %s", where, why);
	return -1;
}

/* Check a version summary and its task queues; -1 with a cause. */
static int
check_version(const struct planner_observed *o, size_t i, char **cause)
{
	const struct planner_version *v = &o->versions[i];

	if (empty(v->build_id)) {
		*cause = xasprintf("planner: version %zu: build_id is empty; "
		    "expected the version's build ID", i);
		return -1;
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(o->versions[j].build_id, v->build_id) == 0) {
			*cause = xasprintf("planner: version %s: listed twice; "
			    "expected one summary per build ID", v->build_id);
			return -1;
		}
	}
	if ((unsigned)v->status > PLANNER_VS_CREATED ||
	    (unsigned)v->drainage > PLANNER_DRAINAGE_DRAINED) {
		*cause = xasprintf("planner: version %s: status %d or drainage "
		    "%d out of range", v->build_id, (int)v->status,
		    (int)v->drainage);
		return -1;
	}
	if (v->ntask_queues > 0 && v->task_queues == NULL) {
		*cause = xasprintf("planner: version %s: %zu task queues but "
		    "no array", v->build_id, v->ntask_queues);
		return -1;
	}
	for (size_t j = 0; j < v->ntask_queues; j++) {
		const struct planner_task_queue *q = &v->task_queues[j];

		if (empty(q->name) || (unsigned)q->type > PLANNER_QUEUE_NEXUS ||
		    (unsigned)q->gate > PLANNER_GATE_CANCELED) {
			*cause = xasprintf("planner: version %s: task queue %zu "
			    "has no name or an out-of-range type or gate state",
			    v->build_id, j);
			return -1;
		}
	}
	return 0;
}

/* Check a Deployment; -1 with a cause. */
static int
check_deployment(const struct planner_observed *o, size_t i, char **cause)
{
	const struct planner_deployment *d = &o->deployments[i];

	if (empty(d->name) || empty(d->uid) || empty(d->build_id)) {
		*cause = xasprintf("planner: deployment %zu: name, uid and "
		    "build_id must all be set", i);
		return -1;
	}
	if (d->replicas < 0 || d->ready_replicas < 0) {
		*cause = xasprintf("planner: deployment %s: replicas %d, ready "
		    "%d; expected counts of 0 or more", d->name,
		    (int)d->replicas, (int)d->ready_replicas);
		return -1;
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(o->deployments[j].name, d->name) == 0 ||
		    strcmp(o->deployments[j].uid, d->uid) == 0) {
			*cause = xasprintf("planner: deployment %s: name or uid "
			    "listed twice", d->name);
			return -1;
		}
	}
	if (d->settings != NULL)
		return check_settings(d->settings, d->name, cause);
	return 0;
}

/* Check the whole observation and config; -1 with a cause. */
static int
check_input(const struct planner_observed *o, const struct planner_config *cfg,
    char **cause)
{
	const struct planner_routing *r = &o->routing;

	if (empty(cfg->deployment_name) || empty(cfg->identity) ||
	    cfg->defaults == NULL) {
		*cause = xstrdup("planner: config needs deployment_name, "
		    "identity and defaults");
		return -1;
	}
	if (check_settings(cfg->defaults, "the defaults", cause) != 0)
		return -1;
	if ((o->nversions > 0 && o->versions == NULL) ||
	    (o->ndeployments > 0 && o->deployments == NULL) ||
	    (o->nhealth > 0 && o->health == NULL) ||
	    (r->conflict_token_len > 0 && r->conflict_token == NULL)) {
		*cause = xstrdup("planner: a count is set but its array is NULL");
		return -1;
	}
	if (isnan(r->ramping_percent) || r->ramping_percent < 0 ||
	    r->ramping_percent > 100) {
		*cause = xasprintf("planner: ramping percentage %g; expected "
		    "0..100", r->ramping_percent);
		return -1;
	}
	if ((r->current_build_id != NULL && *r->current_build_id == '\0') ||
	    (r->ramping_build_id != NULL && *r->ramping_build_id == '\0')) {
		*cause = xstrdup("planner: routing build IDs must be NULL "
		    "(unversioned) or non-empty");
		return -1;
	}
	if (r->current_build_id != NULL && r->ramping_build_id != NULL &&
	    strcmp(r->current_build_id, r->ramping_build_id) == 0) {
		*cause = xasprintf("planner: build %s is both current and "
		    "ramping; Temporal never reports that", r->current_build_id);
		return -1;
	}
	for (size_t i = 0; i < o->nversions; i++)
		if (check_version(o, i, cause) != 0)
			return -1;
	for (size_t i = 0; i < o->ndeployments; i++)
		if (check_deployment(o, i, cause) != 0)
			return -1;
	for (size_t i = 0; i < o->nhealth; i++) {
		const struct planner_health *h = &o->health[i];

		if (empty(h->pod) || empty(h->build_id) ||
		    (unsigned)h->state > PLANNER_POD_TERMINATING) {
			*cause = xasprintf("planner: health entry %zu: pod and "
			    "build_id must be set and the state in range", i);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(o->health[j].pod, h->pod) == 0) {
				*cause = xasprintf("planner: health entry for "
				    "pod %s listed twice", h->pod);
				return -1;
			}
		}
	}
	return 0;
}

/* The version of build, or NULL. */
struct pl_version *
pl_find(struct pl_ctx *c, const char *build)
{
	if (build == NULL)
		return NULL;
	for (size_t i = 0; i < c->nv; i++)
		if (strcmp(c->v[i].build, build) == 0)
			return &c->v[i];
	return NULL;
}

/* Add build to the version list unless present; returns its entry. */
static struct pl_version *
add_version(struct pl_ctx *c, const char *build)
{
	struct pl_version *v = pl_find(c, build);

	if (v != NULL)
		return v;
	v = &c->v[c->nv++];
	memset(v, 0, sizeof *v);
	v->build = build;
	return v;
}

/* Whether a summary shows the version was ever Current or Ramping. */
static bool
was_activated(const struct planner_version *s)
{
	return s->first_activation_time != 0 || s->last_deactivation_time != 0 ||
	    s->last_current_time != 0 || s->current_since != 0 ||
	    s->ramping_since != 0 || s->drainage != PLANNER_DRAINAGE_UNSPECIFIED ||
	    s->status == PLANNER_VS_DRAINING || s->status == PLANNER_VS_DRAINED;
}

/* The state of v from the routing config first, then its summary. */
static enum planner_state
derive_state(const struct pl_ctx *c, const struct pl_version *v)
{
	const struct planner_version *s = v->sum;

	if (v == c->current)
		return PLANNER_STATE_CURRENT;
	if (v == c->ramping)
		return PLANNER_STATE_RAMPING;
	if (s == NULL)
		return PLANNER_STATE_NOT_REGISTERED;
	if (s->status == PLANNER_VS_DRAINED || s->drainage == PLANNER_DRAINAGE_DRAINED)
		return PLANNER_STATE_DRAINED;
	if (s->status == PLANNER_VS_DRAINING || s->drainage == PLANNER_DRAINAGE_DRAINING)
		return PLANNER_STATE_DRAINING;
	if (!v->activated && s->status == PLANNER_VS_CREATED)
		return PLANNER_STATE_NOT_REGISTERED;
	if (!v->activated && s->status == PLANNER_VS_INACTIVE)
		return PLANNER_STATE_INACTIVE;
	/* Left Current or Ramping with no drainage yet, or unknown: keep pods. */
	return PLANNER_STATE_DRAINING;
}

/* Order: newest first, then by build ID. */
static int
cmp_version(const void *a, const void *b)
{
	const struct pl_version *x = a, *y = b;

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->build, y->build);
}

/* Count fresh health entries per version; unknown and stale ones in status. */
static void
count_health(struct pl_ctx *c)
{
	const struct planner_observed *o = c->obs;

	for (size_t i = 0; i < o->nhealth; i++) {
		const struct planner_health *h = &o->health[i];
		struct pl_version *v = pl_find(c, h->build_id);

		if (v == NULL) {
			c->out->status.unknown_health++;
			continue;
		}
		if (h->written_at != 0 && h->written_at < c->stale_before) {
			c->out->status.stale_health++;
			continue;
		}
		if (h->state == PLANNER_POD_READY)
			v->healthy++;
		if (h->state != PLANNER_POD_TERMINATING)
			v->reporting++;
	}
	for (size_t i = 0; i < c->nv; i++) {
		struct pl_version *v = &c->v[i];

		v->total = v->reporting;
		if (v->replicas > v->total)
			v->total = v->replicas > 1000000 ? 1000000 : (int)v->replicas;
	}
}

/* Whether entry h is a fresh entry of v. */
static bool
entry_of(const struct pl_ctx *c, const struct planner_health *h,
    const struct pl_version *v)
{
	return strcmp(h->build_id, v->build) == 0 &&
	    (h->written_at == 0 || h->written_at >= c->stale_before);
}

/* The k-th (1-based) largest of n times, or floor when k > n. */
static int64_t
kth_latest(int64_t *t, size_t n, size_t k, int64_t floor)
{
	int64_t r;

	if (k == 0 || k > n)
		return floor;
	for (size_t i = 0; i < k; i++) {	/* partial selection sort */
		size_t m = i;

		for (size_t j = i + 1; j < n; j++)
			if (t[j] > t[m])
				m = j;
		r = t[m];
		t[m] = t[i];
		t[i] = r;
	}
	return t[k - 1] > floor ? t[k - 1] : floor;
}

/* Health of a registered v against the deployment-wide min-ready (planner.h). */
void
pl_health(struct pl_ctx *c, struct pl_version *v, struct pl_health *h)
{
	const struct planner_observed *o = c->obs;
	const struct settings_min_ready *mr = &c->s->min_ready;
	int64_t floor = 0, *t;
	size_t n = 0;
	bool ready;

	memset(h, 0, sizeof *h);
	/* The target has replicas, so total >= 1 and required >= 1. */
	if (mr->is_percent)
		h->required = (int)(((int64_t)v->total * mr->value + 99) / 100);
	else {
		h->required = mr->value;
		h->impossible = mr->value > v->total;
	}
	h->met = !h->impossible && v->healthy >= h->required;
	if (v == c->ramping) {
		floor = o->routing.ramping_changed_at;
		if (v->sum->ramping_since > floor)
			floor = v->sum->ramping_since;
	}
	t = xcalloc(o->nhealth + 1, sizeof *t);
	ready = h->met;
	for (size_t i = 0; i < o->nhealth; i++)
		if (entry_of(c, &o->health[i], v) &&
		    (o->health[i].state == PLANNER_POD_READY) == ready)
			t[n++] = o->health[i].changed_at;
	if (ready)
		h->met_since = kth_latest(t, n,
		    (size_t)(v->healthy - h->required + 1), 0);
	else {
		/* Pods that never reported count as gone bad when the ramp
		   began (floor); kth_latest treats k > n and older times so. */
		h->below_since = kth_latest(t, n,
		    (size_t)(h->required - v->healthy), floor);
	}
	free(t);
}

/* Whether a routing write is possible: a conflict token was observed. */
bool
pl_token_ok(const struct pl_ctx *c)
{
	return c->obs->routing.conflict_token_len > 0;
}

/* Pick the target: the newest live Deployment with replicas (see planner.h). */
static void
pick_target(struct pl_ctx *c)
{
	const struct planner_observed *o = c->obs;
	const struct planner_deployment *best = NULL;

	for (size_t i = 0; i < o->ndeployments; i++) {
		const struct planner_deployment *d = &o->deployments[i];

		if (d->deleting || d->replicas == 0)
			continue;
		if (best == NULL || d->created_at > best->created_at ||
		    (d->created_at == best->created_at &&
		    strcmp(d->name, best->name) > 0))
			best = d;
	}
	c->target = best != NULL ? pl_find(c, best->build_id) : NULL;
}

/* Build the version list from summaries, Deployments and routing. */
static void
build_versions(struct pl_ctx *c)
{
	const struct planner_observed *o = c->obs;
	const struct planner_routing *r = &o->routing;
	struct pl_version *v;

	c->v = xcalloc(o->nversions + o->ndeployments + 2, sizeof *c->v);
	for (size_t i = 0; i < o->nversions; i++) {
		v = add_version(c, o->versions[i].build_id);
		v->sum = &o->versions[i];
		v->created = v->sum->create_time;
		v->activated = was_activated(v->sum);
	}
	for (size_t i = 0; i < o->ndeployments; i++) {
		const struct planner_deployment *d = &o->deployments[i];

		v = add_version(c, d->build_id);
		if (v->ndeps++ == 0 || d->created_at > v->created)
			v->created = d->created_at;
		if (d->deleting)
			continue;
		v->nlive++;
		v->replicas += d->replicas;
		if (v->newest == NULL || d->created_at > v->newest->created_at ||
		    (d->created_at == v->newest->created_at &&
		    strcmp(d->name, v->newest->name) > 0))
			v->newest = d;
	}
	if (r->current_build_id != NULL)
		add_version(c, r->current_build_id)->activated = true;
	if (r->ramping_build_id != NULL)
		add_version(c, r->ramping_build_id)->activated = true;
	qsort(c->v, c->nv, sizeof *c->v, cmp_version);
	c->current = pl_find(c, r->current_build_id);
	c->ramping = pl_find(c, r->ramping_build_id);
	c->ramp_exists = r->ramping_build_id != NULL || r->ramping_percent > 0;
	for (size_t i = 0; i < c->nv; i++)
		c->v[i].state = derive_state(c, &c->v[i]);
}

/* Deployment-wide settings: the target's, else the current's, else defaults. */
static const struct settings *
pick_settings(const struct pl_ctx *c)
{
	const struct pl_version *v = c->target != NULL ? c->target : c->current;

	if (v != NULL && v->newest != NULL && v->newest->settings != NULL)
		return v->newest->settings;
	return c->cfg->defaults;
}

/* Fill the status lines that need no decision. */
static void
init_status(struct pl_ctx *c)
{
	struct planner_status *st = &c->out->status;

	st->versions = xcalloc(c->nv + 1, sizeof *st->versions);
	st->nversions = c->nv;
	st->rollout = c->s->rollout;
	if (c->target != NULL)
		st->target_build_id = xstrdup(c->target->build);
	for (size_t i = 0; i < c->nv; i++) {
		struct pl_version *v = &c->v[i];
		struct planner_status_version *vs = &st->versions[i];

		v->st = vs;
		vs->build_id = xstrdup(v->build);
		vs->state = v->state;
		vs->target = v == c->target;
		vs->healthy = v->healthy;
		vs->total = v->total;
		vs->ndeployments = v->ndeps;
		vs->nsteps = (int)c->s->nsteps;
		if (v == c->ramping)
			vs->ramp_percent = c->obs->routing.ramping_percent;
	}
}

/* Plan one pass; see planner.h. */
int
planner_plan(const struct planner_observed *obs,
    const struct planner_config *cfg, int64_t now,
    struct planner_result *out, char **cause)
{
	struct pl_ctx c;

	memset(out, 0, sizeof *out);
	if (check_input(obs, cfg, cause) != 0)
		return -1;
	memset(&c, 0, sizeof c);
	c.obs = obs;
	c.cfg = cfg;
	c.now = now;
	c.out = out;
	c.held = !empty(obs->manager_identity) &&
	    strcmp(obs->manager_identity, cfg->identity) != 0;
	build_versions(&c);
	pick_target(&c);
	c.s = pick_settings(&c);
	c.stale_before = pl_add(now, -(c.s->report_interval_ms >
	    INT64_MAX / PLANNER_STALE_INTERVALS ? INT64_MAX :
	    c.s->report_interval_ms * PLANNER_STALE_INTERVALS));
	count_health(&c);
	init_status(&c);
	if (!obs->temporal_observed) {
		pl_block(&c, NULL, "Temporal state not observed; no decisions "
		    "until DescribeWorkerDeployment answers");
	} else {
		pl_rollout(&c);
		pl_sunset(&c);
	}
	pl_warnings(&c);
	pl_sort(out);
	free(c.v);
	return 0;
}
