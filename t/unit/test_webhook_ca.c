/*
 * Tests of `twa webhook --self-signed` as processes: two replicas share one
 * CA through the Secret, keep the caBundles current, renew before expiry.
 * The API side is a small in-test double for the three resources involved
 * (Secrets, webhook configurations, /version), because the API simulator
 * does not serve them yet; it keeps the server semantics the code relies
 * on: resourceVersion conflicts, AlreadyExists, JSON Patch with test ops.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check_main.h"
#include "proc.h"
#include "selfsigned.h"
#include "test_webhook_apply.h"
#include "tlsclient.h"
#include "xalloc.h"

#define NS	"twa-system"
#define SECRET	"twa-webhook-tls"
#define HOST	"twa-webhook.twa-system.svc"
#define SECRETS	"/api/v1/namespaces/" NS "/secrets"
#define ADM	"/apis/admissionregistration.k8s.io/v1/"

/* The API double: state shared between its thread and the test. */
struct fake {
	struct event_base	*base;
	struct evhttp		*http;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	int			 port;
	long			 rv;
	json_t			*secret;	/* NULL: none */
	json_t			*cfg[2];	/* mutating, validating; NULL: none */
	int			 posts, created, conflicts, puts, patches;
	int			 patch_status;	/* non-zero: PATCH answers this */
	int			 hold_gets;	/* hold Secret GETs until this many */
	struct evhttp_request	*held[4];
	int			 nheld;
};

static struct fake F;

/* Answer with JSON (obj stolen). */
static void
reply(struct evhttp_request *req, int code, json_t *obj)
{
	struct evbuffer *b = evbuffer_new();
	char *text = json_dumps(obj, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", b);
	evbuffer_free(b);
	free(text);
	json_decref(obj);
}

/* Answer a Status error. */
static void
status(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	reply(req, code, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind", "Status",
	    "apiVersion", "v1", "status", "Failure", "message", msg, "reason",
	    reason, "code", code));
}

/* Store obj with a new resourceVersion; returns a copy to send. */
static json_t *
stamp(json_t *obj)
{
	char rv[32];

	snprintf(rv, sizeof rv, "%ld", ++F.rv);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
	    json_string(rv));
	return json_deep_copy(obj);
}

/* The body of a request, parsed (NULL when not JSON). */
static json_t *
body_of(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	return json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, NULL);
}

/* Every request of the double. */
static void
fake_cb(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	json_t *body = NULL;
	int idx = -1;

	pthread_mutex_lock(&F.mu);
	if (strcmp(path, "/version") == 0)
		reply(req, 200, json_pack("{s:s, s:s, s:s}", "major", "1", "minor",
		    "30", "gitVersion", "v1.30.2"));
	else if (strcmp(path, SECRETS "/" SECRET) == 0 && m == EVHTTP_REQ_GET) {
		if (F.hold_gets > 0 && F.nheld < 4) {
			F.held[F.nheld++] = req;
			if (F.nheld >= F.hold_gets) {
				for (int i = 0; i < F.nheld; i++)
					status(F.held[i], 404, "NotFound",
					    "secrets \"" SECRET "\" not found");
				F.nheld = F.hold_gets = 0;
			}
		} else if (F.secret == NULL)
			status(req, 404, "NotFound", "secrets \"" SECRET "\" not found");
		else
			reply(req, 200, json_deep_copy(F.secret));
	} else if (strcmp(path, SECRETS) == 0 && m == EVHTTP_REQ_POST) {
		F.posts++;
		body = body_of(req);
		if (F.secret != NULL)
			status(req, 409, "AlreadyExists", "secrets \"" SECRET "\" already exists");
		else if (strcmp(json_string_value(json_object_get(json_object_get(body,
		    "metadata"), "name")), SECRET) != 0)
			status(req, 422, "Invalid", "unexpected name");
		else {
			F.created++;
			F.secret = json_incref(body);
			reply(req, 201, stamp(F.secret));
		}
	} else if (strcmp(path, SECRETS "/" SECRET) == 0 && m == EVHTTP_REQ_PUT) {
		const char *rv;

		F.puts++;
		body = body_of(req);
		rv = json_string_value(json_object_get(json_object_get(body, "metadata"),
		    "resourceVersion"));
		if (F.secret == NULL)
			status(req, 404, "NotFound", "secrets \"" SECRET "\" not found");
		else if (rv == NULL || strcmp(rv, json_string_value(json_object_get(
		    json_object_get(F.secret, "metadata"), "resourceVersion"))) != 0) {
			F.conflicts++;
			status(req, 409, "Conflict", "Operation cannot be fulfilled on "
			    "secrets \"" SECRET "\": the object has been modified");
		} else {
			json_decref(F.secret);
			F.secret = json_incref(body);
			reply(req, 200, stamp(F.secret));
		}
	} else if ((strcmp(path, ADM "mutatingwebhookconfigurations/twa") == 0 &&
	    (idx = 0) == 0) || (strcmp(path, ADM "validatingwebhookconfigurations/twa")
	    == 0 && (idx = 1) == 1)) {
		if (F.cfg[idx] == NULL)
			status(req, 404, "NotFound", "webhook configuration \"twa\" not found");
		else if (m == EVHTTP_REQ_GET)
			reply(req, 200, json_deep_copy(F.cfg[idx]));
		else if (m == EVHTTP_REQ_PATCH) {
			const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req),
			    "Content-Type");
			json_t *copy = json_deep_copy(F.cfg[idx]);
			char *cause = NULL;

			body = body_of(req);
			if (F.patch_status != 0)
				status(req, F.patch_status, "Forbidden", "forbidden by the test");
			else if (ct == NULL || strcmp(ct, "application/json-patch+json") != 0)
				status(req, 415, "UnsupportedMediaType", "want a JSON Patch");
			else if (apply_patch(copy, body, &cause) != 0) {
				status(req, 422, "Invalid", cause);
				free(cause);
			} else {
				F.patches++;
				json_decref(F.cfg[idx]);
				F.cfg[idx] = json_incref(copy);
				reply(req, 200, stamp(F.cfg[idx]));
			}
			json_decref(copy);
		} else
			status(req, 405, "MethodNotAllowed", "method");
	} else
		status(req, 404, "NotFound", "the server could not find the requested resource");
	json_decref(body);
	pthread_mutex_unlock(&F.mu);
}

/* The double's thread. */
static void *
fake_main(void *arg)
{
	event_base_dispatch(F.base);
	return NULL;
}

/* A webhook configuration as deploy/ has it, without caBundle. */
static json_t *
config(const char *kind, const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:{s:{s:s, s:s, s:s}}}]}",
	    "apiVersion", "admissionregistration.k8s.io/v1", "kind", kind,
	    "metadata", "name", "twa", "webhooks", "name", name, "clientConfig",
	    "service", "namespace", NS, "name", "twa-webhook", "path", "/x");
}

/* Start the double with both configurations present. */
static void
fake_start(void)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	memset(&F, 0, sizeof F);
	evthread_use_pthreads();
	pthread_mutex_init(&F.mu, NULL);
	F.base = event_base_new();
	F.http = evhttp_new(F.base);
	evhttp_set_allowed_methods(F.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(F.http, fake_cb, NULL);
	bs = evhttp_bind_socket_with_handle(F.http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
	F.port = ntohs(sa.sin_port);
	F.cfg[0] = config("MutatingWebhookConfiguration", "inject.twa.dev");
	F.cfg[1] = config("ValidatingWebhookConfiguration", "validate.twa.dev");
	pthread_create(&F.thread, NULL, fake_main, NULL);
}

/* Stop the double. */
static void
fake_stop(void)
{
	event_base_loopbreak(F.base);
	pthread_join(F.thread, NULL);
	evhttp_free(F.http);
	event_base_free(F.base);
	json_decref(F.secret);
	json_decref(F.cfg[0]);
	json_decref(F.cfg[1]);
	pthread_mutex_destroy(&F.mu);
}

/* Base64-decode a Secret data value. Caller frees. */
static char *
data_of(const char *key)
{
	const char *b64;
	unsigned char *out;
	int n;

	pthread_mutex_lock(&F.mu);
	b64 = json_string_value(json_object_get(json_object_get(F.secret, "data"), key));
	ck_assert_ptr_nonnull(b64);
	out = xcalloc(1, strlen(b64) + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64));
	pthread_mutex_unlock(&F.mu);
	ck_assert_int_gt(n, 0);
	return (char *)out;
}

/* SHA-256 of the first certificate of PEM text. Caller frees. */
static char *
fingerprint(const char *pem)
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

/* Arguments for starting a replica in a thread. */
struct replica {
	const char	*dir;
	int		 n;
	struct proc	*proc;
	int		 port;
	char		*cause;
};

/* Start one `twa webhook --self-signed` replica (thread body). */
static void *
replica_start(void *arg)
{
	struct replica *r = arg;
	char *twa = proc_buildpath("twa"), *server = xasprintf("http://127.0.0.1:%d",
	    F.port), *log = xasprintf("%s/replica%d.log", r->dir, r->n);
	const char *argv[] = { twa, "webhook", "--self-signed", "--namespace", NS,
	    "--listen", "127.0.0.1:0", "--kube-server", server, "--resync-interval",
	    "300ms", "--temporal-address", "t:7233", "--shutdown-delay", "0",
	    "--print-port", "--log-level", "debug", NULL };

	r->proc = proc_start((char *const *)argv, log, 20000, &r->cause);
	if (r->proc != NULL)
		r->port = proc_port(r->proc, "port");
	free(twa);
	free(server);
	free(log);
	return NULL;
}

/* The fingerprint a replica serves now, verified against the Secret's CA. Caller frees. */
static char *
served(struct replica *r, const char *ca_file)
{
	char *cause = NULL, *fp;
	struct tlsclient *c = tlsclient_connect(r->port, ca_file, HOST, 5000, &cause);

	if (c == NULL) {
		free(cause);
		return xstrdup("(handshake failed)");
	}
	fp = xstrdup(tlsclient_fingerprint(c));
	tlsclient_free(c);
	return fp;
}

/* What the conditions compare against. */
struct expect {
	struct replica	*r;
	const char	*ca_file;
	char		*fp;
	const char	*bundle;
};

/* Condition: both replicas serve the Secret's certificate, verified by its CA. */
static bool
both_serve(void *arg)
{
	struct expect *e = arg;
	bool ok = true;

	for (int i = 0; i < 2; i++) {
		char *fp = served(&e->r[i], e->ca_file);

		ok &= strcmp(fp, e->fp) == 0;
		free(fp);
	}
	return ok;
}

/* Condition: both configurations carry the bundle. */
static bool
bundles_are(void *arg)
{
	struct expect *e = arg;
	bool ok = true;

	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < 2; i++) {
		const char *b = json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(F.cfg[i], "webhooks"), 0),
		    "clientConfig"), "caBundle"));

		ok &= F.cfg[i] != NULL && b != NULL && strcmp(b, e->bundle) == 0;
	}
	pthread_mutex_unlock(&F.mu);
	return ok;
}

/* Condition: a replica's metrics contain the text. */
struct metric_want {
	struct replica	*r;
	const char	*ca_file, *needle;
};
static bool
metric_has(void *arg)
{
	struct metric_want *w = arg;
	struct tlsclient_response resp;
	char *cause = NULL;
	bool ok;

	if (tlsclient_once(w->r->port, w->ca_file, HOST, "GET", "/metrics", NULL, 0,
	    &resp, &cause) != 0) {
		free(cause);
		return false;
	}
	ok = strstr(resp.body, w->needle) != NULL;
	tlsclient_response_clear(&resp);
	return ok;
}

/* Write text to path. */
static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Standard base64. Caller frees. */
static char *
b64(const char *s)
{
	char *out = xmalloc(4 * ((strlen(s) + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)strlen(s));
	return out;
}

/* Reset caBundle of configuration i (as a re-apply of the manifests would). */
static void
clear_bundle(int i)
{
	pthread_mutex_lock(&F.mu);
	json_object_del(json_object_get(json_array_get(json_object_get(F.cfg[i],
	    "webhooks"), 0), "clientConfig"), "caBundle");
	pthread_mutex_unlock(&F.mu);
}

START_TEST(test_selfsigned_two_replicas)
{
	char tmpl[] = "/tmp/twa-webhook-ca.XXXXXX", *ca_file, *ca, *cert, *fp, *bundle;
	const char *const names[] = { HOST, "twa-webhook" };
	struct replica r[2];
	pthread_t t[2];
	struct expect e;
	struct selfsigned_pem set, near;
	char *cause = NULL;
	struct metric_want mw;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	fake_start();
	/* Both replicas start together and race to create the Secret. */
	F.hold_gets = 2;
	memset(r, 0, sizeof r);
	for (int i = 0; i < 2; i++) {
		r[i].dir = tmpl;
		r[i].n = i;
		pthread_create(&t[i], NULL, replica_start, &r[i]);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(r[i].proc != NULL, "replica %d: %s", i, r[i].cause);
	}
	pthread_mutex_lock(&F.mu);
	ck_assert_int_eq(F.created, 1);
	ck_assert_int_eq(F.posts, 2);		/* the loser got AlreadyExists */
	pthread_mutex_unlock(&F.mu);
	ca = data_of("ca.crt");
	cert = data_of("tls.crt");
	ca_file = xasprintf("%s/ca.crt", tmpl);
	put(ca_file, ca);
	e.r = r;
	e.ca_file = ca_file;
	e.fp = fingerprint(cert);
	bundle = b64(ca);
	e.bundle = bundle;
	ck_assert(proc_wait_until(both_serve, &e, 10000));
	ck_assert(proc_wait_until(bundles_are, &e, 10000));
	/* kubectl apply empties a caBundle: put back within a resync. */
	clear_bundle(0);
	clear_bundle(1);
	ck_assert(proc_wait_until(bundles_are, &e, 10000));
	/* The API refuses the patch: reported, still serving. */
	pthread_mutex_lock(&F.mu);
	F.patch_status = 403;
	pthread_mutex_unlock(&F.mu);
	clear_bundle(0);
	mw.r = &r[0];
	mw.ca_file = ca_file;
	mw.needle = "twa_webhook_selfsigned_total{event=\"error\"} ";
	ck_assert(proc_wait_until(metric_has, &mw, 10000));
	ck_assert(both_serve(&e));
	pthread_mutex_lock(&F.mu);
	F.patch_status = 0;
	pthread_mutex_unlock(&F.mu);
	ck_assert(proc_wait_until(bundles_are, &e, 10000));
	/* A serving certificate near its end: renewed from the same CA. */
	memset(&set, 0, sizeof set);
	set.ca_cert = xstrdup(ca);
	set.ca_key = data_of("ca.key");
	set.cert = xstrdup(cert);
	set.key = data_of("tls.key");
	selfsigned_copy(&near, &set);
	ck_assert_int_eq(selfsigned_renew_leaf(&near, names, 2, (int64_t)time(NULL) -
	    300 * 86400, 310, &cause), 0);
	pthread_mutex_lock(&F.mu);
	{
		json_t *data = json_object_get(F.secret, "data");
		char *c64 = b64(near.cert), *k64 = b64(near.key);

		json_object_set_new(data, "tls.crt", json_string(c64));
		json_object_set_new(data, "tls.key", json_string(k64));
		json_decref(stamp(F.secret));
		free(c64);
		free(k64);
	}
	pthread_mutex_unlock(&F.mu);
	free(e.fp);
	{
		long long deadline = proc_now_ms() + 10000;
		char *now_cert, *near_fp = fingerprint(near.cert);

		for (;;) {		/* wait for a replica to renew it */
			now_cert = data_of("tls.crt");
			fp = fingerprint(now_cert);
			free(now_cert);
			if (strcmp(fp, near_fp) != 0)
				break;
			free(fp);
			ck_assert_msg(proc_now_ms() < deadline, "never renewed");
			usleep(50000);
		}
		free(near_fp);
	}
	e.fp = fp;
	ck_assert(proc_wait_until(both_serve, &e, 10000));
	{
		char *ca_now = data_of("ca.crt");

		ck_assert_str_eq(ca_now, ca);	/* same CA: no caBundle change */
		free(ca_now);
	}
	ck_assert(bundles_are(&e));
	/* The validating configuration goes away and comes back. */
	pthread_mutex_lock(&F.mu);
	json_decref(F.cfg[1]);
	F.cfg[1] = NULL;
	pthread_mutex_unlock(&F.mu);
	ck_assert(both_serve(&e));
	pthread_mutex_lock(&F.mu);
	F.cfg[1] = config("ValidatingWebhookConfiguration", "validate.twa.dev");
	pthread_mutex_unlock(&F.mu);
	ck_assert(proc_wait_until(bundles_are, &e, 10000));
	for (int i = 0; i < 2; i++)
		proc_stop(r[i].proc);
	fake_stop();
	selfsigned_clear(&set);
	selfsigned_clear(&near);
	free(e.fp);
	free(bundle);
	free(ca);
	free(cert);
	free(ca_file);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpl);

		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
}
END_TEST

START_TEST(test_selfsigned_broken_secret_replaced)
{
	char tmpl[] = "/tmp/twa-webhook-ca.XXXXXX", *ca, *cert;
	struct replica r;
	json_t *old;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	fake_start();
	pthread_mutex_lock(&F.mu);
	F.secret = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}}",
	    "apiVersion", "v1", "kind", "Secret", "metadata", "name", SECRET,
	    "namespace", NS, "type", "kubernetes.io/tls", "data", "tls.crt", "bm9wZQ==",
	    "tls.key", "!!notbase64");
	json_decref(stamp(F.secret));
	old = json_deep_copy(F.secret);
	pthread_mutex_unlock(&F.mu);
	memset(&r, 0, sizeof r);
	r.dir = tmpl;
	replica_start(&r);
	ck_assert_msg(r.proc != NULL, "%s", r.cause);
	pthread_mutex_lock(&F.mu);
	ck_assert_int_eq(F.created, 0);
	ck_assert_int_ge(F.puts, 1);	/* replaced with a conditional update */
	ck_assert(!json_equal(old, F.secret));
	ck_assert_str_eq(json_string_value(json_object_get(F.secret, "type")),
	    "kubernetes.io/tls");
	pthread_mutex_unlock(&F.mu);
	ca = data_of("ca.crt");
	cert = data_of("tls.crt");
	ck_assert_ptr_nonnull(strstr(ca, "BEGIN CERTIFICATE"));
	ck_assert_ptr_nonnull(strstr(cert, "BEGIN CERTIFICATE"));
	proc_stop(r.proc);
	fake_stop();
	json_decref(old);
	free(ca);
	free(cert);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpl);

		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook_ca(void)
{
	Suite *s = suite_create("webhook_ca");
	TCase *tc = tcase_create("selfsigned");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_selfsigned_two_replicas);
	tcase_add_test(tc, test_selfsigned_broken_secret_replaced);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook_ca)
