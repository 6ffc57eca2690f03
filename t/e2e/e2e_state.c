/* e2e_state: reading the simulators, the timeline, conditions, the human. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "e2e_int.h"
#include "proc.h"
#include "temporal.h"
#include "timefmt.h"
#include "xalloc.h"

/* A string member or "". */
const char *
e2e_s(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* Milliseconds since the epoch of an RFC 3339 time, or 0. */
static long long
e2e_ms(const char *t)
{
	char *cause = NULL;
	int64_t us;

	if (t == NULL || *t == '\0' || timefmt_parse(t, &us, &cause) != 0) {
		free(cause);
		return 0;
	}
	return us / 1000;
}

/* Record a routing state when it differs from the last one. */
static void
e2e_route_note(struct e2e *w, const char *cur, const char *ramp, double pct,
    long long changed)
{
	struct e2e_route *r = w->nroutes > 0 ? &w->routes[w->nroutes - 1] :
	    NULL;

	if (r != NULL && strcmp(r->current, cur) == 0 &&
	    strcmp(r->ramp, ramp) == 0 && r->pct == pct)
		return;
	w->routes = xreallocarray(w->routes, w->nroutes + 1, sizeof *w->routes);
	r = &w->routes[w->nroutes++];
	r->at = e2e_elapsed(w);
	r->changed = changed;
	snprintf(r->current, sizeof r->current, "%s", cur);
	snprintf(r->ramp, sizeof r->ramp, "%s", ramp);
	r->pct = pct;
}

/* Routing states seen (looking once more first). */
size_t
e2e_routes(struct e2e *w, const struct e2e_route **out)
{
	e2e_observe(w);
	*out = w->routes;
	return w->nroutes;
}

/* Find a routing state. */
int
e2e_route_find(struct e2e *w, size_t from, const char *current,
    const char *ramp, double pct)
{
	if (from == 0)
		e2e_observe(w);
	for (size_t i = from; i < w->nroutes; i++)
		if (strcmp(w->routes[i].current, current) == 0 &&
		    strcmp(w->routes[i].ramp, ramp) == 0 &&
		    w->routes[i].pct == pct)
			return (int)i;
	return -1;
}

/* Print what changed in the world since the last look (the timeline). */
void
e2e_observe(struct e2e *w)
{
	json_t *dep = e2e_tdep(w), *list = NULL, *item, *v;
	const char *k;
	char *leader;
	size_t i;
	double pct = 0;

	if (dep != NULL) {
		json_t *r = json_object_get(dep, "routing");
		const char *cur = e2e_s(r, "currentBuildId");
		char ramp[128];

		if (w->tl_current == NULL || strcmp(w->tl_current, cur) != 0) {
			e2e_note(w, "ROUTING current version is now %s",
			    *cur != '\0' ? cur : "(unversioned)");
			free(w->tl_current);
			w->tl_current = xstrdup(cur);
		}
		pct = json_number_value(json_object_get(r,
		    "rampingVersionPercentage"));
		snprintf(ramp, sizeof ramp, "%s %g%%", e2e_s(r, "rampingBuildId"),
		    pct);
		if (json_object_get(r, "rampingBuildId") == NULL ||
		    json_is_null(json_object_get(r, "rampingBuildId")))
			snprintf(ramp, sizeof ramp, "-");
		e2e_route_note(w, cur, strcmp(ramp, "-") == 0 ? "" :
		    e2e_s(r, "rampingBuildId"), strcmp(ramp, "-") == 0 ? 0 : pct,
		    e2e_ms(e2e_s(r, strcmp(ramp, "-") == 0 ?
		    "currentVersionChangedTime" :
		    "rampingVersionPercentageChangedTime")));
		if (w->tl_ramp == NULL || strcmp(w->tl_ramp, ramp) != 0) {
			if (strcmp(ramp, "-") == 0 && w->tl_ramp != NULL)
				e2e_note(w, "ROUTING ramp cleared");
			else if (strcmp(ramp, "-") != 0)
				e2e_note(w, "ROUTING ramping %s", ramp);
			free(w->tl_ramp);
			w->tl_ramp = xstrdup(ramp);
		}
		json_object_foreach(json_object_get(dep, "versions"), k, v) {
			const char *st = e2e_s(v, "status");
			json_t *old = json_object_get(w->tl_versions, k);

			if (old == NULL || strcmp(json_string_value(old), st) != 0) {
				e2e_note(w, "VERSION %s: %s", k, st);
				json_object_set_new(w->tl_versions, k,
				    json_string(st));
			}
		}
		json_object_foreach(w->tl_versions, k, v) {
			if (json_object_get(json_object_get(dep, "versions"), k) ==
			    NULL && strcmp(json_string_value(v), "deleted") != 0) {
				e2e_note(w, "VERSION %s deleted on the Temporal side",
				    k);
				json_object_set_new(w->tl_versions, k,
				    json_string("deleted"));
			}
		}
		json_decref(dep);
	}
	if (e2e_tadmin(w, "GET", "/state", NULL, &list) == 200 && list != NULL) {
		json_t *wfs = json_object_get(json_object_get(json_object_get(
		    list, "namespaces"), "default"), "workflows");

		json_array_foreach(wfs, i, item) {
			const char *id = e2e_s(item, "workflowId");
			const char *st = e2e_s(item, "status");
			json_t *old;

			if (strncmp(id, "twa-gate:", 9) != 0)
				continue;
			old = json_object_get(w->tl_runs, id);
			if (old == NULL || strcmp(json_string_value(old), st) != 0) {
				e2e_note(w, "GATE %s on %s: %s", e2e_s(item,
				    "workflowType"), e2e_s(item, "taskQueue"), st);
				json_object_set_new(w->tl_runs, id, json_string(st));
			}
		}
	}
	json_decref(list);
	list = NULL;
	if (e2e_kadmin(w, "GET", "/objects/deployments?namespace=" E2E_NS, NULL,
	    &list) == 200 && list != NULL) {
		json_t *seen = json_object();

		json_array_foreach(json_object_get(list, "items"), i, item) {
			const char *name = e2e_s(json_object_get(item, "metadata"),
			    "name");
			json_int_t rep = json_integer_value(json_object_get(
			    json_object_get(item, "spec"), "replicas"));
			json_t *old = json_object_get(w->tl_deps, name);

			json_object_set_new(seen, name, json_true());
			if (old == NULL)
				e2e_note(w, "DEPLOYMENT %s created with %lld "
				    "replicas", name, (long long)rep);
			else if (json_integer_value(old) != rep)
				e2e_note(w, "SCALE Deployment %s: %lld -> %lld "
				    "replicas", name,
				    (long long)json_integer_value(old),
				    (long long)rep);
			json_object_set_new(w->tl_deps, name, json_integer(rep));
		}
		json_object_foreach(w->tl_deps, k, v) {
			if (json_object_get(seen, k) == NULL && !json_is_null(v)) {
				e2e_note(w, "DELETE Deployment %s is gone", k);
				json_object_set_new(w->tl_deps, k, json_null());
			}
		}
		json_decref(seen);
	}
	json_decref(list);
	list = NULL;
	if (e2e_kadmin(w, "GET", "/objects/events?namespace=" E2E_NS, NULL,
	    &list) == 200 && list != NULL) {
		json_array_foreach(json_object_get(list, "items"), i, item) {
			const char *name = e2e_s(json_object_get(item, "metadata"),
			    "name");

			if (json_object_get(w->tl_events, name) != NULL)
				continue;
			json_object_set_new(w->tl_events, name, json_true());
			e2e_note(w, "EVENT %s %s on %s: %s", e2e_s(item, "type"),
			    e2e_s(item, "reason"), e2e_s(json_object_get(item,
			    "regarding"), "name"), e2e_s(item, "note"));
		}
	}
	json_decref(list);
	leader = e2e_leader(w);
	if (w->tl_leader == NULL || strcmp(w->tl_leader, leader) != 0) {
		e2e_note(w, "LEADER %s", *leader != '\0' ? leader : "(none)");
		free(w->tl_leader);
		w->tl_leader = leader;
	} else
		free(leader);
}

/* The Temporal deployment from the state dump. */
json_t *
e2e_tdep(struct e2e *w)
{
	json_t *st = NULL, *d;

	if (e2e_tadmin(w, "GET", "/state", NULL, &st) != 200 || st == NULL) {
		json_decref(st);
		return NULL;
	}
	d = json_object_get(json_object_get(json_object_get(json_object_get(st,
	    "namespaces"), "default"), "deployments"), E2E_TDEPLOYMENT);
	json_incref(d);
	json_decref(st);
	return d;
}

/* Current build ID. */
char *
e2e_current(struct e2e *w)
{
	json_t *d = e2e_tdep(w);
	const char *b = json_string_value(json_object_get(json_object_get(d,
	    "routing"), "currentBuildId"));
	char *s = xstrdup(b != NULL ? b : "");

	json_decref(d);
	return s;
}

/* Ramping build and percentage. */
char *
e2e_ramping(struct e2e *w, double *pct)
{
	json_t *d = e2e_tdep(w), *r = json_object_get(d, "routing");
	const char *b = json_string_value(json_object_get(r, "rampingBuildId"));
	char *s = b != NULL ? xstrdup(b) : NULL;

	*pct = json_number_value(json_object_get(r, "rampingVersionPercentage"));
	json_decref(d);
	return s;
}

/* Requests of a method so far. */
long long
e2e_trequests(struct e2e *w, const char *method)
{
	json_t *st = NULL;
	long long n;

	if (e2e_tadmin(w, "GET", "/state", NULL, &st) != 200)
		return -1;
	n = json_integer_value(json_object_get(json_object_get(json_object_get(
	    st, "counters"), "requests"), method));
	json_decref(st);
	return n;
}

/* Errors of a method with a code so far. */
long long
e2e_terrors(struct e2e *w, const char *method, const char *code)
{
	json_t *st = NULL;
	long long n;

	if (e2e_tadmin(w, "GET", "/state", NULL, &st) != 200)
		return -1;
	n = json_integer_value(json_object_get(json_object_get(json_object_get(
	    json_object_get(st, "counters"), "errors"), method), code));
	json_decref(st);
	return n;
}

/* Whether the version exists. */
bool
e2e_version_exists(struct e2e *w, const char *build)
{
	json_t *d = e2e_tdep(w);
	bool r = json_object_get(json_object_get(d, "versions"), build) != NULL;

	json_decref(d);
	return r;
}

/* Status of the latest run of a workflow ID. */
char *
e2e_workflow_status(struct e2e *w, const char *workflow_id)
{
	json_t *st = NULL, *item;
	char *s = NULL;
	size_t i;

	if (e2e_tadmin(w, "GET", "/state", NULL, &st) != 200)
		return NULL;
	json_array_foreach(json_object_get(json_object_get(json_object_get(st,
	    "namespaces"), "default"), "workflows"), i, item) {
		if (strcmp(e2e_s(item, "workflowId"), workflow_id) == 0) {
			free(s);
			s = xstrdup(e2e_s(item, "status"));
		}
	}
	json_decref(st);
	return s;
}

/* A Deployment object. */
json_t *
e2e_deployment(struct e2e *w, const char *name)
{
	char *path = xasprintf("/objects/deployments/%s/%s", E2E_NS, name);
	json_t *o = NULL;
	int status = e2e_kadmin(w, "GET", path, NULL, &o);

	free(path);
	if (status != 200) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* spec.replicas. */
int
e2e_replicas(struct e2e *w, const char *name)
{
	json_t *o = e2e_deployment(w, name);
	int n = o != NULL ? (int)json_integer_value(json_object_get(
	    json_object_get(o, "spec"), "replicas")) : -1;

	json_decref(o);
	return n;
}

/* Count Events. */
int
e2e_events(struct e2e *w, const char *reason, const char *regarding)
{
	json_t *list = NULL, *item;
	size_t i;
	int n = 0;

	if (e2e_kadmin(w, "GET", "/objects/events?namespace=" E2E_NS, NULL,
	    &list) != 200) {
		json_decref(list);
		return 0;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		if (reason != NULL && strcmp(e2e_s(item, "reason"), reason) != 0)
			continue;
		if (regarding != NULL && strcmp(e2e_s(json_object_get(item,
		    "regarding"), "name"), regarding) != 0)
			continue;
		n++;
	}
	json_decref(list);
	return n;
}

/* The Lease. */
json_t *
e2e_lease(struct e2e *w)
{
	json_t *o = NULL;

	if (e2e_kadmin(w, "GET", "/objects/leases/" E2E_NS "/twa-" E2E_LABEL,
	    NULL, &o) != 200) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Holder of the Lease. */
char *
e2e_leader(struct e2e *w)
{
	json_t *l = e2e_lease(w);
	const char *h = json_string_value(json_object_get(json_object_get(l,
	    "spec"), "holderIdentity"));
	char *s = xstrdup(h != NULL ? h : "");

	json_decref(l);
	return s;
}

/* The leader's status. */
json_t *
e2e_status(struct e2e *w)
{
	json_t *l = e2e_lease(w), *st = NULL;
	const char *t = json_string_value(json_object_get(json_object_get(
	    json_object_get(l, "metadata"), "annotations"), "twa.dev/status"));

	if (t != NULL)
		st = json_loads(t, 0, NULL);
	json_decref(l);
	return st;
}

/* Ready health entries of build. */
int
e2e_ready(struct e2e *w, const char *build)
{
	json_t *l = e2e_lease(w), *v, *e;
	const char *k;
	int n = 0;

	json_object_foreach(json_object_get(json_object_get(l, "metadata"),
	    "annotations"), k, v) {
		if (strncmp(k, "agents.twa.dev/", 15) != 0)
			continue;
		e = json_loads(json_string_value(v), 0, NULL);
		if (strcmp(e2e_s(e, "build"), build) == 0 &&
		    strcmp(e2e_s(e, "state"), "ready") == 0)
			n++;
		json_decref(e);
	}
	json_decref(l);
	return n;
}

/* Run twa status --json and parse it. */
json_t *
e2e_status_json(struct e2e *w)
{
	json_error_t jerr;
	json_t *out;
	char *cmd;
	FILE *f;

	cmd = xasprintf("'%s' status " E2E_LABEL " --json --namespace " E2E_NS
	    " --kube-server https://127.0.0.1:%d --kube-ca '%s' "
	    "--kube-token-file '%s'", w->twa, w->kport, w->ca, w->token);
	f = popen(cmd, "r");
	free(cmd);
	if (f == NULL)
		return NULL;
	out = json_loadf(f, 0, &jerr);
	if (pclose(f) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Run twa status and print its table. */
void
e2e_print_status(struct e2e *w)
{
	char *cmd, line[512];
	FILE *f;

	if (w->o.quiet)
		return;
	cmd = xasprintf("'%s' status " E2E_LABEL " --namespace " E2E_NS
	    " --kube-server https://127.0.0.1:%d --kube-ca '%s' "
	    "--kube-token-file '%s' 2>&1", w->twa, w->kport, w->ca, w->token);
	f = popen(cmd, "r");
	free(cmd);
	if (f == NULL)
		return;
	printf("        +--- twa status " E2E_LABEL "\n");
	while (fgets(line, sizeof line, f) != NULL)
		printf("        | %s", line);
	printf("        +---\n");
	fflush(stdout);
	pclose(f);
}

/* Conditions. */
bool
e2e_cond_current(struct e2e *w, void *build)
{
	char *c = e2e_current(w);
	bool r = strcmp(c, build) == 0;

	free(c);
	return r;
}

bool
e2e_cond_ready(struct e2e *w, void *build)
{
	int pods = e2e_pods(w, build);

	return pods > 0 && e2e_ready(w, build) >= pods;
}

bool
e2e_cond_ramp(struct e2e *w, void *arg)
{
	struct e2e_ramp *r = arg;
	double pct;
	char *b = e2e_ramping(w, &pct);
	bool ok = b != NULL && strcmp(b, r->build) == 0 && pct == r->pct;

	free(b);
	return ok;
}

bool
e2e_cond_gone(struct e2e *w, void *name)
{
	return e2e_replicas(w, name) < 0;
}

bool
e2e_cond_scaled_to_zero(struct e2e *w, void *name)
{
	return e2e_replicas(w, name) == 0;
}

bool
e2e_cond_version_deleted(struct e2e *w, void *build)
{
	return !e2e_version_exists(w, build);
}

bool
e2e_cond_event(struct e2e *w, void *reason)
{
	return e2e_events(w, reason, NULL) > 0;
}

bool
e2e_cond_leader(struct e2e *w, void *unused)
{
	char *l = e2e_leader(w);
	json_t *st = e2e_status(w);
	bool r = *l != '\0' && st != NULL;

	(void)unused;
	free(l);
	json_decref(st);
	return r;
}

/* One synchronous Temporal call of the human. */
struct e2e_call {
	struct event_base	*base;
	int			 code;
	bool			 done;
};

/* A token call answered. */
static void
e2e_token_cb(const struct temporal_error *err, const struct temporal_token *t,
    void *arg)
{
	struct e2e_call *c = arg;

	(void)t;
	c->code = err != NULL ? err->code : 0;
	if (err != NULL)
		fprintf(stderr, "e2e: human call: %s: %s\n",
		    temporal_code_name(err->code), err->message);
	c->done = true;
	event_base_loopbreak(c->base);
}

/* Run one human call (manager true: SetManager) and wait for it. */
static int
e2e_human(struct e2e *w, bool manager, const char *arg, double pct)
{
	struct temporal_config cfg = { .address = w->taddr, .ns = "default",
	    .identity = "alice" };
	struct e2e_call c = { 0 };
	struct temporal *t;
	char *cause = NULL;
	int r;

	c.base = event_base_new();
	t = temporal_new(c.base, &cfg, &cause);
	if (t == NULL)
		e2e_die("e2e: human client: %s", cause);
	if (manager)
		r = temporal_set_manager(t, E2E_TDEPLOYMENT, arg, NULL,
		    e2e_token_cb, &c, &cause);
	else
		r = temporal_set_ramping(t, E2E_TDEPLOYMENT, arg, (float)pct,
		    NULL, 0, e2e_token_cb, &c, &cause);
	if (r != 0)
		e2e_die("e2e: human call: %s", cause);
	while (!c.done)
		event_base_dispatch(c.base);
	temporal_free(t);
	event_base_free(c.base);
	if (manager)
		e2e_note(w, "HUMAN alice: SetWorkerDeploymentManager(%s) -> %s",
		    *arg != '\0' ? arg : "(clear)", temporal_code_name(c.code));
	else
		e2e_note(w, "HUMAN alice: SetWorkerDeploymentRampingVersion(%s, "
		    "%g%%) -> %s", arg, pct, temporal_code_name(c.code));
	return c.code;
}

/* The human sets the manager identity. */
int
e2e_human_set_manager(struct e2e *w, const char *manager)
{
	return e2e_human(w, true, manager, 0);
}

/* The human sets the ramp. */
int
e2e_human_set_ramping(struct e2e *w, const char *build, double pct)
{
	return e2e_human(w, false, build, pct);
}

/* Print the world (a failed wait). */
void
e2e_dump(struct e2e *w)
{
	json_t *dep = e2e_tdep(w), *st = e2e_status(w);
	char *s;

	s = dep != NULL ? json_dumps(dep, JSON_INDENT(1)) : xstrdup("null");
	fprintf(stderr, "--- Temporal deployment:\n%s\n", s);
	free(s);
	s = st != NULL ? json_dumps(st, JSON_INDENT(1)) : xstrdup("null");
	fprintf(stderr, "--- leader status:\n%s\n", s);
	free(s);
	json_decref(dep);
	json_decref(st);
	for (size_t i = 0; i < w->npods; i++)
		fprintf(stderr, "--- pod %s build %s agent %d%s\n",
		    w->pods[i].name, w->pods[i].build, (int)w->pods[i].agent,
		    w->pods[i].terminating ? " terminating" : "");
	fprintf(stderr, "--- logs in %s\n", w->dir);
}
