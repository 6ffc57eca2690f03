/* Tests of the webhook's certificates: the self-signed CA and leaf, renewal decisions, reloading. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check_main.h"
#include "selfsigned.h"
#include "tlsreload.h"
#include "xalloc.h"

#define NOW	1795000000LL	/* 2026-11-18 */
#define DAY	86400LL

static const char *const names[] = { "twa-webhook", "twa-webhook.twa-system",
	"twa-webhook.twa-system.svc", "twa-webhook.twa-system.svc.cluster.local" };

/* Read the n-th certificate of PEM text. */
static X509 *
cert_at(const char *pem, int n)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = NULL;

	for (int i = 0; i <= n; i++) {
		X509_free(x);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	return x;
}

/* Verify leaf against the first CA of ca_pem at time at. 1 when valid. */
static int
verify(const char *ca_pem, const char *leaf_pem, int64_t at, int ca_index)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ca = cert_at(ca_pem, ca_index), *leaf = cert_at(leaf_pem, 0);
	int r;

	ck_assert_ptr_nonnull(ca);
	ck_assert_ptr_nonnull(leaf);
	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, leaf, NULL);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
	X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx),
	    X509_PURPOSE_SSL_SERVER);
	r = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(ca);
	X509_free(leaf);
	ERR_clear_error();
	return r;
}

/* Count the certificates in PEM text. */
static int
count_certs(const char *pem)
{
	int n = 0;

	for (const char *p = pem; (p = strstr(p, "BEGIN CERTIFICATE")) != NULL; p++)
		n++;
	return n;
}

START_TEST(test_certs_create)
{
	struct selfsigned_pem s;
	char *cause = NULL;
	X509 *ca, *leaf;
	EVP_PKEY *pk;
	const ASN1_INTEGER *serial;
	BIGNUM *bn;

	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 3650, 365, NULL, &s,
	    &cause), 0);
	ck_assert_int_eq(count_certs(s.ca_cert), 1);
	ck_assert_int_eq(verify(s.ca_cert, s.cert, NOW, 0), 1);
	ck_assert_int_eq(verify(s.ca_cert, s.cert, NOW + 364 * DAY, 0), 1);
	ck_assert_int_ne(verify(s.ca_cert, s.cert, NOW + 366 * DAY, 0), 1);
	ca = cert_at(s.ca_cert, 0);
	leaf = cert_at(s.cert, 0);
	ck_assert_int_ne(X509_check_ca(ca), 0);
	ck_assert_int_eq(X509_check_ca(leaf), 0);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(X509_check_host(leaf, names[i], 0, 0, NULL), 1);
	ck_assert_int_ne(X509_check_host(leaf, "evil.example.com", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
	ck_assert_int_eq(tlsreload_asn1_time(X509_get0_notBefore(leaf)), NOW - 3600);
	ck_assert_int_eq(tlsreload_asn1_time(X509_get0_notAfter(leaf)),
	    NOW - 3600 + 365 * DAY);
	pk = X509_get0_pubkey(leaf);
	ck_assert_int_eq(EVP_PKEY_base_id(pk), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_bits(pk), 256);
	serial = X509_get0_serialNumber(leaf);
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	ck_assert(!BN_is_negative(bn));
	ck_assert_int_eq(BN_num_bytes(bn), 16);
	BN_free(bn);
	ck_assert_int_ne(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(ca)), 0);
	X509_free(ca);
	X509_free(leaf);
	ck_assert_ptr_nonnull(strstr(s.ca_key, "PRIVATE KEY"));
	ck_assert_ptr_nonnull(strstr(s.key, "PRIVATE KEY"));
	selfsigned_clear(&s);
	ck_assert_ptr_null(s.cert);
}
END_TEST

START_TEST(test_certs_bad_names)
{
	static const char *const bad[][1] = { { "" }, { "a,b" }, { "a b" }, { "x:y" } };
	struct selfsigned_pem s;

	for (size_t i = 0; i < N_CASES(bad); i++) {
		char *cause = NULL;

		ck_assert_int_eq(selfsigned_create(bad[i], 1, NOW, 10, 5, NULL, &s,
		    &cause), -1);
		ck_assert_ptr_nonnull(strstr(cause, "DNS name"));
		free(cause);
	}
	{
		char *cause = NULL;

		ck_assert_int_eq(selfsigned_create(names, 0, NOW, 10, 5, NULL, &s,
		    &cause), -1);
		free(cause);
	}
}
END_TEST

/* One renewal decision: the set, the time, the names, what must come out. */
START_TEST(test_certs_check)
{
	struct selfsigned_pem s, other, t;
	char *cause = NULL, *reason = NULL;
	const char *const more[] = { "twa-webhook", "extra.example.com" };

	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 3000, 300, NULL, &s,
	    &cause), 0);
	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 3000, 300, NULL, &other,
	    &cause), 0);
	ck_assert_int_eq(selfsigned_check(&s, names, 4, NOW, &reason), SELFSIGNED_OK);
	free(reason);
	/* Two thirds of the leaf's life: renew the leaf only. */
	ck_assert_int_eq(selfsigned_check(&s, names, 4, NOW + 150 * DAY, &reason),
	    SELFSIGNED_OK);
	free(reason);
	ck_assert_int_eq(selfsigned_check(&s, names, 4, NOW + 201 * DAY, &reason),
	    SELFSIGNED_RENEW_LEAF);
	ck_assert_ptr_nonnull(strstr(reason, "third"));
	free(reason);
	/* Two thirds of the CA's life: everything. */
	ck_assert_int_eq(selfsigned_check(&s, names, 4, NOW + 2001 * DAY, &reason),
	    SELFSIGNED_RENEW_ALL);
	ck_assert_ptr_nonnull(strstr(reason, "CA"));
	free(reason);
	/* Not yet valid (clock behind): renew the leaf. */
	ck_assert_int_eq(selfsigned_check(&s, names, 4, NOW - 2 * 3600, &reason),
	    SELFSIGNED_RENEW_LEAF);
	free(reason);
	/* A name the leaf lacks. */
	ck_assert_int_eq(selfsigned_check(&s, more, 2, NOW, &reason),
	    SELFSIGNED_RENEW_LEAF);
	ck_assert_ptr_nonnull(strstr(reason, "extra.example.com"));
	free(reason);
	/* Leaf of another CA. */
	selfsigned_copy(&t, &s);
	free(t.cert);
	free(t.key);
	t.cert = xstrdup(other.cert);
	t.key = xstrdup(other.key);
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_LEAF);
	ck_assert_ptr_nonnull(strstr(reason, "not signed by the CA"));
	free(reason);
	/* Leaf key of another leaf. */
	free(t.cert);
	t.cert = xstrdup(s.cert);
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_LEAF);
	free(reason);
	/* CA key of another CA. */
	free(t.ca_key);
	t.ca_key = xstrdup(other.ca_key);
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_ALL);
	free(reason);
	/* Nothing, or garbage. */
	selfsigned_clear(&t);
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_ALL);
	free(reason);
	t.ca_cert = xstrdup("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	t.ca_key = xstrdup("garbage");
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_ALL);
	free(reason);
	selfsigned_clear(&t);
	/* The leaf as CA: not a CA. */
	t.ca_cert = xstrdup(s.cert);
	t.ca_key = xstrdup(s.key);
	t.cert = xstrdup(s.cert);
	t.key = xstrdup(s.key);
	ck_assert_int_eq(selfsigned_check(&t, names, 4, NOW, &reason),
	    SELFSIGNED_RENEW_ALL);
	free(reason);
	selfsigned_clear(&t);
	selfsigned_clear(&s);
	selfsigned_clear(&other);
}
END_TEST

START_TEST(test_certs_renew_leaf_and_ca_overlap)
{
	struct selfsigned_pem s, renewed, next;
	char *cause = NULL, *reason = NULL;

	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 3000, 300, NULL, &s,
	    &cause), 0);
	selfsigned_copy(&renewed, &s);
	ck_assert_int_eq(selfsigned_renew_leaf(&renewed, names, 4, NOW + 250 * DAY,
	    300, &cause), 0);
	ck_assert_str_eq(renewed.ca_cert, s.ca_cert);
	ck_assert_str_eq(renewed.ca_key, s.ca_key);
	ck_assert_str_ne(renewed.cert, s.cert);
	ck_assert_str_ne(renewed.key, s.key);
	ck_assert_int_eq(verify(renewed.ca_cert, renewed.cert, NOW + 250 * DAY, 0), 1);
	ck_assert_int_eq(selfsigned_check(&renewed, names, 4, NOW + 250 * DAY,
	    &reason), SELFSIGNED_OK);
	free(reason);
	/* A new CA while the old one is valid: both trusted for a while. */
	ck_assert_int_eq(selfsigned_create(names, 4, NOW + 2500 * DAY, 3000, 300,
	    &s, &next, &cause), 0);
	ck_assert_int_eq(count_certs(next.ca_cert), 2);
	ck_assert_int_eq(verify(next.ca_cert, next.cert, NOW + 2500 * DAY, 0), 1);
	ck_assert_int_eq(verify(next.ca_cert, s.cert, NOW + 100 * DAY, 1), 1);
	ck_assert_int_eq(selfsigned_check(&next, names, 4, NOW + 2500 * DAY, &reason),
	    SELFSIGNED_OK);
	free(reason);
	selfsigned_clear(&next);
	/* The old CA expired: not carried. */
	ck_assert_int_eq(selfsigned_create(names, 4, NOW + 3100 * DAY, 3000, 300,
	    &s, &next, &cause), 0);
	ck_assert_int_eq(count_certs(next.ca_cert), 1);
	selfsigned_clear(&next);
	selfsigned_clear(&renewed);
	selfsigned_clear(&s);
}
END_TEST

START_TEST(test_certs_tlsreload_pem)
{
	struct selfsigned_pem a, b;
	struct tlsreload *t;
	char *cause = NULL, fp[65];
	SSL_CTX *first;

	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 30, 10, NULL, &a, &cause), 0);
	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 30, 10, NULL, &b, &cause), 0);
	t = tlsreload_new_pem(a.cert, a.key, &cause);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(tlsreload_fingerprint(t)), 64);
	ck_assert_int_eq(tlsreload_not_after(t), NOW - 3600 + 10 * DAY);
	ck_assert_uint_eq(tlsreload_generation(t), 0);
	memcpy(fp, tlsreload_fingerprint(t), 65);
	first = tlsreload_ctx(t);
	SSL_CTX_up_ref(first);		/* as a connection would */
	ck_assert_int_eq(tlsreload_set_pem(t, a.cert, a.key, &cause), 0);
	ck_assert_int_eq(tlsreload_set_pem(t, b.cert, a.key, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "does not belong"));
	free(cause);
	ck_assert_str_eq(tlsreload_fingerprint(t), fp);
	ck_assert_int_eq(tlsreload_set_pem(t, b.cert, b.key, &cause), 1);
	ck_assert_str_ne(tlsreload_fingerprint(t), fp);
	ck_assert_uint_eq(tlsreload_generation(t), 1);
	ck_assert_ptr_ne(tlsreload_ctx(t), first);
	SSL_CTX_free(first);		/* the old context outlived the swap */
	ck_assert_int_eq(tlsreload_set_pem(t, "nope", b.key, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "certificate"));
	free(cause);
	ck_assert_int_eq(tlsreload_set_pem(t, b.cert, "nope", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "key"));
	free(cause);
	tlsreload_free(t);
	ck_assert_ptr_null(tlsreload_new_pem("", "", &cause));
	free(cause);
	selfsigned_clear(&a);
	selfsigned_clear(&b);
}
END_TEST

/* Write text to dir/name (atomically). Caller frees the path. */
static char *
put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(tmp);
	return path;
}

START_TEST(test_certs_tlsreload_files)
{
	char tmpl[] = "/tmp/twa-certs-test.XXXXXX", *c, *k, *cause = NULL, *big, *cmd;
	struct selfsigned_pem a, b;
	struct tlsreload *t;
	char fp[65];

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 30, 10, NULL, &a, &cause), 0);
	ck_assert_int_eq(selfsigned_create(names, 4, NOW, 30, 10, NULL, &b, &cause), 0);
	ck_assert_ptr_null(tlsreload_new_files("/nonexistent/tls.crt",
	    "/nonexistent/tls.key", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/tls.crt"));
	free(cause);
	c = put(tmpl, "tls.crt", a.cert);
	k = put(tmpl, "tls.key", a.key);
	t = tlsreload_new_files(c, k, &cause);
	ck_assert_msg(t != NULL, "%s", cause);
	memcpy(fp, tlsreload_fingerprint(t), 65);
	ck_assert_int_eq(tlsreload_check(t, &cause), 0);
	/* Half a rotation: refused once, then quiet until the next change. */
	free(put(tmpl, "tls.crt", b.cert));
	ck_assert_int_eq(tlsreload_check(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "does not belong"));
	free(cause);
	ck_assert_int_eq(tlsreload_check(t, &cause), 0);
	ck_assert_str_eq(tlsreload_fingerprint(t), fp);
	free(put(tmpl, "tls.key", b.key));
	ck_assert_int_eq(tlsreload_check(t, &cause), 1);
	ck_assert_str_ne(tlsreload_fingerprint(t), fp);
	ck_assert_int_eq(tlsreload_check(t, &cause), 0);
	/* A file that vanishes, and one that is too large. */
	unlink(c);
	ck_assert_int_eq(tlsreload_check(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "tls.crt"));
	free(cause);
	big = xmalloc(TLSRELOAD_MAX_FILE + 2);
	memset(big, 'A', TLSRELOAD_MAX_FILE + 1);
	big[TLSRELOAD_MAX_FILE + 1] = '\0';
	free(put(tmpl, "tls.crt", big));
	ck_assert_int_eq(tlsreload_check(t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "larger than"));
	free(cause);
	free(big);
	free(put(tmpl, "tls.crt", a.cert));
	free(put(tmpl, "tls.key", a.key));
	ck_assert_int_eq(tlsreload_check(t, &cause), 1);
	ck_assert_str_eq(tlsreload_fingerprint(t), fp);
	ck_assert_uint_eq(tlsreload_generation(t), 2);
	tlsreload_free(t);
	cmd = xasprintf("rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(c);
	free(k);
	selfsigned_clear(&a);
	selfsigned_clear(&b);
}
END_TEST

/* The Check suite. */
static Suite *
suite_webhook_certs(void)
{
	Suite *s = suite_create("webhook_certs");
	TCase *tc = tcase_create("certs");

	tcase_add_test(tc, test_certs_create);
	tcase_add_test(tc, test_certs_bad_names);
	tcase_add_test(tc, test_certs_check);
	tcase_add_test(tc, test_certs_renew_leaf_and_ca_overlap);
	tcase_add_test(tc, test_certs_tlsreload_pem);
	tcase_add_test(tc, test_certs_tlsreload_files);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite_webhook_certs)
