/*
 * observe: what the leader knows before it plans: the Deployments carrying
 * the twa.dev/deployment label (a cache fed by the watch), the health board
 * (the agents.twa.dev/ annotations of the Lease) and, per pass, Temporal
 * (DescribeWorkerDeployment, then DescribeWorkerDeploymentVersion,
 * DescribeTaskQueue and the gate workflows of the versions that need them).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buildid.h"
#include "leader_int.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

/* One Temporal read of a pass: which version and task queue it is for. */
struct ob_call {
	struct ld_pass	*p;
	size_t		 v;	/* index in p->pv */
	size_t		 q;	/* index in p->pv[v].tqs */
};

static void observe_call_done(struct ld_pass *p);

/* Milliseconds of an RFC 3339 member of o, or 0 when absent or invalid. */
static int64_t
ob_time(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	char *cause = NULL;
	int64_t us;

	if (s == NULL)
		return 0;
	if (timefmt_parse(s, &us, &cause) != 0) {
		free(cause);
		return 0;
	}
	return us / 1000;
}

/* Duplicate a string member of o, or NULL. */
static char *
ob_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * Whether resource version a is older than b. Resource versions are
 * opaque, but every server in practice sends integers; with anything
 * else nothing counts as older.
 */
static bool
ob_rv_older(const char *a, const char *b)
{
	char *ea, *eb;
	long long x = strtoll(a, &ea, 10), y = strtoll(b, &eb, 10);

	return *a != '\0' && *b != '\0' && *ea == '\0' && *eb == '\0' && x < y;
}

/* Release what a cached Deployment owns. */
static void
dep_clear(struct ld_dep *d)
{
	free(d->name);
	free(d->uid);
	free(d->rv);
	free(d->build_id);
	settings_clear(&d->settings);
	memset(d, 0, sizeof *d);
}

/* The cached Deployment called name, or NULL. */
static struct ld_dep *
dep_find(struct leader *ld, const char *name)
{
	for (size_t i = 0; i < ld->ndeps; i++)
		if (strcmp(ld->deps[i].name, name) == 0)
			return &ld->deps[i];
	return NULL;
}

/* Remove cache entry i. */
static void
dep_remove_at(struct leader *ld, size_t i)
{
	dep_clear(&ld->deps[i]);
	memmove(&ld->deps[i], &ld->deps[i + 1],
	    (ld->ndeps - i - 1) * sizeof ld->deps[0]);
	ld->ndeps--;
}

/* Parse the template annotations of obj into d->settings (last good kept). */
static void
dep_settings(struct leader *ld, struct ld_dep *d, json_t *tmpl, bool had)
{
	json_t *ann = json_object_get(json_object_get(tmpl, "metadata"),
	    "annotations");
	struct settings_kv *kv = NULL;
	struct settings_errors errs = { 0 };
	struct settings out;
	const char *key;
	json_t *val;
	size_t n = 0;
	char *msg;

	if (json_is_object(ann)) {
		kv = xcalloc(json_object_size(ann) + 1, sizeof *kv);
		json_object_foreach(ann, key, val) {
			if (!json_is_string(val))
				continue;
			kv[n].key = key;
			kv[n].value = json_string_value(val);
			n++;
		}
	}
	settings_parse(had ? &d->settings : NULL, kv, n, &out, &errs);
	free(kv);
	if (errs.n > 0) {
		msg = settings_errors_join(&errs);
		log_error("leader", "invalid annotation on Deployment; keeping "
		    "the last good value", LS("deployment", d->name),
		    LS("error", msg));
		act_event(ld, d->name, d->uid, PLANNER_EVENT_WARNING,
		    "InvalidAnnotation", "Validate", msg, true);
		free(msg);
	}
	settings_errors_free(&errs);
	if (had)
		settings_clear(&d->settings);
	d->settings = out;
}

/* Update (or add) the cache entry of Deployment obj; true if it changed. */
static bool
dep_update(struct leader *ld, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *spec = json_object_get(obj, "spec");
	json_t *status = json_object_get(obj, "status");
	json_t *tmpl = json_object_get(spec, "template"), *c, *gen, *og;
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rv = json_string_value(json_object_get(meta,
	    "resourceVersion"));
	struct ld_dep *d;
	char *cause = NULL, *msg;
	bool had;
	size_t i;

	if (name == NULL || !json_is_object(tmpl)) {
		log_warn("leader", "ignoring a Deployment without a name or a "
		    "pod template");
		return false;
	}
	d = dep_find(ld, name);
	if (d != NULL && rv != NULL && d->rv != NULL && (strcmp(d->rv, rv) == 0 ||
	    ob_rv_older(rv, d->rv))) {
		d->seen = true;	/* same, or older than what we wrote */
		return false;
	}
	had = d != NULL;
	if (d == NULL) {
		if (ld->ndeps >= LD_DEPLOYMENTS_MAX) {
			log_error("leader", "too many Deployments; ignoring one",
			    LS("deployment", name), LU("max",
			    LD_DEPLOYMENTS_MAX));
			return false;
		}
		ld->deps = xreallocarray(ld->deps, ld->ndeps + 1,
		    sizeof *ld->deps);
		d = &ld->deps[ld->ndeps++];
		memset(d, 0, sizeof *d);
		d->name = xstrdup(name);
	}
	d->seen = true;
	free(d->rv);
	d->rv = rv != NULL ? xstrdup(rv) : NULL;
	free(d->uid);
	d->uid = ob_str(meta, "uid");
	if (d->uid == NULL)
		d->uid = xstrdup("");
	free(d->build_id);
	d->build_id = buildid_for_pod(tmpl, &cause);
	if (d->build_id == NULL) {
		msg = xasprintf("cannot compute the build ID of Deployment %s: "
		    "%s", name, cause);
		log_error("leader", "ignoring a Deployment without a build ID",
		    LS("deployment", name), LS("error", cause));
		act_event(ld, d->name, d->uid, PLANNER_EVENT_WARNING,
		    "InvalidBuildId", "Validate", msg, true);
		free(msg);
		free(cause);
	}
	dep_settings(ld, d, tmpl, had);
	d->created_at = ob_time(meta, "creationTimestamp");
	d->deleting = json_object_get(meta, "deletionTimestamp") != NULL &&
	    !json_is_null(json_object_get(meta, "deletionTimestamp"));
	d->replicas = json_is_integer(json_object_get(spec, "replicas")) ?
	    (int32_t)json_integer_value(json_object_get(spec, "replicas")) : 1;
	d->ready = (int32_t)json_integer_value(json_object_get(status,
	    "readyReplicas"));
	d->available_since = 0;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));

		if (type != NULL && st != NULL && strcmp(type, "Available") == 0 &&
		    strcmp(st, "True") == 0)
			d->available_since = ob_time(c, "lastTransitionTime");
	}
	gen = json_object_get(meta, "generation");
	og = json_object_get(status, "observedGeneration");
	d->template_changed = json_is_integer(gen) && json_is_integer(og) &&
	    json_integer_value(gen) > json_integer_value(og);
	return true;
}

/* Apply one watch event to the Deployment cache. */
bool
observe_deployment_event(struct leader *ld, enum kubewatch_what what,
    json_t *obj)
{
	const char *name;
	bool changed = false;
	struct ld_dep *d;
	json_t *item;
	size_t i;

	switch (what) {
	case KUBEWATCH_SYNC:
		for (i = 0; i < ld->ndeps; i++)
			ld->deps[i].seen = false;
		json_array_foreach(json_object_get(obj, "items"), i, item)
			changed |= dep_update(ld, item);
		for (i = ld->ndeps; i > 0; i--) {
			if (!ld->deps[i - 1].seen) {
				dep_remove_at(ld, i - 1);
				changed = true;
			}
		}
		return true;
	case KUBEWATCH_ADDED:
	case KUBEWATCH_MODIFIED:
		return dep_update(ld, obj);
	case KUBEWATCH_DELETED:
		name = json_string_value(json_object_get(json_object_get(obj,
		    "metadata"), "name"));
		if (name == NULL || (d = dep_find(ld, name)) == NULL)
			return false;
		dep_remove_at(ld, (size_t)(d - ld->deps));
		return true;
	default:
		return changed;
	}
}

/*
 * The leader's own write to Deployment name succeeded: apply it to the
 * cache at once (the watch confirms it later), so the next pass does not
 * repeat it. obj is the answer (a Scale for scale; may be NULL).
 */
void
observe_deployment_written(struct leader *ld, const char *name, bool deleted,
    int32_t replicas, json_t *obj)
{
	struct ld_dep *d = dep_find(ld, name);
	const char *rv = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "resourceVersion"));

	if (d == NULL)
		return;
	if (deleted)
		d->deleting = true;
	else
		d->replicas = replicas;
	if (!deleted && rv != NULL && (d->rv == NULL || !ob_rv_older(rv, d->rv))) {
		free(d->rv);
		d->rv = xstrdup(rv);
	}
}

/* Drop the Deployment cache. */
void
observe_deployments_clear(struct leader *ld)
{
	for (size_t i = 0; i < ld->ndeps; i++)
		dep_clear(&ld->deps[i]);
	free(ld->deps);
	ld->deps = NULL;
	ld->ndeps = 0;
}

/* The target Deployment: the newest live one with replicas above 0. */
const struct ld_dep *
observe_target(const struct leader *ld)
{
	const struct ld_dep *best = NULL;

	for (size_t i = 0; i < ld->ndeps; i++) {
		const struct ld_dep *d = &ld->deps[i];

		if (d->build_id == NULL || d->deleting || d->replicas <= 0)
			continue;
		if (best == NULL || d->created_at > best->created_at ||
		    (d->created_at == best->created_at &&
		    strcmp(d->name, best->name) > 0))
			best = d;
	}
	return best;
}

/* Free a health array. */
static void
health_free(struct ld_health *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].pod);
		free(h[i].build);
		free(h[i].reason);
	}
	free(h);
}

/* Drop the health entries. */
void
observe_health_clear(struct leader *ld)
{
	health_free(ld->health, ld->nhealth);
	ld->health = NULL;
	ld->nhealth = 0;
	free(ld->health_digest);
	ld->health_digest = NULL;
}

/* Order health entries by pod name. */
static int
health_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ld_health *)a)->pod,
	    ((const struct ld_health *)b)->pod);
}

/* Parse one agents.twa.dev/ value into h; false if it is not an entry. */
static bool
health_parse(const char *key, const char *text, struct ld_health *h)
{
	static const char *const states[] = { "starting", "ready",
	    "unhealthy", "terminating" };
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	const char *st;
	size_t i;

	memset(h, 0, sizeof *h);
	if (!json_is_object(v))
		goto fail;
	st = json_string_value(json_object_get(v, "state"));
	h->build = ob_str(v, "build");
	h->pod = ob_str(v, "pod");
	if (h->pod == NULL)
		h->pod = xstrdup(key + strlen("agents.twa.dev/"));
	h->reason = ob_str(v, "reason");
	if (st == NULL || h->build == NULL || *h->build == '\0' ||
	    *h->pod == '\0')
		goto fail;
	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(st, states[i]) == 0)
			break;
	if (i == sizeof states / sizeof states[0])
		goto fail;
	h->state = (enum planner_pod_state)i;
	h->changed_at = ob_time(v, "changed");
	h->written_at = ob_time(v, "written");
	json_decref(v);
	return true;
fail:
	json_decref(v);
	free(h->pod);
	free(h->build);
	free(h->reason);
	memset(h, 0, sizeof *h);
	return false;
}

/* Re-read the health board from the last Lease; true if it changed. */
bool
observe_health(struct leader *ld)
{
	json_t *ann = json_object_get(json_object_get(ld->lease_obj,
	    "metadata"), "annotations"), *val;
	struct ld_health *h = NULL, e;
	size_t n = 0, len = 0, cap = 0, i, j;
	const char *key;
	char *digest = NULL, *line;
	bool changed;

	json_object_foreach(ann, key, val) {
		if (strncmp(key, "agents.twa.dev/", 15) != 0 ||
		    !json_is_string(val) || n >= LD_HEALTH_MAX)
			continue;
		if (!health_parse(key, json_string_value(val), &e)) {
			log_debug("leader", "ignoring a health entry that is "
			    "not one", LS("key", key));
			continue;
		}
		h = xreallocarray(h, n + 1, sizeof *h);
		h[n++] = e;
	}
	if (n > 0)
		qsort(h, n, sizeof *h, health_cmp);
	/* One entry per pod: the one written last. */
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && strcmp(h[j - 1].pod, h[i].pod) == 0) {
			if (h[i].written_at > h[j - 1].written_at) {
				free(h[j - 1].pod);
				free(h[j - 1].build);
				free(h[j - 1].reason);
				h[j - 1] = h[i];
			} else {
				free(h[i].pod);
				free(h[i].build);
				free(h[i].reason);
			}
			continue;
		}
		h[j++] = h[i];
	}
	n = j;
	for (i = 0; i < n; i++) {
		line = xasprintf("%s\t%s\t%d\t%lld\n", h[i].pod, h[i].build,
		    (int)h[i].state, (long long)h[i].changed_at);
		if (len + strlen(line) + 1 > cap) {
			cap = (len + strlen(line) + 1) * 2;
			digest = xrealloc(digest, cap);
		}
		memcpy(digest + len, line, strlen(line) + 1);
		len += strlen(line);
		free(line);
	}
	if (digest == NULL)
		digest = xstrdup("");
	changed = ld->health_digest == NULL ||
	    strcmp(ld->health_digest, digest) != 0;
	health_free(ld->health, ld->nhealth);
	ld->health = h;
	ld->nhealth = n;
	free(ld->health_digest);
	ld->health_digest = digest;
	return changed;
}

/* Whether some live Deployment runs build. */
static bool
build_has_deployment(const struct leader *ld, const char *build)
{
	for (size_t i = 0; i < ld->ndeps; i++)
		if (ld->deps[i].build_id != NULL &&
		    strcmp(ld->deps[i].build_id, build) == 0)
			return true;
	return false;
}

/* The newest Deployment of build, or NULL. */
static const struct ld_dep *
build_newest_deployment(const struct leader *ld, const char *build)
{
	const struct ld_dep *best = NULL;

	for (size_t i = 0; i < ld->ndeps; i++) {
		const struct ld_dep *d = &ld->deps[i];

		if (d->build_id == NULL || strcmp(d->build_id, build) != 0)
			continue;
		if (best == NULL || d->created_at > best->created_at)
			best = d;
	}
	return best;
}

/* Whether a version summary was never activated. */
static bool
never_activated(const struct temporal_version_summary *v)
{
	return v->first_activation_us == 0 && v->last_deactivation_us == 0 &&
	    v->current_since_us == 0 && v->ramping_since_us == 0 &&
	    v->last_current_us == 0;
}

/*
 * Which versions the pass reads in detail: the target while it is not
 * Current (registration, pollers, gate), superseded versions that never
 * got traffic (gate still running?), and versions without a Deployment
 * that may be deleted on the Temporal side (pollers gone?).
 */
static void
observe_pick(struct ld_pass *p)
{
	struct leader *ld = p->ld;
	const struct temporal_deployment *td = p->td;
	const struct ld_dep *target = observe_target(ld), *nd;
	const char *cur = td->routing.current.build_id;
	const char *ramp = td->routing.ramping.build_id;

	p->pv = xcalloc(td->nversions, sizeof *p->pv);
	for (size_t i = 0; i < td->nversions; i++) {
		const struct temporal_version_summary *v = &td->versions[i];
		bool want = false, gate = false, dup = false;

		if (*v->build_id == '\0')
			continue;
		for (size_t j = 0; j < p->npv; j++)
			dup |= strcmp(p->pv[j].build, v->build_id) == 0;
		if (dup || (cur != NULL && strcmp(cur, v->build_id) == 0))
			continue;
		nd = build_newest_deployment(ld, v->build_id);
		if (target != NULL && strcmp(target->build_id, v->build_id) == 0) {
			want = true;
			gate = target->settings.gate_workflow != NULL;
		} else if (ramp != NULL && strcmp(ramp, v->build_id) == 0) {
			continue;
		} else if (!build_has_deployment(ld, v->build_id)) {
			want = v->status == TEMPORAL_VERSION_DRAINED ||
			    v->drainage.status == TEMPORAL_DRAINAGE_DRAINED ||
			    ((v->status == TEMPORAL_VERSION_INACTIVE ||
			    v->status == TEMPORAL_VERSION_CREATED) &&
			    never_activated(v));
		} else if ((v->status == TEMPORAL_VERSION_INACTIVE ||
		    v->status == TEMPORAL_VERSION_CREATED) && never_activated(v) &&
		    nd != NULL && nd->settings.gate_workflow != NULL) {
			want = gate = true;
		}
		if (!want)
			continue;
		p->pv[p->npv].build = xstrdup(v->build_id);
		p->pv[p->npv].gate = gate;
		p->npv++;
	}
}

/* Count a failure of an observe call into p. */
static void
observe_fail(struct ld_pass *p, const char *what,
    const struct temporal_error *err)
{
	ld_count_temporal(p->ld, err->code);
	if (!p->failed) {
		p->failed = true;
		p->error = xasprintf("%s: %s: %s", what,
		    temporal_code_name(err->code), err->message);
	}
}

/* DescribeTaskQueue answered: does a poller of this version poll it? */
static void
observe_tq_cb(const struct temporal_error *err,
    struct temporal_task_queue_info *q, void *arg)
{
	struct ob_call *c = arg;
	struct ld_pass *p = c->p;
	struct ld_pv *pv;
	struct ld_tq *tq;

	if (!p->dead) {
		pv = &p->pv[c->v];
		tq = &pv->tqs[c->q];
		if (err != NULL)
			observe_fail(p, "DescribeTaskQueue", err);
		else {
			for (size_t i = 0; i < q->npollers; i++) {
				const struct temporal_version *v =
				    &q->pollers[i].version;

				if (v->build_id != NULL &&
				    strcmp(v->build_id, pv->build) == 0 &&
				    v->deployment_name != NULL &&
				    strcmp(v->deployment_name,
				    p->ld->tdeployment) == 0)
					tq->has_pollers = true;
			}
		}
	}
	temporal_task_queue_info_free(q);
	free(c);
	observe_call_done(p);
}

/* Map a workflow status to the gate state. */
static enum planner_gate_state
observe_gate_state(int status)
{
	switch (status) {
	case TEMPORAL_WORKFLOW_COMPLETED:
		return PLANNER_GATE_COMPLETED;
	case TEMPORAL_WORKFLOW_FAILED:
		return PLANNER_GATE_FAILED;
	case TEMPORAL_WORKFLOW_CANCELED:
		return PLANNER_GATE_CANCELED;
	case TEMPORAL_WORKFLOW_TERMINATED:
		return PLANNER_GATE_TERMINATED;
	case TEMPORAL_WORKFLOW_TIMED_OUT:
		return PLANNER_GATE_TIMED_OUT;
	default:	/* running, paused, continued as new */
		return PLANNER_GATE_RUNNING;
	}
}

/* DescribeWorkflowExecution of a gate answered. */
static void
observe_gate_cb(const struct temporal_error *err, struct temporal_workflow *w,
    void *arg)
{
	struct ob_call *c = arg;
	struct ld_pass *p = c->p;
	struct ld_tq *tq;

	if (!p->dead) {
		tq = &p->pv[c->v].tqs[c->q];
		if (err != NULL && err->code == TEMPORAL_NOT_FOUND)
			tq->gate = PLANNER_GATE_NOT_STARTED;
		else if (err != NULL)
			observe_fail(p, "DescribeWorkflowExecution (gate)", err);
		else {
			tq->gate = observe_gate_state(w->status);
			tq->gate_started_at = w->start_us / 1000;
		}
	}
	temporal_workflow_free(w);
	free(c);
	observe_call_done(p);
}

/* Issue one read for (v, q) of p; false if it could not be sent. */
static bool
observe_send(struct ld_pass *p, size_t v, size_t q, bool gate)
{
	struct ld_pv *pv = &p->pv[v];
	struct ob_call *c = xcalloc(1, sizeof *c);
	char id[PLANNER_GATE_ID_MAX + 1], *cause = NULL;
	int r;

	c->p = p;
	c->v = v;
	c->q = q;
	if (gate) {
		planner_gate_id(p->ld->tdeployment, pv->build, pv->tqs[q].name,
		    id);
		r = temporal_describe_workflow(p->ld->temporal, id, NULL,
		    observe_gate_cb, c, &cause);
	} else
		r = temporal_describe_task_queue(p->ld->temporal,
		    pv->tqs[q].name, pv->tqs[q].type, observe_tq_cb, c, &cause);
	if (r != 0) {
		if (!p->failed) {
			p->failed = true;
			p->error = xasprintf("Temporal read: %s", cause);
		}
		free(cause);
		free(c);
		return false;
	}
	p->pending++;
	return true;
}

/* DescribeWorkerDeploymentVersion answered: read its queues and gates. */
static void
observe_version_cb(const struct temporal_error *err,
    struct temporal_version_info *vi, void *arg)
{
	struct ob_call *c = arg;
	struct ld_pass *p = c->p;
	struct ld_pv *pv;

	if (p->dead || err != NULL || p->failed) {
		if (!p->dead && err != NULL && err->code != TEMPORAL_NOT_FOUND)
			observe_fail(p, "DescribeWorkerDeploymentVersion", err);
		goto out;
	}
	pv = &p->pv[c->v];
	pv->known = true;
	pv->tqs = xcalloc(vi->ntask_queues, sizeof *pv->tqs);
	for (size_t i = 0; i < vi->ntask_queues; i++) {
		const struct temporal_task_queue *t = &vi->task_queues[i];
		bool dup = false;

		for (size_t j = 0; j < pv->ntqs; j++)
			dup |= strcmp(pv->tqs[j].name, t->name) == 0 &&
			    pv->tqs[j].type == t->type;
		if (dup || *t->name == '\0' || t->type < TEMPORAL_TQ_WORKFLOW ||
		    t->type > TEMPORAL_TQ_NEXUS)
			continue;
		pv->tqs[pv->ntqs].name = xstrdup(t->name);
		pv->tqs[pv->ntqs].type = t->type;
		pv->ntqs++;
	}
	for (size_t q = 0; q < pv->ntqs; q++) {
		if (pv->tqs[q].type != TEMPORAL_TQ_NEXUS &&
		    !observe_send(p, c->v, q, false))
			break;
		if (pv->gate && pv->tqs[q].type == TEMPORAL_TQ_WORKFLOW &&
		    !observe_send(p, c->v, q, true))
			break;
	}
out:
	temporal_version_info_free(vi);
	free(c);
	observe_call_done(p);
}

/* DescribeWorkerDeployment answered: pick the versions to read further. */
static void
observe_deployment_cb(const struct temporal_error *err,
    struct temporal_deployment *d, void *arg)
{
	struct ld_pass *p = arg;
	struct ob_call *c;
	char *cause = NULL;

	if (p->dead) {
		temporal_deployment_free(d);
		observe_call_done(p);
		return;
	}
	if (err != NULL && err->code == TEMPORAL_NOT_FOUND) {
		p->t_observed = true;	/* a deployment nobody polled yet */
		temporal_deployment_free(d);
	} else if (err != NULL) {
		observe_fail(p, "DescribeWorkerDeployment", err);
		temporal_deployment_free(d);
	} else {
		p->t_observed = true;
		p->td = d;
		observe_pick(p);
		for (size_t i = 0; i < p->npv; i++) {
			c = xcalloc(1, sizeof *c);
			c->p = p;
			c->v = i;
			if (temporal_describe_version(p->ld->temporal,
			    p->ld->tdeployment, p->pv[i].build,
			    observe_version_cb, c, &cause) != 0) {
				p->failed = true;
				p->error = xasprintf("Temporal read: %s", cause);
				free(cause);
				free(c);
				break;
			}
			p->pending++;
		}
	}
	observe_call_done(p);
}

/* One read finished: when none is left, hand the pass back to the leader. */
static void
observe_call_done(struct ld_pass *p)
{
	if (ld_pass_call_done(p))
		return;
	if (p->pending == 0)
		ld_observe_done(p);
}

/*
 * Open (or re-open) the Temporal connection for the settings that apply:
 * the configured address, else the target's annotations, else this pod's.
 */
int
observe_connect(struct leader *ld, char **cause)
{
	const struct ld_dep *t = observe_target(ld);
	const struct settings *s = t != NULL ? &t->settings : &ld->settings;
	const char *addr, *tns, *sni;
	struct temporal_config cfg;

	addr = ld->t_address;
	if (addr == NULL)
		addr = s->temporal_address != NULL ? s->temporal_address :
		    ld->settings.temporal_address;
	tns = s->temporal_namespace != NULL ? s->temporal_namespace :
	    ld->settings.temporal_namespace;
	if (tns == NULL)
		tns = "default";
	sni = s->tls_server_name != NULL ? s->tls_server_name :
	    ld->settings.tls_server_name;
	if (addr == NULL) {
		*cause = xstrdup("no Temporal address: set the annotation "
		    "twa.dev/temporal-address on the pod template");
		return -1;
	}
	if (ld->temporal != NULL && strcmp(addr, ld->conn_address) == 0 &&
	    strcmp(tns, ld->conn_namespace) == 0 &&
	    ((sni == NULL && ld->conn_server_name == NULL) ||
	    (sni != NULL && ld->conn_server_name != NULL &&
	    strcmp(sni, ld->conn_server_name) == 0)))
		return 0;
	if (ld->temporal != NULL) {
		log_info("leader", "Temporal settings changed; reconnecting",
		    LS("address", addr), LS("temporal_namespace", tns));
		temporal_free(ld->temporal);
		ld->temporal = NULL;
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.address = addr;
	cfg.ns = tns;
	cfg.identity = ld->identity;
	cfg.tls = ld->t_tls;
	cfg.ca_file = ld->t_ca_file;
	cfg.cert_file = ld->t_cert_file;
	cfg.key_file = ld->t_key_file;
	cfg.api_key_file = ld->t_api_key_file;
	cfg.server_name = sni;
	ld->temporal = temporal_new(ld->base, &cfg, cause);
	if (ld->temporal == NULL)
		return -1;
	free(ld->conn_address);
	free(ld->conn_namespace);
	free(ld->conn_server_name);
	ld->conn_address = xstrdup(addr);
	ld->conn_namespace = xstrdup(tns);
	ld->conn_server_name = sni != NULL ? xstrdup(sni) : NULL;
	log_info("leader", "Temporal client ready", LS("address", addr),
	    LS("temporal_namespace", tns));
	return 0;
}

/* Start the Temporal reads of pass p. */
void
observe_start(struct ld_pass *p)
{
	struct leader *ld = p->ld;
	char *cause = NULL;

	if (observe_connect(ld, &cause) != 0 ||
	    temporal_describe_deployment(ld->temporal, ld->tdeployment,
	    observe_deployment_cb, p, &cause) != 0) {
		p->failed = true;
		p->error = xasprintf("Temporal: %s", cause);
		free(cause);
		ld_observe_done(p);
		return;
	}
	p->pending++;
}

/* Free what observe put in p. */
void
observe_pass_clear(struct ld_pass *p)
{
	for (size_t i = 0; i < p->npv; i++) {
		for (size_t j = 0; j < p->pv[i].ntqs; j++)
			free(p->pv[i].tqs[j].name);
		free(p->pv[i].tqs);
		free(p->pv[i].build);
	}
	free(p->pv);
	p->pv = NULL;
	p->npv = 0;
	temporal_deployment_free(p->td);
	p->td = NULL;
}

/* The details read for build in p, or NULL. */
static const struct ld_pv *
observe_pv(const struct ld_pass *p, const char *build)
{
	for (size_t i = 0; i < p->npv; i++)
		if (strcmp(p->pv[i].build, build) == 0)
			return &p->pv[i];
	return NULL;
}

/* Plan pass p from its observations. */
int
observe_plan(struct ld_pass *p, int64_t now, char **cause)
{
	struct leader *ld = p->ld;
	const struct temporal_deployment *td = p->td;
	struct planner_observed obs;
	struct planner_config cfg;
	struct planner_version *vs = NULL;
	struct planner_task_queue **tqs = NULL;
	struct planner_deployment *ds = NULL;
	struct planner_health *hs = NULL;
	size_t nv = 0, nd = 0, i, j;
	int64_t base;
	int r;

	memset(&obs, 0, sizeof obs);
	obs.temporal_observed = p->t_observed && !p->failed;
	if (td != NULL && obs.temporal_observed) {
		obs.routing.current_build_id = td->routing.current.build_id;
		obs.routing.ramping_build_id = td->routing.ramping.build_id;
		obs.routing.ramping_percent = td->routing.ramp ?
		    td->routing.ramping_percentage : 0;
		obs.routing.current_changed_at =
		    td->routing.current_changed_us / 1000;
		obs.routing.ramping_changed_at =
		    td->routing.ramping_changed_us / 1000;
		obs.routing.ramping_percent_changed_at =
		    td->routing.ramping_percentage_changed_us / 1000;
		obs.routing.conflict_token = td->token.data;
		obs.routing.conflict_token_len = td->token.len;
		obs.manager_identity = td->manager_identity;
		vs = xcalloc(td->nversions + 1, sizeof *vs);
		tqs = xcalloc(td->nversions + 1, sizeof *tqs);
		for (i = 0; i < td->nversions; i++) {
			const struct temporal_version_summary *v =
			    &td->versions[i];
			struct planner_version *pv = &vs[nv];
			const struct ld_pv *d;
			bool dup = false;

			for (j = 0; j < nv; j++)
				dup |= strcmp(vs[j].build_id, v->build_id) == 0;
			if (*v->build_id == '\0' || dup)
				continue;
			pv->build_id = v->build_id;
			pv->status = (enum planner_version_status)
			    (v->status >= 0 && v->status <= 6 ? v->status : 0);
			pv->create_time = v->create_us / 1000;
			pv->drainage = (enum planner_drainage)
			    (v->drainage.status >= 0 && v->drainage.status <= 2 ?
			    v->drainage.status : 0);
			pv->drainage_changed_at = v->drainage.changed_us / 1000;
			pv->drainage_checked_at = v->drainage.checked_us / 1000;
			pv->current_since = v->current_since_us / 1000;
			pv->ramping_since = v->ramping_since_us / 1000;
			pv->routing_update_time = v->routing_update_us / 1000;
			pv->first_activation_time = v->first_activation_us / 1000;
			pv->last_deactivation_time =
			    v->last_deactivation_us / 1000;
			pv->last_current_time = v->last_current_us / 1000;
			d = observe_pv(p, v->build_id);
			if (d != NULL && d->known) {
				tqs[nv] = xcalloc(d->ntqs + 1, sizeof **tqs);
				for (j = 0; j < d->ntqs; j++) {
					tqs[nv][j].name = d->tqs[j].name;
					tqs[nv][j].type = (enum planner_queue_type)
					    d->tqs[j].type;
					tqs[nv][j].has_pollers =
					    d->tqs[j].has_pollers;
					tqs[nv][j].gate = d->tqs[j].gate;
					tqs[nv][j].gate_started_at =
					    d->tqs[j].gate_started_at;
				}
				pv->task_queues_known = true;
				pv->task_queues = tqs[nv];
				pv->ntask_queues = d->ntqs;
			}
			nv++;
		}
		obs.versions = vs;
		obs.nversions = nv;
	}
	ds = xcalloc(ld->ndeps + 1, sizeof *ds);
	for (i = 0; i < ld->ndeps; i++) {
		const struct ld_dep *d = &ld->deps[i];

		if (d->build_id == NULL)
			continue;
		ds[nd].name = d->name;
		ds[nd].uid = d->uid;
		ds[nd].build_id = d->build_id;
		ds[nd].created_at = d->created_at;
		ds[nd].deleting = d->deleting;
		ds[nd].replicas = d->replicas < 0 ? 0 : d->replicas;
		ds[nd].ready_replicas = d->ready < 0 ? 0 : d->ready;
		ds[nd].available_since = d->available_since;
		ds[nd].template_changed = d->template_changed;
		ds[nd].settings = &d->settings;
		nd++;
	}
	obs.deployments = ds;
	obs.ndeployments = nd;
	/*
	 * Entries count as written no earlier than the start of this
	 * leader's unbroken view of the Lease, and as written now while the
	 * Lease is out of sight: staleness must mean the agent stopped
	 * writing, not that nobody could reach the API server.
	 */
	base = ld->view_start;
	if (kube_now_ms() - ld->lease_seen_ms > ld_report_ms(ld))
		base = now;
	hs = xcalloc(ld->nhealth + 1, sizeof *hs);
	for (i = 0; i < ld->nhealth; i++) {
		hs[i].pod = ld->health[i].pod;
		hs[i].build_id = ld->health[i].build;
		hs[i].state = ld->health[i].state;
		hs[i].changed_at = ld->health[i].changed_at;
		hs[i].written_at = ld->health[i].written_at > base ?
		    ld->health[i].written_at : base;
	}
	obs.health = hs;
	obs.nhealth = ld->nhealth;
	cfg.deployment_name = ld->tdeployment;
	cfg.identity = ld->identity;
	cfg.defaults = &ld->settings;
	r = planner_plan(&obs, &cfg, now, &p->res, cause);
	for (i = 0; i < nv; i++)
		free(tqs != NULL ? tqs[i] : NULL);
	free(tqs);
	free(vs);
	free(ds);
	free(hs);
	return r;
}
