/* tlsclient: a small blocking HTTPS/1.1 client for tests and the load generator. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tlsclient.h"
#include "xalloc.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#define SSL_get1_peer_certificate SSL_get_peer_certificate
#endif

/* Largest header block and body accepted. */
#define MAX_HEADERS (64 * 1024)
#define MAX_BODY (64 * 1024 * 1024)

struct tlsclient {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	 fp[65];
	char	*buf;		/* bytes read past the last response */
	size_t	 len, cap;
};

/* The OpenSSL error queue as text. Caller frees. */
static char *
ssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_clear_error();
	if (e == 0)
		return xasprintf("%s: %s", what, errno != 0 ? strerror(errno) :
		    "connection closed");
	ERR_error_string_n(e, buf, sizeof buf);
	return xasprintf("%s: %s", what, buf);
}

/* Connect and handshake. */
struct tlsclient *
tlsclient_connect(int port, const char *ca_file, const char *host,
    int timeout_ms, char **cause)
{
	struct tlsclient *c = xcalloc(1, sizeof *c);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *peer;
	int one = 1;

	c->fd = -1;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		*cause = xasprintf("connect 127.0.0.1:%d: %s", port, strerror(errno));
		goto fail;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
			*cause = ssl_error("CA file");
			goto fail;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		abort();
	if (host != NULL) {
		SSL_set_tlsext_host_name(c->ssl, host);
		if (ca_file != NULL)
			SSL_set1_host(c->ssl, host);
	}
	SSL_set_fd(c->ssl, c->fd);
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		*cause = ssl_error("TLS handshake");
		goto fail;
	}
	if ((peer = SSL_get1_peer_certificate(c->ssl)) == NULL) {
		*cause = xstrdup("the server sent no certificate");
		goto fail;
	}
	X509_digest(peer, EVP_sha256(), md, &mdlen);
	X509_free(peer);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(c->fp + 2 * i, 3, "%02x", md[i]);
	return c;
fail:
	tlsclient_free(c);
	return NULL;
}

/* Close and free. */
void
tlsclient_free(struct tlsclient *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Server certificate fingerprint. */
const char *
tlsclient_fingerprint(const struct tlsclient *c)
{
	return c->fp;
}

/* Read more bytes into the buffer. Returns the count, 0 at EOF, -1 on error. */
static int
fill(struct tlsclient *c, char **cause)
{
	int r;

	if (c->cap - c->len < 16384) {
		c->cap = c->cap * 2 + 16384;
		c->buf = xrealloc(c->buf, c->cap + 1);
	}
	errno = 0;
	r = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));
	if (r > 0) {
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		return r;
	}
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	*cause = ssl_error("read");
	return -1;
}

/* Write all of data. */
static int
write_all(struct tlsclient *c, const char *data, size_t n, char **cause)
{
	while (n > 0) {
		int w;

		errno = 0;
		w = SSL_write(c->ssl, data, n > 1 << 20 ? 1 << 20 : (int)n);
		if (w <= 0) {
			*cause = ssl_error("write");
			return -1;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The value of header name in a header block, or NULL. Caller frees. */
static char *
header(const char *block, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(block, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (end == NULL)
			break;
		if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 &&
		    line[nl] == ':') {
			line += nl + 1;
			while (*line == ' ')
				line++;
			return xstrndup(line, (size_t)(end - line));
		}
	}
	return NULL;
}

/* Send one request and read the response. */
int
tlsclient_request(struct tlsclient *c, const char *method, const char *path,
    const char *body, size_t len, struct tlsclient_response *r, char **cause)
{
	char *req, *end, *cl, *conn;
	size_t hlen, want;
	long long n;

	memset(r, 0, sizeof *r);
	req = xasprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	    "application/json\r\nAccept: application/json\r\nContent-Length: "
	    "%zu\r\n\r\n", method, path, body != NULL ? len : 0);
	if (write_all(c, req, strlen(req), cause) != 0 ||
	    (body != NULL && write_all(c, body, len, cause) != 0)) {
		free(req);
		return -1;
	}
	free(req);
	while ((end = c->buf != NULL ? strstr(c->buf, "\r\n\r\n") : NULL) == NULL) {
		int f;

		if (c->len > MAX_HEADERS) {
			*cause = xstrdup("response headers too large");
			return -1;
		}
		if ((f = fill(c, cause)) <= 0) {
			if (f == 0)
				*cause = xstrdup("connection closed before a response");
			return -1;
		}
	}
	hlen = (size_t)(end - c->buf) + 4;
	r->headers = xstrndup(c->buf, hlen);
	if (sscanf(r->headers, "HTTP/1.%*d %d", &r->status) != 1) {
		*cause = xasprintf("bad status line: %.64s", r->headers);
		tlsclient_response_clear(r);
		return -1;
	}
	cl = header(r->headers, "Content-Length");
	n = cl != NULL ? strtoll(cl, NULL, 10) : 0;
	free(cl);
	if (n < 0 || n > MAX_BODY) {
		*cause = xasprintf("bad Content-Length %lld", n);
		tlsclient_response_clear(r);
		return -1;
	}
	want = hlen + (size_t)n;
	while (c->len < want) {
		int f = fill(c, cause);

		if (f <= 0) {
			if (f == 0)
				*cause = xstrdup("connection closed inside the body");
			tlsclient_response_clear(r);
			return -1;
		}
	}
	r->body = xstrndup(c->buf + hlen, (size_t)n);
	r->len = (size_t)n;
	memmove(c->buf, c->buf + want, c->len - want);
	c->len -= want;
	c->buf[c->len] = '\0';
	conn = header(r->headers, "Connection");
	r->closed = conn != NULL && strcasecmp(conn, "close") == 0;
	free(conn);
	return 0;
}

/* One request on a fresh connection. */
int
tlsclient_once(int port, const char *ca_file, const char *host,
    const char *method, const char *path, const char *body, size_t len,
    struct tlsclient_response *r, char **cause)
{
	struct tlsclient *c = tlsclient_connect(port, ca_file, host, 10000, cause);
	int rc;

	if (c == NULL)
		return -1;
	rc = tlsclient_request(c, method, path, body, len, r, cause);
	tlsclient_free(c);
	return rc;
}

/* Free a response. */
void
tlsclient_response_clear(struct tlsclient_response *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof *r);
}
