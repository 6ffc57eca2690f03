/* kube: asynchronous Kubernetes REST client on libcurl's multi-socket API and libevent. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "backoff.h"
#include "curlev.h"
#include "kube.h"
#include "kubeconfig.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "xalloc.h"

#define KUBE_DEFAULT_TIMEOUT_MS	30000
#define KUBE_DEFAULT_MAX_BODY	(4u * 1024 * 1024)
#define KUBE_DEFAULT_ATTEMPTS	5
#define KUBE_TOKEN_PERIOD_MS	60000
#define KUBE_TOKEN_MAX		65536
#define KUBE_LIST_MAX_PAGES	64

enum kube_req_kind { KUBE_REQ_PLAIN, KUBE_REQ_STREAM, KUBE_REQ_LIST, KUBE_REQ_FAILED };

struct kube {
	struct event_base	*base;
	struct curlev		*cev;
	struct kube_config	 cfg;
	char			*token;
	int64_t			 token_read_ms;
	bool			 token_force;
	char			*ua;
	int64_t			 default_timeout_ms;
	struct backoff_policy	 bo;
	uint64_t		 sent;
	uint64_t		 rnd;
	struct kube_req		*reqs;
};

struct kube_req {
	struct kube		*k;
	enum kube_req_kind	 kind;
	char			*method, *path, *body, *ctype;
	struct kube_opts	 o;
	kube_done_cb		 cb;
	kube_line_cb		 line_cb;
	void			*arg;

	CURL			*easy;
	struct curl_slist	*hdrs;
	struct event		*retry_ev;
	struct event		*dispatch_ev;
	char			*buf;
	size_t			 len, cap, done_off, tail;
	bool			 too_large;
	int64_t			 retry_after_ms;
	unsigned		 attempt;
	int64_t			 start_ms;
	bool			 retried_401;
	bool			 in_cb, cancelled;

	/* the error handed to the callback */
	struct kube_error	 err;
	char			*err_reason, *err_message;

	/* LIST: the running page request and the pages so far */
	struct kube_req		*child, *parent;
	char			*query;
	unsigned		 limit, pages;
	bool			 restarted;
	json_t			*items;
	void			*owned;		/* freed with the request */

	struct kube_req		*next, *prev;
};

static void kube_attempt(struct kube_req *r);

/* Monotonic milliseconds. */
int64_t
kube_now_ms(void)
{
	return timefmt_mono_ms();
}

/* Next pseudo-random 64-bit value (xorshift), for jitter only. */
static uint64_t
kube_rand(struct kube *k)
{
	uint64_t x = k->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return k->rnd = x;
}

/* One-line description of an error; caller frees. */
char *
kube_error_string(const struct kube_error *err)
{
	const char *m = err->message != NULL ? err->message : "";

	switch (err->kind) {
	case KUBE_ERR_HTTP:
		return xasprintf("HTTP %ld %s: %s", err->status,
		    err->reason != NULL && *err->reason != '\0' ?
		    err->reason : "(no reason)", m);
	case KUBE_ERR_TRANSPORT:
		return xasprintf("transport error (curl %d): %s",
		    err->curl_code, m);
	case KUBE_ERR_TIMEOUT:
		return xasprintf("timeout: %s", m);
	case KUBE_ERR_TOO_LARGE:
		return xasprintf("response too large: %s", m);
	case KUBE_ERR_DECODE:
		return xasprintf("bad response: %s", m);
	}
	return xasprintf("error: %s", m);
}

/* Whether err is HTTP status. */
bool
kube_error_is(const struct kube_error *err, long status)
{
	return err != NULL && err->kind == KUBE_ERR_HTTP &&
	    err->status == status;
}

/* Make a client; caller frees. */
struct kube *
kube_new(struct event_base *base, const struct kube_config *cfg, char **cause)
{
	struct kube *k = xcalloc(1, sizeof *k);
	struct timespec ts;

	k->cev = curlev_new(base, cause);
	if (k->cev == NULL) {
		free(k);
		return NULL;
	}
	k->base = base;
	k->cfg.server = xstrdup(cfg->server);
	k->cfg.ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	k->cfg.token_file = cfg->token_file ? xstrdup(cfg->token_file) : NULL;
	k->cfg.namespace = cfg->namespace ? xstrdup(cfg->namespace) : NULL;
	k->ua = xstrdup("twa/" PACKAGE_VERSION);
	k->default_timeout_ms = KUBE_DEFAULT_TIMEOUT_MS;
	k->bo.base_ms = 200;
	k->bo.cap_ms = 5000;
	k->token_read_ms = INT64_MIN / 2;
	clock_gettime(CLOCK_REALTIME, &ts);
	k->rnd = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^
	    (uint64_t)(uintptr_t)k ^ 0x9e3779b97f4a7c15ull;
	return k;
}

static void kube_req_free(struct kube_req *r);

/* Free a client and everything running on it. */
void
kube_free(struct kube *k)
{
	if (k == NULL)
		return;
	while (k->reqs != NULL)
		kube_req_free(k->reqs);
	curlev_free(k->cev);
	kube_config_clear(&k->cfg);
	free(k->token);
	free(k->ua);
	free(k);
}

/* The client's event_base. */
struct event_base *
kube_base(const struct kube *k)
{
	return k->base;
}

/* The configured namespace. */
const char *
kube_namespace(const struct kube *k)
{
	return k->cfg.namespace;
}

/* Set the default per-attempt timeout. */
void
kube_set_default_timeout(struct kube *k, int64_t timeout_ms)
{
	k->default_timeout_ms = timeout_ms > 0 ? timeout_ms :
	    KUBE_DEFAULT_TIMEOUT_MS;
}

/* Set the retry backoff. */
void
kube_set_backoff(struct kube *k, int64_t base_ms, int64_t cap_ms)
{
	k->bo.base_ms = base_ms;
	k->bo.cap_ms = cap_ms;
}

/* Set the User-Agent. */
void
kube_set_user_agent(struct kube *k, const char *ua)
{
	free(k->ua);
	k->ua = xstrdup(ua);
}

/* Requests sent. */
uint64_t
kube_requests_sent(const struct kube *k)
{
	return k->sent;
}

/* Re-read the token file when a minute has passed or a 401 asked for it. */
static void
kube_token_refresh(struct kube *k)
{
	int64_t now = kube_now_ms();
	char *t, *cause = NULL;

	if (k->cfg.token_file == NULL)
		return;
	if (!k->token_force && k->token != NULL &&
	    now - k->token_read_ms < KUBE_TOKEN_PERIOD_MS)
		return;
	k->token_force = false;
	k->token_read_ms = now;
	t = kube_config_read(k->cfg.token_file, KUBE_TOKEN_MAX, &cause);
	if (t == NULL) {
		log_warn("kube", "cannot read token; keeping the old one",
		    LS("error", cause));
		free(cause);
		return;
	}
	free(k->token);
	k->token = t;
}

/* Release the transfer of one attempt. */
static void
kube_req_drop_easy(struct kube_req *r)
{
	if (r->easy != NULL) {
		curlev_remove(r->k->cev, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
}

/* Free a request and whatever it still runs. */
static void
kube_req_free(struct kube_req *r)
{
	struct kube *k = r->k;

	if (r->child != NULL) {
		r->child->parent = NULL;
		kube_req_free(r->child);
	}
	if (r->parent != NULL)
		r->parent->child = NULL;
	kube_req_drop_easy(r);
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	if (r->dispatch_ev != NULL)
		event_free(r->dispatch_ev);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		k->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	json_decref(r->items);
	free(r->method);
	free(r->path);
	free(r->body);
	free(r->ctype);
	free(r->buf);
	free(r->err_reason);
	free(r->err_message);
	free(r->query);
	free(r->owned);
	free(r);
}

/* Cancel a request without calling back. */
void
kube_cancel(struct kube_req *r)
{
	if (r == NULL)
		return;
	if (r->in_cb) {
		r->cancelled = true;
		return;
	}
	kube_req_free(r);
}

/* Call the done callback with obj or the request's error, then free r. */
static void
kube_finish(struct kube_req *r, json_t *obj, bool failed)
{
	r->in_cb = true;
	if (!r->cancelled && r->cb != NULL)
		r->cb(failed ? NULL : obj, failed ? &r->err : NULL, r->arg);
	r->in_cb = false;
	kube_req_free(r);
}

/* Record an error of kind on r. */
static void
kube_set_err(struct kube_req *r, enum kube_error_kind kind, long status,
    const char *reason, const char *message)
{
	free(r->err_reason);
	free(r->err_message);
	r->err_reason = xstrdup(reason != NULL ? reason : "");
	r->err_message = xstrdup(message != NULL ? message : "");
	memset(&r->err, 0, sizeof r->err);
	r->err.kind = kind;
	r->err.status = status;
	r->err.reason = r->err_reason;
	r->err.message = r->err_message;
	r->err.attempts = r->attempt;
}

/* curl header callback: remember Retry-After (seconds). */
static size_t
kube_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct kube_req *r = arg;
	size_t len = size * n;
	char val[32];
	int64_t secs;
	char *cause = NULL;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		size_t i = 12, j = 0;

		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		while (i < len && j < sizeof val - 1 && data[i] != '\r' &&
		    data[i] != '\n')
			val[j++] = data[i++];
		val[j] = '\0';
		if (parse_int(val, 0, 3600, &secs, &cause) == 0)
			r->retry_after_ms = secs * 1000;
		free(cause);
	}
	return len;
}

/* Deliver every complete line of a stream's buffer; false if r was cancelled. */
static bool
kube_dispatch_lines(struct kube_req *r, bool final)
{
	r->in_cb = true;
	while (!r->cancelled && r->done_off < r->len) {
		char *start = r->buf + r->done_off;
		char *nl = memchr(start, '\n', r->len - r->done_off);
		size_t l;

		if (nl == NULL) {
			if (!final)
				break;
			nl = r->buf + r->len;
		}
		l = (size_t)(nl - start);
		r->done_off += l + (nl < r->buf + r->len ? 1 : 0);
		if (l > 0 && start[l - 1] == '\r')
			l--;
		if (l == 0)
			continue;
		start[l] = '\0';
		r->line_cb(start, l, r->arg);
	}
	r->in_cb = false;
	if (r->cancelled) {
		kube_req_free(r);
		return false;
	}
	/* drop what has been delivered */
	if (r->done_off > 0) {
		memmove(r->buf, r->buf + r->done_off, r->len - r->done_off);
		r->len -= r->done_off;
		r->done_off = 0;
	}
	return true;
}

/* Deferred delivery of stream lines, outside curl's callbacks. */
static void
kube_dispatch_cb(evutil_socket_t fd, short events, void *arg)
{
	kube_dispatch_lines(arg, false);
}

/* curl write callback: buffer the body up to the cap. */
static size_t
kube_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct kube_req *r = arg;
	size_t len = size * n, limit = r->o.max_body;
	long code = 0;
	bool streaming = false;

	if (r->kind == KUBE_REQ_STREAM) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		streaming = code >= 200 && code < 300;
		/* a stream may hold several pending lines; one line is capped */
		if (streaming)
			limit = r->o.max_body * 4;
	}
	if (r->len + len > limit) {
		r->too_large = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t c = r->cap == 0 ? 4096 : r->cap;

		while (c < r->len + len + 1)
			c *= 2;
		r->buf = xrealloc(r->buf, c);
		r->cap = c;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->buf[r->len] = '\0';
	if (streaming) {
		size_t i = len;

		while (i > 0 && data[i - 1] != '\n')
			i--;
		/* i > 0: the chunk completes a line; the tail restarts after it */
		r->tail = i > 0 ? len - i : r->tail + len;
		if (r->tail > r->o.max_body) {
			r->too_large = true;
			return 0;
		}
		if (i > 0)
			event_active(r->dispatch_ev, EV_TIMEOUT, 0);
	}
	return len;
}

/* Whether r may be tried again after a retryable failure. */
static bool
kube_may_retry(struct kube_req *r, int64_t delay_ms)
{
	bool safe = strcmp(r->method, "GET") == 0;

	if (r->kind == KUBE_REQ_STREAM || r->o.retry == KUBE_RETRY_NEVER)
		return false;
	if (!safe && r->o.retry != KUBE_RETRY_IDEMPOTENT)
		return false;
	if (r->attempt >= r->o.max_attempts || delay_ms < 0)
		return false;
	return kube_now_ms() + delay_ms < r->start_ms + r->o.deadline_ms;
}

/* Timer: start the next attempt. */
static void
kube_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct kube_req *r = arg;

	if (r->kind == KUBE_REQ_FAILED)
		kube_finish(r, NULL, true);
	else
		kube_attempt(r);
}

/* Schedule another attempt after delay_ms. */
static void
kube_schedule(struct kube_req *r, int64_t delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	if (r->retry_ev == NULL)
		r->retry_ev = evtimer_new(r->k->base, kube_retry_cb, r);
	evtimer_add(r->retry_ev, &tv);
}

/* Retry if allowed (true), else leave the error for the caller (false). */
static bool
kube_try_again(struct kube_req *r)
{
	int64_t d = backoff_delay(&r->k->bo, r->attempt - 1,
	    kube_rand(r->k), r->retry_after_ms);

	if (!kube_may_retry(r, d))
		return false;
	log_debug("kube", "retrying", LS("method", r->method),
	    LS("path", r->path), LI("attempt", r->attempt), LI("delay_ms", d),
	    LI("status", r->err.status));
	kube_schedule(r, d);
	return true;
}

/* Fill r's error from an HTTP response body (a Status object or text). */
static void
kube_http_error(struct kube_req *r, long code)
{
	json_t *st = r->len > 0 ? json_loadb(r->buf, r->len, 0, NULL) : NULL;
	const char *reason = NULL, *msg = NULL;

	if (json_is_object(st)) {
		reason = json_string_value(json_object_get(st, "reason"));
		msg = json_string_value(json_object_get(st, "message"));
	}
	if (msg == NULL && st == NULL && r->len > 0) {
		char *text = xstrndup(r->buf, r->len > 512 ? 512 : r->len);

		kube_set_err(r, KUBE_ERR_HTTP, code, reason, text);
		free(text);
	} else
		kube_set_err(r, KUBE_ERR_HTTP, code, reason, msg);
	json_decref(st);
}

/* curlev callback: one attempt finished. */
static void
kube_xfer_done_cb(CURL *easy, CURLcode rc, void *arg)
{
	struct kube_req *r = arg;
	long code = 0;
	json_t *obj;
	json_error_t je;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (r->too_large) {
		char m[96];

		snprintf(m, sizeof m, "%s %s: body over %zu bytes", r->method,
		    r->path, r->o.max_body);
		kube_set_err(r, KUBE_ERR_TOO_LARGE, 0, NULL, m);
		kube_finish(r, NULL, true);
		return;
	}
	if (rc != CURLE_OK) {
		char *m = xasprintf("%s %s: %s", r->method, r->path,
		    curl_easy_strerror(rc));

		kube_set_err(r, rc == CURLE_OPERATION_TIMEDOUT ?
		    KUBE_ERR_TIMEOUT : KUBE_ERR_TRANSPORT, 0, NULL, m);
		r->err.curl_code = (int)rc;
		free(m);
		if (r->kind == KUBE_REQ_STREAM &&
		    !kube_dispatch_lines(r, false))
			return;
		kube_req_drop_easy(r);
		if (kube_try_again(r))
			return;
		kube_finish(r, NULL, true);
		return;
	}
	if (code >= 200 && code < 300) {
		if (r->kind == KUBE_REQ_STREAM) {
			if (!kube_dispatch_lines(r, true))
				return;
			kube_finish(r, json_null(), false);
			return;
		}
		if (r->len == 0)
			obj = json_null();
		else if ((obj = json_loadb(r->buf, r->len, 0, &je)) == NULL) {
			char *m = xasprintf("%s %s: invalid JSON: %s", r->method,
			    r->path, je.text);

			kube_set_err(r, KUBE_ERR_DECODE, code, NULL, m);
			free(m);
			kube_finish(r, NULL, true);
			return;
		}
		kube_finish(r, obj, false);
		json_decref(obj);
		return;
	}
	kube_http_error(r, code);
	kube_req_drop_easy(r);
	if (code == 401 && !r->retried_401 && r->k->cfg.token_file != NULL) {
		/* the token may have rotated: re-read it and try once more */
		r->retried_401 = true;
		r->k->token_force = true;
		log_info("kube", "unauthorized; re-reading the token",
		    LS("path", r->path));
		kube_schedule(r, 0);
		return;
	}
	if (code == 401)
		r->k->token_force = true;
	if ((code == 429 || code >= 500) && kube_try_again(r))
		return;
	kube_finish(r, NULL, true);
}

/* Start one attempt of r. */
static void
kube_attempt(struct kube_req *r)
{
	struct kube *k = r->k;
	char *url, *h, *cause = NULL;
	CURL *e;

	kube_token_refresh(k);
	r->attempt++;
	r->len = 0;
	r->done_off = 0;
	r->tail = 0;
	r->too_large = false;
	r->retry_after_ms = -1;
	e = r->easy = curl_easy_init();
	if (e == NULL)
		abort();
	url = xasprintf("%s%s", k->cfg.server, r->path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (strcmp(r->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (r->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	}
	if (k->cfg.ca_file != NULL) {
		curl_easy_setopt(e, CURLOPT_CAINFO, k->cfg.ca_file);
#if LIBCURL_VERSION_NUM >= 0x075700
		/* the CA is a ConfigMap that can rotate: re-read it each minute */
		curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 60L);
#endif
	}
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (r->ctype != NULL) {
		h = xasprintf("Content-Type: %s", r->ctype);
		r->hdrs = curl_slist_append(r->hdrs, h);
		free(h);
	}
	if (k->token != NULL && *k->token != '\0') {
		h = xasprintf("Authorization: Bearer %s", k->token);
		r->hdrs = curl_slist_append(r->hdrs, h);
		free(h);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, k->ua);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(r->o.timeout_ms < 10000 ? r->o.timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kube_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, kube_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	if (curlev_add(k->cev, e, kube_xfer_done_cb, r, &cause) != 0) {
		kube_set_err(r, KUBE_ERR_TRANSPORT, 0, NULL, cause);
		free(cause);
		kube_req_drop_easy(r);
		kube_finish(r, NULL, true);
		return;
	}
	k->sent++;
}

/* Allocate a request of kind with opts filled in from the defaults. */
static struct kube_req *
kube_req_new(struct kube *k, enum kube_req_kind kind, const char *method,
    const char *path, const struct kube_opts *opts, kube_done_cb cb,
    void *arg)
{
	struct kube_req *r = xcalloc(1, sizeof *r);

	r->k = k;
	r->kind = kind;
	r->method = xstrdup(method);
	r->path = xstrdup(path);
	if (opts != NULL)
		r->o = *opts;
	if (r->o.timeout_ms <= 0)
		r->o.timeout_ms = k->default_timeout_ms;
	if (r->o.deadline_ms <= 0)
		r->o.deadline_ms = r->o.timeout_ms * 4;
	if (r->o.max_body == 0)
		r->o.max_body = KUBE_DEFAULT_MAX_BODY;
	if (r->o.max_attempts == 0)
		r->o.max_attempts = KUBE_DEFAULT_ATTEMPTS;
	r->cb = cb;
	r->arg = arg;
	r->start_ms = kube_now_ms();
	r->next = k->reqs;
	if (k->reqs != NULL)
		k->reqs->prev = r;
	k->reqs = r;
	return r;
}

/* Send one request. */
struct kube_req *
kube_request(struct kube *k, const char *method, const char *path,
    const char *body, const char *content_type, const struct kube_opts *opts,
    kube_done_cb cb, void *arg)
{
	struct kube_req *r = kube_req_new(k, KUBE_REQ_PLAIN, method, path,
	    opts, cb, arg);

	r->body = body != NULL ? xstrdup(body) : NULL;
	r->ctype = content_type != NULL ? xstrdup(content_type) : NULL;
	/* start from the loop so the callback never runs before we return */
	kube_schedule(r, 0);
	return r;
}

/* Streaming GET. */
struct kube_req *
kube_stream(struct kube *k, const char *path, const struct kube_opts *opts,
    kube_line_cb line_cb, kube_done_cb done, void *arg)
{
	struct kube_req *r = kube_req_new(k, KUBE_REQ_STREAM, "GET", path,
	    opts, done, arg);

	r->line_cb = line_cb;
	r->dispatch_ev = event_new(k->base, -1, 0, kube_dispatch_cb, r);
	kube_schedule(r, 0);
	return r;
}

/* Serialise obj and send it with method. */
static struct kube_req *
kube_send_json(struct kube *k, const char *method, const char *path,
    json_t *obj, const char *ctype, const struct kube_opts *opts,
    kube_done_cb cb, void *arg)
{
	char *body = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	struct kube_req *r;

	if (obj != NULL && body == NULL)
		abort();
	r = kube_request(k, method, path, body, ctype, opts, cb, arg);
	free(body);
	return r;
}

/* GET path. */
struct kube_req *
kube_get(struct kube *k, const char *path, const struct kube_opts *opts,
    kube_done_cb cb, void *arg)
{
	return kube_request(k, "GET", path, NULL, NULL, opts, cb, arg);
}

/* POST obj. */
struct kube_req *
kube_create(struct kube *k, const char *path, json_t *obj,
    const struct kube_opts *opts, kube_done_cb cb, void *arg)
{
	return kube_send_json(k, "POST", path, obj, "application/json", opts,
	    cb, arg);
}

/* PUT obj. */
struct kube_req *
kube_put(struct kube *k, const char *path, json_t *obj,
    const struct kube_opts *opts, kube_done_cb cb, void *arg)
{
	return kube_send_json(k, "PUT", path, obj, "application/json", opts,
	    cb, arg);
}

/* DELETE path, optionally with a UID precondition. */
struct kube_req *
kube_delete(struct kube *k, const char *path, const char *uid,
    const char *propagation, const struct kube_opts *opts, kube_done_cb cb,
    void *arg)
{
	json_t *o = NULL;
	struct kube_req *r;

	if (uid != NULL || propagation != NULL) {
		o = json_pack("{s:s, s:s}", "kind", "DeleteOptions",
		    "apiVersion", "v1");
		if (uid != NULL)
			json_object_set_new(o, "preconditions",
			    json_pack("{s:s}", "uid", uid));
		if (propagation != NULL)
			json_object_set_new(o, "propagationPolicy",
			    json_string(propagation));
	}
	r = kube_send_json(k, "DELETE", path, o, o ? "application/json" : NULL,
	    opts, cb, arg);
	json_decref(o);
	return r;
}

/* PATCH path. */
struct kube_req *
kube_patch(struct kube *k, const char *path, enum kube_patch type,
    json_t *patch, const struct kube_opts *opts, kube_done_cb cb, void *arg)
{
	return kube_send_json(k, "PATCH", path, patch,
	    type == KUBE_PATCH_JSON ? "application/json-patch+json" :
	    "application/merge-patch+json", opts, cb, arg);
}

static void kube_list_page(struct kube_req *l, const char *cont);

/* One LIST page arrived: collect its items, then fetch the next or finish. */
static void
kube_list_page_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct kube_req *l = arg;
	json_t *items, *meta, *it;
	const char *cont;
	size_t i;

	if (l->child != NULL)
		l->child->parent = NULL;
	l->child = NULL;
	if (err != NULL) {
		if (err->kind == KUBE_ERR_HTTP && err->status == 410 &&
		    l->pages > 0 && !l->restarted) {
			/* the continue token expired: start over once */
			l->restarted = true;
			json_array_clear(l->items);
			l->pages = 0;
			kube_list_page(l, NULL);
			return;
		}
		kube_set_err(l, err->kind, err->status, err->reason,
		    err->message);
		l->err.curl_code = err->curl_code;
		l->err.attempts = err->attempts;
		kube_finish(l, NULL, true);
		return;
	}
	items = json_object_get(obj, "items");
	meta = json_object_get(obj, "metadata");
	if (!json_is_object(obj) || (!json_is_array(items) && !json_is_null(items)
	    && items != NULL)) {
		kube_set_err(l, KUBE_ERR_DECODE, 200, NULL,
		    "LIST response has no items array");
		kube_finish(l, NULL, true);
		return;
	}
	json_array_foreach(items, i, it)
		json_array_append(l->items, it);
	l->pages++;
	cont = json_string_value(json_object_get(meta, "continue"));
	if (cont != NULL && *cont != '\0') {
		if (l->pages >= KUBE_LIST_MAX_PAGES) {
			kube_set_err(l, KUBE_ERR_TOO_LARGE, 0, NULL,
			    "LIST has more than 64 pages");
			kube_finish(l, NULL, true);
			return;
		}
		kube_list_page(l, cont);
		return;
	}
	{
		json_t *out = json_deep_copy(obj);

		json_object_set(out, "items", l->items);
		if (json_is_object(json_object_get(out, "metadata")))
			json_object_del(json_object_get(out, "metadata"),
			    "continue");
		kube_finish(l, out, false);
		json_decref(out);
	}
}

/* Escape a query value (continue tokens); caller frees. */
static char *
kube_query_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (e == NULL)
		abort();
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* Request one LIST page. */
static void
kube_list_page(struct kube_req *l, const char *cont)
{
	char *path, *c = cont != NULL ? kube_query_escape(cont) : NULL;
	struct kube_opts o = l->o;

	path = xasprintf("%s?limit=%u%s%s%s%s", l->path, l->limit,
	    l->query != NULL ? "&" : "", l->query != NULL ? l->query : "",
	    c != NULL ? "&continue=" : "", c != NULL ? c : "");
	free(c);
	l->child = kube_get(l->k, path, &o, kube_list_page_cb, l);
	l->child->parent = l;
	free(path);
}

/* LIST with pagination. */
struct kube_req *
kube_list(struct kube *k, const char *path, const char *query,
    unsigned limit, const struct kube_opts *opts, kube_done_cb cb, void *arg)
{
	struct kube_req *l = kube_req_new(k, KUBE_REQ_LIST, "GET", path, opts,
	    cb, arg);

	l->query = query != NULL && *query != '\0' ? xstrdup(query) : NULL;
	l->limit = limit == 0 ? 500 : limit;
	l->items = json_array();
	kube_list_page(l, NULL);
	return l;
}

/* Parse a minor version like "29+". */
int
kube_version_minor(const char *s, int *minor, char **cause)
{
	int v = 0, n = 0;

	if (s == NULL)
		s = "";
	while (isdigit((unsigned char)s[n]) && n < 4)
		v = v * 10 + (s[n++] - '0');
	if (n == 0 || n > 3 || isdigit((unsigned char)s[n])) {
		*cause = xasprintf("server minor version \"%.32s\" is not a "
		    "number like 29 or 29+", s);
		return -1;
	}
	*minor = v;
	return 0;
}

struct kube_version_ctx {
	kube_version_cb	 cb;
	void		*arg;
};

/* /version answered: parse major and minor. */
static void
kube_version_done_cb(json_t *obj, const struct kube_error *err, void *arg)
{
	struct kube_version_ctx *c = arg;
	struct kube_error de = { .kind = KUBE_ERR_DECODE, .status = 200,
	    .reason = "" };
	int major = 0, minor = 0;
	char *cause = NULL;

	if (err != NULL) {
		c->cb(0, 0, err, c->arg);
		return;
	}
	if (kube_version_minor(json_string_value(json_object_get(obj,
	    "major")), &major, &cause) != 0 ||
	    kube_version_minor(json_string_value(json_object_get(obj,
	    "minor")), &minor, &cause) != 0) {
		de.message = cause;
		c->cb(0, 0, &de, c->arg);
	} else
		c->cb(major, minor, NULL, c->arg);
	free(cause);
}

/* GET /version. */
struct kube_req *
kube_version(struct kube *k, kube_version_cb cb, void *arg)
{
	struct kube_version_ctx *c = xcalloc(1, sizeof *c);
	struct kube_req *r;

	c->cb = cb;
	c->arg = arg;
	r = kube_get(k, "/version", NULL, kube_version_done_cb, c);
	r->owned = c;
	return r;
}
