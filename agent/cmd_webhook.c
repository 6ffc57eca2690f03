/* cmd_webhook: `twa webhook`, the admission webhook over HTTPS (DESIGN §7). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "backoff.h"
#include "cmd.h"
#include "kube.h"
#include "kubeconfig.h"
#include "log.h"
#include "opts.h"
#include "parse.h"
#include "selfsigned.h"
#include "settings.h"
#include "tlsreload.h"
#include "webhook.h"
#include "webhook_ca.h"
#include "xalloc.h"

enum {
	O_LISTEN, O_CERT, O_KEY, O_SELF_SIGNED, O_SECRET, O_SERVICE,
	O_WEBHOOK_CONFIG, O_NAMESPACE, O_RELOAD, O_RESYNC, O_SERVER_VERSION,
	O_KUBE_SERVER, O_KUBE_CA, O_KUBE_TOKEN, O_TEMPORAL_ADDRESS,
	O_AGENT_IMAGE, O_AGENT_CPU, O_AGENT_MEMORY, O_AGENT_LOG_LEVEL,
	O_AGENT_PORT, O_MAX_BODY, O_TIMEOUT, O_SHUTDOWN_DELAY, O_LOG_LEVEL,
	O_PRINT_PORT, O_COUNT
};

static const struct opt_spec wh_opts[O_COUNT] = {
	[O_LISTEN] = { "listen", 0, OPT_STRING, "ADDR", ":8443",
	    "HTTPS address, host:port (empty host: all; port 0: any free)", 0, 0 },
	[O_CERT] = { "cert-file", 0, OPT_STRING, "FILE", NULL,
	    "serving certificate (PEM, chain after the leaf); reloaded on change", 0, 0 },
	[O_KEY] = { "key-file", 0, OPT_STRING, "FILE", NULL,
	    "private key of the certificate (PEM); reloaded on change", 0, 0 },
	[O_SELF_SIGNED] = { "self-signed", 0, OPT_FLAG, NULL, NULL,
	    "make a CA and certificate, keep them in --secret and keep the "
	    "caBundle of --webhook-config current", 0, 0 },
	[O_SECRET] = { "secret", 0, OPT_STRING, "NAME", "twa-webhook-tls",
	    "Secret holding the self-signed CA and certificate", 0, 0 },
	[O_SERVICE] = { "service", 0, OPT_STRING, "NAME", "twa-webhook",
	    "Service in front of the webhook (names in the certificate)", 0, 0 },
	[O_WEBHOOK_CONFIG] = { "webhook-config", 0, OPT_STRING, "NAME", "twa",
	    "name of the Mutating- and ValidatingWebhookConfiguration", 0, 0 },
	[O_NAMESPACE] = { "namespace", 0, OPT_STRING, "NS", NULL,
	    "namespace of the Secret and Service (default: the pod's)", 0, 0 },
	[O_RELOAD] = { "reload-interval", 0, OPT_DURATION, "DUR", "2s",
	    "how often the certificate files are checked for changes", 50, 3600000 },
	[O_RESYNC] = { "resync-interval", 0, OPT_DURATION, "DUR", "1m",
	    "how often the Secret and caBundles are checked (--self-signed)",
	    100, 86400000 },
	[O_SERVER_VERSION] = { "server-version", 0, OPT_STRING, "X.Y", NULL,
	    "Kubernetes version to inject for (default: GET /version)", 0, 0 },
	[O_KUBE_SERVER] = { "kube-server", 0, OPT_STRING, "URL", NULL,
	    "API server URL (default: in-cluster configuration)", 0, 0 },
	[O_KUBE_CA] = { "kube-ca", 0, OPT_STRING, "FILE", NULL,
	    "CA bundle of --kube-server", 0, 0 },
	[O_KUBE_TOKEN] = { "kube-token-file", 0, OPT_STRING, "FILE", NULL,
	    "bearer token file for --kube-server", 0, 0 },
	[O_TEMPORAL_ADDRESS] = { "temporal-address", 0, OPT_STRING, "HOST:PORT",
	    NULL, "Temporal frontend for pods without twa.dev/temporal-address", 0, 0 },
	[O_AGENT_IMAGE] = { "agent-image", 0, OPT_STRING, "IMAGE",
	    "twa:" PACKAGE_VERSION, "agent image unless twa.dev/agent-image", 0, 0 },
	[O_AGENT_CPU] = { "agent-cpu", 0, OPT_STRING, "QTY", "50m",
	    "agent CPU request and limit unless twa.dev/agent-cpu", 0, 0 },
	[O_AGENT_MEMORY] = { "agent-memory", 0, OPT_STRING, "QTY", "64Mi",
	    "agent memory request and limit unless twa.dev/agent-memory", 0, 0 },
	[O_AGENT_LOG_LEVEL] = { "agent-log-level", 0, OPT_STRING, "LEVEL", "info",
	    "agent log level unless twa.dev/agent-log-level", 0, 0 },
	[O_AGENT_PORT] = { "agent-port", 0, OPT_INT, "PORT", "9464",
	    "port of the agent's health and metrics endpoint", 1, 65535 },
	[O_MAX_BODY] = { "max-body", 0, OPT_INT, "BYTES", "3145728",
	    "largest request body; larger ones get 413", 1024, 67108864 },
	[O_TIMEOUT] = { "timeout", 0, OPT_DURATION, "DUR", "10s",
	    "idle and read/write timeout of a connection", 1000, 600000 },
	[O_SHUTDOWN_DELAY] = { "shutdown-delay", 0, OPT_DURATION, "DUR", "5s",
	    "on SIGTERM, keep serving (not ready) this long first", 0, 120000 },
	[O_LOG_LEVEL] = { "log-level", 0, OPT_STRING, "LEVEL", "info",
	    "debug, info, warn or error", 0, 0 },
	[O_PRINT_PORT] = { "print-port", 0, OPT_FLAG, NULL, NULL,
	    "print {\"port\":N} on stdout once serving (tests, scripts)", 0, 0 },
};

/* Upper bounds of the latency histogram, seconds. */
static const double wh_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 1 };
#define WH_NBUCKETS (sizeof wh_buckets / sizeof wh_buckets[0])
/* Results counted per endpoint: the four of webhook_result, then 503. */
#define WH_UNAVAILABLE 4
#define WH_NRESULTS 5

/* One endpoint's counters. */
struct wh_endpoint {
	uint64_t	results[WH_NRESULTS];
	uint64_t	buckets[WH_NBUCKETS];
	uint64_t	count;
	double		sum;
};

/* The running webhook. */
struct wh {
	struct opt_value	 o[O_COUNT];
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct tlsreload	*tls;
	struct webhook_config	 cfg;
	bool			 version_known, draining;
	int			 exit_status;
	struct kube		*kube;
	struct kube_req		*version_req;
	unsigned		 version_attempt;
	struct webhook_ca	*ca;
	char			*ns;
	char			*names[4];
	struct event		*reload_ev, *retry_ev, *drain_ev;
	struct event		*sig_term, *sig_int;
	struct wh_endpoint	 ep[2];		/* by enum webhook_kind */
	uint64_t		 http_errors[3];	/* 404, 405, other */
	uint64_t		 reload_ok, reload_err;
};

/* Microseconds on the monotonic clock. */
static int64_t
wh_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Reason phrase of a status. */
static const char *
wh_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

/* Send a reply with a body of content type ctype. */
static void
wh_reply(struct evhttp_request *req, int code, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		abort();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    ctype);
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, wh_phrase(code), out);
	evbuffer_free(out);
}

/* Send a Kubernetes Status error. */
static void
wh_reply_status(struct evhttp_request *req, int code, const char *message)
{
	char *body = webhook_status_json(code, message);

	wh_reply(req, code, "application/json", body, strlen(body));
	free(body);
}

/* Why the webhook is not ready, or NULL when it is. */
static const char *
wh_not_ready(const struct wh *wh)
{
	if (wh->draining)
		return "shutting down";
	if (wh->tls == NULL)
		return "no serving certificate yet";
	if (!wh->version_known)
		return "the Kubernetes server version is not known yet";
	return NULL;
}

/* Count one admission answer. */
static void
wh_count(struct wh *wh, enum webhook_kind kind, int result, int64_t us)
{
	struct wh_endpoint *ep = &wh->ep[kind];
	double s = (double)us / 1e6;

	ep->results[result]++;
	ep->count++;
	ep->sum += s;
	for (size_t i = 0; i < WH_NBUCKETS; i++)
		if (s <= wh_buckets[i])
			ep->buckets[i]++;
}

/* POST /mutate or /validate. */
static void
wh_review(struct wh *wh, struct evhttp_request *req, enum webhook_kind kind)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *data = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	int64_t t0 = wh_now_us();
	struct webhook_reply rep;

	if (kind == WEBHOOK_MUTATE && !wh->version_known) {
		wh_reply_status(req, 503, "twa webhook: the Kubernetes server "
		    "version is not known yet (GET /version is being retried); "
		    "cannot choose how to inject the agent");
		wh_count(wh, kind, WH_UNAVAILABLE, wh_now_us() - t0);
		return;
	}
	webhook_handle(kind, data, len, &wh->cfg, &rep);
	wh_reply(req, rep.http_status, "application/json", rep.body, rep.len);
	wh_count(wh, kind, (int)rep.result, wh_now_us() - t0);
	if (rep.result == WEBHOOK_DENIED || rep.result == WEBHOOK_BAD_REQUEST)
		log_info("webhook", "request refused", LS("endpoint", kind ==
		    WEBHOOK_MUTATE ? "mutate" : "validate"), LS("uid", rep.uid),
		    LS("result", webhook_result_name(rep.result)),
		    LS("reason", rep.message));
	else
		log_debug("webhook", "request answered", LS("endpoint", kind ==
		    WEBHOOK_MUTATE ? "mutate" : "validate"), LS("uid", rep.uid),
		    LS("result", webhook_result_name(rep.result)),
		    LU("ops", rep.nops), LI("us", wh_now_us() - t0));
	webhook_reply_clear(&rep);
}

/* GET /metrics: Prometheus text format. */
static void
wh_metrics(struct wh *wh, struct evhttp_request *req)
{
	static const char *const eps[] = { "mutate", "validate" };
	static const char *const res[WH_NRESULTS] = { "allowed", "patched",
	    "denied", "bad_request", "unavailable" };
	struct evbuffer *b = evbuffer_new();
	struct webhook_ca_stats cs;

	if (b == NULL)
		abort();
	evbuffer_add_printf(b, "# HELP twa_webhook_admission_total Admission "
	    "reviews answered, by endpoint and result.\n"
	    "# TYPE twa_webhook_admission_total counter\n");
	for (size_t e = 0; e < 2; e++)
		for (size_t r = 0; r < WH_NRESULTS; r++)
			evbuffer_add_printf(b, "twa_webhook_admission_total{endpoint="
			    "\"%s\",result=\"%s\"} %llu\n", eps[e], res[r],
			    (unsigned long long)wh->ep[e].results[r]);
	evbuffer_add_printf(b, "# HELP twa_webhook_admission_duration_seconds "
	    "Time to answer an admission review.\n"
	    "# TYPE twa_webhook_admission_duration_seconds histogram\n");
	for (size_t e = 0; e < 2; e++) {
		for (size_t i = 0; i < WH_NBUCKETS; i++)
			evbuffer_add_printf(b, "twa_webhook_admission_duration_"
			    "seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
			    eps[e], wh_buckets[i],
			    (unsigned long long)wh->ep[e].buckets[i]);
		evbuffer_add_printf(b, "twa_webhook_admission_duration_seconds_"
		    "bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
		    "twa_webhook_admission_duration_seconds_sum{endpoint=\"%s\"} "
		    "%.6f\ntwa_webhook_admission_duration_seconds_count{endpoint="
		    "\"%s\"} %llu\n", eps[e], (unsigned long long)wh->ep[e].count,
		    eps[e], wh->ep[e].sum, eps[e],
		    (unsigned long long)wh->ep[e].count);
	}
	evbuffer_add_printf(b, "# HELP twa_webhook_http_errors_total Requests "
	    "for unknown paths or with the wrong method.\n"
	    "# TYPE twa_webhook_http_errors_total counter\n"
	    "twa_webhook_http_errors_total{code=\"404\"} %llu\n"
	    "twa_webhook_http_errors_total{code=\"405\"} %llu\n",
	    (unsigned long long)wh->http_errors[0],
	    (unsigned long long)wh->http_errors[1]);
	evbuffer_add_printf(b, "# HELP twa_webhook_certificate_reloads_total "
	    "Serving certificate reloads from disk.\n"
	    "# TYPE twa_webhook_certificate_reloads_total counter\n"
	    "twa_webhook_certificate_reloads_total{result=\"ok\"} %llu\n"
	    "twa_webhook_certificate_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)wh->reload_ok, (unsigned long long)wh->reload_err);
	if (wh->tls != NULL)
		evbuffer_add_printf(b, "# HELP twa_webhook_certificate_expiry_"
		    "timestamp_seconds When the served certificate expires.\n"
		    "# TYPE twa_webhook_certificate_expiry_timestamp_seconds gauge\n"
		    "twa_webhook_certificate_expiry_timestamp_seconds %lld\n",
		    (long long)tlsreload_not_after(wh->tls));
	evbuffer_add_printf(b, "# HELP twa_webhook_ready Whether the webhook "
	    "answers reviews.\n# TYPE twa_webhook_ready gauge\n"
	    "twa_webhook_ready %d\n", wh_not_ready(wh) == NULL);
	if (wh->version_known)
		evbuffer_add_printf(b, "# HELP twa_webhook_native_sidecar Whether "
		    "the agent is injected as a native sidecar.\n"
		    "# TYPE twa_webhook_native_sidecar gauge\n"
		    "twa_webhook_native_sidecar{server_version=\"%d.%d\"} %d\n",
		    wh->cfg.server_major, wh->cfg.server_minor,
		    webhook_native_sidecar(&wh->cfg));
	if (wh->ca != NULL) {
		webhook_ca_stats(wh->ca, &cs);
		evbuffer_add_printf(b, "# HELP twa_webhook_selfsigned_total "
		    "Self-signed certificate management, by event.\n"
		    "# TYPE twa_webhook_selfsigned_total counter\n"
		    "twa_webhook_selfsigned_total{event=\"sync\"} %llu\n"
		    "twa_webhook_selfsigned_total{event=\"secret_write\"} %llu\n"
		    "twa_webhook_selfsigned_total{event=\"conflict\"} %llu\n"
		    "twa_webhook_selfsigned_total{event=\"cabundle_patch\"} %llu\n"
		    "twa_webhook_selfsigned_total{event=\"error\"} %llu\n",
		    (unsigned long long)cs.syncs,
		    (unsigned long long)cs.secret_writes,
		    (unsigned long long)cs.conflicts,
		    (unsigned long long)cs.bundle_patches,
		    (unsigned long long)cs.errors);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* Every request: route by path and method. */
static void
wh_request_cb(struct evhttp_request *req, void *arg)
{
	struct wh *wh = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
	const char *why;
	char *msg;

	if (path == NULL)
		path = "";
	if (strcmp(path, "/mutate") == 0 || strcmp(path, "/validate") == 0) {
		if (m != EVHTTP_REQ_POST)
			goto bad_method;
		wh_review(wh, req, path[1] == 'm' ? WEBHOOK_MUTATE :
		    WEBHOOK_VALIDATE);
	} else if (strcmp(path, "/healthz") == 0) {
		if (!get)
			goto bad_method;
		wh_reply(req, 200, "text/plain", "ok\n", 3);
	} else if (strcmp(path, "/readyz") == 0) {
		if (!get)
			goto bad_method;
		if ((why = wh_not_ready(wh)) == NULL)
			wh_reply(req, 200, "text/plain", "ok\n", 3);
		else {
			msg = xasprintf("not ready: %s\n", why);
			wh_reply(req, 503, "text/plain", msg, strlen(msg));
			free(msg);
		}
	} else if (strcmp(path, "/metrics") == 0) {
		if (!get)
			goto bad_method;
		wh_metrics(wh, req);
	} else {
		char *q = parse_quote(path);

		wh->http_errors[0]++;
		msg = xasprintf("twa webhook: no such path %s; expected POST "
		    "/mutate or /validate, or GET /healthz, /readyz or /metrics", q);
		wh_reply_status(req, 404, msg);
		free(msg);
		free(q);
	}
	return;
bad_method:
	wh->http_errors[1]++;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    path[1] == 'm' || path[1] == 'v' ? "POST" : "GET, HEAD");
	msg = xasprintf("twa webhook: %s takes %s", path, path[1] == 'm' ||
	    path[1] == 'v' ? "POST with an AdmissionReview" : "GET");
	wh_reply_status(req, 405, msg);
	free(msg);
}

/* A new connection: TLS with the context current at this moment. */
static struct bufferevent *
wh_bev_cb(struct event_base *base, void *arg)
{
	struct wh *wh = arg;
	SSL *ssl = SSL_new(tlsreload_ctx(wh->tls));
	struct bufferevent *bev;

	if (ssl == NULL)
		abort();
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		abort();
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Timer: look at the certificate files. */
static void
wh_reload_cb(evutil_socket_t fd, short events, void *arg)
{
	struct wh *wh = arg;
	char *cause = NULL;
	int r = tlsreload_check(wh->tls, &cause);

	if (r > 0) {
		wh->reload_ok++;
		log_info("webhook", "serving certificate reloaded",
		    LS("sha256", tlsreload_fingerprint(wh->tls)),
		    LI("not_after", tlsreload_not_after(wh->tls)));
	} else if (r < 0) {
		wh->reload_err++;
		log_error("webhook", "new certificate files refused; still "
		    "serving the previous certificate", LS("error", cause));
		free(cause);
	}
}

/* Split "host:port" ("" host: all addresses). Returns 0 or -1 and cause. */
static int
wh_split_listen(const char *s, char **host, int *port, char **cause)
{
	const char *colon = strrchr(s, ':');
	char *inner = NULL;
	int64_t p;

	if (colon == NULL) {
		*cause = xasprintf("option --listen: \"%.64s\" has no :port", s);
		return -1;
	}
	if (parse_int(colon + 1, 0, 65535, &p, &inner) != 0) {
		*cause = xasprintf("option --listen: port %s", inner);
		free(inner);
		return -1;
	}
	if (colon == s)
		*host = xstrdup("0.0.0.0");
	else if (*s == '[' && colon[-1] == ']')
		*host = xstrndup(s + 1, (size_t)(colon - s - 2));
	else
		*host = xstrndup(s, (size_t)(colon - s));
	*port = (int)p;
	return 0;
}

/* Start serving HTTPS. Returns 0, or -1 and a cause. */
static int
wh_listen(struct wh *wh, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char *host;
	int port, one = 1;

	if (wh_split_listen(wh->o[O_LISTEN].str, &host, &port, cause) != 0)
		return -1;
	wh->bound = evhttp_bind_socket_with_handle(wh->http, host, (ev_uint16_t)port);
	if (wh->bound == NULL) {
		*cause = xasprintf("cannot listen on %s: %s", wh->o[O_LISTEN].str,
		    strerror(errno));
		free(host);
		return -1;
	}
	free(host);
	/* Accepted sockets inherit it: replies leave at once, not after a delayed ACK. */
	setsockopt(evhttp_bound_socket_get_fd(wh->bound), IPPROTO_TCP, TCP_NODELAY,
	    &one, sizeof one);
	if (getsockname(evhttp_bound_socket_get_fd(wh->bound),
	    (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	log_info("webhook", "serving", LS("listen", wh->o[O_LISTEN].str),
	    LI("port", port), LS("sha256", tlsreload_fingerprint(wh->tls)));
	if (wh->o[O_PRINT_PORT].num) {
		printf("{\"port\":%d}\n", port);
		fflush(stdout);
	}
	return 0;
}

/* The self-signed manager has a set to serve. */
static void
wh_ca_serve_cb(const struct selfsigned_pem *set, void *arg)
{
	struct wh *wh = arg;
	char *cause = NULL;
	int r;

	if (wh->tls == NULL) {
		if ((wh->tls = tlsreload_new_pem(set->cert, set->key, &cause)) == NULL)
			goto fail;
		if (wh_listen(wh, &cause) != 0) {
			log_error("webhook", "cannot serve", LS("error", cause));
			free(cause);
			wh->exit_status = 1;
			event_base_loopbreak(wh->base);
		}
		return;
	}
	if ((r = tlsreload_set_pem(wh->tls, set->cert, set->key, &cause)) < 0)
		goto fail;
	if (r > 0) {
		wh->reload_ok++;
		log_info("webhook", "serving the renewed certificate",
		    LS("sha256", tlsreload_fingerprint(wh->tls)));
	}
	return;
fail:
	wh->reload_err++;
	log_error("webhook", "the certificate in the Secret cannot be served",
	    LS("error", cause));
	free(cause);
}

static void wh_version_start(struct wh *wh);

/* Timer: ask for the server version again. */
static void
wh_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	wh_version_start(arg);
}

/* GET /version answered. */
static void
wh_version_cb(int major, int minor, const struct kube_error *err, void *arg)
{
	static const struct backoff_policy bo = { 500, 30000, 0 };
	struct wh *wh = arg;
	struct timeval tv;
	int64_t ms;
	char *e;

	wh->version_req = NULL;
	if (err != NULL) {
		e = kube_error_string(err);
		ms = backoff_delay(&bo, wh->version_attempt++, (uint64_t)random(), -1);
		log_warn("webhook", "cannot learn the Kubernetes version; retrying",
		    LS("error", e), LI("retry_ms", ms));
		free(e);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(wh->retry_ev, &tv);
		return;
	}
	wh->cfg.server_major = major;
	wh->cfg.server_minor = minor;
	wh->version_known = true;
	log_info("webhook", "Kubernetes version known", LI("major", major),
	    LI("minor", minor), LS("agent", webhook_native_sidecar(&wh->cfg) ?
	    "native sidecar (init container, restartPolicy Always)" :
	    "regular container"));
}

/* Ask for the server version. */
static void
wh_version_start(struct wh *wh)
{
	wh->version_req = kube_version(wh->kube, wh_version_cb, wh);
}

/* Timer after SIGTERM: stop accepting, let replies drain, then stop. */
static void
wh_drain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct wh *wh = arg;
	struct timeval tv = { 0, 300000 };

	if (wh->bound != NULL) {
		evhttp_del_accept_socket(wh->http, wh->bound);
		wh->bound = NULL;
	}
	log_info("webhook", "stopped accepting; exiting");
	event_base_loopexit(wh->base, &tv);
}

/* SIGTERM or SIGINT: report not ready, keep serving for the delay, stop. */
static void
wh_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct wh *wh = arg;
	int64_t ms = wh->o[O_SHUTDOWN_DELAY].num;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (wh->draining) {
		event_base_loopbreak(wh->base);
		return;
	}
	wh->draining = true;
	log_info("webhook", "signal received; draining", LI("signal", sig),
	    LI("delay_ms", ms));
	evtimer_add(wh->drain_ev, &tv);
}

/* Check the option values that name agent settings, with the annotation rules. */
static int
wh_check_values(struct wh *wh, char **cause)
{
	static const struct { int opt; const char *ann; } map[] = {
		{ O_TEMPORAL_ADDRESS, "twa.dev/temporal-address" },
		{ O_AGENT_IMAGE, "twa.dev/agent-image" },
		{ O_AGENT_CPU, "twa.dev/agent-cpu" },
		{ O_AGENT_MEMORY, "twa.dev/agent-memory" },
		{ O_AGENT_LOG_LEVEL, "twa.dev/agent-log-level" },
	};
	struct settings_kv kv[1];
	struct settings_errors errs;
	struct settings s;
	enum log_level lvl;

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (!wh->o[map[i].opt].set)
			continue;
		kv[0].key = map[i].ann;
		kv[0].value = wh->o[map[i].opt].str;
		if (settings_parse(NULL, kv, 1, &s, &errs) != 0) {
			*cause = xasprintf("option --%s (checked like annotation "
			    "%s): %s", wh_opts[map[i].opt].name, map[i].ann,
			    errs.v[0].message);
			settings_errors_free(&errs);
			settings_clear(&s);
			return -1;
		}
		settings_errors_free(&errs);
		settings_clear(&s);
	}
	if (log_level_parse(wh->o[O_LOG_LEVEL].str, &lvl) != 0) {
		*cause = xstrdup("option --log-level: expected debug, info, warn "
		    "or error");
		return -1;
	}
	log_set_level(lvl);
	if (wh->o[O_SELF_SIGNED].num == (wh->o[O_CERT].set && wh->o[O_KEY].set) ||
	    wh->o[O_CERT].set != wh->o[O_KEY].set) {
		*cause = xstrdup("give either --cert-file and --key-file, or "
		    "--self-signed");
		return -1;
	}
	if (wh->o[O_SERVER_VERSION].set && webhook_parse_version(
	    wh->o[O_SERVER_VERSION].str, &wh->cfg.server_major,
	    &wh->cfg.server_minor, cause) != 0)
		return -1;
	wh->version_known = wh->o[O_SERVER_VERSION].set;
	return 0;
}

/* Make the Kubernetes client when one is needed. Returns 0 or -1 and cause. */
static int
wh_kube(struct wh *wh, char **cause)
{
	struct kube_config kc;
	char *inner = NULL;
	int r;

	if (wh->version_known && !wh->o[O_SELF_SIGNED].num)
		return 0;
	if (wh->o[O_KUBE_SERVER].set)
		r = kube_config_explicit(&kc, wh->o[O_KUBE_SERVER].str,
		    wh->o[O_KUBE_CA].str, wh->o[O_KUBE_TOKEN].str,
		    wh->o[O_NAMESPACE].str, &inner);
	else
		r = kube_config_incluster(&kc, NULL, &inner);
	if (r != 0) {
		*cause = xasprintf("cannot reach the Kubernetes API (%s); run in a "
		    "cluster or pass --kube-server%s", inner,
		    wh->o[O_SELF_SIGNED].num ? "" : ", or give --server-version");
		free(inner);
		return -1;
	}
	wh->ns = xstrdup(wh->o[O_NAMESPACE].set ? wh->o[O_NAMESPACE].str :
	    kc.namespace != NULL ? kc.namespace : "");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	wh->kube = kube_new(wh->base, &kc, cause);
	kube_config_clear(&kc);
	if (wh->kube == NULL)
		return -1;
	kube_set_user_agent(wh->kube, "twa-webhook/" PACKAGE_VERSION);
	if (wh->o[O_SELF_SIGNED].num && *wh->ns == '\0') {
		*cause = xstrdup("--self-signed needs a namespace: pass --namespace");
		return -1;
	}
	return 0;
}

/* Start the self-signed manager. */
static void
wh_start_ca(struct wh *wh)
{
	const char *svc = wh->o[O_SERVICE].str;
	struct webhook_ca_config cc;

	wh->names[0] = xstrdup(svc);
	wh->names[1] = xasprintf("%s.%s", svc, wh->ns);
	wh->names[2] = xasprintf("%s.%s.svc", svc, wh->ns);
	wh->names[3] = xasprintf("%s.%s.svc.cluster.local", svc, wh->ns);
	memset(&cc, 0, sizeof cc);
	cc.namespace = wh->ns;
	cc.secret = wh->o[O_SECRET].str;
	cc.webhook_config = wh->o[O_WEBHOOK_CONFIG].str;
	cc.names = (const char *const *)wh->names;
	cc.nnames = 4;
	cc.resync_ms = wh->o[O_RESYNC].num;
	wh->ca = webhook_ca_new(wh->kube, &cc, wh_ca_serve_cb, wh);
}

/* Make the HTTP server and the timers. */
static void
wh_setup(struct wh *wh)
{
	struct timeval tv = { .tv_sec = wh->o[O_RELOAD].num / 1000,
	    .tv_usec = (wh->o[O_RELOAD].num % 1000) * 1000 };

	if ((wh->http = evhttp_new(wh->base)) == NULL)
		abort();
	evhttp_set_bevcb(wh->http, wh_bev_cb, wh);
	evhttp_set_gencb(wh->http, wh_request_cb, wh);
	evhttp_set_max_body_size(wh->http, (ev_ssize_t)wh->o[O_MAX_BODY].num);
	evhttp_set_max_headers_size(wh->http, 64 * 1024);
	evhttp_set_timeout(wh->http, (int)(wh->o[O_TIMEOUT].num / 1000));
	evhttp_set_flags(wh->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(wh->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	wh->reload_ev = event_new(wh->base, -1, EV_PERSIST, wh_reload_cb, wh);
	wh->retry_ev = evtimer_new(wh->base, wh_retry_cb, wh);
	wh->drain_ev = evtimer_new(wh->base, wh_drain_cb, wh);
	wh->sig_term = evsignal_new(wh->base, SIGTERM, wh_signal_cb, wh);
	wh->sig_int = evsignal_new(wh->base, SIGINT, wh_signal_cb, wh);
	if (wh->reload_ev == NULL || wh->retry_ev == NULL || wh->drain_ev == NULL ||
	    wh->sig_term == NULL || wh->sig_int == NULL)
		abort();
	evsignal_add(wh->sig_term, NULL);
	evsignal_add(wh->sig_int, NULL);
	if (!wh->o[O_SELF_SIGNED].num)
		event_add(wh->reload_ev, &tv);
}

/* Free everything. */
static void
wh_free(struct wh *wh)
{
	webhook_ca_free(wh->ca);
	if (wh->version_req != NULL)
		kube_cancel(wh->version_req);
	if (wh->kube != NULL) {
		kube_free(wh->kube);
		curl_global_cleanup();
	}
	if (wh->http != NULL)
		evhttp_free(wh->http);
	tlsreload_free(wh->tls);
	if (wh->reload_ev != NULL) {
		event_free(wh->reload_ev);
		event_free(wh->retry_ev);
		event_free(wh->drain_ev);
		event_free(wh->sig_term);
		event_free(wh->sig_int);
	}
	for (size_t i = 0; i < 4; i++)
		free(wh->names[i]);
	free(wh->ns);
	if (wh->base != NULL)
		event_base_free(wh->base);
}

/* twa webhook. */
int
cmd_webhook(int argc, char **argv)
{
	struct wh wh;
	char *cause = NULL;
	int next, r;

	memset(&wh, 0, sizeof wh);
	r = opts_parse(wh_opts, O_COUNT, argc, argv, 1, wh.o, &next, &cause);
	if (r == 1) {
		opts_usage(stdout, "twa webhook [OPTIONS]", "Serve the twa "
		    "admission webhook over HTTPS: POST /mutate injects the agent "
		    "into pods labelled " SETTINGS_LABEL_INJECT "=true, POST "
		    "/validate checks Deployments labelled "
		    SETTINGS_LABEL_DEPLOYMENT "; GET /healthz, /readyz, /metrics.",
		    wh_opts, O_COUNT);
		return 0;
	}
	if (r == 0 && next < argc)
		cause = xasprintf("unexpected argument \"%.64s\"", argv[next]);
	if (r < 0 || cause != NULL || wh_check_values(&wh, &cause) != 0) {
		fprintf(stderr, "twa webhook: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	wh.cfg.agent_image = wh.o[O_AGENT_IMAGE].str;
	wh.cfg.agent_cpu = wh.o[O_AGENT_CPU].str;
	wh.cfg.agent_memory = wh.o[O_AGENT_MEMORY].str;
	wh.cfg.agent_log_level = wh.o[O_AGENT_LOG_LEVEL].str;
	wh.cfg.temporal_address = wh.o[O_TEMPORAL_ADDRESS].str;
	wh.cfg.agent_port = (int)wh.o[O_AGENT_PORT].num;
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(time(NULL) ^ getpid()));
	if ((wh.base = event_base_new()) == NULL)
		abort();
	wh_setup(&wh);
	if (wh_kube(&wh, &cause) != 0)
		goto fail;
	if (!wh.o[O_SELF_SIGNED].num) {
		wh.tls = tlsreload_new_files(wh.o[O_CERT].str, wh.o[O_KEY].str,
		    &cause);
		if (wh.tls == NULL || wh_listen(&wh, &cause) != 0)
			goto fail;
	} else
		wh_start_ca(&wh);
	if (!wh.version_known)
		wh_version_start(&wh);
	event_base_dispatch(wh.base);
	r = wh.exit_status;
	wh_free(&wh);
	return r;
fail:
	log_error("webhook", "cannot start", LS("error", cause));
	free(cause);
	wh_free(&wh);
	return 1;
}
