/*
 * tlsclient: a small blocking HTTPS/1.1 client for the webhook's tests and
 * its load generator: one keep-alive connection to 127.0.0.1, requests with
 * Content-Length bodies, responses with Content-Length bodies.
 */
#ifndef TWA_TLSCLIENT_H
#define TWA_TLSCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct tlsclient;

/* One response (plain data; free with tlsclient_response_clear). */
struct tlsclient_response {
	int	 status;
	char	*headers;	/* raw header block, NUL-terminated */
	char	*body;		/* NUL-terminated (may hold NULs before) */
	size_t	 len;
	bool	 closed;	/* the server said Connection: close */
};

/*
 * Connect to 127.0.0.1:port and handshake. With ca_file, the server's
 * certificate must chain to it and carry host (also sent as SNI);
 * without, nothing is verified. timeout_ms bounds every read and write.
 * Returns NULL and an allocated cause on failure. Free with tlsclient_free.
 */
struct tlsclient *tlsclient_connect(int port, const char *ca_file,
    const char *host, int timeout_ms, char **cause);
/* Close and free; NULL is a no-op. */
void tlsclient_free(struct tlsclient *c);
/* SHA-256 of the server's certificate as 64 hex digits. */
const char *tlsclient_fingerprint(const struct tlsclient *c);
/*
 * Send one request (body may be NULL) and read the response into r.
 * Returns 0, or -1 and an allocated cause on a transport or framing
 * error (the connection is then unusable).
 */
int tlsclient_request(struct tlsclient *c, const char *method,
    const char *path, const char *body, size_t len,
    struct tlsclient_response *r, char **cause);
/* Connect, send one request, close. Returns as tlsclient_request. */
int tlsclient_once(int port, const char *ca_file, const char *host,
    const char *method, const char *path, const char *body, size_t len,
    struct tlsclient_response *r, char **cause);
/* Free the strings of r and zero it. */
void tlsclient_response_clear(struct tlsclient_response *r);

#endif
