/* grpcq: unary gRPC calls on one channel, completed on a libevent loop. */
#ifndef TWA_GRPCQ_H
#define TWA_GRPCQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct grpcq;

/*
 * How to reach the server. PEM strings are copied by grpcq_new. With tls
 * false every PEM field and server_name must be NULL.
 */
struct grpcq_opts {
	const char	*target;	/* grpc target, e.g. "127.0.0.1:7233" */
	bool		 tls;
	const char	*ca_pem;	/* trusted roots; NULL: grpc's default roots */
	const char	*cert_pem;	/* client certificate chain (mTLS), with key_pem */
	const char	*key_pem;
	const char	*server_name;	/* TLS name to verify and send as SNI */
	size_t		 max_message;	/* largest response accepted; 0: 4 MiB */
	const char	*user_agent;	/* prefix of the user-agent; NULL: none */
};

/* One request header; key lowercase ASCII, value without CR/LF. */
struct grpcq_md {
	const char	*key;
	const char	*value;
};

/* What a finished call reports; everything is owned by grpcq. */
struct grpcq_result {
	int		 status;	/* grpc_status_code; 0 is OK */
	const char	*message;	/* status message, "" when none */
	const uint8_t	*data;		/* response message when status is 0 */
	size_t		 len;
};

/*
 * Called on the loop thread, exactly once per started call: on completion,
 * on failure, on grpcq_cancel (status CANCELLED) and from grpcq_free. r and
 * what it points to are valid only during the callback.
 */
typedef void (*grpcq_cb)(const struct grpcq_result *r, void *arg);

/*
 * Create the channel, the completion queue and its polling thread, and the
 * eventfd the thread uses to wake the loop of base. The channel connects
 * lazily, on the first call. Returns NULL and an allocated cause on failure;
 * the caller frees the result with grpcq_free.
 */
struct grpcq *grpcq_new(struct event_base *base, const struct grpcq_opts *o,
    char **cause);

/*
 * Start a unary call of method (full path "/pkg.Service/Method") sending the
 * serialized request req/len and the headers md[0..nmd), with a deadline
 * timeout_ms from now. Everything passed is copied. cb runs later on the
 * loop, never from inside grpcq_unary. Returns a handle valid until cb
 * has run, or NULL with an allocated cause when the queue is shutting down
 * or the header set is invalid (cb is then never called).
 */
struct grpcq_call *grpcq_unary(struct grpcq *q, const char *method,
    const struct grpcq_md *md, size_t nmd, const uint8_t *req, size_t len,
    int timeout_ms, grpcq_cb cb, void *arg, char **cause);

/* Cancel a call whose callback has not yet run; it then reports CANCELLED. */
void grpcq_cancel(struct grpcq_call *c);

/* Number of calls started whose callback has not run yet. */
size_t grpcq_pending(struct grpcq *q);

/*
 * Cancel every call still in flight, stop and join the polling thread, run
 * every outstanding callback (cancelled calls report CANCELLED), then
 * destroy the channel and release grpc. Must not be called from inside a
 * grpcq callback. NULL is a no-op.
 */
void grpcq_free(struct grpcq *q);

/* Name of a gRPC status code ("NOT_FOUND"); static storage. */
const char *grpcq_code_name(int code);

#endif
