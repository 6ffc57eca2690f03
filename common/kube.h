/* kube: asynchronous Kubernetes REST client on libcurl's multi-socket API and libevent. */
#ifndef TWA_KUBE_H
#define TWA_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "kubeconfig.h"

/* What kind of failure a request ended with. */
enum kube_error_kind {
	KUBE_ERR_HTTP = 1,	/* the server answered with a non-2xx status */
	KUBE_ERR_TRANSPORT,	/* curl failed: connect, TLS, reset, ... */
	KUBE_ERR_TIMEOUT,	/* the per-request timeout passed */
	KUBE_ERR_TOO_LARGE,	/* the response passed the size cap */
	KUBE_ERR_DECODE,	/* the body was not the JSON expected */
};

/*
 * One failed request (plain data, owned by the client; valid only during
 * the callback it is passed to). For KUBE_ERR_HTTP, status is the HTTP
 * status and reason/message come from the Status object (reason may be ""
 * when the body was not a Status). For other kinds status is 0 and
 * curl_code is set for transport errors.
 */
struct kube_error {
	enum kube_error_kind	 kind;
	long			 status;
	const char		*reason;
	const char		*message;
	int			 curl_code;
	unsigned		 attempts;	/* tries made, 1 when not retried */
};

/* Format err as one line ("HTTP 409 Conflict: ..."). Caller frees. */
char *kube_error_string(const struct kube_error *err);
/* Whether err is an HTTP error with this status. NULL err is false. */
bool kube_error_is(const struct kube_error *err, long status);

/* When a failed request may be tried again. */
enum kube_retry {
	KUBE_RETRY_DEFAULT = 0,	/* GET/LIST/WATCH retry; writes never do */
	KUBE_RETRY_NEVER,	/* one attempt (conditional writes) */
	KUBE_RETRY_IDEMPOTENT,	/* the caller vouches that repeating is harmless */
};

/* Per-request options (plain data; zero means the client's default). */
struct kube_opts {
	int64_t		timeout_ms;	/* one attempt; default 30 s */
	int64_t		deadline_ms;	/* all attempts; default 4 x timeout */
	size_t		max_body;	/* response cap; default 4 MiB */
	enum kube_retry	retry;
	unsigned	max_attempts;	/* default 5 */
};

struct kube;
struct kube_req;

/*
 * Response callback: obj is the decoded body on success (borrowed; incref
 * to keep it; JSON null for an empty body) and err is NULL; on failure obj
 * is NULL and err says why. The request is finished and freed after the
 * callback returns; do not cancel it from inside its own callback.
 */
typedef void (*kube_done_cb)(json_t *obj, const struct kube_error *err,
    void *arg);

/*
 * A client on base for cfg (copied). Returns NULL and an allocated cause if
 * curl cannot be set up. Caller frees with kube_free, never from inside a
 * callback of this client.
 */
struct kube *kube_new(struct event_base *base, const struct kube_config *cfg,
    char **cause);
/* Free the client; running requests and watches end without callbacks. */
void kube_free(struct kube *k);
/* The event_base the client runs on. */
struct event_base *kube_base(const struct kube *k);
/* The pod's namespace from the configuration (may be NULL). */
const char *kube_namespace(const struct kube *k);
/* Set the default per-attempt timeout for requests whose opts leave it 0. */
void kube_set_default_timeout(struct kube *k, int64_t timeout_ms);
/* Set the retry backoff base and cap (tests shorten them). */
void kube_set_backoff(struct kube *k, int64_t base_ms, int64_t cap_ms);
/* Set the User-Agent header (default "twa/<version>"). */
void kube_set_user_agent(struct kube *k, const char *ua);

/* Requests sent so far (every attempt counts). */
uint64_t kube_requests_sent(const struct kube *k);
/* Milliseconds on the monotonic clock (the clock every timeout here uses). */
int64_t kube_now_ms(void);

/*
 * Send one request: method, path (starting "/", with any query string),
 * body (NULL or text sent as content_type). Every verb below is a thin
 * wrapper. Returns a handle that stays valid until the callback has run;
 * cancel it with kube_cancel. Never NULL.
 */
struct kube_req *kube_request(struct kube *k, const char *method,
    const char *path, const char *body, const char *content_type,
    const struct kube_opts *opts, kube_done_cb cb, void *arg);
/* Cancel a request that has not finished: its callback is never called. */
void kube_cancel(struct kube_req *r);

/* GET path. */
struct kube_req *kube_get(struct kube *k, const char *path,
    const struct kube_opts *opts, kube_done_cb cb, void *arg);
/* POST obj (not stolen) to a collection path. */
struct kube_req *kube_create(struct kube *k, const char *path, json_t *obj,
    const struct kube_opts *opts, kube_done_cb cb, void *arg);
/* PUT obj (not stolen; carry metadata.resourceVersion) to path. */
struct kube_req *kube_put(struct kube *k, const char *path, json_t *obj,
    const struct kube_opts *opts, kube_done_cb cb, void *arg);
/*
 * DELETE path; with uid non-NULL, a DeleteOptions body carries the UID
 * precondition (a re-created object of the same name answers 409).
 * propagation is NULL or "Background", "Foreground", "Orphan".
 */
struct kube_req *kube_delete(struct kube *k, const char *path,
    const char *uid, const char *propagation, const struct kube_opts *opts,
    kube_done_cb cb, void *arg);

/* Patch content types. */
enum kube_patch {
	KUBE_PATCH_MERGE,	/* application/merge-patch+json (RFC 7386) */
	KUBE_PATCH_JSON,	/* application/json-patch+json (RFC 6902) */
};
/* PATCH path with patch (not stolen). */
struct kube_req *kube_patch(struct kube *k, const char *path,
    enum kube_patch type, json_t *patch, const struct kube_opts *opts,
    kube_done_cb cb, void *arg);

/*
 * LIST a collection path (query may be NULL or "labelSelector=..."; no
 * leading '?'), following continue tokens page by page (limit items per
 * page, 0: 500). The callback gets one List object whose items hold every
 * page and whose metadata.resourceVersion is the snapshot's. A continue
 * token that expired (410) restarts the list once from the first page.
 * The total is capped at max_body per page and 64 pages.
 */
struct kube_req *kube_list(struct kube *k, const char *path,
    const char *query, unsigned limit, const struct kube_opts *opts,
    kube_done_cb cb, void *arg);

/*
 * Streaming GET: path as for kube_request. While the server answers 2xx,
 * each newline-terminated line of the body is passed to line_cb (from the
 * event loop, never from inside curl; the line is NUL-terminated and
 * borrowed). A single line longer than opts->max_body fails the request
 * with KUBE_ERR_TOO_LARGE. done is called once at the end: obj JSON null
 * after a clean end of stream, or err. Never retried: the caller resumes.
 * kube_cancel may be called from inside line_cb.
 */
typedef void (*kube_line_cb)(const char *line, size_t len, void *arg);
struct kube_req *kube_stream(struct kube *k, const char *path,
    const struct kube_opts *opts, kube_line_cb line_cb, kube_done_cb done,
    void *arg);

/*
 * Parse a /version "minor" like "29", "29+" or "30-gke.1". Returns 0 and
 * *minor, or -1 and an allocated cause.
 */
int kube_version_minor(const char *s, int *minor, char **cause);
/* Version callback: major/minor on success, err otherwise. */
typedef void (*kube_version_cb)(int major, int minor,
    const struct kube_error *err, void *arg);
/* GET /version and parse major and minor. */
struct kube_req *kube_version(struct kube *k, kube_version_cb cb, void *arg);

#endif
