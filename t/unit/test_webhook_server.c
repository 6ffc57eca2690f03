/* Tests of `twa webhook` as a process: HTTPS, hostile requests, certificate rotation under load. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check_main.h"
#include "proc.h"
#include "selfsigned.h"
#include "tlsclient.h"
#include "xalloc.h"

/* The name the test certificates are issued for and verified against. */
#define HOST "twa-webhook.twa-system.svc"

static const char *const names[] = { HOST, "localhost" };

/* The shared server of the "server" case and its files. */
static struct proc *srv;
static int srv_port;
static char *dir, *ca_path, *mutate_body, *validate_body;
static struct selfsigned_pem set;

/* Write text to path through a temporary file and rename (atomic). */
static void
put_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(tmp);
}

/* SHA-256 fingerprint of the first certificate of PEM text. Caller frees. */
static char *
pem_fingerprint(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *out = xmalloc(65);

	ck_assert_ptr_nonnull(x);
	X509_digest(x, EVP_sha256(), md, &n);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	X509_free(x);
	BIO_free(b);
	return out;
}

/* A fixture file's text. Caller frees. */
static char *
fixture_text(const char *name)
{
	char *rel = xasprintf("t/unit/webhook-fixtures/%s", name);
	char *path = proc_srcpath(rel);
	json_t *j = json_load_file(path, 0, NULL);
	char *text;

	ck_assert_ptr_nonnull(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(path);
	free(rel);
	return text;
}

/* Start `twa webhook` with cert and key files and extra arguments (NULL-terminated). */
static struct proc *
start_webhook(const char *cert, const char *key, const char *version, int *port, ...)
{
	char *twa = proc_buildpath("twa"), *log = xasprintf("%s/webhook.log", dir);
	const char *argv[40] = { twa, "webhook", "--listen", "127.0.0.1:0",
	    "--temporal-address", "t:7233",
	    "--reload-interval", "100ms", "--shutdown-delay", "0",
	    "--print-port", "--log-level", "debug" };
	size_t n = 13;
	const char *a;
	struct proc *p;
	char *cause = NULL;
	va_list ap;

	if (version != NULL) {
		argv[n++] = "--server-version";
		argv[n++] = version;
	}
	if (cert != NULL) {
		argv[n++] = "--cert-file";
		argv[n++] = cert;
		argv[n++] = "--key-file";
		argv[n++] = key;
	}
	va_start(ap, port);
	while ((a = va_arg(ap, const char *)) != NULL && n < 38)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	p = proc_start((char *const *)argv, log, 20000, &cause);
	ck_assert_msg(p != NULL, "twa webhook: %s", cause);
	*port = proc_port(p, "port");
	ck_assert_int_gt(*port, 0);
	free(twa);
	free(log);
	return p;
}

/* One request on a new verified connection; the status, body in *body. */
static int
call(int port, const char *method, const char *path, const char *body,
    size_t len, char **out)
{
	struct tlsclient_response r;
	char *cause = NULL;
	int status;

	if (tlsclient_once(port, ca_path, HOST, method, path, body, len, &r,
	    &cause) != 0)
		ck_abort_msg("%s %s: %s", method, path, cause);
	status = r.status;
	if (out != NULL)
		*out = xstrdup(r.body != NULL ? r.body : "");
	tlsclient_response_clear(&r);
	return status;
}

/* Whether a valid review is still answered properly. */
static void
check_serving(int port)
{
	char *out;
	json_t *j;

	ck_assert_int_eq(call(port, "POST", "/mutate", mutate_body,
	    strlen(mutate_body), &out), 200);
	j = json_loads(out, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "response"), "uid")), "0df28fbd-5f5f-11e8-bc74-36e6bb280816");
	json_decref(j);
	free(out);
}

/* Lay out a kubelet-style Secret volume: files are symlinks through ..data. */
static void
kubelet_volume(const char *vol, int generation, const char *cert, const char *key)
{
	char *ts = xasprintf("%s/..%d", vol, generation);
	char *tsname = xasprintf("..%d", generation);
	char *p, *link = xasprintf("%s/..data_tmp", vol), *data;

	ck_assert_int_eq(mkdir(ts, 0755), 0);
	p = xasprintf("%s/tls.crt", ts);
	put_file(p, cert);
	free(p);
	p = xasprintf("%s/tls.key", ts);
	put_file(p, key);
	free(p);
	ck_assert_int_eq(symlink(tsname, link), 0);
	data = xasprintf("%s/..data", vol);
	ck_assert_int_eq(rename(link, data), 0);	/* the atomic swap */
	free(data);
	if (generation == 1) {
		p = xasprintf("%s/tls.crt", vol);
		ck_assert_int_eq(symlink("..data/tls.crt", p), 0);
		free(p);
		p = xasprintf("%s/tls.key", vol);
		ck_assert_int_eq(symlink("..data/tls.key", p), 0);
		free(p);
	}
	free(ts);
	free(tsname);
	free(link);
}

/* Make the certificates and start the shared server. */
static void
server_setup(void)
{
	char tmpl[] = "/tmp/twa-webhook-test.XXXXXX", *vol, *c, *k, *cause = NULL;
	struct tlsclient_response r;
	long long deadline;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	dir = xstrdup(tmpl);
	ck_assert_int_eq(selfsigned_create(names, 2, (int64_t)time(NULL), 30, 10,
	    NULL, &set, &cause), 0);
	ca_path = xasprintf("%s/ca.crt", dir);
	put_file(ca_path, set.ca_cert);
	vol = xasprintf("%s/secret", dir);
	ck_assert_int_eq(mkdir(vol, 0755), 0);
	kubelet_volume(vol, 1, set.cert, set.key);
	c = xasprintf("%s/tls.crt", vol);
	k = xasprintf("%s/tls.key", vol);
	srv = start_webhook(c, k, "1.29", &srv_port, NULL);
	deadline = proc_now_ms() + 10000;
	for (;;) {
		if (tlsclient_once(srv_port, ca_path, HOST, "GET", "/readyz", NULL, 0,
		    &r, &cause) == 0 && r.status == 200)
			break;
		free(cause);
		cause = NULL;
		tlsclient_response_clear(&r);
		ck_assert_msg(proc_now_ms() < deadline, "webhook never ready");
		usleep(20000);
	}
	tlsclient_response_clear(&r);
	mutate_body = fixture_text("review-deployment-pod.json");
	{
		char *dpath = proc_srcpath("t/unit/webhook-fixtures/deployment-orders.json");
		json_t *dep = json_load_file(dpath, 0, NULL);
		json_t *rv = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:s, "
		    "s:s, s:o}}", "apiVersion", "admission.k8s.io/v1", "kind",
		    "AdmissionReview", "request", "uid", "dep-uid-1", "kind", "group",
		    "apps", "version", "v1", "kind", "Deployment", "operation",
		    "CREATE", "namespace", "orders", "object", dep);

		validate_body = json_dumps(rv, JSON_COMPACT);
		json_decref(rv);
		free(dpath);
	}
	free(vol);
	free(c);
	free(k);
}

/* Stop the shared server. */
static void
server_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	proc_stop(srv);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	selfsigned_clear(&set);
	free(dir);
	free(ca_path);
	free(mutate_body);
	free(validate_body);
}

START_TEST(test_server_reviews)
{
	char *out, *path = xstrdup("/mutate?timeout=10s");
	json_t *j, *resp;

	ck_assert_int_eq(call(srv_port, "POST", path, mutate_body,
	    strlen(mutate_body), &out), 200);
	j = json_loads(out, 0, NULL);
	resp = json_object_get(j, "response");
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "AdmissionReview");
	ck_assert(json_is_true(json_object_get(resp, "allowed")));
	ck_assert_str_eq(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
	ck_assert_uint_gt(strlen(json_string_value(json_object_get(resp, "patch"))), 100);
	json_decref(j);
	free(out);
	ck_assert_int_eq(call(srv_port, "POST", "/validate?timeout=5s",
	    validate_body, strlen(validate_body), &out), 200);
	j = json_loads(out, 0, NULL);
	resp = json_object_get(j, "response");
	ck_assert_str_eq(json_string_value(json_object_get(resp, "uid")), "dep-uid-1");
	ck_assert(json_is_true(json_object_get(resp, "allowed")));
	json_decref(j);
	free(out);
	free(path);
}
END_TEST

START_TEST(test_server_health_and_metrics)
{
	char *out, *line;
	unsigned long long before, after;

	ck_assert_int_eq(call(srv_port, "GET", "/healthz", NULL, 0, &out), 200);
	ck_assert_str_eq(out, "ok\n");
	free(out);
	ck_assert_int_eq(call(srv_port, "GET", "/readyz", NULL, 0, &out), 200);
	free(out);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(call(srv_port, "GET", "/metrics", NULL, 0, &out), 200);
		line = strstr(out, "twa_webhook_admission_total{endpoint=\"mutate\","
		    "result=\"patched\"} ");
		ck_assert_ptr_nonnull(line);
		if (round == 0) {
			before = strtoull(strchr(line, '}') + 2, NULL, 10);
			check_serving(srv_port);
		} else {
			after = strtoull(strchr(line, '}') + 2, NULL, 10);
			ck_assert_uint_eq(after, before + 1);
			ck_assert_ptr_nonnull(strstr(out, "# TYPE "
			    "twa_webhook_admission_duration_seconds histogram"));
			ck_assert_ptr_nonnull(strstr(out, "twa_webhook_admission_"
			    "duration_seconds_bucket{endpoint=\"mutate\",le=\"+Inf\"}"));
			ck_assert_ptr_nonnull(strstr(out, "twa_webhook_native_sidecar"
			    "{server_version=\"1.29\"} 1"));
			ck_assert_ptr_nonnull(strstr(out, "twa_webhook_ready 1"));
			ck_assert_ptr_nonnull(strstr(out,
			    "twa_webhook_certificate_expiry_timestamp_seconds "));
		}
		free(out);
	}
}
END_TEST

/* Hostile and malformed requests: each gets a clear answer, and serving goes on. */
static const struct {
	const char *method, *path, *body;
	int status;
	const char *expect;
} hostile[] = {
	{ "POST", "/mutate", "{not json", 400, "not valid JSON" },
	{ "POST", "/mutate", "", 400, "not valid JSON" },
	{ "POST", "/validate", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}",
	  400, "kind is \\\"Pod\\\"" },
	{ "POST", "/mutate", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":"
	  "\"AdmissionReview\",\"request\":{\"operation\":\"CREATE\"}}", 400,
	  "request.uid is missing" },
	{ "GET", "/mutate", NULL, 405, "POST with an AdmissionReview" },
	{ "PUT", "/healthz", NULL, 405, "takes GET" },
	{ "POST", "/admit", "{}", 404, "no such path \\\"/admit\\\"" },
	{ "GET", "/", NULL, 404, "no such path" },
};

START_TEST(test_server_hostile)
{
	char *out;

	for (size_t i = 0; i < N_CASES(hostile); i++) {
		const char *b = hostile[i].body;
		json_t *j;

		ck_assert_int_eq(call(srv_port, hostile[i].method, hostile[i].path, b,
		    b != NULL ? strlen(b) : 0, &out), hostile[i].status);
		j = json_loads(out, 0, NULL);
		ck_assert_msg(j != NULL, "case %zu: not JSON: %s", i, out);
		ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "Status");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "code")),
		    hostile[i].status);
		ck_assert_msg(strstr(out, hostile[i].expect) != NULL, "case %zu: %s",
		    i, out);
		json_decref(j);
		free(out);
		check_serving(srv_port);
	}
}
END_TEST

START_TEST(test_server_body_caps)
{
	size_t big = 10 * 1024 * 1024, deep = 100000;
	char *body = xmalloc(big), *out;
	struct tlsclient_response r;
	struct tlsclient *c;
	char *cause = NULL;

	/* 10 MB: refused with 413 while the server keeps serving. */
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	c = tlsclient_connect(srv_port, ca_path, HOST, 20000, &cause);
	ck_assert_msg(c != NULL, "%s", cause);
	ck_assert_msg(tlsclient_request(c, "POST", "/mutate", body, big, &r,
	    &cause) == 0, "%s", cause);
	ck_assert_int_eq(r.status, 413);
	ck_assert(r.closed);
	tlsclient_response_clear(&r);
	tlsclient_free(c);
	check_serving(srv_port);
	/* Just under the cap is read and answered (as not a review). */
	memset(body, ' ', 3 * 1024 * 1024 - 10);
	body[0] = '[';
	body[3 * 1024 * 1024 - 11] = ']';
	ck_assert_int_eq(call(srv_port, "POST", "/validate", body,
	    3 * 1024 * 1024 - 10, &out), 400);
	ck_assert_ptr_nonnull(strstr(out, "JSON array"));
	free(out);
	/* Nesting 100000 deep. */
	memset(body, '[', deep);
	memset(body + deep, ']', deep);
	ck_assert_int_eq(call(srv_port, "POST", "/mutate", body, 2 * deep, &out), 400);
	ck_assert_ptr_nonnull(strstr(out, "depth"));
	free(out);
	check_serving(srv_port);
	free(body);
}
END_TEST

START_TEST(test_server_not_tls_and_garbage)
{
	char *resp = NULL, *cause = NULL;
	struct tlsclient_response r;
	struct tlsclient *c;

	/* Plain HTTP on the TLS port: the handshake fails, nothing else. */
	ck_assert_int_eq(proc_http(srv_port, "GET", "/healthz", NULL, &resp,
	    &cause) > 0, 0);
	free(resp);
	free(cause);
	cause = NULL;
	check_serving(srv_port);
	/* A request line that is not HTTP. */
	c = tlsclient_connect(srv_port, ca_path, HOST, 5000, &cause);
	ck_assert_ptr_nonnull(c);
	if (tlsclient_request(c, "BREW /coffee HTTP/1.1\r\nX:", "/", NULL, 0, &r,
	    &cause) == 0) {
		ck_assert_int_ge(r.status, 400);
		tlsclient_response_clear(&r);
	} else
		free(cause);
	tlsclient_free(c);
	check_serving(srv_port);
}
END_TEST

/* Load generated while certificates are rotated. */
struct load {
	int		 port;
	bool		 keepalive;
	atomic_bool	 stop;
	atomic_ulong	 ok, failed;
	char		 fp[65];	/* last fingerprint seen (fresh connections) */
	pthread_mutex_t	 mu;
	char		*first_error;
};

/* Thread: send reviews until told to stop; count outcomes. */
static void *
load_main(void *arg)
{
	struct load *l = arg;
	struct tlsclient *keep = NULL;

	while (!atomic_load(&l->stop)) {
		struct tlsclient_response r;
		struct tlsclient *c = keep;
		char *cause = NULL;
		int rc = -1;

		if (c == NULL)
			c = tlsclient_connect(l->port, NULL, HOST, 10000, &cause);
		if (c != NULL) {
			rc = tlsclient_request(c, "POST", "/mutate", mutate_body,
			    strlen(mutate_body), &r, &cause);
			if (rc == 0 && (r.status != 200 ||
			    strstr(r.body, "\"patchType\":\"JSONPatch\"") == NULL)) {
				rc = -1;
				cause = xasprintf("status %d: %.200s", r.status, r.body);
			}
			if (rc == 0)
				tlsclient_response_clear(&r);
			pthread_mutex_lock(&l->mu);
			if (!l->keepalive)
				memcpy(l->fp, tlsclient_fingerprint(c), 65);
			pthread_mutex_unlock(&l->mu);
		}
		if (rc == 0)
			atomic_fetch_add(&l->ok, 1);
		else {
			atomic_fetch_add(&l->failed, 1);
			pthread_mutex_lock(&l->mu);
			if (l->first_error == NULL)
				l->first_error = cause;
			else
				free(cause);
			pthread_mutex_unlock(&l->mu);
			cause = NULL;
		}
		if (l->keepalive && rc == 0)
			keep = c;
		else {
			tlsclient_free(c);
			keep = NULL;
		}
	}
	tlsclient_free(keep);
	return NULL;
}

/* Condition: the fresh-connection load has seen fingerprint arg. */
static struct load *seen_load;
static bool
seen_fp(void *arg)
{
	bool r;

	pthread_mutex_lock(&seen_load->mu);
	r = strcmp(seen_load->fp, arg) == 0;
	pthread_mutex_unlock(&seen_load->mu);
	return r;
}

/* Run fresh and keep-alive load against port while rotate(arg) runs. */
static void
under_load(int port, void (*rotate)(void *), void *arg)
{
	struct load fresh, keep;
	pthread_t t1, t2;

	memset(&fresh, 0, sizeof fresh);
	memset(&keep, 0, sizeof keep);
	fresh.port = keep.port = port;
	keep.keepalive = true;
	pthread_mutex_init(&fresh.mu, NULL);
	pthread_mutex_init(&keep.mu, NULL);
	pthread_create(&t1, NULL, load_main, &fresh);
	pthread_create(&t2, NULL, load_main, &keep);
	seen_load = &fresh;
	rotate(arg);
	atomic_store(&fresh.stop, true);
	atomic_store(&keep.stop, true);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ck_assert_msg(atomic_load(&fresh.failed) == 0 && atomic_load(&keep.failed) == 0,
	    "failures: %lu fresh, %lu keep-alive; first: %s / %s",
	    atomic_load(&fresh.failed), atomic_load(&keep.failed),
	    fresh.first_error, keep.first_error);
	ck_assert_uint_gt(atomic_load(&fresh.ok), 10);
	ck_assert_uint_gt(atomic_load(&keep.ok), 10);
	pthread_mutex_destroy(&fresh.mu);
	pthread_mutex_destroy(&keep.mu);
}

/* Condition: the fresh load has answered *arg requests in total. */
static bool
answered(void *arg)
{
	return atomic_load(&seen_load->ok) >= *(unsigned long *)arg;
}

/* Wait until the fresh load has answered n more requests. */
static void
wait_requests(unsigned long n)
{
	unsigned long target = atomic_load(&seen_load->ok) + n;

	ck_assert_msg(proc_wait_until(answered, &target, 10000),
	    "the load stalled at %lu", atomic_load(&seen_load->ok));
}

/* What wait_metric looks for. */
struct metric_want {
	int		 port;
	const char	*needle;
};

/* Condition: /metrics contains the needle. */
static bool
metric_has(void *arg)
{
	struct metric_want *w = arg;
	char *out;
	bool r;

	if (call(w->port, "GET", "/metrics", NULL, 0, &out) != 200) {
		free(out);
		return false;
	}
	r = strstr(out, w->needle) != NULL;
	free(out);
	return r;
}

/* Wait until /metrics of port contains needle. */
static void
wait_metric(int port, const char *needle)
{
	struct metric_want w = { port, needle };

	ck_assert_msg(proc_wait_until(metric_has, &w, 10000), "no \"%s\" in "
	    "/metrics", needle);
}

/* Rotation through the kubelet's ..data swap, twice. */
static void
rotate_kubelet(void *arg)
{
	char *vol = xasprintf("%s/secret", dir);

	(void)arg;
	for (int gen = 2; gen <= 3; gen++) {
		struct selfsigned_pem next;
		char *cause = NULL, *fp;

		selfsigned_copy(&next, &set);
		ck_assert_int_eq(selfsigned_renew_leaf(&next, names, 2,
		    (int64_t)time(NULL), 10, &cause), 0);
		fp = pem_fingerprint(next.cert);
		wait_requests(20);	/* some load on the old certificate */
		kubelet_volume(vol, gen, next.cert, next.key);
		ck_assert_msg(proc_wait_until(seen_fp, fp, 10000),
		    "generation %d never served", gen);
		wait_requests(20);	/* and some on the new one */
		free(fp);
		selfsigned_clear(&next);
	}
	free(vol);
}

START_TEST(test_server_rotation_kubelet_style)
{
	char *out;

	under_load(srv_port, rotate_kubelet, NULL);
	ck_assert_int_eq(call(srv_port, "GET", "/metrics", NULL, 0, &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "twa_webhook_certificate_reloads_total"
	    "{result=\"ok\"} 2"));
	free(out);
}
END_TEST

/* Files replaced one by one (cert first: a mismatched pair for a while), then a broken one. */
struct plain_files {
	char	*cert, *key;
	int	 port;
};

static void
rotate_plain(void *arg)
{
	struct plain_files *pf = arg;
	struct selfsigned_pem next;
	char *cause = NULL, *fp;

	selfsigned_copy(&next, &set);
	ck_assert_int_eq(selfsigned_renew_leaf(&next, names, 2, (int64_t)time(NULL),
	    10, &cause), 0);
	fp = pem_fingerprint(next.cert);
	wait_requests(20);
	put_file(pf->cert, next.cert);
	wait_metric(pf->port, "reloads_total{result=\"error\"} 1");	/* the mismatch seen */
	wait_requests(20);
	put_file(pf->key, next.key);
	ck_assert(proc_wait_until(seen_fp, fp, 10000));
	wait_requests(20);
	free(fp);
	selfsigned_clear(&next);
}

START_TEST(test_server_rotation_plain_files_and_broken)
{
	struct plain_files pf;
	struct proc *p;
	char *out, *fp_before;
	struct tlsclient *c;
	char *cause = NULL;

	pf.cert = xasprintf("%s/plain.crt", dir);
	pf.key = xasprintf("%s/plain.key", dir);
	put_file(pf.cert, set.cert);
	put_file(pf.key, set.key);
	p = start_webhook(pf.cert, pf.key, "1.29", &pf.port, NULL);
	under_load(pf.port, rotate_plain, &pf);
	ck_assert_int_eq(call(pf.port, "GET", "/metrics", NULL, 0, &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "twa_webhook_certificate_reloads_total"
	    "{result=\"ok\"} 1"));
	ck_assert_ptr_nonnull(strstr(out, "twa_webhook_certificate_reloads_total"
	    "{result=\"error\"} 1"));	/* the mismatched pair, reported once */
	free(out);
	/* A broken certificate: refused, the old one stays. */
	c = tlsclient_connect(pf.port, ca_path, HOST, 5000, &cause);
	fp_before = xstrdup(tlsclient_fingerprint(c));
	tlsclient_free(c);
	put_file(pf.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n"
	    "-----END CERTIFICATE-----\n");
	wait_metric(pf.port, "reloads_total{result=\"error\"} 2");
	c = tlsclient_connect(pf.port, ca_path, HOST, 5000, &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(tlsclient_fingerprint(c), fp_before);
	tlsclient_free(c);
	check_serving(pf.port);
	proc_stop(p);
	free(fp_before);
	free(pf.cert);
	free(pf.key);
}
END_TEST

/* Run twa with args; return its exit status and stderr. */
static int
run_twa(const char *args, char **err)
{
	char *twa = proc_buildpath("twa"), *errf = xasprintf("%s/err.txt", dir);
	char *cmd = xasprintf("'%s' %s </dev/null >/dev/null 2>'%s'", twa, args, errf);
	int st = system(cmd);
	FILE *f = fopen(errf, "r");
	size_t n;

	*err = xcalloc(1, 65536);
	n = fread(*err, 1, 65535, f);
	(*err)[n] = '\0';
	fclose(f);
	free(twa);
	free(errf);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_server_bad_start)
{
	static const struct { const char *args; int status; const char *expect; } cases[] = {
		{ "webhook --cert-file /nonexistent/c --key-file /nonexistent/k "
		  "--server-version 1.29 --listen 127.0.0.1:0", 1, "/nonexistent/c" },
		{ "webhook --server-version 1.29", 2, "--cert-file and --key-file, or "
		  "--self-signed" },
		{ "webhook --self-signed --cert-file a --key-file b", 2, "either" },
		{ "webhook --cert-file a", 2, "either" },
		{ "webhook --self-signed --agent-cpu lots", 2, "--agent-cpu" },
		{ "webhook --self-signed --agent-log-level loud", 2, "twa.dev/agent-log-level" },
		{ "webhook --self-signed --temporal-address nohost", 2, "--temporal-address" },
		{ "webhook --self-signed --server-version 1.x", 2, "server version" },
		{ "webhook --self-signed --max-body 12", 2, "--max-body" },
		{ "webhook --self-signed extra", 2, "unexpected argument" },
		{ "webhook --cert-file a --key-file b --listen 127.0.0.1:0", 1,
		  "--server-version" },
	};

	for (size_t i = 0; i < N_CASES(cases); i++) {
		char *err;
		int st = run_twa(cases[i].args, &err);

		ck_assert_msg(st == cases[i].status, "%s: status %d: %s",
		    cases[i].args, st, err);
		ck_assert_msg(strstr(err, cases[i].expect) != NULL, "%s: %s",
		    cases[i].args, err);
		free(err);
	}
}
END_TEST

START_TEST(test_server_help)
{
	char *out = NULL, *twa = proc_buildpath("twa");
	char *cmd = xasprintf("'%s' webhook --help", twa);
	FILE *f = popen(cmd, "r");
	size_t n;

	out = xcalloc(1, 65536);
	n = fread(out, 1, 65535, f);
	out[n] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_ptr_nonnull(strstr(out, "--self-signed"));
	ck_assert_ptr_nonnull(strstr(out, "--cert-file"));
	ck_assert_ptr_nonnull(strstr(out, "/mutate"));
	free(out);
	free(cmd);
	free(twa);
}
END_TEST

/* The version unknown (API unreachable): /mutate 503, /validate works, not ready. */
START_TEST(test_server_version_unknown)
{
	struct proc *p;
	int port;
	char *c = xasprintf("%s/secret/tls.crt", dir), *k = xasprintf("%s/secret/tls.key", dir);
	char *out;

	p = start_webhook(c, k, NULL, &port, "--kube-server", "https://127.0.0.1:9",
	    NULL);
	(void)p;
	ck_assert_int_eq(call(port, "POST", "/mutate", mutate_body,
	    strlen(mutate_body), &out), 503);
	ck_assert_ptr_nonnull(strstr(out, "server version is not known"));
	free(out);
	ck_assert_int_eq(call(port, "POST", "/validate", validate_body,
	    strlen(validate_body), &out), 200);
	free(out);
	ck_assert_int_eq(call(port, "GET", "/readyz", NULL, 0, &out), 503);
	ck_assert_ptr_nonnull(strstr(out, "version"));
	free(out);
	ck_assert_int_eq(call(port, "GET", "/healthz", NULL, 0, &out), 200);
	free(out);
	proc_stop(p);
	free(c);
	free(k);
}
END_TEST

/* SIGTERM: not ready at once, still answering, then a clean exit. */
START_TEST(test_server_sigterm)
{
	struct proc *p;
	int port, st = 0;
	char *c = xasprintf("%s/secret/tls.crt", dir), *k = xasprintf("%s/secret/tls.key", dir);
	char *out;
	long long t0;

	p = start_webhook(c, k, "1.29", &port, "--shutdown-delay", "1500ms", NULL);
	check_serving(port);
	t0 = proc_now_ms();
	proc_kill(p, SIGTERM);
	for (;;) {
		int s = call(port, "GET", "/readyz", NULL, 0, &out);

		free(out);
		if (s == 503)
			break;
		ck_assert(proc_now_ms() - t0 < 1000);
	}
	check_serving(port);
	ck_assert(proc_wait(p, 10000, &st));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_ge(proc_now_ms() - t0, 1400);
	proc_stop(p);
	free(c);
	free(k);
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook_server(void)
{
	Suite *s = suite_create("webhook_server");
	TCase *tc = tcase_create("server");

	tcase_add_unchecked_fixture(tc, server_setup, server_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_server_reviews);
	tcase_add_test(tc, test_server_health_and_metrics);
	tcase_add_test(tc, test_server_hostile);
	tcase_add_test(tc, test_server_body_caps);
	tcase_add_test(tc, test_server_not_tls_and_garbage);
	tcase_add_test(tc, test_server_rotation_kubelet_style);
	tcase_add_test(tc, test_server_rotation_plain_files_and_broken);
	tcase_add_test(tc, test_server_bad_start);
	tcase_add_test(tc, test_server_help);
	tcase_add_test(tc, test_server_version_unknown);
	tcase_add_test(tc, test_server_sigterm);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook_server)
