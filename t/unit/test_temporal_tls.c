/*
 * Tests of the Temporal client over TLS and mutual TLS against the
 * simulator, with a throwaway CA (t/sim/kube/mkcerts.sh plus a client
 * certificate made here with $OPENSSL_BIN).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_main.h"
#include "log.h"
#include "proc.h"
#include "temporal.h"
#include "test_temporal_sim.h"
#include "xalloc.h"

static struct event_base *base;
static struct tsim *sim;
static char *dir;

/* Run a shell command; fail the test when it fails. */
static void
run(const char *cmd)
{
	int rc = system(cmd);

	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Path of a file in the certificate directory. Caller frees. */
static char *
cert(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Once per run: the CA, server and client certificates. */
static void
setup_certs(void)
{
	const char *openssl = getenv("OPENSSL_BIN");
	char *mk, *cmd, *bindir, *slash;

	dir = test_tmpdir();
	if (openssl == NULL || *openssl == '\0')
		openssl = "openssl";
	/* mkcerts.sh runs "openssl" from PATH: put $OPENSSL_BIN's first. */
	bindir = xstrdup(openssl);
	slash = strrchr(bindir, '/');
	if (slash != NULL)
		*slash = '\0';
	mk = proc_srcpath("t/sim/kube/mkcerts.sh");
	cmd = xasprintf("PATH='%s':\"$PATH\" sh '%s' '%s'",
	    slash != NULL ? bindir : ".", mk, dir);
	run(cmd);
	free(cmd);
	/* A client certificate from the same CA, and an unrelated CA. */
	cmd = xasprintf("cd '%s' && "
	    "printf 'extendedKeyUsage = clientAuth\\n' > client.ext && "
	    "'%s' req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	    "-keyout client.key -out client.csr -subj /CN=twa-agent 2>/dev/null && "
	    "'%s' x509 -req -in client.csr -CA ca.crt -CAkey ca.key "
	    "-CAcreateserial -out client.crt -days 1 -extfile client.ext "
	    "2>/dev/null && "
	    "'%s' req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout other.key -out other.crt -days 1 -subj /CN=other "
	    "2>/dev/null && rm -f client.csr client.ext ca.srl",
	    dir, openssl, openssl, openssl);
	run(cmd);
	free(cmd);
	free(mk);
	free(bindir);
}

static void
teardown_certs(void)
{
	test_rmdir(dir);
	free(dir);
}

static void
setup(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	base = event_base_new();
	sim = NULL;
}

static void
teardown(void)
{
	tsim_stop(sim);
	sim = NULL;
	event_base_free(base);
}

/* Start a TLS simulator; with mtls it requires client certificates. */
static void
start_tls_sim(bool mtls)
{
	char *crt = cert("server.crt"), *key = cert("server.key");
	char *ca = cert("ca.crt");
	const char *args[] = { "--tls-cert", crt, "--tls-key", key,
	    "--log-level", "warn", mtls ? "--tls-ca" : NULL, ca, NULL };

	sim = tsim_start(args, 0);
	free(crt);
	free(key);
	free(ca);
}

/*
 * Make one CountWorkflowExecutions call with cfg (address filled in);
 * returns its code and the message in msg.
 */
static int
call_with(struct temporal_config *cfg, char *msg, size_t msglen)
{
	struct temporal *t;
	struct rec r = { 0 };
	char *cause = NULL;
	int code;

	cfg->address = sim->addr;
	cfg->ns = "default";
	cfg->identity = "twa:prod/orders";
	cfg->timeout_ms = 2000;
	cfg->retry = (struct backoff_policy){ 20, 100, 1 };
	t = temporal_new(base, cfg, &cause);
	ck_assert_msg(t != NULL, "temporal_new: %s", cause);
	ck_assert_int_eq(temporal_count_workflows(t, "", rec_count_cb, &r,
	    &cause), 0);
	rec_wait(base, &r);
	code = r.code;
	snprintf(msg, msglen, "%s", r.msg);
	rec_reset(&r);
	temporal_free(t);
	return code;
}

START_TEST(test_tls_verified)
{
	struct temporal_config cfg = { 0 };
	char msg[1024], *ca = cert("ca.crt");

	start_tls_sim(false);
	/* Verified against the IP SAN of the address. */
	cfg.tls = true;
	cfg.ca_file = ca;
	ck_assert_msg(call_with(&cfg, msg, sizeof msg) == 0, "%s", msg);
	/* And against a DNS SAN named by the server name override. */
	memset(&cfg, 0, sizeof cfg);
	cfg.ca_file = ca;	/* implies TLS */
	cfg.server_name = "localhost";
	ck_assert_msg(call_with(&cfg, msg, sizeof msg) == 0, "%s", msg);
	free(ca);
}
END_TEST

START_TEST(test_tls_rejected)
{
	struct temporal_config cfg = { 0 };
	char msg[1024], *ca = cert("ca.crt"), *other = cert("other.crt");

	start_tls_sim(false);
	/* A name the certificate does not carry. */
	cfg.ca_file = ca;
	cfg.server_name = "temporal.example.com";
	ck_assert_int_eq(call_with(&cfg, msg, sizeof msg), TEMPORAL_UNAVAILABLE);
	/* A CA that did not sign the server certificate. */
	memset(&cfg, 0, sizeof cfg);
	cfg.ca_file = other;
	ck_assert_int_eq(call_with(&cfg, msg, sizeof msg), TEMPORAL_UNAVAILABLE);
	/* Plaintext to a TLS server. */
	memset(&cfg, 0, sizeof cfg);
	ck_assert_int_eq(call_with(&cfg, msg, sizeof msg), TEMPORAL_UNAVAILABLE);
	free(ca);
	free(other);
}
END_TEST

START_TEST(test_mtls)
{
	struct temporal_config cfg = { 0 };
	char msg[1024], *ca = cert("ca.crt"), *crt = cert("client.crt");
	char *key = cert("client.key"), *okey = cert("other.key");
	char *ocrt = cert("other.crt"), *cause = NULL;

	start_tls_sim(true);
	/* No client certificate: the server refuses the handshake. */
	cfg.ca_file = ca;
	ck_assert_int_eq(call_with(&cfg, msg, sizeof msg), TEMPORAL_UNAVAILABLE);
	/* A client certificate from the trusted CA. */
	memset(&cfg, 0, sizeof cfg);
	cfg.ca_file = ca;
	cfg.cert_file = crt;
	cfg.key_file = key;
	ck_assert_msg(call_with(&cfg, msg, sizeof msg) == 0, "%s", msg);
	/* A self-signed client certificate the server does not trust. */
	memset(&cfg, 0, sizeof cfg);
	cfg.ca_file = ca;
	cfg.cert_file = ocrt;
	cfg.key_file = okey;
	ck_assert_int_eq(call_with(&cfg, msg, sizeof msg), TEMPORAL_UNAVAILABLE);
	/* A key file that is missing is a configuration error. */
	memset(&cfg, 0, sizeof cfg);
	cfg.address = sim->addr;
	cfg.ns = "default";
	cfg.identity = "twa:prod/orders";
	cfg.ca_file = ca;
	cfg.cert_file = crt;
	cfg.key_file = "/nonexistent/client.key";
	ck_assert_ptr_null(temporal_new(base, &cfg, &cause));
	ck_assert_msg(strstr(cause, "/nonexistent/client.key") != NULL, "%s",
	    cause);
	free(cause);
	free(ca);
	free(crt);
	free(key);
	free(ocrt);
	free(okey);
}
END_TEST

static Suite *
temporal_tls_suite(void)
{
	Suite *s = suite_create("temporal_tls");
	TCase *tc = tcase_create("tls");

	tcase_add_unchecked_fixture(tc, setup_certs, teardown_certs);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tls_verified);
	tcase_add_test(tc, test_tls_rejected);
	tcase_add_test(tc, test_mtls);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(temporal_tls_suite)
