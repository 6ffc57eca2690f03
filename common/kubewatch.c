/* kubewatch: LIST then WATCH a collection, resuming and re-listing as needed. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "backoff.h"
#include "kubewatch.h"
#include "log.h"
#include "xalloc.h"

struct kubewatch {
	struct kube		*k;
	char			*path, *query, *rv;
	unsigned		 timeout_s;
	kubewatch_cb		 cb;
	void			*arg;
	struct kube_req		*req;
	struct event		*timer;
	bool			 timer_lists;	/* the timer re-lists (else streams) */
	unsigned		 lists, failures;
	bool			 in_cb, stopped;
	struct backoff_policy	 bo;
	uint64_t		 rnd;
};

static void kubewatch_list(struct kubewatch *w);
static void kubewatch_stream(struct kubewatch *w);

/* Free the watch's storage. */
static void
kubewatch_free(struct kubewatch *w)
{
	if (w->req != NULL)
		kube_cancel(w->req);
	event_free(w->timer);
	free(w->path);
	free(w->query);
	free(w->rv);
	free(w);
}

/* Tell the caller; false (and w freed) if the caller stopped the watch. */
static bool
kubewatch_emit(struct kubewatch *w, enum kubewatch_what what, json_t *obj,
    const struct kube_error *err)
{
	w->in_cb = true;
	w->cb(what, obj, err, w->arg);
	w->in_cb = false;
	if (w->stopped) {
		kubewatch_free(w);
		return false;
	}
	return true;
}

/* Timer: re-list or re-stream after a backoff. */
static void
kubewatch_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct kubewatch *w = arg;

	if (w->timer_lists)
		kubewatch_list(w);
	else
		kubewatch_stream(w);
}

/* Try again after the backoff for the failures so far. */
static void
kubewatch_later(struct kubewatch *w, bool relist)
{
	uint64_t x = w->rnd;
	int64_t d;
	struct timeval tv;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rnd = x;
	d = backoff_delay(&w->bo, w->failures > 0 ? w->failures - 1 : 0, x,
	    -1);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	w->timer_lists = relist;
	evtimer_add(w->timer, &tv);
}

/* Remember the resume point of obj (an event object or bookmark). */
static void
kubewatch_note_rv(struct kubewatch *w, json_t *obj)
{
	const char *rv = json_string_value(json_object_get(
	    json_object_get(obj, "metadata"), "resourceVersion"));

	if (rv != NULL && *rv != '\0') {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
}

/* One line of the watch stream. */
static void
kubewatch_line_cb(const char *line, size_t len, void *arg)
{
	struct kubewatch *w = arg;
	json_t *ev = json_loadb(line, len, 0, NULL), *obj;
	const char *type;
	enum kubewatch_what what;

	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (type == NULL || !json_is_object(obj)) {
		struct kube_error e = { .kind = KUBE_ERR_DECODE, .status = 200,
		    .reason = "", .message = "watch event is not "
		    "{\"type\":..., \"object\":{...}}" };

		json_decref(ev);
		kube_cancel(w->req);
		w->req = NULL;
		w->failures++;
		if (kubewatch_emit(w, KUBEWATCH_FAILED, NULL, &e))
			kubewatch_later(w, false);
		return;
	}
	if (strcmp(type, "ERROR") == 0) {
		json_int_t code = json_integer_value(json_object_get(obj,
		    "code"));
		struct kube_error e = { .kind = KUBE_ERR_HTTP,
		    .status = (long)code,
		    .reason = json_string_value(json_object_get(obj, "reason")),
		    .message = json_string_value(json_object_get(obj,
		    "message")) };

		kube_cancel(w->req);
		w->req = NULL;
		if (e.reason == NULL)
			e.reason = "";
		if (e.message == NULL)
			e.message = "";
		if (code == 410) {
			log_info("kube", "watch expired; re-listing",
			    LS("path", w->path));
			json_decref(ev);
			kubewatch_list(w);
			return;
		}
		w->failures++;
		if (kubewatch_emit(w, KUBEWATCH_FAILED, NULL, &e))
			kubewatch_later(w, false);
		json_decref(ev);
		return;
	}
	if (strcmp(type, "ADDED") == 0)
		what = KUBEWATCH_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		what = KUBEWATCH_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		what = KUBEWATCH_DELETED;
	else if (strcmp(type, "BOOKMARK") == 0)
		what = KUBEWATCH_BOOKMARK;
	else {
		log_warn("kube", "unknown watch event type", LS("type", type));
		json_decref(ev);
		return;
	}
	w->failures = 0;
	kubewatch_note_rv(w, obj);
	kubewatch_emit(w, what, obj, NULL);
	json_decref(ev);
}

/* The stream ended: resume, re-list, or back off. */
static void
kubewatch_stream_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct kubewatch *w = arg;

	w->req = NULL;
	if (err == NULL) {
		/* the server ended the watch (timeoutSeconds): resume */
		kubewatch_stream(w);
		return;
	}
	if (err->kind == KUBE_ERR_HTTP && err->status == 410) {
		kubewatch_list(w);
		return;
	}
	w->failures++;
	if (kubewatch_emit(w, KUBEWATCH_FAILED, NULL, err))
		kubewatch_later(w, false);
}

/* Open a watch stream from the current resume point. */
static void
kubewatch_stream(struct kubewatch *w)
{
	struct kube_opts o = { .timeout_ms = (int64_t)(w->timeout_s + 30) * 1000 };
	char *rv = curl_easy_escape(NULL, w->rv != NULL ? w->rv : "", 0);
	char *path;

	if (rv == NULL)
		abort();
	path = xasprintf("%s?watch=1&allowWatchBookmarks=true&"
	    "resourceVersion=%s&timeoutSeconds=%u%s%s", w->path, rv,
	    w->timeout_s, w->query != NULL ? "&" : "",
	    w->query != NULL ? w->query : "");
	curl_free(rv);
	w->req = kube_stream(w->k, path, &o, kubewatch_line_cb,
	    kubewatch_stream_done_cb, w);
	free(path);
}

/* The LIST finished: report the snapshot and watch from its version. */
static void
kubewatch_list_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct kubewatch *w = arg;

	w->req = NULL;
	if (err != NULL) {
		w->failures++;
		if (kubewatch_emit(w, KUBEWATCH_FAILED, NULL, err))
			kubewatch_later(w, true);
		return;
	}
	w->failures = 0;
	kubewatch_note_rv(w, obj);
	if (kubewatch_emit(w, KUBEWATCH_SYNC, obj, NULL))
		kubewatch_stream(w);
}

/* Start a LIST. */
static void
kubewatch_list(struct kubewatch *w)
{
	w->lists++;
	w->req = kube_list(w->k, w->path, w->query, 0, NULL,
	    kubewatch_list_done_cb, w);
}

/* Start watching. */
struct kubewatch *
kubewatch_start(struct kube *k, const char *path, const char *query,
    unsigned timeout_s, kubewatch_cb cb, void *arg)
{
	struct kubewatch *w = xcalloc(1, sizeof *w);

	w->k = k;
	w->path = xstrdup(path);
	w->query = query != NULL && *query != '\0' ? xstrdup(query) : NULL;
	w->timeout_s = timeout_s == 0 ? 300 : timeout_s;
	w->cb = cb;
	w->arg = arg;
	w->bo.base_ms = 250;
	w->bo.cap_ms = 10000;
	w->rnd = (uint64_t)(uintptr_t)w ^ (uint64_t)kube_now_ms() ^
	    0x2545f4914f6cdd1dull;
	w->timer = evtimer_new(kube_base(k), kubewatch_timer_cb, w);
	if (w->timer == NULL)
		abort();
	kubewatch_list(w);
	return w;
}

/* Stop and free a watch. */
void
kubewatch_stop(struct kubewatch *w)
{
	if (w == NULL)
		return;
	if (w->in_cb) {
		w->stopped = true;
		return;
	}
	kubewatch_free(w);
}

/* Resume point. */
const char *
kubewatch_rv(const struct kubewatch *w)
{
	return w->rv;
}

/* Number of LISTs made. */
unsigned
kubewatch_lists(const struct kubewatch *w)
{
	return w->lists;
}
