/*
 * leader: the loop the elected agent runs for the whole worker deployment
 * (see leader.h). Event-driven: a pass (observe -> plan -> act) runs when
 * the health board or a Deployment changes, when a wake-up the planner
 * asked for falls due, and on a slow resync; one pass at a time, and a
 * trigger during a pass schedules exactly one more. Failed passes back off.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backoff.h"
#include "leader_int.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

/* Least time between two status writes. */
#define LD_STATUS_DEBOUNCE_MS	1000
/* Passes in a row that acted before the leader slows down. */
#define LD_BUSY_PASSES		20

static void ld_schedule(struct leader *ld, int64_t delay_ms);
static void ld_status_publish(struct leader *ld);
static void ld_status_update(struct leader *ld, const struct planner_result *r);

/* Wall-clock milliseconds since the epoch. */
int64_t
ld_wall_ms(void)
{
	return timefmt_now_us() / 1000;
}

/* A next pseudo-random number for backoff jitter (xorshift64). */
static uint64_t
ld_random(struct leader *ld)
{
	ld->rnd ^= ld->rnd << 13;
	ld->rnd ^= ld->rnd >> 7;
	ld->rnd ^= ld->rnd << 17;
	return ld->rnd;
}

/* Format wall ms as RFC 3339 into out. */
static void
ld_fmt(int64_t ms, char out[TIMEFMT_MICRO_LEN])
{
	timefmt_micro(ms * 1000, out);
}

/* Count a Temporal error by code. */
void
ld_count_temporal(struct leader *ld, int code)
{
	if (code >= 0 && code < 17)
		ld->st.temporal_errors[code]++;
}

/* Count a Kubernetes error by HTTP status class. */
void
ld_count_kube(struct leader *ld, const struct kube_error *err)
{
	if (err->kind == KUBE_ERR_HTTP && err->status >= 100 &&
	    err->status < 600)
		ld->st.kube_errors_http[err->status / 100]++;
	else
		ld->st.kube_errors_other++;
}

/* Note an error for the status and log it. */
void
ld_set_error(struct leader *ld, const char *what, const char *msg)
{
	free(ld->last_error);
	ld->last_error = xasprintf("%s: %s", what, msg);
	ld->last_error_at = ld_wall_ms();
	log_warn("leader", what, LS("error", msg));
}

/* Free a pass and everything it owns. */
static void
ld_pass_free(struct ld_pass *p)
{
	observe_pass_clear(p);
	planner_result_free(&p->res);
	free(p->error);
	free(p);
}

/* Note a finished call of p; true (and p maybe freed) when p is dead. */
bool
ld_pass_call_done(struct ld_pass *p)
{
	if (p->pending > 0)
		p->pending--;
	if (!p->dead)
		return false;
	if (p->pending == 0)
		ld_pass_free(p);
	return true;
}

/* Ask for a pass as soon as possible. */
void
ld_trigger(struct leader *ld, const char *why)
{
	if (!ld->active)
		return;
	if (ld->pass != NULL) {
		if (!ld->again)
			log_debug("leader", "pass requested during a pass",
			    LS("why", why));
		ld->again = true;
		return;
	}
	log_debug("leader", "pass requested", LS("why", why));
	ld_schedule(ld, 0);
}

/* Make sure a pass starts within delay_ms (never before the backoff). */
static void
ld_schedule(struct leader *ld, int64_t delay_ms)
{
	int64_t now = kube_now_ms(), due;
	struct timeval tv;

	if (delay_ms < 0)
		delay_ms = 0;
	due = now + delay_ms;
	if (ld->backoff_until_ms > due)
		due = ld->backoff_until_ms;
	if (ld->pass_due_ms != 0 && ld->pass_due_ms <= due &&
	    evtimer_pending(ld->pass_timer, NULL))
		return;
	ld->pass_due_ms = due;
	tv.tv_sec = (due - now) / 1000;
	tv.tv_usec = ((due - now) % 1000) * 1000;
	evtimer_add(ld->pass_timer, &tv);
}

/* The pass timer fired: start a pass if everything is known. */
static void
ld_pass_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leader *ld = arg;
	struct ld_pass *p;

	(void)fd;
	(void)what;
	ld->pass_due_ms = 0;
	if (!ld->active)
		return;
	if (ld->pass != NULL) {
		ld->again = true;
		return;
	}
	if (!ld->dsynced || !ld->lease_seen) {
		log_debug("leader", "waiting for the Deployments and the Lease "
		    "before the first pass");
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->ld = ld;
	p->started_ms = kube_now_ms();
	ld->pass = p;
	ld->again = false;
	observe_start(p);
}

/* The reads of pass p are over: plan, publish, act. */
void
ld_observe_done(struct ld_pass *p)
{
	struct leader *ld = p->ld;
	char *cause = NULL;

	if (observe_plan(p, ld_wall_ms(), &cause) != 0) {
		log_error("leader", "the observation does not fit the planner",
		    LS("error", cause));
		if (!p->failed) {
			p->failed = true;
			free(p->error);
			p->error = xasprintf("plan: %s", cause);
		}
		free(cause);
		ld_pass_end(p);
		return;
	}
	p->planned = true;
	if (p->res.summary != NULL) {
		if (ld->summary == NULL || strcmp(ld->summary, p->res.summary) != 0)
			log_info("leader", "plan", LS("decision", p->res.summary),
			    LU("actions", p->res.nactions));
		else
			log_debug("leader", "plan", LS("decision", p->res.summary),
			    LU("actions", p->res.nactions));
		free(ld->summary);
		ld->summary = xstrdup(p->res.summary);
	}
	ld->wake_at = p->res.wake_at;
	if (p->failed) {	/* Temporal unknown: status only, no actions */
		ld_pass_end(p);
		return;
	}
	act_next(p);
}

/*
 * Whether the next step depends on a change only Temporal can show (no
 * watch exists there): a version Draining (until Drained) or not yet
 * registered, a target that is not Current yet (gate, pollers) outside
 * Manual, a version whose Deployments are gone (pollers must go before
 * it is deleted).
 */
static bool
ld_awaits_temporal(const struct planner_status *st)
{
	for (size_t i = 0; i < st->nversions; i++) {
		const struct planner_status_version *v = &st->versions[i];

		if (v->state == PLANNER_STATE_DRAINING ||
		    v->state == PLANNER_STATE_NOT_REGISTERED ||
		    v->ndeployments == 0)
			return true;
		if (v->target && v->state != PLANNER_STATE_CURRENT &&
		    st->rollout != SETTINGS_ROLLOUT_MANUAL)
			return true;
	}
	return false;
}

/* The report interval that applies (the target's, else this pod's). */
int64_t
ld_report_ms(const struct leader *ld)
{
	const struct ld_dep *t = observe_target(ld);
	int64_t ms = t != NULL ? t->settings.report_interval_ms :
	    ld->settings.report_interval_ms;

	return ms > 0 ? ms : 15000;
}

/*
 * How often Temporal is read while waiting on it: the report interval,
 * kept between 1 s and the resync period (DESIGN §9 allows one Describe per
 * 10 s at steady state; the default interval is 15 s).
 */
static int64_t
ld_poll_ms(const struct leader *ld)
{
	int64_t ms = ld_report_ms(ld);

	if (ms < 1000)
		ms = 1000;
	return ms < ld->resync_ms ? ms : ld->resync_ms;
}

/* A pass ended: publish, schedule what follows, free it. */
void
ld_pass_end(struct ld_pass *p)
{
	struct leader *ld = p->ld;
	struct backoff_policy bp = { 500, 10000, 0 };
	int64_t now = kube_now_ms(), delay;

	ld->pass = NULL;
	ld->st.last_pass_ms = now - p->started_ms;
	if (p->failed) {
		ld->st.passes_failed++;
		if (p->conflict) {
			ld->st.passes_conflict++;
			bp.base_ms = 100;
		}
		ld->failures++;
		ld_set_error(ld, p->conflict ? "conflict; observing again" :
		    "pass failed", p->error != NULL ? p->error : "unknown");
		delay = backoff_delay(&bp, ld->failures - 1, ld_random(ld), -1);
		ld->backoff_until_ms = now + delay;
		ld_schedule(ld, delay);
	} else {
		ld->st.passes_ok++;
		ld->failures = 0;
		ld->backoff_until_ms = 0;
		if (p->acted > 0) {
			ld->busy_passes++;
			ld_schedule(ld, ld->busy_passes > LD_BUSY_PASSES ? 1000 : 0);
		} else {
			ld->busy_passes = 0;
			if (ld->again)
				ld_schedule(ld, 0);
		}
	}
	ld->again = false;
	if (ld->wake_at != 0) {
		/* a little late, so that the planner sees the time as passed */
		delay = ld->wake_at - ld_wall_ms();
		ld_schedule(ld, delay >= 0 ? delay + 5 : 1000);
	}
	ld_schedule(ld, ld->resync_ms);
	if (p->planned && ld_awaits_temporal(&p->res.status))
		ld_schedule(ld, ld_poll_ms(ld));
	if (p->planned)
		ld_status_update(ld, &p->res);
	ld_pass_free(p);
}

/* Resource version of a Lease object as a number, or -1. */
static long long
ld_rv(json_t *obj)
{
	const char *s = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "resourceVersion"));
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	return *end == '\0' && v >= 0 ? v : -1;
}

/* Take a Lease object (borrowed) as the latest; re-plan if health changed. */
static void
ld_lease_take(struct leader *ld, json_t *obj)
{
	long long have, got;
	bool first;

	if (!json_is_object(json_object_get(obj, "metadata")))
		return;
	/*
	 * Objects reach us from several requests; numeric resource versions
	 * (every server in practice) let an older answer arriving late be
	 * skipped. Opaque ones are simply taken.
	 */
	have = ld->lease_obj != NULL ? ld_rv(ld->lease_obj) : -1;
	got = ld_rv(obj);
	if (have >= 0 && got >= 0 && got < have)
		return;
	json_incref(obj);
	json_decref(ld->lease_obj);
	ld->lease_obj = obj;
	if (!ld->active)
		return;
	first = !ld->lease_seen;
	if (first || kube_now_ms() - ld->lease_seen_ms > ld_report_ms(ld)) {
		if (!first)
			log_info("leader", "the Lease was out of sight for more "
			    "than a report interval; health entries count as "
			    "fresh from now");
		ld->view_start = ld_wall_ms();
	}
	ld->lease_seen = true;
	ld->lease_seen_ms = kube_now_ms();
	if (observe_health(ld) || first)
		ld_trigger(ld, "health board");
}

/* The Deployment watch reported something. */
static void
ld_dwatch_cb(enum kubewatch_what what, json_t *obj,
    const struct kube_error *err, void *arg)
{
	struct leader *ld = arg;
	char *msg;

	if (what == KUBEWATCH_FAILED) {
		ld_count_kube(ld, err);
		msg = kube_error_string(err);
		log_warn("leader", "Deployment watch failed; retrying",
		    LS("error", msg));
		free(msg);
		return;
	}
	if (observe_deployment_event(ld, what, obj) || (what == KUBEWATCH_SYNC &&
	    !ld->dsynced)) {
		ld->dsynced = true;
		ld_trigger(ld, "Deployments");
	}
}

/* The Lease watch reported something. */
static void
ld_lwatch_cb(enum kubewatch_what what, json_t *obj,
    const struct kube_error *err, void *arg)
{
	struct leader *ld = arg;
	char *msg;

	switch (what) {
	case KUBEWATCH_SYNC:
		if (json_array_size(json_object_get(obj, "items")) > 0)
			ld_lease_take(ld, json_array_get(json_object_get(obj,
			    "items"), 0));
		break;
	case KUBEWATCH_ADDED:
	case KUBEWATCH_MODIFIED:
		ld_lease_take(ld, obj);
		break;
	case KUBEWATCH_FAILED:
		ld_count_kube(ld, err);
		msg = kube_error_string(err);
		log_debug("leader", "Lease watch failed; retrying",
		    LS("error", msg));
		free(msg);
		break;
	default:
		break;
	}
}

/* A leader for the configuration. */
struct leader *
leader_new(struct event_base *base, struct kube *k, struct lease *l,
    const struct leader_config *cfg, char **cause)
{
	struct leader *ld;

	if (cfg->k8s_namespace == NULL || *cfg->k8s_namespace == '\0' ||
	    cfg->pod == NULL || *cfg->pod == '\0' || cfg->lease_name == NULL ||
	    *cfg->lease_name == '\0') {
		*cause = xstrdup("leader: namespace, pod and Lease name must be "
		    "set");
		return NULL;
	}
	if (cfg->deployment == NULL ||
	    settings_check_deployment_label(cfg->deployment, cause) != 0) {
		if (cfg->deployment == NULL)
			*cause = xstrdup("leader: the twa.dev/deployment label "
			    "value must be set");
		return NULL;
	}
	if (base == NULL || k == NULL || l == NULL) {
		*cause = xstrdup("leader: event base, Kubernetes client and "
		    "elector are required");
		return NULL;
	}
	ld = xcalloc(1, sizeof *ld);
	ld->base = base;
	ld->kube = k;
	ld->lease = l;
	ld->ns = xstrdup(cfg->k8s_namespace);
	ld->label = xstrdup(cfg->deployment);
	ld->pod = xstrdup(cfg->pod);
	ld->lease_name = xstrdup(cfg->lease_name);
	ld->tdeployment = xasprintf("%s/%s", cfg->k8s_namespace, cfg->deployment);
	ld->identity = xasprintf("twa:%s/%s", cfg->k8s_namespace,
	    cfg->deployment);
#define LD_DUP(x) ((x) != NULL && *(x) != '\0' ? xstrdup(x) : NULL)
	ld->t_address = LD_DUP(cfg->temporal_address);
	ld->t_ca_file = LD_DUP(cfg->temporal_ca_file);
	ld->t_cert_file = LD_DUP(cfg->temporal_cert_file);
	ld->t_key_file = LD_DUP(cfg->temporal_key_file);
	ld->t_api_key_file = LD_DUP(cfg->temporal_api_key_file);
#undef LD_DUP
	ld->t_tls = cfg->temporal_tls;
	if (cfg->settings != NULL)
		settings_copy(&ld->settings, cfg->settings);
	else
		settings_defaults(&ld->settings);
	ld->resync_ms = cfg->resync_ms > 0 ? cfg->resync_ms : 30000;
	ld->pass_timer = evtimer_new(base, ld_pass_timer_cb, ld);
	ld->rnd = ((uint64_t)ld_wall_ms() << 16) ^ (uint64_t)(uintptr_t)ld;
	if (ld->rnd == 0)
		ld->rnd = 0x9e3779b97f4a7c15ULL;
	return ld;
}

/* The status timer fired: publish (refresh) the summary. */
static void
ld_status_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ld_status_publish(arg);
}

/* Leadership began. */
void
leader_start(struct leader *ld)
{
	char *path, *query, *cause = NULL;

	if (ld->active)
		return;
	ld->active = true;
	ld->dsynced = false;
	ld->lease_seen = false;
	ld->failures = 0;
	ld->backoff_until_ms = 0;
	ld->busy_passes = 0;
	ld->wake_at = 0;
	if (ld->status_timer == NULL)
		ld->status_timer = evtimer_new(ld->base, ld_status_timer_cb, ld);
	log_info("leader", "leading: starting the leader loop",
	    LS("deployment", ld->tdeployment), LS("identity", ld->identity));
	/* without an address here, the first pass takes the target's */
	if ((ld->t_address != NULL || ld->settings.temporal_address != NULL) &&
	    observe_connect(ld, &cause) != 0) {
		ld_set_error(ld, "Temporal client", cause);
		free(cause);
	}
	path = xasprintf("/apis/apps/v1/namespaces/%s/deployments", ld->ns);
	query = xasprintf("labelSelector=twa.dev%%2Fdeployment%%3D%s", ld->label);
	ld->dwatch = kubewatch_start(ld->kube, path, query, 0, ld_dwatch_cb, ld);
	free(path);
	free(query);
	path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases",
	    ld->ns);
	query = xasprintf("fieldSelector=metadata.name%%3D%s", ld->lease_name);
	ld->lwatch = kubewatch_start(ld->kube, path, query, 0, ld_lwatch_cb, ld);
	free(path);
	free(query);
	/*
	 * The first pass waits for a Lease read after this point (the watch
	 * lists it at once): health from before could be a report interval
	 * old, too old to judge a ramp by.
	 */
}

/* Leadership ended: stop at once. */
void
leader_stop(struct leader *ld)
{
	struct ld_pass *p;

	if (!ld->active)
		return;
	ld->active = false;
	log_info("leader", "stopped leading");
	kubewatch_stop(ld->dwatch);
	ld->dwatch = NULL;
	kubewatch_stop(ld->lwatch);
	ld->lwatch = NULL;
	evtimer_del(ld->pass_timer);
	ld->pass_due_ms = 0;
	if (ld->status_timer != NULL)
		evtimer_del(ld->status_timer);
	if (ld->status_req != NULL) {
		kube_cancel(ld->status_req);
		ld->status_req = NULL;
	}
	act_events_cancel(ld);
	p = ld->pass;
	ld->pass = NULL;
	if (p != NULL) {
		p->dead = true;
		if (p->kreq != NULL) {
			kube_cancel(p->kreq);
			p->kreq = NULL;
			p->pending--;
		}
		if (p->pending == 0)
			ld_pass_free(p);
		/* else: the Temporal calls report CANCELLED below and free it */
	}
	if (ld->temporal != NULL) {
		temporal_free(ld->temporal);
		ld->temporal = NULL;
	}
	free(ld->conn_address);
	free(ld->conn_namespace);
	free(ld->conn_server_name);
	ld->conn_address = ld->conn_namespace = ld->conn_server_name = NULL;
	observe_deployments_clear(ld);
	observe_health_clear(ld);
	act_events_clear(ld);
	json_decref(ld->status);
	ld->status = NULL;
	free(ld->status_text);
	free(ld->published);
	ld->status_text = ld->published = NULL;
	ld->published_ms = 0;
	ld->status_dirty = false;
	for (int i = 0; i < 2; i++) {
		free(ld->standby[i]);
		ld->standby[i] = NULL;
	}
	free(ld->summary);
	ld->summary = NULL;
	ld->dsynced = ld->lease_seen = false;
	ld->again = false;
}

/* Whether leading. */
bool
leader_active(const struct leader *ld)
{
	return ld != NULL && ld->active;
}

/* A Lease object seen by the agent process. */
void
leader_observe_lease(struct leader *ld, json_t *lease_obj)
{
	if (ld == NULL || lease_obj == NULL)
		return;
	ld_lease_take(ld, lease_obj);
}

/* This pod's settings changed. */
void
leader_set_settings(struct leader *ld, const struct settings *s)
{
	if (s == NULL)
		return;
	settings_clear(&ld->settings);
	settings_copy(&ld->settings, s);
	ld_trigger(ld, "settings");
}

/* Stale limit of health entries in ms. */
static int64_t
ld_stale_ms(const struct leader *ld)
{
	return ld->settings.report_interval_ms * PLANNER_STALE_INTERVALS;
}

/*
 * Choose the standby set: two ready agents with fresh entries other than
 * this one, keeping the previous standbys while they qualify, then by name.
 */
static void
ld_pick_standby(struct leader *ld, int64_t now)
{
	const char *pick[2] = { NULL, NULL };
	size_t n = 0;

	for (int pass = 0; pass < 2 && n < 2; pass++) {
		for (size_t i = 0; i < ld->nhealth && n < 2; i++) {
			const struct ld_health *h = &ld->health[i];
			bool prev = false;

			if (h->state != PLANNER_POD_READY ||
			    strcmp(h->pod, ld->pod) == 0 ||
			    h->written_at + ld_stale_ms(ld) < now ||
			    (n == 1 && strcmp(pick[0], h->pod) == 0))
				continue;
			for (int j = 0; j < 2; j++)
				prev |= ld->standby[j] != NULL &&
				    strcmp(ld->standby[j], h->pod) == 0;
			if (pass == 0 && !prev)
				continue;
			pick[n++] = h->pod;
		}
	}
	for (size_t i = 0; i < 2; i++) {
		char *s = pick[i] != NULL ? xstrdup(pick[i]) : NULL;

		free(ld->standby[i]);
		ld->standby[i] = s;
	}
}

/* Rebuild the summary from a plan; publish it when it changed. */
static void
ld_status_update(struct leader *ld, const struct planner_result *r)
{
	json_t *st = planner_status_json(&r->status), *sb, *o;
	int64_t now = ld_wall_ms();
	char t[TIMEFMT_MICRO_LEN], *text;

	ld_pick_standby(ld, now);
	ld->ramp_percent = 0;
	for (size_t i = 0; i < r->status.nversions; i++)
		if (r->status.versions[i].state == PLANNER_STATE_RAMPING)
			ld->ramp_percent = r->status.versions[i].ramp_percent;
	json_object_set_new(st, "deployment", json_string(ld->tdeployment));
	json_object_set_new(st, "leader", json_string(ld->pod));
	if (ld->status_cb == NULL) {	/* else the board names them */
		sb = json_array();
		for (int i = 0; i < 2; i++)
			if (ld->standby[i] != NULL)
				json_array_append_new(sb,
				    json_string(ld->standby[i]));
		json_object_set_new(st, "standbys", sb);
	}
	if (r->summary != NULL)
		json_object_set_new(st, "summary", json_string(r->summary));
	if (r->wake_at != 0) {
		ld_fmt(r->wake_at, t);
		json_object_set_new(st, "nextWakeAt", json_string(t));
	}
	if (ld->conn_address != NULL)
		json_object_set_new(st, "temporal", json_pack("{s:s,s:s}",
		    "address", ld->conn_address, "namespace",
		    ld->conn_namespace));
	if (ld->last_action != NULL) {
		ld_fmt(ld->last_action_at, t);
		o = json_pack("{s:s,s:s,s:s,s:s}", "at", t, "action",
		    ld->last_action, "reason", ld->last_action_reason,
		    "outcome", ld->last_action_outcome);
		json_object_set_new(st, "lastAction", o);
	}
	if (ld->last_error != NULL) {
		ld_fmt(ld->last_error_at, t);
		o = json_pack("{s:s,s:s}", "at", t, "message", ld->last_error);
		json_object_set_new(st, "lastError", o);
	}
	text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(ld->status);
	ld->status = st;
	if (ld->status_text != NULL && text != NULL &&
	    strcmp(ld->status_text, text) == 0) {
		free(text);
		return;
	}
	free(ld->status_text);
	ld->status_text = text;
	if (ld->status_cb != NULL)
		ld->status_cb(st, ld->status_arg);
	else
		ld_status_publish(ld);
}

/* Hand summaries to cb instead of writing them. */
void
leader_set_status_cb(struct leader *ld, leader_status_cb cb, void *arg)
{
	ld->status_cb = cb;
	ld->status_arg = arg;
}

/* The status write answered. */
static void
ld_status_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct leader *ld = arg;
	struct timeval tv = { 1, 0 };
	char *msg;

	ld->status_req = NULL;
	if (err != NULL) {
		ld_count_kube(ld, err);
		msg = kube_error_string(err);
		log_warn("leader", "cannot write the status", LS("error", msg));
		free(msg);
		free(ld->published);
		ld->published = NULL;
		evtimer_add(ld->status_timer, &tv);
		return;
	}
	ld->st.status_writes++;
	ld_lease_take(ld, obj);
	if (!ld->active)
		return;
	ld_status_publish(ld);
}

/* Write the summary if it changed (debounced) or is due for a refresh. */
static void
ld_status_publish(struct leader *ld)
{
	int64_t now = kube_now_ms(), due, report = ld->settings.report_interval_ms;
	struct kube_opts o = { .retry = KUBE_RETRY_IDEMPOTENT };
	struct timeval tv;
	char t[TIMEFMT_MICRO_LEN], *text, *path;
	json_t *copy, *patch;
	bool changed;

	if (!ld->active || ld->status == NULL || ld->status_req != NULL)
		return;
	if (report <= 0)
		report = 15000;
	changed = ld->published == NULL ||
	    strcmp(ld->published, ld->status_text) != 0;
	due = ld->published_ms + (changed ? LD_STATUS_DEBOUNCE_MS : report);
	if (ld->published != NULL && now < due) {
		tv.tv_sec = (due - now) / 1000;
		tv.tv_usec = ((due - now) % 1000) * 1000;
		evtimer_add(ld->status_timer, &tv);
		return;
	}
	if (!lease_leading(ld->lease))
		return;
	copy = json_deep_copy(ld->status);
	ld_fmt(ld_wall_ms(), t);
	json_object_set_new(copy, "writtenAt", json_string(t));
	text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
	    "twa.dev/status", text);
	free(text);
	path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s",
	    ld->ns, ld->lease_name);
	free(ld->published);
	ld->published = xstrdup(ld->status_text);
	ld->published_ms = now;
	ld->status_req = kube_patch(ld->kube, path, KUBE_PATCH_MERGE, patch, &o,
	    ld_status_cb, ld);
	free(path);
	json_decref(patch);
	tv.tv_sec = report / 1000;
	tv.tv_usec = (report % 1000) * 1000;
	evtimer_add(ld->status_timer, &tv);
}

/* The leader's summary; NULL when not leading. */
json_t *
leader_status(const struct leader *ld)
{
	if (ld == NULL || !ld->active || ld->status == NULL)
		return NULL;
	return json_deep_copy(ld->status);
}

/* Prometheus text metrics of the leader. */
void
leader_metrics(const struct leader *ld, FILE *out)
{
	static const char *const cls[] = { "other", "1xx", "2xx", "3xx", "4xx",
	    "5xx" };
	const struct ld_stats *s = &ld->st;

	fprintf(out, "# HELP twa_leader_passes_total Leader passes "
	    "(observe, plan, act) by result.\n"
	    "# TYPE twa_leader_passes_total counter\n"
	    "twa_leader_passes_total{result=\"ok\"} %" PRIu64 "\n"
	    "twa_leader_passes_total{result=\"failed\"} %" PRIu64 "\n"
	    "twa_leader_passes_total{result=\"conflict\"} %" PRIu64 "\n",
	    s->passes_ok, s->passes_failed - s->passes_conflict,
	    s->passes_conflict);
	fprintf(out, "# HELP twa_leader_pass_seconds Duration of the last "
	    "pass.\n# TYPE twa_leader_pass_seconds gauge\n"
	    "twa_leader_pass_seconds %.3f\n", (double)s->last_pass_ms / 1000);
	fprintf(out, "# HELP twa_leader_actions_total Actions executed by "
	    "kind and result.\n# TYPE twa_leader_actions_total counter\n");
	for (int k = 0; k <= PLANNER_EVENT; k++) {
		const char *name = planner_action_name((enum planner_action_kind)k);

		fprintf(out, "twa_leader_actions_total{action=\"%s\","
		    "result=\"ok\"} %" PRIu64 "\n", name, s->actions_ok[k]);
		fprintf(out, "twa_leader_actions_total{action=\"%s\","
		    "result=\"failed\"} %" PRIu64 "\n", name,
		    s->actions_failed[k]);
	}
	fprintf(out, "# HELP twa_leader_events_total Kubernetes Events by "
	    "result.\n# TYPE twa_leader_events_total counter\n"
	    "twa_leader_events_total{result=\"created\"} %" PRIu64 "\n"
	    "twa_leader_events_total{result=\"deduplicated\"} %" PRIu64 "\n"
	    "twa_leader_events_total{result=\"failed\"} %" PRIu64 "\n",
	    s->events_created, s->events_deduplicated, s->events_failed);
	fprintf(out, "# HELP twa_leader_temporal_errors_total Temporal call "
	    "errors by gRPC code.\n"
	    "# TYPE twa_leader_temporal_errors_total counter\n");
	for (int c = 1; c < 17; c++)
		if (s->temporal_errors[c] > 0)
			fprintf(out, "twa_leader_temporal_errors_total{code=\"%s\"}"
			    " %" PRIu64 "\n", temporal_code_name(c),
			    s->temporal_errors[c]);
	fprintf(out, "# HELP twa_leader_kube_errors_total Kubernetes API "
	    "errors of the leader by HTTP status class.\n"
	    "# TYPE twa_leader_kube_errors_total counter\n");
	for (int c = 1; c < 6; c++)
		if (s->kube_errors_http[c] > 0)
			fprintf(out, "twa_leader_kube_errors_total{code=\"%s\"} "
			    "%" PRIu64 "\n", cls[c], s->kube_errors_http[c]);
	fprintf(out, "twa_leader_kube_errors_total{code=\"%s\"} %" PRIu64 "\n",
	    cls[0], s->kube_errors_other + s->kube_errors_http[0]);
	fprintf(out, "# HELP twa_leader_status_writes_total Writes of the "
	    "twa.dev/status annotation.\n"
	    "# TYPE twa_leader_status_writes_total counter\n"
	    "twa_leader_status_writes_total %" PRIu64 "\n", s->status_writes);
	if (!ld->active)
		return;
	fprintf(out, "# HELP twa_leader_ramp_percent Ramp percentage of the "
	    "ramping version (0: none).\n# TYPE twa_leader_ramp_percent gauge\n"
	    "twa_leader_ramp_percent %g\n", ld->ramp_percent);
	fprintf(out, "# HELP twa_leader_deployments Deployments carrying the "
	    "label.\n# TYPE twa_leader_deployments gauge\n"
	    "twa_leader_deployments %zu\n", ld->ndeps);
	fprintf(out, "# HELP twa_leader_health_entries Health entries on the "
	    "Lease.\n# TYPE twa_leader_health_entries gauge\n"
	    "twa_leader_health_entries %zu\n", ld->nhealth);
	fprintf(out, "# HELP twa_version_state Version states (1 for the "
	    "state a version is in).\n# TYPE twa_version_state gauge\n");
	if (ld->status != NULL) {
		json_t *v;
		size_t i;

		json_array_foreach(json_object_get(ld->status, "versions"), i, v) {
			const char *b = json_string_value(json_object_get(v,
			    "build"));
			const char *st = json_string_value(json_object_get(v,
			    "state"));
			char state[32];
			size_t n;

			if (b == NULL || st == NULL)
				continue;
			n = strcspn(st, " ");
			snprintf(state, sizeof state, "%.*s", (int)n, st);
			fprintf(out, "twa_version_state{build=\"%s\",state=\"%s\"}"
			    " 1\n", b, state);
		}
	}
}

/* Stop if active and free. */
void
leader_free(struct leader *ld)
{
	if (ld == NULL)
		return;
	leader_stop(ld);
	if (ld->pass_timer != NULL)
		event_free(ld->pass_timer);
	if (ld->status_timer != NULL)
		event_free(ld->status_timer);
	json_decref(ld->lease_obj);
	free(ld->ns);
	free(ld->label);
	free(ld->pod);
	free(ld->lease_name);
	free(ld->tdeployment);
	free(ld->identity);
	free(ld->t_address);
	free(ld->t_ca_file);
	free(ld->t_cert_file);
	free(ld->t_key_file);
	free(ld->t_api_key_file);
	settings_clear(&ld->settings);
	free(ld->last_action);
	free(ld->last_action_reason);
	free(ld->last_action_outcome);
	free(ld->last_error);
	free(ld->summary);
	free(ld);
}
