/* tlsreload: server TLS context from certificate and key, rebuilt when they change. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsreload.h"
#include "xalloc.h"

/* What identifies one version of a file on disk. */
struct file_sig {
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime, ctime;
	bool		ok;	/* stat succeeded */
};

struct tlsreload {
	char		*cert_path, *key_path;	/* NULL: PEM context */
	struct file_sig	 sig[2];		/* of the pair last loaded */
	struct file_sig	 bad[2];		/* of the pair last refused */
	bool		 have_bad;
	SSL_CTX		*ctx;
	int64_t		 not_after;
	char		 fp[65];
	uint64_t	 generation;
};

/* The first OpenSSL error as text. Caller frees. */
char *
tlsreload_ssl_error(void)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_clear_error();
	if (e == 0)
		return xstrdup("unknown OpenSSL error");
	ERR_error_string_n(e, buf, sizeof buf);
	return xstrdup(buf);
}

/* Seconds since the epoch of an ASN.1 time, or -1. */
int64_t
tlsreload_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* ALPN: pick http/1.1 when offered; without it carry on with no ALPN. */
static int
tlsreload_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h1[] = "http/1.1";

	for (unsigned int i = 0; i < inlen; i += 1 + in[i]) {
		if (in[i] == 8 && i + 9 <= inlen && memcmp(in + i + 1, h1, 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Build a server context from PEM text. */
SSL_CTX *
tlsreload_build(const char *cert_pem, size_t cert_len, const char *key_pem,
    size_t key_len, int64_t *not_after, char fingerprint[65], char **cause)
{
	BIO *cb = NULL, *kb = NULL;
	X509 *leaf = NULL, *extra;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *e;

	ERR_clear_error();
	cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
	kb = BIO_new_mem_buf(key_pem, (int)key_len);
	if (cb == NULL || kb == NULL)
		abort();
	if ((leaf = PEM_read_bio_X509(cb, NULL, NULL, NULL)) == NULL) {
		e = tlsreload_ssl_error();
		*cause = xasprintf("certificate: no PEM certificate (%s)", e);
		free(e);
		goto fail;
	}
	if ((key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		e = tlsreload_ssl_error();
		*cause = xasprintf("key: no PEM private key (%s)", e);
		free(e);
		goto fail;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		*cause = xstrdup("the key does not belong to the certificate "
		    "(a rotation caught half-way is retried when the files change)");
		goto fail;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		abort();
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_NO_RENEGOTIATION
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
#endif
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, tlsreload_alpn_cb, NULL);
	if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		e = tlsreload_ssl_error();
		*cause = xasprintf("certificate or key unusable: %s", e);
		free(e);
		goto fail;
	}
	while ((extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			*cause = xstrdup("certificate: a chain certificate cannot be added");
			goto fail;
		}
	}
	ERR_clear_error();	/* the end of the chain is an error too */
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*cause = xstrdup("the key does not match the certificate");
		goto fail;
	}
	*not_after = tlsreload_asn1_time(X509_get0_notAfter(leaf));
	if (X509_digest(leaf, EVP_sha256(), md, &mdlen) != 1)
		abort();
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(fingerprint + 2 * i, 3, "%02x", md[i]);
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return NULL;
}

/* Stat path into sig. */
static void
sig_read(const char *path, struct file_sig *sig)
{
	struct stat st;

	memset(sig, 0, sizeof *sig);
	if (stat(path, &st) != 0)
		return;
	sig->ok = true;
	sig->dev = st.st_dev;
	sig->ino = st.st_ino;
	sig->size = st.st_size;
	sig->mtime = st.st_mtim;
	sig->ctime = st.st_ctim;
}

/* Whether two signatures are the same. */
static bool
sig_equal(const struct file_sig *a, const struct file_sig *b)
{
	return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Read a whole file of at most TLSRELOAD_MAX_FILE bytes. Caller frees. */
static char *
read_file(const char *path, size_t *len, char **cause)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap >= TLSRELOAD_MAX_FILE) {
				*cause = xasprintf("%s: larger than %d bytes", path,
				    TLSRELOAD_MAX_FILE);
				goto fail;
			}
			buf = xrealloc(buf, cap *= 2);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*cause = xasprintf("%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* Install a new context. */
static void
tlsreload_install(struct tlsreload *t, SSL_CTX *ctx, int64_t not_after,
    const char fp[65])
{
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	t->not_after = not_after;
	memcpy(t->fp, fp, 65);
	t->generation++;
}

/*
 * Read both files and build a context, making sure neither changed while
 * being read. Returns the context and the signatures, or NULL and a cause;
 * *racing is set when a file changed under us (try again later).
 */
static SSL_CTX *
load_files(struct tlsreload *t, struct file_sig sig[2], int64_t *not_after,
    char fp[65], bool *racing, char **cause)
{
	struct file_sig after[2];
	char *cert = NULL, *key = NULL, *inner = NULL;
	size_t clen = 0, klen = 0;
	SSL_CTX *ctx = NULL;

	*racing = false;
	sig_read(t->cert_path, &sig[0]);
	sig_read(t->key_path, &sig[1]);
	if ((cert = read_file(t->cert_path, &clen, cause)) == NULL ||
	    (key = read_file(t->key_path, &klen, cause)) == NULL)
		goto done;
	sig_read(t->cert_path, &after[0]);
	sig_read(t->key_path, &after[1]);
	if (!sig_equal(&sig[0], &after[0]) || !sig_equal(&sig[1], &after[1])) {
		*racing = true;
		*cause = xasprintf("%s or %s changed while being read",
		    t->cert_path, t->key_path);
		goto done;
	}
	ctx = tlsreload_build(cert, clen, key, klen, not_after, fp, &inner);
	if (ctx == NULL) {
		*cause = xasprintf("%s, %s: %s", t->cert_path, t->key_path, inner);
		free(inner);
	}
done:
	free(cert);
	if (key != NULL)
		OPENSSL_cleanse(key, klen);
	free(key);
	return ctx;
}

/* A context from files. */
struct tlsreload *
tlsreload_new_files(const char *cert, const char *key, char **cause)
{
	struct tlsreload *t = xcalloc(1, sizeof *t);
	int64_t na;
	char fp[65];
	bool racing;
	SSL_CTX *ctx;

	t->cert_path = xstrdup(cert);
	t->key_path = xstrdup(key);
	ctx = load_files(t, t->sig, &na, fp, &racing, cause);
	if (ctx == NULL && racing) {
		free(*cause);
		ctx = load_files(t, t->sig, &na, fp, &racing, cause);
	}
	if (ctx == NULL) {
		tlsreload_free(t);
		return NULL;
	}
	tlsreload_install(t, ctx, na, fp);
	t->generation = 0;
	return t;
}

/* A context from PEM text. */
struct tlsreload *
tlsreload_new_pem(const char *cert_pem, const char *key_pem, char **cause)
{
	struct tlsreload *t = xcalloc(1, sizeof *t);

	if (tlsreload_set_pem(t, cert_pem, key_pem, cause) < 0) {
		tlsreload_free(t);
		return NULL;
	}
	t->generation = 0;
	return t;
}

/* Free. */
void
tlsreload_free(struct tlsreload *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t->cert_path);
	free(t->key_path);
	free(t);
}

/* Reload the files if they changed. */
int
tlsreload_check(struct tlsreload *t, char **cause)
{
	struct file_sig now[2], sig[2];
	int64_t na;
	char fp[65];
	bool racing;
	SSL_CTX *ctx;

	if (t->cert_path == NULL)
		return 0;
	sig_read(t->cert_path, &now[0]);
	sig_read(t->key_path, &now[1]);
	if (sig_equal(&now[0], &t->sig[0]) && sig_equal(&now[1], &t->sig[1]))
		return 0;
	if (t->have_bad && sig_equal(&now[0], &t->bad[0]) &&
	    sig_equal(&now[1], &t->bad[1]))
		return 0;	/* already reported; wait for the next change */
	ctx = load_files(t, sig, &na, fp, &racing, cause);
	if (ctx == NULL) {
		if (!racing) {
			t->bad[0] = sig[0];
			t->bad[1] = sig[1];
			t->have_bad = true;
		}
		return -1;
	}
	t->sig[0] = sig[0];
	t->sig[1] = sig[1];
	t->have_bad = false;
	tlsreload_install(t, ctx, na, fp);
	return 1;
}

/* Replace with PEM text. */
int
tlsreload_set_pem(struct tlsreload *t, const char *cert_pem,
    const char *key_pem, char **cause)
{
	int64_t na;
	char fp[65];
	SSL_CTX *ctx;

	ctx = tlsreload_build(cert_pem, strlen(cert_pem), key_pem,
	    strlen(key_pem), &na, fp, cause);
	if (ctx == NULL)
		return -1;
	if (t->ctx != NULL && strcmp(fp, t->fp) == 0) {
		SSL_CTX_free(ctx);
		return 0;
	}
	tlsreload_install(t, ctx, na, fp);
	return 1;
}

/* The current context. */
SSL_CTX *
tlsreload_ctx(const struct tlsreload *t)
{
	return t->ctx;
}

/* Expiry of the served certificate. */
int64_t
tlsreload_not_after(const struct tlsreload *t)
{
	return t->not_after;
}

/* Fingerprint of the served certificate. */
const char *
tlsreload_fingerprint(const struct tlsreload *t)
{
	return t->fp;
}

/* Replacements so far. */
uint64_t
tlsreload_generation(const struct tlsreload *t)
{
	return t->generation;
}
