/* selfsigned: the webhook's own CA and serving certificate, and when to renew them. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "selfsigned.h"
#include "tlsreload.h"
#include "xalloc.h"

/* Certificates start this long before "now" to absorb clock skew. */
#define BACKDATE (60 * 60)
#define DAY (24 * 60 * 60)

/* A new P-256 key, or NULL. */
static EVP_PKEY *
new_key(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *key = NULL;

	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc,
	    NID_X9_62_prime256v1) != 1 || EVP_PKEY_keygen(kc, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(kc);
	return key;
}

/* PEM text of a certificate or a private key. Caller frees. */
static char *
to_pem(X509 *cert, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (b == NULL)
		abort();
	if ((cert != NULL && PEM_write_bio_X509(b, cert) != 1) ||
	    (key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
	    NULL, NULL) != 1))
		abort();
	n = BIO_get_mem_data(b, &data);
	out = xstrndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

/* Add one extension in OpenSSL config syntax. Returns 0 or -1. */
static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return 0;
}

/*
 * A certificate for key with subject cn, signed by issuer/ikey (itself
 * when issuer is NULL), valid from now - BACKDATE for days. san is the
 * subjectAltName value for a leaf, NULL for a CA. Caller frees.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    const char *san, int64_t now, int days, char **cause)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ca = issuer == NULL;

	if (c == NULL || name == NULL || RAND_bytes(serial, sizeof serial) != 1)
		abort();
	serial[0] &= 0x7f;	/* positive */
	serial[0] |= 0x01;	/* non-zero first byte: always 16 bytes long */
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	X509_set_version(c, 2);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) == NULL)
		abort();
	BN_free(bn);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, name);
	X509_set_issuer_name(c, ca ? name : X509_get_subject_name(issuer));
	X509_NAME_free(name);
	if (ASN1_TIME_set(X509_getm_notBefore(c), (time_t)(now - BACKDATE)) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(c), (time_t)(now - BACKDATE +
	    (int64_t)days * DAY)) == NULL) {
		*cause = xasprintf("certificate times out of range (now %lld, %d "
		    "days)", (long long)now, days);
		X509_free(c);
		return NULL;
	}
	X509_set_pubkey(c, key);
	if (add_ext(c, ca ? c : issuer, NID_basic_constraints, ca ?
	    "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE") != 0 ||
	    add_ext(c, ca ? c : issuer, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature") != 0 ||
	    add_ext(c, ca ? c : issuer, NID_subject_key_identifier, "hash") != 0 ||
	    (!ca && (add_ext(c, issuer, NID_ext_key_usage, "serverAuth") != 0 ||
	    add_ext(c, issuer, NID_authority_key_identifier, "keyid:always") != 0 ||
	    add_ext(c, issuer, NID_subject_alt_name, san) != 0))) {
		char *e = tlsreload_ssl_error();

		*cause = xasprintf("certificate extension refused: %s", e);
		free(e);
		X509_free(c);
		return NULL;
	}
	if (X509_sign(c, ca ? key : ikey, EVP_sha256()) == 0) {
		char *e = tlsreload_ssl_error();

		*cause = xasprintf("signing failed: %s", e);
		free(e);
		X509_free(c);
		return NULL;
	}
	return c;
}

/* "DNS:a,DNS:b" for names, or NULL and a cause for an unusable name. */
static char *
san_value(const char *const *names, size_t n, char **cause)
{
	size_t len = 1;
	char *out;

	if (n == 0) {
		*cause = xstrdup("no DNS name for the serving certificate");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (*names[i] == '\0' || strpbrk(names[i], ",: \t\r\n") != NULL) {
			*cause = xasprintf("DNS name \"%.64s\" is not usable in a "
			    "certificate", names[i]);
			return NULL;
		}
		len += strlen(names[i]) + 5;
	}
	out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, "DNS:");
		strcat(out, names[i]);
	}
	return out;
}

/* Parse the first certificate of PEM text, or NULL. */
static X509 *
read_cert(const char *pem)
{
	BIO *b;
	X509 *x;

	if (pem == NULL)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		abort();
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return x;
}

/* Parse a PEM private key, or NULL. */
static EVP_PKEY *
read_key(const char *pem)
{
	BIO *b;
	EVP_PKEY *k;

	if (pem == NULL)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		abort();
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* Issue a leaf for names from ca/cakey into *cert and *key. */
static int
issue_leaf(X509 *ca, EVP_PKEY *cakey, const char *const *names, size_t n,
    int64_t now, int days, char **cert, char **key, char **cause)
{
	char *san = san_value(names, n, cause);
	EVP_PKEY *k;
	X509 *leaf;

	if (san == NULL)
		return -1;
	if ((k = new_key()) == NULL) {
		free(san);
		*cause = xstrdup("cannot generate a P-256 key");
		return -1;
	}
	leaf = make_cert(k, names[0], ca, cakey, san, now, days, cause);
	free(san);
	if (leaf == NULL) {
		EVP_PKEY_free(k);
		return -1;
	}
	*cert = to_pem(leaf, NULL);
	*key = to_pem(NULL, k);
	X509_free(leaf);
	EVP_PKEY_free(k);
	return 0;
}

/* Make a new CA and serving certificate. */
int
selfsigned_create(const char *const *names, size_t n, int64_t now,
    int ca_days, int days, const struct selfsigned_pem *old,
    struct selfsigned_pem *out, char **cause)
{
	EVP_PKEY *cakey;
	X509 *ca, *prev;
	char *pem;

	memset(out, 0, sizeof *out);
	if ((cakey = new_key()) == NULL) {
		*cause = xstrdup("cannot generate a P-256 key");
		return -1;
	}
	if ((ca = make_cert(cakey, "twa webhook CA", NULL, NULL, NULL, now,
	    ca_days, cause)) == NULL) {
		EVP_PKEY_free(cakey);
		return -1;
	}
	if (issue_leaf(ca, cakey, names, n, now, days, &out->cert, &out->key,
	    cause) != 0) {
		X509_free(ca);
		EVP_PKEY_free(cakey);
		return -1;
	}
	pem = to_pem(ca, NULL);
	prev = old != NULL ? read_cert(old->ca_cert) : NULL;
	if (prev != NULL && tlsreload_asn1_time(X509_get0_notAfter(prev)) > now) {
		char *p = to_pem(prev, NULL);

		out->ca_cert = xasprintf("%s%s", pem, p);
		free(p);
		free(pem);
	} else
		out->ca_cert = pem;
	X509_free(prev);
	out->ca_key = to_pem(NULL, cakey);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return 0;
}

/* Issue a new serving certificate from the set's CA. */
int
selfsigned_renew_leaf(struct selfsigned_pem *set, const char *const *names,
    size_t n, int64_t now, int days, char **cause)
{
	X509 *ca = read_cert(set->ca_cert);
	EVP_PKEY *cakey = read_key(set->ca_key);
	char *cert = NULL, *key = NULL;
	int r = -1;

	if (ca == NULL || cakey == NULL) {
		*cause = xstrdup("the CA certificate or key cannot be read");
		goto done;
	}
	if ((r = issue_leaf(ca, cakey, names, n, now, days, &cert, &key,
	    cause)) != 0)
		goto done;
	free(set->cert);
	free(set->key);
	set->cert = cert;
	set->key = key;
done:
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}

/* Whether less than a third of [nb, na] is left at now. */
static bool
near_end(X509 *x, int64_t now)
{
	int64_t nb = tlsreload_asn1_time(X509_get0_notBefore(x));
	int64_t na = tlsreload_asn1_time(X509_get0_notAfter(x));

	return nb < 0 || na < 0 || na - now < (na - nb) / 3;
}

/* Decide what a set needs. */
enum selfsigned_state
selfsigned_check(const struct selfsigned_pem *set, const char *const *names,
    size_t n, int64_t now, char **reason)
{
	X509 *ca = read_cert(set->ca_cert), *leaf = read_cert(set->cert);
	EVP_PKEY *cakey = read_key(set->ca_key), *key = read_key(set->key);
	enum selfsigned_state st = SELFSIGNED_RENEW_ALL;

	if (ca == NULL || cakey == NULL) {
		*reason = xstrdup("the CA certificate or key is missing or unreadable");
		goto done;
	}
	if (X509_check_private_key(ca, cakey) != 1 || X509_check_ca(ca) == 0) {
		*reason = xstrdup("the CA key does not match the CA certificate, "
		    "or it is not a CA");
		goto done;
	}
	if (near_end(ca, now)) {
		*reason = xstrdup("the CA has less than a third of its life left");
		goto done;
	}
	st = SELFSIGNED_RENEW_LEAF;
	if (leaf == NULL || key == NULL || X509_check_private_key(leaf, key) != 1) {
		*reason = xstrdup("the serving certificate or key is missing, "
		    "unreadable or mismatched");
		goto done;
	}
	if (X509_verify(leaf, cakey) != 1) {
		*reason = xstrdup("the serving certificate is not signed by the CA");
		goto done;
	}
	if (tlsreload_asn1_time(X509_get0_notBefore(leaf)) > now) {
		*reason = xstrdup("the serving certificate is not valid yet");
		goto done;
	}
	if (near_end(leaf, now)) {
		*reason = xstrdup("the serving certificate has less than a third "
		    "of its life left");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (X509_check_host(leaf, names[i], 0, X509_CHECK_FLAG_NO_WILDCARDS,
		    NULL) != 1) {
			*reason = xasprintf("the serving certificate does not cover "
			    "%s", names[i]);
			goto done;
		}
	}
	st = SELFSIGNED_OK;
	*reason = xstrdup("valid");
done:
	ERR_clear_error();
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	return st;
}

/* Duplicate a possibly NULL string. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Deep copy. */
void
selfsigned_copy(struct selfsigned_pem *dst, const struct selfsigned_pem *src)
{
	dst->ca_cert = dup_or_null(src->ca_cert);
	dst->ca_key = dup_or_null(src->ca_key);
	dst->cert = dup_or_null(src->cert);
	dst->key = dup_or_null(src->key);
}

/* Free and zero. */
void
selfsigned_clear(struct selfsigned_pem *p)
{
	free(p->ca_cert);
	if (p->ca_key != NULL)
		OPENSSL_cleanse(p->ca_key, strlen(p->ca_key));
	free(p->ca_key);
	free(p->cert);
	if (p->key != NULL)
		OPENSSL_cleanse(p->key, strlen(p->key));
	free(p->key);
	memset(p, 0, sizeof *p);
}
