/*
 * act: the leader executes the planner's actions in order, one at a time,
 * each after checking that it still holds the lease, and records every
 * action as an events.k8s.io/v1 Event on the Deployment it regards.
 * Temporal writes carry the conflict token observed in the same pass; a
 * conflict or any other failure ends the pass (the leader re-observes).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kubeevent.h"
#include "leader_int.h"
#include "log.h"
#include "xalloc.h"

/* Merge patch that scales a Deployment (through /scale). */
static json_t *
act_scale_patch(int32_t replicas)
{
	return json_pack("{s:{s:i}}", "spec", "replicas", (int)replicas);
}

/* An Event request finished. */
static void
act_event_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct ld_evreq *e = arg, **pp;
	struct leader *ld = e->ld;
	char *msg;

	(void)obj;
	for (pp = &ld->evreqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	if (err != NULL) {
		ld->st.events_failed++;
		ld_count_kube(ld, err);
		msg = kube_error_string(err);
		log_warn("leader", "cannot record an Event", LS("error", msg));
		free(msg);
	} else
		ld->st.events_created++;
	free(e);
}

/* Whether key was recorded before; remembers it (bounded ring) if not. */
static bool
act_event_seen(struct leader *ld, const char *key)
{
	for (size_t i = 0; i < ld->nevent_keys; i++) {
		if (strcmp(ld->event_keys[i], key) == 0) {
			ld->event_counts[i]++;
			return true;
		}
	}
	if (ld->nevent_keys < LD_EVENT_KEYS_MAX) {
		ld->event_keys[ld->nevent_keys] = xstrdup(key);
		ld->event_counts[ld->nevent_keys++] = 1;
		return false;
	}
	free(ld->event_keys[ld->event_key_next]);
	ld->event_keys[ld->event_key_next] = xstrdup(key);
	ld->event_counts[ld->event_key_next] = 1;
	ld->event_key_next = (ld->event_key_next + 1) % LD_EVENT_KEYS_MAX;
	return false;
}

/* Record an Event on Deployment (name, uid), or the Lease when name is NULL. */
void
act_event(struct leader *ld, const char *name, const char *uid,
    enum planner_event_type type, const char *reason, const char *action,
    const char *message, bool dedup)
{
	const char *tname = type == PLANNER_EVENT_WARNING ? "Warning" : "Normal";
	struct kube_event ev;
	struct ld_evreq *e;
	char *key, *cause = NULL;
	bool lease = false;

	if (!ld->active)
		return;
	if (name == NULL || *name == '\0')
		lease = true;
	key = xasprintf("%s\037%s\037%s\037%s", lease ? ld->lease_name : name,
	    tname, reason, message);
	if (dedup && act_event_seen(ld, key)) {
		ld->st.events_deduplicated++;
		free(key);
		return;
	}
	free(key);
	memset(&ev, 0, sizeof ev);
	if (lease) {
		/* no Deployment left: the worker deployment's own object */
		ev.regarding.api_version = "coordination.k8s.io/v1";
		ev.regarding.kind = "Lease";
		ev.regarding.name = ld->lease_name;
		uid = json_string_value(json_object_get(json_object_get(
		    ld->lease_obj, "metadata"), "uid"));
	} else {
		ev.regarding.api_version = "apps/v1";
		ev.regarding.kind = "Deployment";
		ev.regarding.name = name;
	}
	ev.regarding.namespace = ld->ns;
	ev.regarding.uid = uid != NULL && *uid != '\0' ? uid : NULL;
	ev.type = tname;
	ev.reason = reason;
	ev.action = action;
	ev.note = message;
	ev.instance = ld->pod;
	e = xcalloc(1, sizeof *e);
	e->ld = ld;
	e->req = kube_event_create(ld->kube, &ev, act_event_cb, e, &cause);
	if (e->req == NULL) {
		log_error("leader", "cannot build an Event", LS("reason", reason),
		    LS("error", cause));
		ld->st.events_failed++;
		free(cause);
		free(e);
		return;
	}
	e->next = ld->evreqs;
	ld->evreqs = e;
}

/* Cancel every Event being created. */
void
act_events_cancel(struct leader *ld)
{
	struct ld_evreq *e, *next;

	for (e = ld->evreqs; e != NULL; e = next) {
		next = e->next;
		kube_cancel(e->req);
		free(e);
	}
	ld->evreqs = NULL;
}

/* Forget the Event dedup keys. */
void
act_events_clear(struct leader *ld)
{
	for (size_t i = 0; i < ld->nevent_keys; i++)
		free(ld->event_keys[i]);
	ld->nevent_keys = 0;
	ld->event_key_next = 0;
}

/*
 * The current action of p finished: log it, record its Event, note it for
 * the status, then go on (ok) or end the pass (failure; conflict says it
 * was a conflict or precondition, which calls for a fresh observation).
 */
static void
act_finish(struct ld_pass *p, bool ok, bool changed, const char *error,
    bool conflict)
{
	struct leader *ld = p->ld;
	const struct planner_action *a = &p->res.actions[p->next];
	char *what = planner_action_format(a), *note, *reason;

	free(ld->last_action);
	free(ld->last_action_reason);
	free(ld->last_action_outcome);
	ld->last_action = xstrdup(what);
	ld->last_action_reason = xstrdup(a->reason);
	ld->last_action_outcome = ok ? xstrdup("ok") :
	    xasprintf("failed: %s", error);
	ld->last_action_at = ld_wall_ms();
	if (ok) {
		ld->st.actions_ok[a->kind]++;
		log_info("leader", what, LS("reason", a->reason),
		    LS("outcome", "ok"), LS("event", a->event_reason));
		act_event(ld, a->regarding_name, a->regarding_uid,
		    a->event_type, a->event_reason, planner_action_name(a->kind),
		    a->reason, false);
	} else {
		ld->st.actions_failed[a->kind]++;
		log_warn("leader", what, LS("reason", a->reason),
		    LS("outcome", "failed"), LS("error", error));
		note = xasprintf("%s failed: %s (%s)", what, error, a->reason);
		reason = xasprintf("%sFailed", a->event_reason);
		act_event(ld, a->regarding_name, a->regarding_uid,
		    PLANNER_EVENT_WARNING, reason, planner_action_name(a->kind),
		    note, true);
		free(note);
		free(reason);
	}
	free(what);
	if (!ok) {
		p->failed = true;
		p->conflict = conflict;
		free(p->error);
		p->error = xasprintf("%s: %s", planner_action_name(a->kind),
		    error);
		ld_pass_end(p);
		return;
	}
	if (changed)
		p->acted++;
	p->next++;
	act_next(p);
}

/* Whether a Temporal error asks for a fresh observation, not a retry. */
static bool
act_temporal_conflict(const struct temporal_error *err)
{
	return err->code == TEMPORAL_FAILED_PRECONDITION ||
	    err->code == TEMPORAL_ABORTED;
}

/* Finish the current action with a Temporal error (or success). */
static void
act_temporal_done(struct ld_pass *p, const struct temporal_error *err)
{
	char *msg;

	if (err == NULL) {
		act_finish(p, true, true, NULL, false);
		return;
	}
	ld_count_temporal(p->ld, err->code);
	msg = xasprintf("%s: %s", temporal_code_name(err->code), err->message);
	act_finish(p, false, false, msg, act_temporal_conflict(err));
	free(msg);
}

/* A routing write or manager claim answered. */
static void
act_token_cb(const struct temporal_error *err, const struct temporal_token *tok,
    void *arg)
{
	struct ld_pass *p = arg;

	(void)tok;
	if (ld_pass_call_done(p))
		return;
	act_temporal_done(p, err);
}

/* DeleteWorkerDeploymentVersion answered. */
static void
act_done_cb(const struct temporal_error *err, void *arg)
{
	struct ld_pass *p = arg;

	if (ld_pass_call_done(p))
		return;
	act_temporal_done(p, err);
}

/* A gate workflow start answered; an existing run is fine. */
static void
act_started_cb(const struct temporal_error *err, struct temporal_started *s,
    void *arg)
{
	struct ld_pass *p = arg;

	temporal_started_free(s);
	if (ld_pass_call_done(p))
		return;
	if (err != NULL && err->code == TEMPORAL_ALREADY_EXISTS) {
		log_info("leader", "gate workflow already started",
		    LS("workflow_id", p->res.actions[p->next].workflow_id));
		act_finish(p, true, true, NULL, false);
		return;
	}
	act_temporal_done(p, err);
}

/* A Kubernetes action answered; 404 means it is already done. */
static void
act_kube_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct ld_pass *p = arg;
	const struct planner_action *a;
	char *msg;

	p->kreq = NULL;
	if (ld_pass_call_done(p))
		return;
	a = &p->res.actions[p->next];
	if (err == NULL) {
		observe_deployment_written(p->ld, a->deployment,
		    a->kind == PLANNER_DELETE_DEPLOYMENT, a->replicas, obj);
		act_finish(p, true, true, NULL, false);
		return;
	}
	ld_count_kube(p->ld, err);
	if (kube_error_is(err, 404)) {
		log_info("leader", "the Deployment is already gone",
		    LS("deployment", a->deployment));
		observe_deployment_written(p->ld, a->deployment, true, 0, NULL);
		act_finish(p, true, true, NULL, false);
		return;
	}
	msg = kube_error_string(err);
	act_finish(p, false, false, msg, kube_error_is(err, 409));
	free(msg);
}

/* Send a Temporal write for a; returns 0 or -1 and a cause. */
static int
act_temporal(struct ld_pass *p, const struct planner_action *a, char **cause)
{
	struct leader *ld = p->ld;
	struct temporal_token tok;
	struct temporal_start_params sp;

	memset(&tok, 0, sizeof tok);
	if (a->conflict_token_len > sizeof tok.data) {
		*cause = xstrdup("conflict token too long");
		return -1;
	}
	tok.len = a->conflict_token_len;
	if (tok.len > 0)
		memcpy(tok.data, a->conflict_token, tok.len);
	switch (a->kind) {
	case PLANNER_CLAIM_MANAGER:
		return temporal_set_manager(ld->temporal, ld->tdeployment, NULL,
		    &tok, act_token_cb, p, cause);
	case PLANNER_SET_CURRENT:
		return temporal_set_current(ld->temporal, ld->tdeployment,
		    a->build_id, &tok, 0, act_token_cb, p, cause);
	case PLANNER_SET_RAMPING:
		return temporal_set_ramping(ld->temporal, ld->tdeployment,
		    a->build_id, (float)a->percent, &tok, 0, act_token_cb, p,
		    cause);
	case PLANNER_DELETE_VERSION:
		return temporal_delete_version(ld->temporal, ld->tdeployment,
		    a->build_id, false, act_done_cb, p, cause);
	case PLANNER_START_GATE:
		memset(&sp, 0, sizeof sp);
		sp.workflow_id = a->workflow_id;
		sp.workflow_type = a->workflow_type;
		sp.task_queue = a->task_queue;
		sp.input_json = a->input;
		sp.deployment_name = ld->tdeployment;
		sp.build_id = a->build_id;
		sp.execution_timeout_ms = a->timeout_ms;
		return temporal_start_workflow(ld->temporal, &sp, act_started_cb,
		    p, cause);
	default:
		*cause = xstrdup("not a Temporal action");
		return -1;
	}
}

/* Send a Kubernetes action for a; returns 0 or -1 and a cause. */
static int
act_kube(struct ld_pass *p, const struct planner_action *a, char **cause)
{
	struct leader *ld = p->ld;
	struct kube_opts o = { .retry = KUBE_RETRY_IDEMPOTENT };
	char *path;
	json_t *patch;

	if (a->deployment == NULL || *a->deployment == '\0') {
		*cause = xstrdup("no Deployment named");
		return -1;
	}
	path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s%s",
	    ld->ns, a->deployment, a->kind == PLANNER_SCALE ? "/scale" : "");
	if (a->kind == PLANNER_SCALE) {
		patch = act_scale_patch(a->replicas);
		p->kreq = kube_patch(ld->kube, path, KUBE_PATCH_MERGE, patch, &o,
		    act_kube_cb, p);
		json_decref(patch);
	} else {
		o.retry = KUBE_RETRY_DEFAULT;
		p->kreq = kube_delete(ld->kube, path, a->uid, "Background", &o,
		    act_kube_cb, p);
	}
	free(path);
	return 0;
}

/* Execute the next action of p, or end the pass. */
void
act_next(struct ld_pass *p)
{
	struct leader *ld = p->ld;
	const struct planner_action *a;
	char *cause = NULL, *msg;
	int r;

	while (p->next < p->res.nactions) {
		a = &p->res.actions[p->next];
		if (!lease_leading(ld->lease)) {
			log_warn("leader", "no longer holding the lease; "
			    "stopping the pass", LS("skipped",
			    planner_action_name(a->kind)));
			ld_pass_end(p);
			return;
		}
		if (a->kind == PLANNER_EVENT) {
			log_info("leader", a->message, LS("event", a->event_reason),
			    LS("type", a->event_type == PLANNER_EVENT_WARNING ?
			    "Warning" : "Normal"));
			act_event(ld, a->regarding_name, a->regarding_uid,
			    a->event_type, a->event_reason, "Observe", a->message,
			    true);
			ld->st.actions_ok[a->kind]++;
			p->next++;
			continue;
		}
		if (a->kind == PLANNER_SCALE || a->kind == PLANNER_DELETE_DEPLOYMENT)
			r = act_kube(p, a, &cause);
		else if (ld->temporal == NULL) {
			cause = xstrdup("no Temporal connection");
			r = -1;
		} else
			r = act_temporal(p, a, &cause);
		if (r != 0) {
			msg = xasprintf("cannot send: %s", cause);
			free(cause);
			act_finish(p, false, false, msg, false);
			free(msg);
			return;
		}
		p->pending++;
		return;
	}
	ld_pass_end(p);
}
