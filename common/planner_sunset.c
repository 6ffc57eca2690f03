/* planner_sunset: scale down and delete what is done; warn about the odd. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "planner_int.h"
#include "xalloc.h"

/* When v became Drained: drainage change, else check, else deactivation. */
static int64_t
drained_since(const struct pl_version *v)
{
	const struct planner_version *s = v->sum;

	if (s->drainage_changed_at != 0)
		return s->drainage_changed_at;
	if (s->drainage_checked_at != 0)
		return s->drainage_checked_at;
	return s->last_deactivation_time;
}

/*
 * When a never-activated v was superseded: the creation of the oldest
 * Deployment of another build newer than v. 0 when nothing is newer.
 */
static int64_t
superseded_since(const struct pl_ctx *c, const struct pl_version *v)
{
	const struct planner_observed *o = c->obs;
	int64_t best = 0;

	for (size_t i = 0; i < o->ndeployments; i++) {
		const struct planner_deployment *d = &o->deployments[i];

		if (strcmp(d->build_id, v->build) != 0 &&
		    d->created_at > v->created &&
		    (best == 0 || d->created_at < best))
			best = d->created_at;
	}
	return best;
}

/* Whether a task queue of v (registered) reports a live poller (unknown: no). */
static bool
has_pollers(const struct pl_version *v)
{
	if (!v->sum->task_queues_known)
		return false;
	for (size_t i = 0; i < v->sum->ntask_queues; i++)
		if (v->sum->task_queues[i].has_pollers)
			return true;
	return false;
}

/* Whether a gate workflow of v is still running (unknown queues: no). */
static bool
gate_running(const struct pl_version *v)
{
	if (v->sum == NULL || !v->sum->task_queues_known)
		return false;
	for (size_t i = 0; i < v->sum->ntask_queues; i++)
		if (v->sum->task_queues[i].gate == PLANNER_GATE_RUNNING)
			return true;
	return false;
}

/* Scale, delete, then delete the version of v, timed from since. */
static void
retire(struct pl_ctx *c, struct pl_version *v, int64_t since, const char *why)
{
	const struct settings *s = c->s;
	const struct planner_observed *o = c->obs;
	int64_t scale_at = pl_add(since, s->scaledown_delay_ms);
	int64_t delete_at = pl_add(since, s->delete_delay_ms >
	    s->scaledown_delay_ms ? s->delete_delay_ms : s->scaledown_delay_ms);
	char at[40], sat[40], dat[40];
	struct planner_action *a;

	v->st->scale_down_at = scale_at;
	v->st->delete_at = delete_at;
	pl_fmt_time(since, at, sizeof at);
	pl_fmt_time(scale_at, sat, sizeof sat);
	pl_fmt_time(delete_at, dat, sizeof dat);
	if (c->now < scale_at) {
		/* Nothing left to scale: the next decision is the delete. */
		pl_wake(c, v->replicas > 0 ? scale_at : delete_at);
		return;
	}
	for (size_t i = 0; i < o->ndeployments; i++) {
		const struct planner_deployment *d = &o->deployments[i];

		if (strcmp(d->build_id, v->build) != 0 || d->deleting ||
		    d->replicas == 0)
			continue;
		a = pl_push(c, PLANNER_SCALE, v, PLANNER_EVENT_NORMAL,
		    "ScaledDown", "%s %s %s; scaledown-delay passed at %s: "
		    "scaling Deployment %s to 0", v->build, why, at, sat,
		    d->name);
		a->build_id = xstrdup(v->build);
		a->deployment = xstrdup(d->name);
		a->uid = xstrdup(d->uid);
		a->replicas = 0;
		free(a->regarding_name);
		free(a->regarding_uid);
		a->regarding_name = xstrdup(d->name);
		a->regarding_uid = xstrdup(d->uid);
	}
	if (c->now < delete_at) {
		pl_wake(c, delete_at);
		return;
	}
	for (size_t i = 0; i < o->ndeployments; i++) {
		const struct planner_deployment *d = &o->deployments[i];

		if (strcmp(d->build_id, v->build) != 0 || d->deleting ||
		    d->replicas != 0)
			continue;
		a = pl_push(c, PLANNER_DELETE_DEPLOYMENT, v, PLANNER_EVENT_NORMAL,
		    "DeploymentDeleted", "%s %s %s; delete-delay passed at %s: "
		    "deleting Deployment %s (uid %s)", v->build, why, at, dat,
		    d->name, d->uid);
		a->build_id = xstrdup(v->build);
		a->deployment = xstrdup(d->name);
		a->uid = xstrdup(d->uid);
		free(a->regarding_name);
		free(a->regarding_uid);
		a->regarding_name = xstrdup(d->name);
		a->regarding_uid = xstrdup(d->uid);
	}
	/* A version with no Deployment left came from a summary: retire only
	   sees Drained, Inactive and NotRegistered versions, and a build known
	   from the routing config alone is Current or Ramping. */
	if (v->ndeps > 0 || v->state == PLANNER_STATE_NOT_REGISTERED)
		return;
	if (has_pollers(v)) {
		pl_block(c, v, "waiting for the pollers of %s to go before "
		    "deleting the Temporal version", v->build);
		return;
	}
	if (c->held) {
		pl_held(c, v, "delete the Temporal version");
		pl_block(c, v, "manager identity held by '%s'; not deleting "
		    "the Temporal version", c->obs->manager_identity);
		return;
	}
	a = pl_push(c, PLANNER_DELETE_VERSION, v, PLANNER_EVENT_NORMAL,
	    "VersionDeleted", "%s %s %s; delete-delay passed at %s and no "
	    "Deployment is left: deleting the Temporal version", v->build,
	    why, at, dat);
	a->build_id = xstrdup(v->build);
	a->identity = xstrdup(c->cfg->identity);
}

/* Sunset every version that is neither the target nor gets traffic. */
void
pl_sunset(struct pl_ctx *c)
{
	for (size_t i = 0; i < c->nv; i++) {
		struct pl_version *v = &c->v[i];
		int64_t since;

		if (v == c->target)
			continue;
		switch (v->state) {
		case PLANNER_STATE_DRAINING:
			if (v->nlive > 0 && v->replicas == 0)
				pl_event(c, v, NULL, PLANNER_EVENT_WARNING,
				    "DrainingWithoutPods", "version %s is "
				    "Draining but its Deployments are at 0 "
				    "replicas: its pinned workflows cannot make "
				    "progress (twa never scales a Draining "
				    "version)", v->build);
			break;
		case PLANNER_STATE_DRAINED:
			since = drained_since(v);
			if (since == 0)
				pl_block(c, v, "Drained, but Temporal gave no "
				    "drainage time; not scaling it");
			else
				retire(c, v, since, "Drained since");
			break;
		case PLANNER_STATE_INACTIVE:
		case PLANNER_STATE_NOT_REGISTERED:
			since = superseded_since(c, v);
			if (since == 0)
				break;
			if (gate_running(v))
				pl_block(c, v, "superseded, but a gate workflow "
				    "of %s is still running", v->build);
			else
				retire(c, v, since, "never got traffic, "
				    "superseded since");
			break;
		default:	/* Current, Ramping: untouched */
			break;
		}
	}
}

/* Warn about duplicate Deployments of a build and in-place updates. */
void
pl_warnings(struct pl_ctx *c)
{
	const struct planner_observed *o = c->obs;

	for (size_t i = 0; i < c->nv; i++) {
		struct pl_version *v = &c->v[i];
		char *names = NULL, *n;

		if (v->nlive < 2)
			continue;
		for (size_t j = 0; j < o->ndeployments; j++) {
			const struct planner_deployment *d = &o->deployments[j];

			if (strcmp(d->build_id, v->build) != 0 || d->deleting)
				continue;
			n = names == NULL ? xstrdup(d->name) :
			    xasprintf("%s, %s", names, d->name);
			free(names);
			names = n;
		}
		pl_event(c, v, NULL, PLANNER_EVENT_WARNING, "DuplicateBuildId",
		    "build %s is run by %zu Deployments (%s); twa acts on all "
		    "of them, but one Deployment per version is expected",
		    v->build, v->nlive, names);
		free(names);
	}
	for (size_t j = 0; j < o->ndeployments; j++) {
		const struct planner_deployment *d = &o->deployments[j];
		struct pl_version *pv;

		if (!d->template_changed || d->prev_build_id == NULL ||
		    strcmp(d->prev_build_id, d->build_id) == 0)
			continue;
		pv = pl_find(c, d->prev_build_id);
		if (pv == NULL || (pv->state != PLANNER_STATE_CURRENT &&
		    pv->state != PLANNER_STATE_RAMPING &&
		    pv->state != PLANNER_STATE_DRAINING))
			continue;
		pl_event(c, pv, d, PLANNER_EVENT_WARNING, "InPlaceUpdate",
		    "Deployment %s changed its pod template in place from "
		    "build %s to %s while version %s is %s: its pinned "
		    "workflows lose their workers; create a new Deployment "
		    "for each version instead", d->name, d->prev_build_id,
		    d->build_id, d->prev_build_id,
		    planner_state_name(pv->state));
	}
}
