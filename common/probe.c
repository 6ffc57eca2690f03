/* probe: asynchronous worker checks (HTTP GET, TCP connect) with a debounced state. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "parse.h"
#include "probe.h"
#include "timefmt.h"
#include "xalloc.h"

struct probe {
	struct event_base	*base;
	struct evdns_base	*dns;		/* only for host names */
	struct settings_probe	 target;
	char			*url;
	int64_t			 interval_ms, timeout_ms;
	unsigned		 ready_after, unhealthy_after;
	probe_cb		 cb;
	void			*arg;

	struct probe_fsm	 fsm;
	char			*reason;
	bool			 started;

	struct event		*tick;		/* next check */
	struct event		*deadline;	/* timeout of the check in flight */
	struct event		*finish;	/* deferred end of a check */
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	bool			 running;
	bool			 res_ok;
	char			*res_detail;
	int			 http_err;	/* enum evhttp_request_error + 1 */
	int64_t			 check_start_ms;
	uint64_t		 checks, failures;
};

/* Arm ev to fire after ms. */
static void
probe_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}

/* Feed one result to the state machine. */
bool
probe_fsm_feed(struct probe_fsm *f, bool ok, unsigned ready_after,
    unsigned unhealthy_after)
{
	if (ready_after == 0)
		ready_after = PROBE_READY_AFTER;
	if (unhealthy_after == 0)
		unhealthy_after = PROBE_UNHEALTHY_AFTER;
	if (ok) {
		f->fails = 0;
		if (f->passes < UINT32_MAX)
			f->passes++;
		if (f->state != PROBE_READY && f->passes >= ready_after) {
			f->state = PROBE_READY;
			return true;
		}
		return false;
	}
	f->passes = 0;
	if (f->fails < UINT32_MAX)
		f->fails++;
	if (f->state != PROBE_UNHEALTHY && f->fails >= unhealthy_after) {
		f->state = PROBE_UNHEALTHY;
		return true;
	}
	return false;
}

/* Name of a state. */
const char *
probe_state_name(enum probe_state s)
{
	switch (s) {
	case PROBE_STARTING:
		return "starting";
	case PROBE_READY:
		return "ready";
	case PROBE_UNHEALTHY:
		return "unhealthy";
	}
	return "unknown";
}

/* The host a target checks: its own, or the pod's loopback. */
static const char *
probe_host(const struct settings_probe *t)
{
	return t->host != NULL && *t->host != '\0' ? t->host : "127.0.0.1";
}

/* The URL of a target. */
char *
probe_target_url(const struct settings_probe *t)
{
	const char *host = probe_host(t);
	bool v6 = strchr(host, ':') != NULL;

	switch (t->kind) {
	case SETTINGS_PROBE_HTTP:
		return xasprintf("http://%s%s%s:%d%s", v6 ? "[" : "", host,
		    v6 ? "]" : "", t->port, t->path != NULL ? t->path : "/");
	case SETTINGS_PROBE_TCP:
		return xasprintf("tcp://%s%s%s:%d", v6 ? "[" : "", host,
		    v6 ? "]" : "", t->port);
	case SETTINGS_PROBE_NONE:
		break;
	}
	return xstrdup("none");
}

/* Check a target's fields. */
static int
probe_target_check(const struct settings_probe *t, char **cause)
{
	if (t->kind == SETTINGS_PROBE_NONE)
		return 0;
	if (t->kind != SETTINGS_PROBE_HTTP && t->kind != SETTINGS_PROBE_TCP) {
		*cause = xstrdup("probe: unknown probe kind");
		return -1;
	}
	if (t->port < 1 || t->port > 65535) {
		*cause = xasprintf("probe: port %d is not in 1..65535", t->port);
		return -1;
	}
	if (t->kind == SETTINGS_PROBE_HTTP && t->path != NULL &&
	    t->path[0] != '/') {
		char *q = parse_quote(t->path);

		*cause = xasprintf("probe: HTTP path %s does not start with "
		    "'/'", q);
		free(q);
		return -1;
	}
	return 0;
}

/* Copy a target into p. */
static void
probe_take_target(struct probe *p, const struct settings_probe *t)
{
	free(p->target.host);
	free(p->target.path);
	p->target.kind = t->kind;
	p->target.port = t->port;
	p->target.host = t->host != NULL ? xstrdup(t->host) : NULL;
	p->target.path = t->path != NULL ? xstrdup(t->path) : NULL;
	free(p->url);
	p->url = probe_target_url(&p->target);
}

/* Set the state's reason. */
static void
probe_set_reason(struct probe *p, char *reason)
{
	free(p->reason);
	p->reason = reason;
}

/* Drop the check in flight, if any; no callback. */
static void
probe_drop(struct probe *p)
{
	if (p->evcon != NULL) {
		evhttp_connection_free(p->evcon);
		p->evcon = NULL;
	}
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	evtimer_del(p->deadline);
	event_del(p->finish);
	free(p->res_detail);
	p->res_detail = NULL;
	p->running = false;
}

/* End the check in flight with a result (from a libevent callback). */
static void
probe_end(struct probe *p, bool ok, char *detail)
{
	if (!p->running || p->res_detail != NULL) {
		free(detail);
		return;
	}
	p->res_ok = ok;
	p->res_detail = detail;
	/* free the connection from the loop, outside its own callback */
	event_active(p->finish, EV_TIMEOUT, 0);
}

/* Deliver the result of a finished check and schedule the next one. */
static void
probe_finish_cb(evutil_socket_t fd, short events, void *arg)
{
	struct probe *p = arg;
	struct probe_result r;
	char *detail = p->res_detail;
	bool ok = p->res_ok, changed;

	p->res_detail = NULL;
	probe_drop(p);
	p->checks++;
	if (!ok)
		p->failures++;
	changed = probe_fsm_feed(&p->fsm, ok, p->ready_after,
	    p->unhealthy_after);
	if (changed && p->fsm.state == PROBE_READY)
		probe_set_reason(p, xasprintf("%s: %s", p->url, detail));
	else if (changed)
		probe_set_reason(p, xasprintf("%u consecutive failed checks of "
		    "%s, last: %s", p->fsm.fails, p->url, detail));
	memset(&r, 0, sizeof r);
	r.ok = ok;
	r.detail = detail;
	r.latency_ms = timefmt_mono_ms() - p->check_start_ms;
	r.state = p->fsm.state;
	r.reason = p->reason;
	r.changed = changed;
	if (p->target.kind != SETTINGS_PROBE_NONE)
		probe_arm(p->tick, p->interval_ms);
	p->cb(&r, p->arg);	/* may call probe_set_target or probe_free */
	free(detail);
}

/* The check in flight ran out of time. */
static void
probe_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct probe *p = arg;
	char d[PARSE_DURATION_LEN];

	parse_duration_format(p->timeout_ms, d);
	probe_end(p, false, xasprintf("timeout after %s", d));
}

/* Text of an evhttp request error. */
static const char *
probe_http_error(int err)
{
	switch (err - 1) {
	case EVREQ_HTTP_TIMEOUT:
		return "timeout";
	case EVREQ_HTTP_EOF:
		return "connection refused or closed before a response";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid HTTP response";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection failed";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "response too large";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "request cancelled";
	}
	return "connection failed";
}

/* evhttp: the request failed; the done callback follows. */
static void
probe_http_error_cb(enum evhttp_request_error err, void *arg)
{
	struct probe *p = arg;

	p->http_err = (int)err + 1;
}

/* evhttp: the response arrived (or the request failed: req NULL or code 0). */
static void
probe_http_done_cb(struct evhttp_request *req, void *arg)
{
	struct probe *p = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (code == 0) {
		probe_end(p, false, xstrdup(probe_http_error(p->http_err)));
		return;
	}
	probe_end(p, code >= 200 && code < 400, xasprintf("HTTP %d", code));
}

/* bufferevent: the TCP connect finished or failed. */
static void
probe_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct probe *p = arg;
	int dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		probe_end(p, true, xstrdup("connected"));
		return;
	}
	if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)))
		return;
	dnserr = bufferevent_socket_get_dns_error(bev);
	if (dnserr != 0)
		probe_end(p, false, xasprintf("cannot resolve %s: %s",
		    probe_host(&p->target), evutil_gai_strerror(dnserr)));
	else
		probe_end(p, false, xasprintf("connect failed: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
}

/* The DNS base for host names (numeric hosts need none). */
static struct evdns_base *
probe_dns(struct probe *p, const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1)
		return NULL;
	if (p->dns == NULL)
		p->dns = evdns_base_new(p->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	return p->dns;
}

/* Start one HTTP check. */
static void
probe_http_start(struct probe *p)
{
	const char *host = probe_host(&p->target);
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct timeval tv;
	char *hosthdr;

	p->evcon = evhttp_connection_base_new(p->base, probe_dns(p, host),
	    host, (unsigned short)p->target.port);
	if (p->evcon == NULL) {
		probe_end(p, false, xstrdup("cannot create an HTTP "
		    "connection"));
		return;
	}
	tv.tv_sec = (time_t)(p->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((p->timeout_ms % 1000) * 1000);
	evhttp_connection_set_timeout_tv(p->evcon, &tv);
	evhttp_connection_set_retries(p->evcon, 0);
	evhttp_connection_set_max_headers_size(p->evcon, PROBE_MAX_RESPONSE);
	evhttp_connection_set_max_body_size(p->evcon, PROBE_MAX_RESPONSE);
	p->http_err = 0;
	req = evhttp_request_new(probe_http_done_cb, p);
	evhttp_request_set_error_cb(req, probe_http_error_cb);
	h = evhttp_request_get_output_headers(req);
	hosthdr = strchr(host, ':') != NULL ?
	    xasprintf("[%s]:%d", host, p->target.port) :
	    xasprintf("%s:%d", host, p->target.port);
	evhttp_add_header(h, "Host", hosthdr);
	free(hosthdr);
	evhttp_add_header(h, "User-Agent", "twa-probe");
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "Accept", "*/*");
	if (evhttp_make_request(p->evcon, req, EVHTTP_REQ_GET,
	    p->target.path != NULL ? p->target.path : "/") != 0)
		probe_end(p, false, xstrdup("cannot send the HTTP request"));
}

/* Start one TCP check. */
static void
probe_tcp_start(struct probe *p)
{
	const char *host = probe_host(&p->target);

	p->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		probe_end(p, false, xstrdup("cannot create a socket"));
		return;
	}
	bufferevent_setcb(p->bev, NULL, NULL, probe_tcp_event_cb, p);
	if (bufferevent_socket_connect_hostname(p->bev, probe_dns(p, host),
	    AF_UNSPEC, host, p->target.port) != 0)
		probe_end(p, false, xasprintf("connect failed: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
}

/* Timer: run one check. */
static void
probe_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct probe *p = arg;

	if (p->running)
		return;
	p->running = true;
	p->check_start_ms = timefmt_mono_ms();
	switch (p->target.kind) {
	case SETTINGS_PROBE_NONE:
		probe_end(p, true, xstrdup("no worker probe"));
		return;
	case SETTINGS_PROBE_HTTP:
		probe_arm(p->deadline, p->timeout_ms);
		probe_http_start(p);
		return;
	case SETTINGS_PROBE_TCP:
		probe_arm(p->deadline, p->timeout_ms);
		probe_tcp_start(p);
		return;
	}
}

/* Make a probe. */
struct probe *
probe_new(struct event_base *base, const struct probe_config *cfg,
    probe_cb cb, void *arg, char **cause)
{
	struct probe *p;

	if (cfg->target == NULL || probe_target_check(cfg->target, cause) != 0) {
		if (cfg->target == NULL)
			*cause = xstrdup("probe: no target");
		return NULL;
	}
	if (cfg->interval_ms < 0 || cfg->timeout_ms < 0) {
		*cause = xasprintf("probe: interval %lldms and timeout %lldms "
		    "must be positive", (long long)cfg->interval_ms,
		    (long long)cfg->timeout_ms);
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms :
	    PROBE_DEFAULT_INTERVAL_MS;
	p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms :
	    PROBE_DEFAULT_TIMEOUT_MS;
	p->ready_after = cfg->ready_after;
	p->unhealthy_after = cfg->unhealthy_after;
	p->cb = cb;
	p->arg = arg;
	probe_take_target(p, cfg->target);
	p->reason = xasprintf("waiting for the first check of %s", p->url);
	p->tick = evtimer_new(base, probe_tick_cb, p);
	p->deadline = evtimer_new(base, probe_deadline_cb, p);
	p->finish = event_new(base, -1, 0, probe_finish_cb, p);
	if (p->tick == NULL || p->deadline == NULL || p->finish == NULL)
		abort();
	return p;
}

/* Begin checking. */
void
probe_start(struct probe *p)
{
	if (p->started)
		return;
	p->started = true;
	probe_arm(p->tick, 0);
}

/* Whether two strings are equal, NULL equal only to NULL. */
static bool
probe_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Switch targets. */
void
probe_set_target(struct probe *p, const struct settings_probe *t)
{
	char *cause = NULL;

	if (t->kind == p->target.kind && t->port == p->target.port &&
	    probe_str_eq(t->host, p->target.host) &&
	    probe_str_eq(t->path, p->target.path))
		return;
	if (probe_target_check(t, &cause) != 0) {
		/* settings_parse never yields such a target; keep the old one */
		free(cause);
		return;
	}
	probe_drop(p);
	probe_take_target(p, t);
	p->fsm.fails = 0;
	p->fsm.passes = 0;
	if (p->started) {
		evtimer_del(p->tick);
		probe_arm(p->tick, 0);
	}
}

/* Current state. */
enum probe_state
probe_get_state(const struct probe *p)
{
	return p->fsm.state;
}

/* Reason of the current state. */
const char *
probe_reason(const struct probe *p)
{
	return p->reason;
}

/* Checks so far. */
uint64_t
probe_checks(const struct probe *p)
{
	return p->checks;
}

/* Failed checks so far. */
uint64_t
probe_failures(const struct probe *p)
{
	return p->failures;
}

/* Free a probe. */
void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	probe_drop(p);
	event_free(p->tick);
	event_free(p->deadline);
	event_free(p->finish);
	if (p->dns != NULL)
		evdns_base_free(p->dns, 0);
	free(p->target.host);
	free(p->target.path);
	free(p->url);
	free(p->reason);
	free(p);
}
