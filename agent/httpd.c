/* httpd: /healthz, /readyz, /metrics and /status over libevent's evhttp. */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd.h"
#include "log.h"
#include "parse.h"
#include "xalloc.h"

/* Caps on what a client may send. */
#define HTTPD_MAX_HEADERS	8192
#define HTTPD_MAX_BODY		1024
#define HTTPD_TIMEOUT_S		10

struct httpd {
	struct evhttp		*http;
	struct httpd_pages	 pages;
	int			 port;
	unsigned long long	 requests;
};

/* Split a listen address. */
int
httpd_parse_listen(const char *listen, char **host, int *port, char **cause)
{
	const char *colon;
	char *q;
	int64_t p;

	*host = NULL;
	if (listen == NULL || *listen == '\0')
		goto bad;
	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');

		if (rb == NULL || rb[1] != ':' || rb == listen + 1)
			goto bad;
		*host = xstrndup(listen + 1, (size_t)(rb - listen - 1));
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || memchr(listen, ':',
		    (size_t)(colon - listen)) != NULL)
			goto bad;
		if (colon != listen)
			*host = xstrndup(listen, (size_t)(colon - listen));
	}
	if (parse_int(colon + 1, 0, 65535, &p, cause) != 0) {
		char *inner = *cause;

		q = parse_quote(listen);
		*cause = xasprintf("listen address %s: port: %s", q, inner);
		free(inner);
		free(q);
		free(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)p;
	return 0;
bad:
	free(*host);
	*host = NULL;
	q = parse_quote(listen != NULL ? listen : "");
	*cause = xasprintf("listen address %s is invalid; expected [host]:port "
	    "like :9464, 127.0.0.1:9464 or [::1]:9464", q);
	free(q);
	return -1;
}

/* Answer one request from its page callback. */
static void
httpd_request_cb(struct evhttp_request *req, void *arg)
{
	struct httpd *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *type = HTTPD_TYPE_TEXT;
	httpd_page_cb cb = NULL;
	struct evbuffer *buf;
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int code;

	h->requests++;
	if (path == NULL)
		path = "";
	if (strcmp(path, "/healthz") == 0)
		cb = h->pages.healthz;
	else if (strcmp(path, "/readyz") == 0)
		cb = h->pages.readyz;
	else if (strcmp(path, "/metrics") == 0) {
		cb = h->pages.metrics;
		type = HTTPD_TYPE_METRICS;
	} else if (strcmp(path, "/status") == 0) {
		cb = h->pages.status;
		type = HTTPD_TYPE_JSON;
	}
	if (cb == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", HTTPD_TYPE_TEXT);
		buf = evbuffer_new();
		evbuffer_add_printf(buf, "not found; try /healthz, /readyz, "
		    "/metrics or /status\n");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", buf);
		evbuffer_free(buf);
		return;
	}
	out = open_memstream(&body, &len);
	if (out == NULL)
		abort();
	code = cb(out, h->pages.arg);
	if (fclose(out) != 0)
		abort();
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	buf = evbuffer_new();
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 503 ?
	    "Service Unavailable" : "Error", buf);
	evbuffer_free(buf);
	free(body);
}

/* Bind h->http to host:port; returns the bound port, or -1. */
static int
httpd_bind(struct httpd *h, const char *host, int port)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	bs = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
	if (bs == NULL)
		return -1;
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Make the server. */
struct httpd *
httpd_new(struct event_base *base, const char *listen,
    const struct httpd_pages *pages, char **cause)
{
	struct httpd *h;
	char *host = NULL, *q;
	int port;

	if (httpd_parse_listen(listen, &host, &port, cause) != 0)
		return NULL;
	h = xcalloc(1, sizeof *h);
	h->pages = *pages;
	h->http = evhttp_new(base);
	if (h->http == NULL)
		abort();
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(h->http, HTTPD_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, HTTPD_MAX_BODY);
	evhttp_set_timeout(h->http, HTTPD_TIMEOUT_S);
	evhttp_set_gencb(h->http, httpd_request_cb, h);
	if (host != NULL)
		h->port = httpd_bind(h, host, port);
	else {
		/* every address: IPv6 with IPv4 mapped, else IPv4 only */
		h->port = httpd_bind(h, "::", port);
		if (h->port < 0)
			h->port = httpd_bind(h, "0.0.0.0", port);
	}
	if (h->port < 0) {
		q = parse_quote(listen);
		*cause = xasprintf("cannot listen on %s: %s", q,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(q);
		free(host);
		httpd_free(h);
		return NULL;
	}
	free(host);
	return h;
}

/* The bound port. */
int
httpd_port(const struct httpd *h)
{
	return h->port;
}

/* Requests answered. */
unsigned long long
httpd_requests(const struct httpd *h)
{
	return h->requests;
}

/* Free the server. */
void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	free(h);
}
