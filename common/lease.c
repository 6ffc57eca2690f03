/* lease: leader election on a coordination.k8s.io/v1 Lease, with client-go semantics. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonpatch.h"
#include "kube.h"
#include "lease.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

enum lease_op { LEASE_OP_NONE, LEASE_OP_GET, LEASE_OP_WRITE, LEASE_OP_CREATE,
    LEASE_OP_RELEASE };

struct lease {
	struct kube		*k;
	char			*name, *ns, *identity, *path, *coll;
	int64_t			 lease_ms, renew_ms, retry_ms, timeout_ms;
	int64_t			 margin_ms;
	bool			 poll, started, released;
	lease_leading_cb	 leading_cb;
	lease_object_cb		 object_cb;
	void			*object_arg;
	void			*arg;

	struct lease_record	 rec;		/* last observed spec */
	bool			 have_rec, missing;
	int64_t			 observed_ms;	/* when rec last changed */
	int64_t			 obs_recv_ms;	/* receive time of the last one taken */

	bool			 leading;
	int64_t			 lead_until_ms;

	struct kube_req		*req;
	enum lease_op		 op;
	int64_t			 req_sent_ms;
	bool			 req_takeover;

	struct event		*tick, *deadline;
	void			(*done)(void *);
	void			*done_arg;
	struct event		*done_ev;
	bool			 release_wait;	/* release once the write returns */
	unsigned		 release_tries;
	struct lease_stats	 st;
	uint64_t		 rnd;
};

static void lease_tick(struct lease *l);
static void lease_write(struct lease *l);
static void lease_get(struct lease *l);
static void lease_release_send(struct lease *l);

/* Check timings and names. */
int
lease_config_check(const struct lease_config *cfg, char **cause)
{
	if (cfg->name == NULL || *cfg->name == '\0' || cfg->namespace == NULL ||
	    *cfg->namespace == '\0') {
		*cause = xstrdup("lease: name and namespace must be set");
		return -1;
	}
	if (cfg->identity == NULL || *cfg->identity == '\0') {
		*cause = xstrdup("lease: identity must not be empty");
		return -1;
	}
	if (cfg->lease_ms < 1000 || cfg->renew_ms < 1 || cfg->retry_ms < 1) {
		*cause = xasprintf("lease: durations must be positive and the "
		    "lease at least 1s (lease %lldms, renew %lldms, retry "
		    "%lldms)", (long long)cfg->lease_ms,
		    (long long)cfg->renew_ms, (long long)cfg->retry_ms);
		return -1;
	}
	if (cfg->lease_ms <= cfg->renew_ms) {
		*cause = xasprintf("lease: lease duration %lldms must be greater "
		    "than the renew deadline %lldms", (long long)cfg->lease_ms,
		    (long long)cfg->renew_ms);
		return -1;
	}
	if (cfg->renew_ms * 10 <= cfg->retry_ms * 12) {
		*cause = xasprintf("lease: renew deadline %lldms must be greater "
		    "than 1.2 x retry period %lldms", (long long)cfg->renew_ms,
		    (long long)cfg->retry_ms);
		return -1;
	}
	return 0;
}

/* Duplicate a JSON string member, or NULL. */
static char *
lease_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? xstrdup(s) : NULL;
}

/* Parse a Lease object's election record. */
int
lease_record_parse(json_t *obj, struct lease_record *rec, char **cause)
{
	json_t *spec, *meta, *v;

	memset(rec, 0, sizeof *rec);
	rec->transitions = -1;
	meta = json_object_get(obj, "metadata");
	spec = json_object_get(obj, "spec");
	if (!json_is_object(obj) || !json_is_object(meta) ||
	    (spec != NULL && !json_is_object(spec) && !json_is_null(spec))) {
		*cause = xstrdup("lease: object has no metadata or a spec that "
		    "is not an object");
		return -1;
	}
	rec->rv = lease_str(meta, "resourceVersion");
	if (json_is_object(spec)) {
		rec->holder = lease_str(spec, "holderIdentity");
		rec->renew_time = lease_str(spec, "renewTime");
		rec->acquire_time = lease_str(spec, "acquireTime");
		v = json_object_get(spec, "leaseDurationSeconds");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) <= 86400 * 366)
			rec->duration_s = json_integer_value(v);
		v = json_object_get(spec, "leaseTransitions");
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= INT32_MAX)
			rec->transitions = json_integer_value(v);
		rec->canon = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	} else
		rec->canon = xstrdup("null");
	if (rec->canon == NULL)
		abort();
	return 0;
}

/* Free a record. */
void
lease_record_clear(struct lease_record *rec)
{
	free(rec->holder);
	free(rec->renew_time);
	free(rec->acquire_time);
	free(rec->canon);
	free(rec->rv);
	memset(rec, 0, sizeof *rec);
	rec->transitions = -1;
}

/* Whether the spec differs. */
bool
lease_record_changed(const struct lease_record *a, const struct lease_record *b)
{
	if (a->canon == NULL || b->canon == NULL)
		return a->canon != b->canon;
	return strcmp(a->canon, b->canon) != 0;
}

/* Whether identity may write now. */
bool
lease_may_acquire(const struct lease_record *rec, const char *identity,
    int64_t observed_ms, int64_t now_ms, int64_t default_ms)
{
	int64_t d = rec->duration_s > 0 ? rec->duration_s * 1000 : default_ms;

	if (rec->holder == NULL || *rec->holder == '\0')
		return true;
	if (strcmp(rec->holder, identity) == 0)
		return true;
	return now_ms >= observed_ms + d;
}

/* Append the tests that make a spec write conditional on rec. */
static void
lease_patch_tests(struct jsonpatch *p, const struct lease_record *rec)
{
	if (rec->holder != NULL && rec->renew_time != NULL) {
		jsonpatch_test(p, json_string(rec->holder), "spec",
		    "holderIdentity", NULL);
		jsonpatch_test(p, json_string(rec->renew_time), "spec",
		    "renewTime", NULL);
		return;
	}
	/* no heartbeat fields to compare: fall back to the whole object */
	jsonpatch_test(p, json_string(rec->rv != NULL ? rec->rv : ""),
	    "metadata", "resourceVersion", NULL);
	if (strcmp(rec->canon, "null") == 0)
		jsonpatch_add(p, json_object(), "spec", NULL);
}

/* Steal the op array of p and free p. */
static json_t *
lease_patch_take(struct jsonpatch *p)
{
	json_t *ops = json_incref(jsonpatch_json(p));

	jsonpatch_free(p);
	return ops;
}

/* JSON Patch to renew or take over. */
json_t *
lease_patch_acquire(const struct lease_record *rec, const char *identity,
    const char *now, int64_t lease_s)
{
	struct jsonpatch *p = jsonpatch_new();
	bool mine = rec->holder != NULL && strcmp(rec->holder, identity) == 0;

	lease_patch_tests(p, rec);
	if (!mine || rec->acquire_time == NULL) {
		jsonpatch_add(p, json_string(identity), "spec",
		    "holderIdentity", NULL);
		jsonpatch_add(p, json_string(now), "spec", "acquireTime", NULL);
	}
	jsonpatch_add(p, json_string(now), "spec", "renewTime", NULL);
	jsonpatch_add(p, json_integer(lease_s), "spec",
	    "leaseDurationSeconds", NULL);
	if (!mine)
		jsonpatch_add(p, json_integer(rec->transitions < 0 ? 0 :
		    rec->transitions + 1), "spec", "leaseTransitions", NULL);
	else if (rec->transitions < 0)
		jsonpatch_add(p, json_integer(0), "spec", "leaseTransitions",
		    NULL);
	return lease_patch_take(p);
}

/* JSON Patch to release. */
json_t *
lease_patch_release(const struct lease_record *rec, const char *identity,
    const char *now)
{
	struct jsonpatch *p = jsonpatch_new();

	lease_patch_tests(p, rec);
	jsonpatch_add(p, json_string(""), "spec", "holderIdentity", NULL);
	jsonpatch_add(p, json_integer(1), "spec", "leaseDurationSeconds", NULL);
	jsonpatch_add(p, json_string(now), "spec", "acquireTime", NULL);
	jsonpatch_add(p, json_string(now), "spec", "renewTime", NULL);
	return lease_patch_take(p);
}

/* A new Lease held by identity. */
json_t *
lease_object_new(const char *ns, const char *name, const char *identity,
    const char *now, int64_t lease_s)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, "
	    "s:i}}", "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
	    "metadata", "name", name, "namespace", ns,
	    "spec", "holderIdentity", identity, "leaseDurationSeconds",
	    (json_int_t)lease_s, "acquireTime", now, "renewTime", now,
	    "leaseTransitions", 0);

	if (o == NULL)
		abort();
	return o;
}

/* Wall-clock now as six-digit MicroTime. */
static void
lease_now_micro(char out[TIMEFMT_MICRO_LEN])
{
	timefmt_micro(timefmt_now_us(), out);
}

/* Lease duration in whole seconds (at least 1). */
static int64_t
lease_seconds(const struct lease *l)
{
	int64_t s = (l->lease_ms + 999) / 1000;

	return s < 1 ? 1 : s;
}

/* Arm a timer in ms. */
static void
lease_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Stop leading now, telling the caller. */
static void
lease_step_down(struct lease *l, const char *why)
{
	if (!l->leading)
		return;
	l->leading = false;
	evtimer_del(l->deadline);
	log_warn("lease", "stopped leading", LS("lease", l->name),
	    LS("reason", why));
	l->leading_cb(false, l->arg);
}

/* Timer: the renew deadline passed without a successful renewal. */
static void
lease_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct lease *l = arg;

	if (l->leading && kube_now_ms() >= l->lead_until_ms)
		lease_step_down(l, "renew deadline passed");
	else if (l->leading)
		lease_arm(l->deadline, l->lead_until_ms - kube_now_ms());
}

/*
 * Take in one observed Lease object; sent/recv are the monotonic times of
 * the request that returned it. Only a request sent after the last taken
 * one was received is surely newer; others are ignored (false), except
 * the answer to our own write (own), which is the spec as we left it.
 */
static bool
lease_take(struct lease *l, json_t *obj, int64_t sent, int64_t recv, bool own)
{
	struct lease_record rec;
	char *cause = NULL;

	if (l->have_rec && !own && sent < l->obs_recv_ms)
		return false;
	if (lease_record_parse(obj, &rec, &cause) != 0) {
		log_warn("lease", "ignoring a malformed Lease", LS("error", cause));
		free(cause);
		return false;
	}
	l->missing = false;
	if (!l->have_rec || lease_record_changed(&l->rec, &rec)) {
		int64_t seen = recv - l->margin_ms;

		/*
		 * The change was applied before recv and after our own
		 * send; counting from max(sent, recv - margin) keeps
		 * takeover later than the holder's renew deadline for any
		 * request that took less than lease - renew - margin.
		 */
		l->observed_ms = seen > sent ? seen : sent;
		if (l->have_rec && (l->rec.holder == NULL || rec.holder == NULL ||
		    strcmp(l->rec.holder, rec.holder) != 0))
			log_info("lease", "holder changed", LS("lease", l->name),
			    LS("holder", rec.holder != NULL ? rec.holder : ""));
	} else {
		/* same spec: keep the observation time, refresh the rv */
		free(l->rec.rv);
		l->rec.rv = rec.rv;
		rec.rv = NULL;
		lease_record_clear(&rec);
		l->obs_recv_ms = recv;
		goto done;
	}
	lease_record_clear(&l->rec);
	l->rec = rec;
	l->have_rec = true;
	l->obs_recv_ms = recv;
done:
	if (l->leading && (l->rec.holder == NULL ||
	    strcmp(l->rec.holder, l->identity) != 0))
		lease_step_down(l, "another holder wrote the lease");
	if (l->object_cb != NULL)
		l->object_cb(obj, sent, recv, l->object_arg);
	return true;
}

/* The write (create, renew, takeover) answered. */
static void
lease_write_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct lease *l = arg;
	int64_t now = kube_now_ms(), sent = l->req_sent_ms;
	bool takeover = l->req_takeover, was_leading = l->leading;

	l->req = NULL;
	l->op = LEASE_OP_NONE;
	if (err == NULL) {
		if (l->leading) {
			l->st.renewals++;
			l->st.renew_last_ms = now - sent;
			l->st.renew_sum_ms += now - sent;
			if (now - sent > l->st.renew_max_ms)
				l->st.renew_max_ms = now - sent;
		}
		lease_take(l, obj, sent, now, true);
		if (l->release_wait) {
			lease_release_send(l);
			return;
		}
		if (l->rec.holder != NULL &&
		    strcmp(l->rec.holder, l->identity) == 0 &&
		    sent + l->renew_ms > now) {
			l->lead_until_ms = sent + l->renew_ms;
			lease_arm(l->deadline, l->lead_until_ms - now);
			if (!l->leading) {
				l->leading = true;
				l->st.acquisitions++;
				log_info("lease", "started leading",
				    LS("lease", l->name),
				    LI("transitions", l->rec.transitions));
				l->leading_cb(true, l->arg);
			}
		}
		lease_tick(l);
		return;
	}
	if (kube_error_is(err, 422) || kube_error_is(err, 409)) {
		/* someone changed the spec first: a lost race, not a fault */
		if (takeover)
			l->st.lost_races++;
		else
			l->st.renew_failures++;
		log_info("lease", "lease changed under us", LS("lease", l->name),
		    LI("status", err->status));
		lease_step_down(l, "lease taken by another candidate");
		l->missing = false;
		if (l->release_wait)
			lease_release_send(l);
		else if (was_leading || l->poll || !l->have_rec)
			lease_get(l);	/* our view is stale: read it again */
		else
			lease_tick(l);
		return;
	}
	if (kube_error_is(err, 404)) {
		l->missing = true;
		lease_step_down(l, "lease deleted");
	} else {
		char *m = kube_error_string(err);

		if (!takeover)
			l->st.renew_failures++;
		log_warn("lease", "lease write failed", LS("lease", l->name),
		    LS("error", m));
		free(m);
	}
	if (l->release_wait)
		lease_release_send(l);
	else
		lease_tick(l);
}

/* The GET answered. */
static void
lease_get_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct lease *l = arg;
	int64_t now = kube_now_ms();

	l->req = NULL;
	l->op = LEASE_OP_NONE;
	if (l->released) {
		/* a release is waiting for a fresh view */
		if (err == NULL)
			lease_take(l, obj, l->req_sent_ms, now, false);
		lease_release_send(l);
		return;
	}
	if (err == NULL)
		lease_take(l, obj, l->req_sent_ms, now, false);
	else if (kube_error_is(err, 404))
		l->missing = true;
	else {
		char *m = kube_error_string(err);

		log_warn("lease", "lease read failed", LS("lease", l->name),
		    LS("error", m));
		free(m);
	}
	if (l->missing || (l->have_rec && lease_may_acquire(&l->rec,
	    l->identity, l->observed_ms, now, l->lease_ms)))
		lease_write(l);
	else
		lease_tick(l);
}

/* Options of every Lease request. */
static struct kube_opts
lease_opts(const struct lease *l)
{
	struct kube_opts o = { .timeout_ms = l->timeout_ms,
	    .deadline_ms = l->timeout_ms, .retry = KUBE_RETRY_NEVER };

	return o;
}

/* Send a GET of the Lease. */
static void
lease_get(struct lease *l)
{
	struct kube_opts o = lease_opts(l);

	l->op = LEASE_OP_GET;
	l->req_sent_ms = kube_now_ms();
	l->st.requests++;
	l->req = kube_get(l->k, l->path, &o, lease_get_done_cb, l);
}

/* Create, renew or take over, whichever the observed record calls for. */
static void
lease_write(struct lease *l)
{
	struct kube_opts o = lease_opts(l);
	char now[TIMEFMT_MICRO_LEN];
	json_t *body;

	if (l->req != NULL || l->released)
		return;
	if (!l->missing && !l->have_rec) {
		lease_get(l);
		return;
	}
	lease_now_micro(now);
	l->req_sent_ms = kube_now_ms();
	l->st.requests++;
	if (l->missing) {
		body = lease_object_new(l->ns, l->name, l->identity, now,
		    lease_seconds(l));
		l->op = LEASE_OP_CREATE;
		l->req_takeover = true;
		l->req = kube_create(l->k, l->coll, body, &o,
		    lease_write_done_cb, l);
		json_decref(body);
		return;
	}
	l->req_takeover = l->rec.holder == NULL ||
	    strcmp(l->rec.holder, l->identity) != 0;
	body = lease_patch_acquire(&l->rec, l->identity, now, lease_seconds(l));
	l->op = LEASE_OP_WRITE;
	l->req = kube_patch(l->k, l->path, KUBE_PATCH_JSON, body, &o,
	    lease_write_done_cb, l);
	json_decref(body);
}

/* Timer: the retry period passed. */
static void
lease_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct lease *l = arg;
	int64_t now = kube_now_ms();

	if (l->req != NULL || l->released)
		return;
	if (l->leading || l->missing || (l->have_rec && lease_may_acquire(
	    &l->rec, l->identity, l->observed_ms, now, l->lease_ms)))
		lease_write(l);
	else if (l->poll || !l->have_rec)
		lease_get(l);
	if (l->req == NULL)
		lease_tick(l);
}

/* Schedule the next tick for the current role. */
static void
lease_tick(struct lease *l)
{
	int64_t now = kube_now_ms(), d, expiry;
	uint64_t x = l->rnd;

	if (l->released)
		return;
	if (l->leading) {
		/* renew one retry period after the last renewal was sent */
		lease_arm(l->tick, l->req_sent_ms + l->retry_ms - now);
		return;
	}
	if (!l->poll && l->have_rec) {
		/* passive: act only on observations from health writes */
		evtimer_del(l->tick);
		return;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	l->rnd = x;
	/* poll at 70-95% of the retry period so a release is seen within it */
	d = l->retry_ms * 7 / 10 + (int64_t)(x % (uint64_t)(l->retry_ms / 4 + 1));
	if (l->have_rec && l->rec.holder != NULL && *l->rec.holder != '\0') {
		expiry = l->observed_ms + (l->rec.duration_s > 0 ?
		    l->rec.duration_s * 1000 : l->lease_ms);
		if (expiry > now && expiry - now < d)
			d = expiry - now;
	}
	lease_arm(l->tick, d);
}

/* Make an elector. */
struct lease *
lease_new(struct kube *k, const struct lease_config *cfg,
    lease_leading_cb leading_cb, void *arg, char **cause)
{
	struct lease *l;
	struct event_base *base = kube_base(k);

	if (lease_config_check(cfg, cause) != 0)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->k = k;
	l->name = xstrdup(cfg->name);
	l->ns = xstrdup(cfg->namespace);
	l->identity = xstrdup(cfg->identity);
	l->coll = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases",
	    cfg->namespace);
	l->path = xasprintf("%s/%s", l->coll, cfg->name);
	l->lease_ms = cfg->lease_ms;
	l->renew_ms = cfg->renew_ms;
	l->retry_ms = cfg->retry_ms;
	/* one hung request must not use up the renew deadline */
	l->timeout_ms = cfg->renew_ms / 2 > 1000 ? cfg->renew_ms / 2 : 1000;
	if (l->timeout_ms > cfg->renew_ms)
		l->timeout_ms = cfg->renew_ms;
	l->margin_ms = (cfg->lease_ms - cfg->renew_ms) / 2;
	l->poll = cfg->poll;
	l->leading_cb = leading_cb;
	l->arg = arg;
	l->rec.transitions = -1;
	l->rnd = (uint64_t)(uintptr_t)l ^ (uint64_t)kube_now_ms() * 0x9e37ull ^
	    0xda942042e4dd58b5ull;
	for (const char *s = cfg->identity; *s != '\0'; s++)
		l->rnd = (l->rnd ^ (unsigned char)*s) * 0x100000001b3ull;
	l->tick = evtimer_new(base, lease_tick_cb, l);
	l->deadline = evtimer_new(base, lease_deadline_cb, l);
	if (l->tick == NULL || l->deadline == NULL)
		abort();
	return l;
}

/* Set the object callback. */
void
lease_set_object_cb(struct lease *l, lease_object_cb cb, void *arg)
{
	l->object_cb = cb;
	l->object_arg = arg;
}

/* Begin: read the Lease once. */
void
lease_start(struct lease *l)
{
	if (l->started)
		return;
	l->started = true;
	lease_get(l);
}

/* Free without releasing. */
void
lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	if (l->req != NULL)
		kube_cancel(l->req);
	event_free(l->tick);
	event_free(l->deadline);
	if (l->done_ev != NULL)
		event_free(l->done_ev);
	lease_record_clear(&l->rec);
	free(l->name);
	free(l->ns);
	free(l->identity);
	free(l->coll);
	free(l->path);
	free(l);
}

/* Whether we lead at now_ms. */
bool
lease_is_leader(const struct lease *l, int64_t now_ms)
{
	return l->leading && now_ms < l->lead_until_ms;
}

/* Whether we lead now. */
bool
lease_leading(const struct lease *l)
{
	return lease_is_leader(l, kube_now_ms());
}

/* Switch polling. */
void
lease_set_poll(struct lease *l, bool poll)
{
	if (l->poll == poll)
		return;
	l->poll = poll;
	if (l->started && l->req == NULL && !l->leading)
		lease_tick(l);
}

/* Whether we poll. */
bool
lease_polling(const struct lease *l)
{
	return l->poll;
}

/* Take an observation from elsewhere. */
void
lease_observe(struct lease *l, json_t *obj, int64_t sent_ms, int64_t recv_ms)
{
	if (l->released || !lease_take(l, obj, sent_ms, recv_ms, false))
		return;
	if (l->req == NULL && !l->leading && lease_may_acquire(&l->rec,
	    l->identity, l->observed_ms, kube_now_ms(), l->lease_ms))
		lease_write(l);
}

/* The Lease is missing: create it. */
void
lease_observe_missing(struct lease *l)
{
	if (l->released)
		return;
	l->missing = true;
	if (l->req == NULL)
		lease_write(l);
}

/* Holder of the last observed record. */
const char *
lease_holder(const struct lease *l)
{
	return l->have_rec ? l->rec.holder : NULL;
}

/* Counters. */
void
lease_get_stats(const struct lease *l, struct lease_stats *st)
{
	*st = l->st;
}

/* Run the release callback from the loop. */
static void
lease_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct lease *l = arg;

	if (l->done != NULL)
		l->done(l->done_arg);
}

/* The release answered: done, or re-read and try again after a lost race. */
static void
lease_release_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct lease *l = arg;

	l->req = NULL;
	l->op = LEASE_OP_NONE;
	if (kube_error_is(err, 422) && l->release_tries < 3) {
		/* our view was stale (a renewal raced the release): re-read */
		lease_get(l);
		return;
	}
	if (err != NULL) {
		char *m = kube_error_string(err);

		log_warn("lease", "release failed", LS("lease", l->name),
		    LS("error", m));
		free(m);
	} else
		log_info("lease", "released", LS("lease", l->name));
	lease_arm(l->done_ev, 0);
}

/* Send the release if the Lease still names us, else finish. */
static void
lease_release_send(struct lease *l)
{
	struct kube_opts o = lease_opts(l);
	char now[TIMEFMT_MICRO_LEN];
	json_t *body;

	l->release_wait = false;
	if (!l->have_rec || l->rec.holder == NULL ||
	    strcmp(l->rec.holder, l->identity) != 0) {
		lease_arm(l->done_ev, 0);
		return;
	}
	lease_now_micro(now);
	body = lease_patch_release(&l->rec, l->identity, now);
	/* conditional, so repeating it is harmless: retry within the deadline */
	o.retry = KUBE_RETRY_IDEMPOTENT;
	o.deadline_ms = l->renew_ms;
	l->op = LEASE_OP_RELEASE;
	l->release_tries++;
	l->req_sent_ms = kube_now_ms();
	l->st.requests++;
	l->req = kube_patch(l->k, l->path, KUBE_PATCH_JSON, body, &o,
	    lease_release_done_cb, l);
	json_decref(body);
}

/* Stop leading, then release if we hold the Lease. */
void
lease_release(struct lease *l, void (*done)(void *), void *arg)
{
	lease_step_down(l, "shutting down");
	l->released = true;
	l->done = done;
	l->done_arg = arg;
	if (l->done_ev == NULL)
		l->done_ev = evtimer_new(kube_base(l->k), lease_done_cb, l);
	evtimer_del(l->tick);
	evtimer_del(l->deadline);
	if (l->req != NULL && (l->op == LEASE_OP_WRITE ||
	    l->op == LEASE_OP_CREATE)) {
		/* the write may land: wait for its answer, then release */
		l->release_wait = true;
		return;
	}
	if (l->req != NULL) {
		kube_cancel(l->req);
		l->req = NULL;
	}
	lease_release_send(l);
}
