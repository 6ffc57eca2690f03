/*
 * tlsreload: the server TLS context of the webhook, built from a
 * certificate and key (files or PEM text) and rebuilt when they change.
 * Connections hold a reference to the context they started with, so a swap
 * never disturbs a request in flight.
 */
#ifndef TWA_TLSRELOAD_H
#define TWA_TLSRELOAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Largest certificate or key file read. */
#define TLSRELOAD_MAX_FILE (1024 * 1024)

struct tlsreload;

/*
 * A context from the PEM files cert (leaf first, then any chain) and key.
 * Returns NULL and an allocated cause naming the file and the problem.
 * Free with tlsreload_free.
 */
struct tlsreload *tlsreload_new_files(const char *cert, const char *key,
    char **cause);
/* A context from PEM text (no files to watch). NULL and a cause on error. */
struct tlsreload *tlsreload_new_pem(const char *cert_pem, const char *key_pem,
    char **cause);
/* Free t; connections still using its contexts keep them alive. */
void tlsreload_free(struct tlsreload *t);

/*
 * Look at the files again: if either changed since the last load (device,
 * inode, size, modification or change time), read both and build a new
 * context. Returns 1 when the context was replaced, 0 when nothing changed
 * (or the same broken pair was already reported), or -1 and an allocated
 * cause when the new files do not make a valid pair; the old context stays
 * in use then. For a PEM context always 0.
 */
int tlsreload_check(struct tlsreload *t, char **cause);
/*
 * Replace the certificate and key with PEM text. Returns 1 when replaced,
 * 0 when identical to what is served, or -1 and a cause (old one kept).
 */
int tlsreload_set_pem(struct tlsreload *t, const char *cert_pem,
    const char *key_pem, char **cause);

/* The current context (borrowed; SSL_new takes its own reference). */
SSL_CTX *tlsreload_ctx(const struct tlsreload *t);
/* Expiry of the served certificate, seconds since the epoch. */
int64_t tlsreload_not_after(const struct tlsreload *t);
/* SHA-256 of the served certificate (DER) as 64 hex digits. */
const char *tlsreload_fingerprint(const struct tlsreload *t);
/* How many times the context was replaced since creation. */
uint64_t tlsreload_generation(const struct tlsreload *t);

/*
 * Build a server context from PEM text: TLS 1.2 or later, ALPN http/1.1,
 * no renegotiation. On success also returns the leaf's expiry and
 * fingerprint (65 bytes). NULL and an allocated cause on error.
 */
SSL_CTX *tlsreload_build(const char *cert_pem, size_t cert_len,
    const char *key_pem, size_t key_len, int64_t *not_after,
    char fingerprint[65], char **cause);
/* Seconds since the epoch of an ASN.1 time, or -1 if it cannot be read. */
int64_t tlsreload_asn1_time(const ASN1_TIME *t);
/* The first OpenSSL error on this thread's queue as text (queue cleared). Caller frees. */
char *tlsreload_ssl_error(void);

#endif
