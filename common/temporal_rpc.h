/*
 * temporal_rpc: private interface between the Temporal client core
 * (temporal.c: calls, retries, headers, version gating) and its typed RPCs
 * (temporal_rpc.c: requests built, responses reported). Not for other users.
 */
#ifndef TWA_TEMPORAL_RPC_H
#define TWA_TEMPORAL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "temporal.h"

/*
 * Report the outcome of a call to its typed callback cb (cast back to its
 * type): err NULL means success with the response bytes data/len, which
 * the function decodes.
 */
typedef void (*temporal_finish_fn)(struct temporal *t, void (*cb)(void),
    void *arg, const struct temporal_error *err, const uint8_t *data,
    size_t len);

/* One RPC: method name, whether it carries a namespace, what it needs. */
struct rpc {
	const char		*name;		/* method, e.g. "DescribeTaskQueue" */
	bool			 namespaced;	/* send temporal-namespace */
	int			 need_minor;	/* server 1.x needed; 0: any */
	temporal_finish_fn	 finish;
};

/*
 * Accept a call of rpc sending message m (encoded now), reporting to cb.
 * need_minor raises the RPC's own requirement. Returns 0, or -1 and a cause.
 */
int temporal_start(struct temporal *t, const struct rpc *rpc,
    const ProtobufCMessage *m, int need_minor, void (*cb)(void), void *arg,
    char **cause);
/* Check a string argument: present unless optional, bounded, UTF-8. */
int temporal_check_arg(const char *what, const char *s, bool required,
    char **cause);
/* Record the server version the client gates calls on. */
void temporal_learn(struct temporal *t, const struct temporal_system_info *si);
/* The client's namespace and request identity; owned by t. */
const char *temporal_namespace(struct temporal *t);
const char *temporal_identity(struct temporal *t);

#endif
