/*
 * httpd: the agent's small HTTP server (libevent evhttp): /healthz,
 * /readyz, /metrics and /status, GET and HEAD only, bodies produced by
 * the agent's callbacks. Requests are capped and time out.
 */
#ifndef TWA_HTTPD_H
#define TWA_HTTPD_H

#include <stdio.h>

struct event_base;
struct httpd;

/* Content types of the answers. */
#define HTTPD_TYPE_TEXT		"text/plain; charset=utf-8"
#define HTTPD_TYPE_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define HTTPD_TYPE_JSON		"application/json"

/*
 * One endpoint's producer: write the body to out and return the HTTP
 * status (200, 503, ...). Called from the event loop; must not block.
 */
typedef int (*httpd_page_cb)(FILE *out, void *arg);

/* The endpoints (plain data; a NULL callback answers 404). */
struct httpd_pages {
	httpd_page_cb	 healthz;
	httpd_page_cb	 readyz;
	httpd_page_cb	 metrics;
	httpd_page_cb	 status;
	void		*arg;
};

/*
 * Split a listen address ":9464", "127.0.0.1:0", "[::1]:9464" or
 * "0.0.0.0:80" into host (NULL: every address) and port 0..65535. Pure.
 * Returns 0, or -1 and an allocated cause naming the address; *host is
 * allocated, caller frees.
 */
int httpd_parse_listen(const char *listen, char **host, int *port,
    char **cause);
/*
 * Listen on listen (as above) and answer with pages (copied). Returns
 * NULL and an allocated cause if the address is bad or cannot be bound.
 * Free with httpd_free.
 */
struct httpd *httpd_new(struct event_base *base, const char *listen,
    const struct httpd_pages *pages, char **cause);
/* The port actually bound (useful after port 0). */
int httpd_port(const struct httpd *h);
/* Requests answered so far. */
unsigned long long httpd_requests(const struct httpd *h);
/* Stop listening, drop open connections and free; NULL is a no-op. */
void httpd_free(struct httpd *h);

#endif
