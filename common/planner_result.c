/* planner_result: actions, status and their text and JSON forms. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "planner.h"
#include "planner_int.h"
#include "timefmt.h"
#include "xalloc.h"

/* Append an action about v (never NULL), regarding v's newest Deployment. */
struct planner_action *
pl_push(struct pl_ctx *c, enum planner_action_kind k, struct pl_version *v,
    enum planner_event_type et, const char *event_reason, const char *fmt, ...)
{
	struct planner_result *r = c->out;
	struct planner_action *a;
	va_list ap;

	if (r->nactions == c->acap) {
		c->acap = c->acap == 0 ? 8 : c->acap * 2;
		r->actions = xreallocarray(r->actions, c->acap, sizeof *a);
	}
	a = &r->actions[r->nactions++];
	memset(a, 0, sizeof *a);
	a->kind = k;
	va_start(ap, fmt);
	a->reason = xvasprintf(fmt, ap);
	va_end(ap);
	a->event_type = et;
	a->event_reason = xstrdup(event_reason);
	if (v->newest != NULL) {
		a->regarding_name = xstrdup(v->newest->name);
		a->regarding_uid = xstrdup(v->newest->uid);
	}
	if (k != PLANNER_EVENT && r->summary == NULL)
		r->summary = xstrdup(a->reason);
	return a;
}

/* Append an Event about v (never NULL), regarding d (NULL: v's newest). */
void
pl_event(struct pl_ctx *c, struct pl_version *v,
    const struct planner_deployment *d, enum planner_event_type et,
    const char *event_reason, const char *fmt, ...)
{
	struct planner_action *a;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	a = pl_push(c, PLANNER_EVENT, v, et, event_reason, "%s", msg);
	a->message = msg;
	a->build_id = xstrdup(v->build);
	if (d != NULL) {
		free(a->regarding_name);
		free(a->regarding_uid);
		a->regarding_name = xstrdup(d->name);
		a->regarding_uid = xstrdup(d->uid);
	}
}

/* Make msg the plan's summary unless a decision was noted first. */
static void
note(struct pl_ctx *c, const char *msg)
{
	if (c->out->summary == NULL)
		c->out->summary = xstrdup(msg);
}

/* Note a decision that is neither an action nor a block (a timed wait). */
void
pl_note(struct pl_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	note(c, msg);
	free(msg);
}

/* Record why nothing happens for v (NULL: deployment-wide); first one wins. */
void
pl_block(struct pl_ctx *c, struct pl_version *v, const char *fmt, ...)
{
	char **slot = v != NULL ? &v->st->blocked : &c->out->status.blocked;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	note(c, msg);
	if (*slot == NULL)
		*slot = msg;
	else
		free(msg);
}

/* Block a Temporal write about v: another client holds the identity. */
void
pl_held(struct pl_ctx *c, struct pl_version *v, const char *wanted)
{
	pl_event(c, v, NULL, PLANNER_EVENT_WARNING, "ManagerIdentityHeld",
	    "the manager identity of %s is held by '%s', not '%s'; twa makes "
	    "no Temporal writes until it is released (wanted: %s)",
	    c->cfg->deployment_name, c->obs->manager_identity,
	    c->cfg->identity, wanted);
	pl_block(c, NULL, "manager identity held by '%s'; no Temporal writes "
	    "(wanted: %s)", c->obs->manager_identity, wanted);
}

/* Ask to be woken at t (after now) unless an earlier wake-up is asked. */
void
pl_wake(struct pl_ctx *c, int64_t t)
{
	if (c->out->wake_at == 0 || t < c->out->wake_at)
		c->out->wake_at = t;
}

/* Stable sort of actions into execution order (the kind order). */
void
pl_sort(struct planner_result *r)
{
	for (size_t i = 1; i < r->nactions; i++) {
		struct planner_action a = r->actions[i];
		size_t j = i;

		for (; j > 0 && r->actions[j - 1].kind > a.kind; j--)
			r->actions[j] = r->actions[j - 1];
		r->actions[j] = a;
	}
}

/* Write ms since the epoch as RFC 3339, six digits; 0 is "an unknown time". */
void
pl_fmt_time(int64_t ms, char *buf, size_t len)
{
	char t[TIMEFMT_MICRO_LEN];

	if (ms == 0) {
		snprintf(buf, len, "an unknown time");
		return;
	}
	if (ms > INT64_MAX / 1000)
		ms = INT64_MAX / 1000;
	if (ms < INT64_MIN / 1000)
		ms = INT64_MIN / 1000;
	timefmt_micro(ms * 1000, t);
	snprintf(buf, len, "%s", t);
}

/* Write a duration in ms the way annotations spell it ("5m"). */
void
pl_fmt_dur(int64_t ms, char *buf, size_t len)
{
	char d[PARSE_DURATION_LEN];

	parse_duration_format(ms, d);
	snprintf(buf, len, "%s", d);
}

/* Release one action's strings. */
static void
action_free(struct planner_action *a)
{
	free(a->reason);
	free(a->event_reason);
	free(a->regarding_name);
	free(a->regarding_uid);
	free(a->build_id);
	free(a->identity);
	free(a->conflict_token);
	free(a->workflow_id);
	free(a->workflow_type);
	free(a->task_queue);
	free(a->input);
	free(a->deployment);
	free(a->uid);
	free(a->message);
}

/* Release everything a result owns and zero it. */
void
planner_result_free(struct planner_result *r)
{
	struct planner_status *st = &r->status;

	for (size_t i = 0; i < r->nactions; i++)
		action_free(&r->actions[i]);
	free(r->actions);
	free(r->summary);
	for (size_t i = 0; i < st->nversions; i++) {
		free(st->versions[i].build_id);
		free(st->versions[i].blocked);
	}
	free(st->versions);
	free(st->target_build_id);
	free(st->blocked);
	memset(r, 0, sizeof *r);
}

/* FNV-1a, 64 bits, over the three parts and their separators. */
static uint64_t
fnv1a(const char *const part[3])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < 3; i++) {
		for (const unsigned char *p = (const unsigned char *)part[i];
		    *p != '\0'; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
		}
		h ^= ':';
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Gate workflow ID of (deployment, build, task queue); see planner.h. */
size_t
planner_gate_id(const char *deployment, const char *build_id,
    const char *task_queue, char out[PLANNER_GATE_ID_MAX + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	const char *const part[3] = { deployment, build_id, task_queue };
	size_t n = 0, full = 0;

	memcpy(out, "twa-gate", 8);
	n = full = 8;
	for (int i = 0; i < 3; i++) {
		const unsigned char *p = (const unsigned char *)part[i];
		char e[3];
		size_t el;

		for (bool sep = true; sep || *p != '\0'; sep = false) {
			if (sep) {
				e[0] = ':';
				el = 1;
			} else {
				unsigned char ch = *p++;

				if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' &&
				    ch <= 'z') || (ch >= '0' && ch <= '9') ||
				    ch == '.' || ch == '_' || ch == '/' || ch == '-') {
					e[0] = (char)ch;
					el = 1;
				} else {
					e[0] = '%';
					e[1] = hex[ch >> 4];
					e[2] = hex[ch & 15];
					el = 3;
				}
			}
			full += el;
			if (n + el <= PLANNER_GATE_ID_MAX) {
				memcpy(out + n, e, el);
				n += el;
			}
		}
	}
	if (full > PLANNER_GATE_ID_MAX) {
		n = PLANNER_GATE_ID_MAX - 17;
		snprintf(out + n, 18, "~%016llx",
		    (unsigned long long)fnv1a(part));
		n = PLANNER_GATE_ID_MAX;
	}
	out[n] = '\0';
	return n;
}

/* Name of a state (static). */
const char *
planner_state_name(enum planner_state s)
{
	static const char *const names[] = { "NotRegistered", "Inactive",
	    "Ramping", "Current", "Draining", "Drained" };

	if ((unsigned)s >= sizeof names / sizeof names[0])
		return "Unknown";
	return names[s];
}

/* Name of an action kind (static). */
const char *
planner_action_name(enum planner_action_kind k)
{
	static const char *const names[] = { "ClaimManager", "SetCurrent",
	    "SetRamping", "StartGate", "Scale", "DeleteDeployment",
	    "DeleteVersion", "Event" };

	if ((unsigned)k >= sizeof names / sizeof names[0])
		return "Unknown";
	return names[k];
}

/* One-line description of an action without its reason. Caller frees. */
char *
planner_action_format(const struct planner_action *a)
{
	const char *name = planner_action_name(a->kind);

	switch (a->kind) {
	case PLANNER_CLAIM_MANAGER:
		return xasprintf("%s %s", name, a->identity);
	case PLANNER_SET_CURRENT:
		return xasprintf("%s %s", name, a->build_id);
	case PLANNER_SET_RAMPING:
		if (a->build_id == NULL)
			return xasprintf("%s clear", name);
		return xasprintf("%s %s %d%%", name, a->build_id, a->percent);
	case PLANNER_START_GATE:
		return xasprintf("%s %s %s", name, a->build_id, a->task_queue);
	case PLANNER_SCALE:
		return xasprintf("%s %s %d", name, a->deployment,
		    (int)a->replicas);
	case PLANNER_DELETE_DEPLOYMENT:
		return xasprintf("%s %s", name, a->deployment);
	case PLANNER_DELETE_VERSION:
		return xasprintf("%s %s", name, a->build_id);
	case PLANNER_EVENT:
		return xasprintf("%s %s %s", name, a->event_type ==
		    PLANNER_EVENT_WARNING ? "Warning" : "Normal",
		    a->event_reason);
	}
	return xasprintf("%s", name);
}

/* Set key to an RFC 3339 time unless t is 0. */
static void
json_time(json_t *o, const char *key, int64_t t)
{
	char buf[40];

	if (t == 0)
		return;
	pl_fmt_time(t, buf, sizeof buf);
	json_object_set_new(o, key, json_string(buf));
}

/* The status as a JSON object (see planner.h). Caller decrefs. */
json_t *
planner_status_json(const struct planner_status *st)
{
	static const char *const rollout[] = { "Manual", "AllAtOnce",
	    "Progressive" };
	json_t *o = json_object(), *vs = json_array();

	json_object_set_new(o, "target", st->target_build_id != NULL ?
	    json_string(st->target_build_id) : json_null());
	json_object_set_new(o, "rollout", json_string(
	    (unsigned)st->rollout < 3 ? rollout[st->rollout] : "Unknown"));
	if (st->blocked != NULL)
		json_object_set_new(o, "blocked", json_string(st->blocked));
	json_object_set_new(o, "unknownHealth",
	    json_integer((json_int_t)st->unknown_health));
	json_object_set_new(o, "staleHealth",
	    json_integer((json_int_t)st->stale_health));
	for (size_t i = 0; i < st->nversions; i++) {
		const struct planner_status_version *v = &st->versions[i];
		json_t *j = json_object();
		char *state;

		if (v->state == PLANNER_STATE_RAMPING)
			state = xasprintf("Ramping %g%%", v->ramp_percent);
		else
			state = xstrdup(planner_state_name(v->state));
		json_object_set_new(j, "build", json_string(v->build_id));
		json_object_set_new(j, "state", json_string(state));
		free(state);
		json_object_set_new(j, "target", json_boolean(v->target));
		json_object_set_new(j, "healthy", json_integer(v->healthy));
		json_object_set_new(j, "total", json_integer(v->total));
		if (v->required > 0)
			json_object_set_new(j, "required",
			    json_integer(v->required));
		json_object_set_new(j, "deployments",
		    json_integer((json_int_t)v->ndeployments));
		if (v->step > 0) {
			json_object_set_new(j, "step", json_integer(v->step));
			json_object_set_new(j, "steps", json_integer(v->nsteps));
		}
		json_time(j, "stepStartedAt", v->step_started_at);
		json_time(j, "nextStepAt", v->next_step_at);
		json_time(j, "scaleDownAt", v->scale_down_at);
		json_time(j, "deleteAt", v->delete_at);
		if (v->blocked != NULL)
			json_object_set_new(j, "blocked", json_string(v->blocked));
		json_array_append_new(vs, j);
	}
	json_object_set_new(o, "versions", vs);
	return o;
}
