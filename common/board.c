/* board: each agent's health entry and the leader's status on the shared Lease. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "board.h"
#include "jsonpatch.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

/* Most entries one prune request removes. */
#define BOARD_PRUNE_BATCH 50
/* Longest status or entry value accepted from the Lease. */
#define BOARD_VALUE_MAX 65536

/* One tracked entry (leader only). */
struct board_ent {
	char		*key;
	char		*value;
	json_t		*parsed;
	int64_t		 seen_ms, first_ms;
	bool		 present;
};

struct board {
	struct kube		*k;
	struct lease		*l;
	char			*pod, *build, *key, *path, *pods_path, *selector;
	int64_t			 report_ms, debounce_ms;
	unsigned		 want_standbys;

	enum board_state	 state;
	char			*reason;
	int64_t			 changed_us;
	bool			 started, dirty, stopping, lead_seen;
	int64_t			 last_sent_ms;
	unsigned		 failures;
	struct kube_req		*req;
	int64_t			 req_sent_ms;
	struct event		*timer, *done_ev;
	void			(*done)(void *);
	void			*done_arg;
	json_t			*status;

	struct board_ent	*ents;
	size_t			 nents;
	struct board_entry	*view;
	char			**standbys;
	size_t			 nstandbys;

	struct kube_req		*pods_req, *prune_req;
	char			**pods;
	size_t			 npods;
	int64_t			 pods_sent_ms;	/* of the list in pods */
	int64_t			 pods_req_ms;	/* of the list running */
	int64_t			 last_duty_ms;
	bool			 pods_valid;

	struct board_stats	 st;
};

static void board_schedule(struct board *b);
static void board_prune(struct board *b, int64_t now);

/* Name of a state. */
const char *
board_state_name(enum board_state s)
{
	switch (s) {
	case BOARD_STARTING:
		return "starting";
	case BOARD_READY:
		return "ready";
	case BOARD_UNHEALTHY:
		return "unhealthy";
	case BOARD_TERMINATING:
		return "terminating";
	}
	return "unknown";
}

/* Whether c is an ASCII letter or digit. */
static bool
board_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Whether name is a valid annotation key name part. */
bool
board_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || !board_alnum(name[0]) ||
	    !board_alnum(name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!board_alnum(name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return false;
	return true;
}

/* Annotation key of pod; caller frees. */
char *
board_key(const char *pod)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[17];

	if (board_name_valid(pod))
		return xasprintf(BOARD_KEY_PREFIX "%s", pod);
	if (EVP_Digest(pod, strlen(pod), md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf(BOARD_KEY_PREFIX "h-%s", hex);
}

/* Entry value JSON; caller frees. */
char *
board_entry_value(const char *build, enum board_state state,
    const char *reason, int64_t changed_us, int64_t written_us,
    const char *pod, int64_t interval_ms)
{
	char changed[TIMEFMT_MICRO_LEN], written[TIMEFMT_MICRO_LEN], *s;
	json_t *o;

	timefmt_micro(changed_us, changed);
	timefmt_micro(written_us, written);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "build",
	    build != NULL ? build : "", "state", board_state_name(state),
	    "reason", reason != NULL ? reason : "", "changed", changed,
	    "written", written, "pod", pod, "interval_ms",
	    (json_int_t)interval_ms);
	if (o == NULL)
		abort();
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

/* Whether an entry is stale. */
bool
board_entry_stale(int64_t seen_ms, int64_t now_ms, int64_t interval_ms,
    int64_t report_ms)
{
	return now_ms - seen_ms >= 3 * (interval_ms > 0 ? interval_ms :
	    report_ms);
}

/* The writer's interval in an entry value, or 0. */
int64_t
board_entry_interval(json_t *value)
{
	json_t *v = json_object_get(value, "interval_ms");

	if (!json_is_integer(v) || json_integer_value(v) < 100 ||
	    json_integer_value(v) > 3600000)
		return 0;
	return json_integer_value(v);
}

/* Whether e may stand by at now: not self, not stale, state ready or starting. */
static bool
board_standby_ok(const struct board_entry *e, const char *self,
    int64_t now_ms, int64_t report_ms, bool ready_only)
{
	if (e->pod == NULL || strcmp(e->pod, self) == 0 || e->state == NULL ||
	    board_entry_stale(e->seen_ms, now_ms, e->interval_ms, report_ms))
		return false;
	if (strcmp(e->state, "ready") == 0)
		return true;
	return !ready_only && strcmp(e->state, "starting") == 0;
}

/* Whether name is among out[0..n). */
static bool
board_in(const char *const *out, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i], name) == 0)
			return true;
	return false;
}

/* Choose standbys. */
size_t
board_pick_standbys(const struct board_entry *entries, size_t n,
    const char *self, const char *const *prev, size_t nprev, unsigned want,
    int64_t now_ms, int64_t report_ms, const char **out)
{
	size_t got = 0;

	/* keep earlier standbys that still qualify, so the set is stable */
	for (size_t p = 0; p < nprev && got < want; p++)
		for (size_t i = 0; i < n; i++)
			if (entries[i].pod != NULL &&
			    strcmp(entries[i].pod, prev[p]) == 0 &&
			    board_standby_ok(&entries[i], self, now_ms,
			    report_ms, false) &&
			    !board_in(out, got, entries[i].pod)) {
				out[got++] = entries[i].pod;
				break;
			}
	for (int pass = 0; pass < 2 && got < want; pass++) {
		for (;;) {
			const char *best = NULL;

			for (size_t i = 0; i < n; i++) {
				const struct board_entry *e = &entries[i];

				if (!board_standby_ok(e, self, now_ms,
				    report_ms, pass == 0) ||
				    board_in(out, got, e->pod))
					continue;
				if (best == NULL || strcmp(e->pod, best) < 0)
					best = e->pod;
			}
			if (best == NULL || got >= want)
				break;
			out[got++] = best;
		}
	}
	return got;
}

/* Free a list of strings. */
static void
board_free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Rebuild the exported view of the tracked entries. */
static void
board_rebuild_view(struct board *b)
{
	free(b->view);
	b->view = xcalloc(b->nents + 1, sizeof *b->view);
	for (size_t i = 0; i < b->nents; i++) {
		struct board_ent *e = &b->ents[i];
		struct board_entry *v = &b->view[i];

		v->key = e->key;
		v->pod = json_string_value(json_object_get(e->parsed, "pod"));
		v->build = json_string_value(json_object_get(e->parsed, "build"));
		v->state = json_string_value(json_object_get(e->parsed, "state"));
		v->reason = json_string_value(json_object_get(e->parsed,
		    "reason"));
		v->changed = json_string_value(json_object_get(e->parsed,
		    "changed"));
		v->written = json_string_value(json_object_get(e->parsed,
		    "written"));
		v->interval_ms = board_entry_interval(e->parsed);
		v->seen_ms = e->seen_ms;
		v->first_ms = e->first_ms;
	}
}

/* Track the entries of a Lease's annotations (leader). */
static void
board_track(struct board *b, json_t *ann, int64_t recv)
{
	const char *key;
	json_t *v;
	bool changed = false;
	size_t i, j;

	for (i = 0; i < b->nents; i++)
		b->ents[i].present = false;
	json_object_foreach(ann, key, v) {
		const char *val = json_string_value(v);
		struct board_ent *e = NULL;

		if (strncmp(key, BOARD_KEY_PREFIX, strlen(BOARD_KEY_PREFIX)) ||
		    val == NULL || strlen(val) > BOARD_VALUE_MAX)
			continue;
		for (i = 0; i < b->nents; i++)
			if (strcmp(b->ents[i].key, key) == 0) {
				e = &b->ents[i];
				break;
			}
		if (e == NULL) {
			b->ents = xreallocarray(b->ents, b->nents + 1,
			    sizeof *b->ents);
			e = &b->ents[b->nents++];
			memset(e, 0, sizeof *e);
			e->key = xstrdup(key);
			e->first_ms = recv;
		}
		e->present = true;
		if (e->value == NULL || strcmp(e->value, val) != 0) {
			json_t *p = json_loads(val, 0, NULL);

			free(e->value);
			e->value = xstrdup(val);
			json_decref(e->parsed);
			e->parsed = json_is_object(p) ? p : json_object();
			if (!json_is_object(p))
				json_decref(p);
			e->seen_ms = recv;
			changed = true;
		}
	}
	for (i = j = 0; i < b->nents; i++) {
		if (!b->ents[i].present) {
			free(b->ents[i].key);
			free(b->ents[i].value);
			json_decref(b->ents[i].parsed);
			changed = true;
			continue;
		}
		b->ents[j++] = b->ents[i];
	}
	b->nents = j;
	if (changed || b->view == NULL)
		board_rebuild_view(b);
}

/* Read the standbys named by the leader's status. */
static void
board_read_status(struct board *b, json_t *ann)
{
	const char *val = json_string_value(json_object_get(ann,
	    BOARD_STATUS_KEY));
	json_t *st, *sb, *it;
	size_t i, n = 0;
	bool me = false;

	if (val == NULL || strlen(val) > BOARD_VALUE_MAX)
		return;
	st = json_loads(val, 0, NULL);
	sb = json_object_get(st, "standbys");
	if (!json_is_array(sb)) {
		json_decref(st);
		return;
	}
	board_free_strv(b->standbys, b->nstandbys);
	b->standbys = xcalloc(json_array_size(sb) + 1, sizeof *b->standbys);
	json_array_foreach(sb, i, it) {
		if (!json_is_string(it))
			continue;
		b->standbys[n++] = xstrdup(json_string_value(it));
		if (strcmp(json_string_value(it), b->pod) == 0)
			me = true;
	}
	b->nstandbys = n;
	json_decref(st);
	if (b->l != NULL && !lease_leading(b->l) && lease_polling(b->l) != me) {
		log_info("board", me ? "named standby" : "no longer standby",
		    LS("pod", b->pod));
		lease_set_poll(b->l, me);
	}
}

/* Take in a Lease object (own write answer or the elector's). */
static void
board_take(struct board *b, json_t *obj, int64_t recv)
{
	json_t *ann = json_object_get(json_object_get(obj, "metadata"),
	    "annotations");

	if (!json_is_object(ann))
		ann = NULL;
	board_read_status(b, ann);
	if (b->l != NULL && lease_leading(b->l))
		board_track(b, ann, recv);
}

/* Elector callback: every Lease object it received. */
static void
board_lease_object_cb(json_t *obj, int64_t sent_ms, int64_t recv_ms,
    void *arg)
{
	struct board *b = arg;
	bool leading = lease_leading(b->l);

	board_take(b, obj, recv_ms);
	if (leading && !b->lead_seen) {
		/* newly leading: name the standbys soon */
		b->dirty = true;
		board_schedule(b);
	}
	b->lead_seen = leading;
}

/* Take in a Lease object received elsewhere. */
void
board_observe(struct board *b, json_t *obj, int64_t sent_ms, int64_t recv_ms)
{
	if (b->l != NULL)
		board_lease_object_cb(obj, sent_ms, recv_ms, b);
	else
		board_take(b, obj, recv_ms);
}

/* The pods list answered (leader). */
static void
board_pods_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct board *b = arg;
	json_t *items = json_object_get(obj, "items"), *it;
	size_t i, n = 0;

	b->pods_req = NULL;
	if (err != NULL) {
		char *m = kube_error_string(err);

		log_warn("board", "cannot list pods", LS("error", m));
		free(m);
		return;
	}
	board_free_strv(b->pods, b->npods);
	b->pods = xcalloc(json_array_size(items) + 1, sizeof *b->pods);
	json_array_foreach(items, i, it) {
		const char *name = json_string_value(json_object_get(
		    json_object_get(it, "metadata"), "name"));

		if (name != NULL)
			b->pods[n++] = xstrdup(name);
	}
	b->npods = n;
	b->pods_sent_ms = b->pods_req_ms;
	b->pods_valid = true;
	/* entries of pods that are gone can go at once */
	board_prune(b, kube_now_ms());
}

/* Whether pod is in the last pods list. */
static bool
board_pod_alive(const struct board *b, const char *pod)
{
	for (size_t i = 0; i < b->npods; i++)
		if (strcmp(b->pods[i], pod) == 0)
			return true;
	return false;
}

/* The prune patch answered. */
static void
board_prune_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct board *b = arg;
	int64_t now = kube_now_ms();

	b->prune_req = NULL;
	if (err != NULL) {
		/* 422: an entry was refreshed since we judged it; next pass */
		if (!kube_error_is(err, 422)) {
			char *m = kube_error_string(err);

			log_warn("board", "prune failed", LS("error", m));
			free(m);
		}
		return;
	}
	board_take(b, obj, now);
}

/* Leader: remove entries gone stale or whose pod is gone. */
static void
board_prune(struct board *b, int64_t now)
{
	struct jsonpatch *p;
	struct kube_opts o = { .timeout_ms = 10000,
	    .retry = KUBE_RETRY_NEVER };
	size_t n = 0;

	if (b->prune_req != NULL || b->l == NULL || !lease_leading(b->l))
		return;
	p = jsonpatch_new();
	for (size_t i = 0; i < b->nents && n < BOARD_PRUNE_BATCH; i++) {
		struct board_ent *e = &b->ents[i];
		const char *pod = json_string_value(json_object_get(e->parsed,
		    "pod"));
		bool stale = board_entry_stale(e->seen_ms, now,
		    board_entry_interval(e->parsed), b->report_ms);
		bool gone = b->pods_valid && pod != NULL &&
		    e->first_ms < b->pods_sent_ms && !board_pod_alive(b, pod);

		if (strcmp(e->key, b->key) == 0 || (!stale && !gone))
			continue;
		log_info("board", "pruning entry", LS("key", e->key),
		    LS("pod", pod != NULL ? pod : ""),
		    LS("why", stale ? "stale" : "pod gone"));
		jsonpatch_test(p, json_string(e->value), "metadata",
		    "annotations", e->key, NULL);
		jsonpatch_remove(p, "metadata", "annotations", e->key, NULL);
		n++;
	}
	if (n > 0) {
		b->st.prunes += n;
		b->prune_req = kube_patch(b->k, b->path, KUBE_PATCH_JSON,
		    jsonpatch_json(p), &o, board_prune_done_cb, b);
	}
	jsonpatch_free(p);
}

/* Leader: list pods now and then, and prune. */
static void
board_duties(struct board *b, int64_t now)
{
	b->last_duty_ms = now;
	if (b->selector != NULL && b->pods_req == NULL) {
		b->pods_req_ms = now;
		b->st.pod_lists++;
		b->pods_req = kube_list(b->k, b->pods_path, b->selector, 0,
		    NULL, board_pods_done_cb, b);
	}
	board_prune(b, now);
}

/* Run the stop callback from the loop. */
static void
board_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct board *b = arg;

	if (b->done != NULL)
		b->done(b->done_arg);
}

/* A health write answered. */
static void
board_write_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct board *b = arg;
	int64_t now = kube_now_ms(), sent = b->req_sent_ms;

	b->req = NULL;
	if (err == NULL) {
		b->failures = 0;
		board_take(b, obj, now);
		if (b->l != NULL)
			lease_observe(b->l, obj, sent, now);
	} else {
		char *m = kube_error_string(err);

		b->st.write_failures++;
		b->failures++;
		b->dirty = true;
		log_warn("board", "health write failed", LS("error", m));
		free(m);
		if (kube_error_is(err, 404) && b->l != NULL)
			lease_observe_missing(b->l);
	}
	if (b->stopping && !b->dirty) {
		struct timeval tv = { 0, 0 };

		evtimer_add(b->done_ev, &tv);
		return;
	}
	if (b->stopping && err != NULL) {
		/* the final report failed: do not hold up the shutdown */
		struct timeval tv = { 0, 0 };

		evtimer_add(b->done_ev, &tv);
		return;
	}
	board_schedule(b);
}

/* The status JSON the leader writes: the caller's plus leader and standbys. */
static char *
board_status_value(struct board *b, int64_t now)
{
	json_t *st = json_is_object(b->status) ? json_deep_copy(b->status) :
	    json_object(), *arr = json_array();
	const char **pick = xcalloc(b->want_standbys + 1, sizeof *pick);
	size_t n;
	char *s;

	n = board_pick_standbys(b->view, b->view != NULL ? b->nents : 0, b->pod,
	    (const char *const *)b->standbys, b->nstandbys, b->want_standbys,
	    now, b->report_ms, pick);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(pick[i]));
	free(pick);
	json_object_set_new(st, "leader", json_string(b->pod));
	json_object_set_new(st, "standbys", arr);
	s = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (s == NULL)
		abort();
	return s;
}

/* Send this agent's entry (and the status when leading). */
static void
board_write(struct board *b)
{
	int64_t now = kube_now_ms();
	struct kube_opts o = { .timeout_ms = 10000, .deadline_ms = 10000,
	    .retry = KUBE_RETRY_IDEMPOTENT };
	char *val = board_entry_value(b->build, b->state, b->reason,
	    b->changed_us, timefmt_now_us(), b->pod, b->report_ms);
	json_t *ann = json_object(), *patch;
	bool leading = b->l != NULL && lease_leading(b->l) && !b->stopping;

	json_object_set_new(ann, b->key, json_string(val));
	free(val);
	if (leading) {
		char *st = board_status_value(b, now);

		json_object_set_new(ann, BOARD_STATUS_KEY, json_string(st));
		free(st);
		b->st.status_writes++;
		/* about once a report interval (timers may fire a little early) */
		if (now - b->last_duty_ms >= b->report_ms * 9 / 10)
			board_duties(b, now);
	}
	patch = json_pack("{s:{s:o}}", "metadata", "annotations", ann);
	b->dirty = false;
	b->last_sent_ms = b->req_sent_ms = now;
	b->st.writes++;
	b->req = kube_patch(b->k, b->path, KUBE_PATCH_MERGE, patch, &o,
	    board_write_done_cb, b);
	json_decref(patch);
}

/* Timer: a write is due. */
static void
board_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct board *b = arg;

	if (b->req == NULL)
		board_write(b);
}

/* Arm the timer for the next write. */
static void
board_schedule(struct board *b)
{
	int64_t now = kube_now_ms(), due, gap = b->debounce_ms;
	struct timeval tv;

	if (b->req != NULL || !b->started)
		return;
	for (unsigned i = 0; i < b->failures && gap < b->report_ms; i++)
		gap *= 2;
	if (gap > b->report_ms)
		gap = b->report_ms;
	due = b->dirty ? b->last_sent_ms + gap : b->last_sent_ms + b->report_ms;
	if (b->stopping)
		due = now;
	if (due < now)
		due = now;
	tv.tv_sec = (due - now) / 1000;
	tv.tv_usec = ((due - now) % 1000) * 1000;
	evtimer_add(b->timer, &tv);
}

/* Make a board. */
struct board *
board_new(struct kube *k, struct lease *l, const struct board_config *cfg,
    char **cause)
{
	struct board *b;

	if (cfg->lease_name == NULL || cfg->namespace == NULL ||
	    cfg->pod == NULL || *cfg->pod == '\0') {
		*cause = xstrdup("board: lease name, namespace and pod must be set");
		return NULL;
	}
	if (cfg->report_ms < 100 || cfg->debounce_ms < 0 ||
	    cfg->debounce_ms > cfg->report_ms) {
		*cause = xasprintf("board: report interval %lldms must be at "
		    "least 100ms and not below the debounce %lldms",
		    (long long)cfg->report_ms, (long long)cfg->debounce_ms);
		return NULL;
	}
	b = xcalloc(1, sizeof *b);
	b->k = k;
	b->l = l;
	b->pod = xstrdup(cfg->pod);
	b->build = xstrdup(cfg->build != NULL ? cfg->build : "");
	b->key = board_key(cfg->pod);
	b->path = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/"
	    "leases/%s", cfg->namespace, cfg->lease_name);
	b->pods_path = xasprintf("/api/v1/namespaces/%s/pods", cfg->namespace);
	if (cfg->pod_selector != NULL) {
		char *e = curl_easy_escape(NULL, cfg->pod_selector, 0);

		b->selector = xasprintf("labelSelector=%s", e);
		curl_free(e);
	}
	b->report_ms = cfg->report_ms;
	b->debounce_ms = cfg->debounce_ms;
	b->want_standbys = cfg->standbys;
	b->state = BOARD_STARTING;
	b->reason = xstrdup("");
	b->changed_us = timefmt_now_us();
	b->last_duty_ms = INT64_MIN / 2;
	b->timer = evtimer_new(kube_base(k), board_timer_cb, b);
	b->done_ev = evtimer_new(kube_base(k), board_done_cb, b);
	if (b->timer == NULL || b->done_ev == NULL)
		abort();
	if (l != NULL)
		lease_set_object_cb(l, board_lease_object_cb, b);
	return b;
}

/* Start writing. */
void
board_start(struct board *b)
{
	if (b->started)
		return;
	b->started = true;
	b->dirty = true;
	b->last_sent_ms = kube_now_ms() - b->report_ms;
	board_schedule(b);
}

/* Free the board. */
void
board_free(struct board *b)
{
	if (b == NULL)
		return;
	if (b->l != NULL)
		lease_set_object_cb(b->l, NULL, NULL);
	kube_cancel(b->req);
	kube_cancel(b->pods_req);
	kube_cancel(b->prune_req);
	event_free(b->timer);
	event_free(b->done_ev);
	for (size_t i = 0; i < b->nents; i++) {
		free(b->ents[i].key);
		free(b->ents[i].value);
		json_decref(b->ents[i].parsed);
	}
	free(b->ents);
	free(b->view);
	board_free_strv(b->standbys, b->nstandbys);
	board_free_strv(b->pods, b->npods);
	json_decref(b->status);
	free(b->pod);
	free(b->build);
	free(b->key);
	free(b->path);
	free(b->pods_path);
	free(b->selector);
	free(b->reason);
	free(b);
}

/* Change state. */
void
board_set_state(struct board *b, enum board_state s, const char *reason)
{
	if (reason == NULL)
		reason = "";
	if (b->state == s && strcmp(b->reason, reason) == 0)
		return;
	if (b->state != s)
		b->changed_us = timefmt_now_us();
	b->state = s;
	free(b->reason);
	b->reason = xstrdup(reason);
	b->dirty = true;
	board_schedule(b);
}

/* Set the leader's status. */
void
board_set_status(struct board *b, json_t *status)
{
	json_t *copy = status != NULL ? json_deep_copy(status) : NULL;

	if (copy != NULL && b->status != NULL && json_equal(copy, b->status)) {
		json_decref(copy);
		return;
	}
	json_decref(b->status);
	b->status = copy;
	if (b->l != NULL && lease_leading(b->l)) {
		b->dirty = true;
		board_schedule(b);
	}
}

/* The leader's entries. */
size_t
board_entries(struct board *b, const struct board_entry **out)
{
	*out = b->view;
	return b->view != NULL ? b->nents : 0;
}

/* Standbys named by the last status seen. */
size_t
board_standbys(struct board *b, const char *const **out)
{
	*out = (const char *const *)b->standbys;
	return b->nstandbys;
}

/* Counters. */
void
board_get_stats(const struct board *b, struct board_stats *st)
{
	*st = b->st;
}

/* Final report, then done. */
void
board_stop(struct board *b, void (*done)(void *), void *arg)
{
	b->done = done;
	b->done_arg = arg;
	b->stopping = true;
	if (b->state != BOARD_TERMINATING)
		b->changed_us = timefmt_now_us();
	b->state = BOARD_TERMINATING;
	free(b->reason);
	b->reason = xstrdup("shutting down");
	b->dirty = true;
	b->started = true;
	if (b->req == NULL) {
		evtimer_del(b->timer);
		board_write(b);
	}
}
