/*
 * bench_webhook: admission load generator for `twa webhook` over loopback.
 * Starts a webhook (or uses one given by --port), keeps N keep-alive HTTPS
 * connections busy with AdmissionReviews for a while, and prints requests
 * per second and latency percentiles as seen by the client, plus the
 * server's own handler time from /metrics.
 *
 *   t/bench/bench_webhook [--connections N] [--duration DUR] [--endpoint mutate|validate]
 *       [--new-connections] [--port N --ca FILE --host NAME] [--twa PATH]
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "parse.h"
#include "proc.h"
#include "selfsigned.h"
#include "tlsclient.h"
#include "xalloc.h"

#define HOST "twa-webhook.twa-system.svc"

/* What to run. */
struct bench {
	int		 port;
	const char	*ca, *host, *path;
	char		*body;
	bool		 fresh;		/* a new TLS connection per request */
	double		 seconds, warmup;
	atomic_bool	 measuring, stop;
};

/* One connection's results. */
struct worker {
	struct bench	*b;
	pthread_t	 t;
	double		*lat;		/* milliseconds */
	size_t		 n, cap;
	unsigned long	 errors;
	char		*first_error;
};

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Thread: requests back to back until told to stop. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	struct tlsclient *c = NULL;

	while (!atomic_load(&b->stop)) {
		struct tlsclient_response r;
		char *cause = NULL;
		double t0 = now();
		int rc = -1;

		if (c == NULL)
			c = tlsclient_connect(b->port, b->ca, b->host, 10000, &cause);
		if (c != NULL)
			rc = tlsclient_request(c, "POST", b->path, b->body,
			    strlen(b->body), &r, &cause);
		if (rc == 0 && r.status != 200) {
			cause = xasprintf("HTTP %d: %.200s", r.status, r.body);
			rc = -1;
		}
		if (rc == 0) {
			if (atomic_load(&b->measuring)) {
				if (w->n == w->cap) {
					w->cap = w->cap * 2 + 4096;
					w->lat = xreallocarray(w->lat, w->cap, sizeof *w->lat);
				}
				w->lat[w->n++] = (now() - t0) * 1000;
			}
			tlsclient_response_clear(&r);
		} else {
			w->errors++;
			if (w->first_error == NULL)
				w->first_error = cause;
			else
				free(cause);
			cause = NULL;
		}
		if (rc != 0 || b->fresh) {
			tlsclient_free(c);
			c = NULL;
		}
	}
	tlsclient_free(c);
	return NULL;
}

/* Sort helper. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The value at quantile q of sorted v[0..n). */
static double
quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return n == 0 ? 0 : v[i < n ? i : n - 1];
}

/* The server's mean handler time for the endpoint from /metrics, in ms. */
static double
server_mean_ms(struct bench *b, const char *endpoint)
{
	struct tlsclient_response r;
	char *cause = NULL, *key;
	double sum = 0, count = 0;
	const char *p;

	if (tlsclient_once(b->port, b->ca, b->host, "GET", "/metrics", NULL, 0, &r,
	    &cause) != 0) {
		free(cause);
		return -1;
	}
	key = xasprintf("twa_webhook_admission_duration_seconds_sum{endpoint=\"%s\"} ",
	    endpoint);
	if ((p = strstr(r.body, key)) != NULL)
		sum = strtod(p + strlen(key), NULL);
	free(key);
	key = xasprintf("twa_webhook_admission_duration_seconds_count{endpoint=\"%s\"} ",
	    endpoint);
	if ((p = strstr(r.body, key)) != NULL)
		count = strtod(p + strlen(key), NULL);
	free(key);
	tlsclient_response_clear(&r);
	return count > 0 ? sum / count * 1000 : -1;
}

/* Write text to dir/name. Caller frees the path. */
static char *
put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench_webhook: cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* Start a webhook with fresh certificates in dir. */
static struct proc *
start_webhook(const char *twa, const char *dir, struct bench *b)
{
	const char *const names[] = { HOST };
	struct selfsigned_pem set;
	char *cause = NULL, *cert, *key, *log;
	struct proc *p;

	if (selfsigned_create(names, 1, (int64_t)time(NULL), 30, 10, NULL, &set,
	    &cause) != 0) {
		fprintf(stderr, "bench_webhook: %s\n", cause);
		exit(1);
	}
	b->ca = put(dir, "ca.crt", set.ca_cert);
	cert = put(dir, "tls.crt", set.cert);
	key = put(dir, "tls.key", set.key);
	log = xasprintf("%s/webhook.log", dir);
	selfsigned_clear(&set);
	{
		const char *argv[] = { twa, "webhook", "--listen", "127.0.0.1:0",
		    "--cert-file", cert, "--key-file", key, "--server-version", "1.29",
		    "--temporal-address", "temporal:7233", "--shutdown-delay", "0",
		    "--log-level", "warn", "--print-port", NULL };

		p = proc_start((char *const *)argv, log, 20000, &cause);
	}
	if (p == NULL) {
		fprintf(stderr, "bench_webhook: %s (log: %s)\n", cause, log);
		exit(1);
	}
	b->port = proc_port(p, "port");
	free(cert);
	free(key);
	free(log);
	return p;
}

/* The request body for the endpoint. Caller frees. */
static char *
review_body(const char *endpoint)
{
	char *path = proc_srcpath(strcmp(endpoint, "mutate") == 0 ?
	    "t/unit/webhook-fixtures/review-deployment-pod.json" :
	    "t/unit/webhook-fixtures/deployment-orders.json");
	json_t *j = json_load_file(path, 0, NULL), *rv;
	char *text;

	if (j == NULL) {
		fprintf(stderr, "bench_webhook: cannot read %s (set TWA_SRCDIR)\n", path);
		exit(1);
	}
	if (strcmp(endpoint, "mutate") == 0)
		rv = j;
	else
		rv = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}}",
		    "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
		    "request", "uid", "bench", "kind", "group", "apps", "version", "v1",
		    "kind", "Deployment", "operation", "CREATE", "namespace", "orders",
		    "object", j);
	text = json_dumps(rv, JSON_COMPACT);
	json_decref(rv);
	free(path);
	return text;
}

/* Report a bad option value and exit. */
static void
bad(const char *opt, char *cause)
{
	fprintf(stderr, "bench_webhook: %s: %s\n", opt, cause);
	free(cause);
	exit(2);
}

/* Parse a bounded whole number for opt or exit. */
static void
num(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out)
{
	char *cause = NULL;

	if (parse_int(text, min, max, out, &cause) != 0)
		bad(opt, cause);
}

/* Run the load and print the figures. */
int
main(int argc, char **argv)
{
	struct bench b = { .host = HOST, .seconds = 10, .warmup = 1 };
	const char *endpoint = "mutate", *twa_arg = NULL;
	struct worker *w;
	struct proc *p = NULL;
	char dir[] = "/tmp/twa-bench-webhook.XXXXXX", *twa, *cmd;
	unsigned long total = 0, errors = 0;
	double *all, t0, elapsed;
	int conns = 4;
	int64_t n;
	char *cause = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--connections") == 0 && v != NULL)
			num(a, argv[++i], 1, 256, &n), conns = (int)n;
		else if (strcmp(a, "--duration") == 0 && v != NULL) {
			if (parse_duration(argv[++i], 100, 3600000, &n, &cause) != 0)
				bad(a, cause);
			b.seconds = (double)n / 1000;
		}
		else if (strcmp(a, "--endpoint") == 0 && v != NULL)
			endpoint = argv[++i];
		else if (strcmp(a, "--new-connections") == 0)
			b.fresh = true;
		else if (strcmp(a, "--port") == 0 && v != NULL)
			num(a, argv[++i], 1, 65535, &n), b.port = (int)n;
		else if (strcmp(a, "--ca") == 0 && v != NULL)
			b.ca = argv[++i];
		else if (strcmp(a, "--host") == 0 && v != NULL)
			b.host = argv[++i];
		else if (strcmp(a, "--twa") == 0 && v != NULL)
			twa_arg = argv[++i];
		else {
			fprintf(stderr, "usage: bench_webhook [--connections N] [--duration DUR] "
			    "[--endpoint mutate|validate] [--new-connections] [--port N "
			    "--ca FILE --host NAME] [--twa PATH]\n");
			return 2;
		}
	}
	if (strcmp(endpoint, "mutate") != 0 && strcmp(endpoint, "validate") != 0) {
		fprintf(stderr, "bench_webhook: --endpoint: expected mutate or validate\n");
		return 2;
	}
	b.path = strcmp(endpoint, "mutate") == 0 ? "/mutate?timeout=5s" : "/validate?timeout=5s";
	b.body = review_body(endpoint);
	if (b.port == 0) {
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		twa = twa_arg != NULL ? xstrdup(twa_arg) : proc_buildpath("twa");
		p = start_webhook(twa, dir, &b);
		free(twa);
	}
	w = xcalloc((size_t)conns, sizeof *w);
	for (int i = 0; i < conns; i++) {
		w[i].b = &b;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	usleep((useconds_t)(b.warmup * 1e6));
	atomic_store(&b.measuring, true);
	t0 = now();
	usleep((useconds_t)(b.seconds * 1e6));
	atomic_store(&b.measuring, false);
	elapsed = now() - t0;
	atomic_store(&b.stop, true);
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	all = xcalloc(total + 1, sizeof *all);
	total = 0;
	for (int i = 0; i < conns; i++) {
		memcpy(all + total, w[i].lat, w[i].n * sizeof *all);
		total += w[i].n;
	}
	qsort(all, total, sizeof *all, cmp_double);
	printf("endpoint /%s, %d %s connection%s, %.1f s measured after %.1f s warm-up\n",
	    endpoint, conns, b.fresh ? "new-per-request" : "keep-alive",
	    conns == 1 ? "" : "s", elapsed, b.warmup);
	printf("requests %lu, errors %lu, %.0f requests/s\n", total, errors,
	    (double)total / elapsed);
	printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
	    quantile(all, total, 0.50), quantile(all, total, 0.90),
	    quantile(all, total, 0.99), quantile(all, total, 0.999),
	    total > 0 ? all[total - 1] : 0);
	printf("server handler mean ms: %.4f\n", server_mean_ms(&b, endpoint));
	printf("{\"endpoint\":\"%s\",\"connections\":%d,\"fresh\":%s,\"requests\":%lu,"
	    "\"errors\":%lu,\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n", endpoint,
	    conns, b.fresh ? "true" : "false", total, errors, (double)total / elapsed,
	    quantile(all, total, 0.50), quantile(all, total, 0.99));
	for (int i = 0; i < conns; i++) {
		if (w[i].first_error != NULL)
			fprintf(stderr, "first error: %s\n", w[i].first_error);
		free(w[i].first_error);
		free(w[i].lat);
	}
	free(w);
	free(all);
	free(b.body);
	if (p != NULL) {
		proc_stop(p);
		cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
		free(cmd);
		free((char *)b.ca);
	}
	return errors == 0 ? 0 : 1;
}
