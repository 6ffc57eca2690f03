/*
 * grpcq: unary gRPC calls on one channel, completed on a libevent loop.
 *
 * One completion queue of type GRPC_CQ_NEXT is drained by one dedicated
 * thread. That thread never runs user code: for each finished batch it
 * moves the call from the in-flight list to the done list (both under one
 * mutex) and bumps an eventfd. The eventfd is an ordinary read event on the
 * loop; its callback takes the done list and runs the callbacks there.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "grpcq.h"
#include "log.h"
#include "xalloc.h"

#define GRPCQ_DEFAULT_MAX_MESSAGE	(4 * 1024 * 1024)
#define GRPCQ_MAX_MESSAGE_TEXT		1024

struct grpcq_call {
	struct grpcq			*q;
	grpc_call			*call;
	TAILQ_ENTRY(grpcq_call)		 entry;
	bool				 inflight;	/* on q->inflight (under lock) */

	grpc_metadata			*md;
	size_t				 nmd;
	grpc_byte_buffer		*send;
	grpc_metadata_array		 initial_md;
	grpc_metadata_array		 trailing_md;
	grpc_byte_buffer		*recv;
	grpc_status_code		 status;
	grpc_slice			 details;
	const char			*local_error;	/* static text; set when no batch ran */

	grpcq_cb			 cb;
	void				*arg;
};
TAILQ_HEAD(grpcq_calls, grpcq_call);

struct grpcq {
	struct event_base		*base;
	grpc_channel			*channel;
	grpc_completion_queue		*cq;
	pthread_t			 thread;
	bool				 thread_started;
	int				 efd;
	struct event			*ev;
	size_t				 max_message;

	pthread_mutex_t			 lock;
	struct grpcq_calls		 inflight;	/* batch started, not completed */
	struct grpcq_calls		 done;		/* completed, callback not run */
	size_t				 pending;	/* loop thread only */
	bool				 closing;	/* loop thread only */
	bool				 in_callbacks;	/* loop thread only */
};

static const char *const grpcq_code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

/* Name of a gRPC status code; static storage. */
const char *
grpcq_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof grpcq_code_names /
	    sizeof grpcq_code_names[0])
		return "UNKNOWN_CODE";
	return grpcq_code_names[code];
}

/* Wake the loop: add one to the eventfd counter. */
static void
grpcq_wake(struct grpcq *q)
{
	uint64_t one = 1;

	while (write(q->efd, &one, sizeof one) < 0 && errno == EINTR)
		continue;
	/* EAGAIN means the counter is already non-zero: the loop will run. */
}

/* Body of the polling thread: move finished calls to the done list. */
static void *
grpcq_thread_main(void *arg)
{
	struct grpcq *q = arg;
	struct grpcq_call *c;
	grpc_event e;

	for (;;) {
		e = grpc_completion_queue_next(q->cq,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (e.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (e.type != GRPC_OP_COMPLETE)
			continue;
		c = e.tag;
		pthread_mutex_lock(&q->lock);
		if (c->inflight) {
			TAILQ_REMOVE(&q->inflight, c, entry);
			c->inflight = false;
		}
		if (!e.success && c->local_error == NULL)
			c->local_error = "call batch failed";
		TAILQ_INSERT_TAIL(&q->done, c, entry);
		pthread_mutex_unlock(&q->lock);
		grpcq_wake(q);
	}
	return NULL;
}

/* Release everything a call holds. */
static void
grpcq_call_free(struct grpcq_call *c)
{
	for (size_t i = 0; i < c->nmd; i++) {
		grpc_slice_unref(c->md[i].key);
		grpc_slice_unref(c->md[i].value);
	}
	free(c->md);
	if (c->send != NULL)
		grpc_byte_buffer_destroy(c->send);
	if (c->recv != NULL)
		grpc_byte_buffer_destroy(c->recv);
	grpc_metadata_array_destroy(&c->initial_md);
	grpc_metadata_array_destroy(&c->trailing_md);
	grpc_slice_unref(c->details);
	if (c->call != NULL)
		grpc_call_unref(c->call);
	free(c);
}

/* Build the result of a finished call, run its callback, free the call. */
static void
grpcq_finish(struct grpcq *q, struct grpcq_call *c)
{
	struct grpcq_result r = { .status = c->status, .message = "" };
	grpc_byte_buffer_reader reader;
	grpc_slice all = grpc_empty_slice();
	char *text = NULL;
	bool have_reader = false;

	if (c->local_error != NULL && c->status == GRPC_STATUS_OK)
		r.status = GRPC_STATUS_INTERNAL;
	if (GRPC_SLICE_LENGTH(c->details) > 0) {
		size_t n = GRPC_SLICE_LENGTH(c->details);

		if (n > GRPCQ_MAX_MESSAGE_TEXT)
			n = GRPCQ_MAX_MESSAGE_TEXT;
		text = xstrndup((const char *)GRPC_SLICE_START_PTR(c->details), n);
		r.message = text;
	} else if (c->local_error != NULL)
		r.message = c->local_error;
	if (r.status == GRPC_STATUS_OK) {
		if (c->recv == NULL) {
			r.status = GRPC_STATUS_INTERNAL;
			r.message = "server sent no response message";
		} else if (!grpc_byte_buffer_reader_init(&reader, c->recv)) {
			r.status = GRPC_STATUS_INTERNAL;
			r.message = "cannot read the response message";
		} else {
			have_reader = true;
			all = grpc_byte_buffer_reader_readall(&reader);
			if (GRPC_SLICE_LENGTH(all) > q->max_message) {
				r.status = GRPC_STATUS_RESOURCE_EXHAUSTED;
				r.message = "response message too large";
			} else {
				r.data = GRPC_SLICE_START_PTR(all);
				r.len = GRPC_SLICE_LENGTH(all);
			}
		}
	}
	q->pending--;
	c->cb(&r, c->arg);
	grpc_slice_unref(all);
	if (have_reader)
		grpc_byte_buffer_reader_destroy(&reader);
	free(text);
	grpcq_call_free(c);
}

/* Run the callbacks of every call on the done list. */
static void
grpcq_drain(struct grpcq *q)
{
	struct grpcq_calls done;
	struct grpcq_call *c;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&q->lock);
	TAILQ_CONCAT(&done, &q->done, entry);
	pthread_mutex_unlock(&q->lock);
	q->in_callbacks = true;
	while ((c = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, c, entry);
		grpcq_finish(q, c);
	}
	q->in_callbacks = false;
}

/* Loop callback of the eventfd: reset the counter, run finished calls. */
static void
grpcq_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct grpcq *q = arg;
	uint64_t n;

	while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
		continue;
	grpcq_drain(q);
}

/* Create the channel for o. Returns NULL and an allocated cause on failure. */
static grpc_channel *
grpcq_channel(const struct grpcq_opts *o, size_t max_message, char **cause)
{
	grpc_channel_credentials *creds;
	grpc_ssl_pem_key_cert_pair pair;
	grpc_channel *ch;
	grpc_arg args[10];
	grpc_channel_args cargs;
	size_t n = 0;

#define GRPCQ_INT_ARG(k, v) do {					\
	args[n].type = GRPC_ARG_INTEGER;				\
	args[n].key = (char *)(k);					\
	args[n].value.integer = (v);					\
	n++;								\
} while (0)
#define GRPCQ_STR_ARG(k, v) do {					\
	args[n].type = GRPC_ARG_STRING;					\
	args[n].key = (char *)(k);					\
	args[n].value.string = (char *)(v);				\
	n++;								\
} while (0)
	GRPCQ_INT_ARG(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)max_message);
	GRPCQ_INT_ARG(GRPC_ARG_ENABLE_RETRIES, 0);
	GRPCQ_INT_ARG(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
	GRPCQ_INT_ARG(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 15000);
	GRPCQ_INT_ARG(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
	GRPCQ_INT_ARG(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
	GRPCQ_INT_ARG(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
	if (o->user_agent != NULL)
		GRPCQ_STR_ARG(GRPC_ARG_PRIMARY_USER_AGENT_STRING, o->user_agent);
	if (o->tls && o->server_name != NULL)
		GRPCQ_STR_ARG(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, o->server_name);
#undef GRPCQ_INT_ARG
#undef GRPCQ_STR_ARG
	cargs.num_args = n;
	cargs.args = args;

	if (o->tls) {
		if ((o->cert_pem == NULL) != (o->key_pem == NULL)) {
			*cause = xstrdup("a TLS client certificate needs both "
			    "a certificate and a key");
			return NULL;
		}
		pair.cert_chain = o->cert_pem;
		pair.private_key = o->key_pem;
		creds = grpc_ssl_credentials_create(o->ca_pem,
		    o->cert_pem != NULL ? &pair : NULL, NULL, NULL);
	} else {
		if (o->ca_pem != NULL || o->cert_pem != NULL ||
		    o->key_pem != NULL || o->server_name != NULL) {
			*cause = xstrdup("TLS settings given for a plaintext "
			    "connection");
			return NULL;
		}
		creds = grpc_insecure_credentials_create();
	}
	if (creds == NULL) {
		*cause = xstrdup("cannot create gRPC channel credentials");
		return NULL;
	}
	ch = grpc_channel_create(o->target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (ch == NULL) {
		*cause = xasprintf("cannot create a gRPC channel to %s", o->target);
		return NULL;
	}
	return ch;
}

/*
 * grpc's own log lines, as logfmt (sub=grpc) with one write(2) each: they
 * come from grpc threads, so no shared log context is touched. grpc errors
 * (failed handshakes and the like) are warnings: each call reports its
 * own status anyway.
 */
static void
grpcq_log_cb(gpr_log_func_args *a)
{
	enum log_level lvl;
	struct timespec ts;
	struct log_field f[2];
	char *line;
	size_t len, off = 0;
	ssize_t n;

	lvl = a->severity == GPR_LOG_SEVERITY_ERROR ? LOG_LEVEL_WARN :
	    LOG_LEVEL_DEBUG;
	if (!log_enabled(lvl))
		return;
	f[0] = LS("file", a->file != NULL ? a->file : "");
	f[1] = LI("line", a->line);
	clock_gettime(CLOCK_REALTIME, &ts);
	line = log_format_line((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
	    lvl, "grpc", a->message != NULL ? a->message : "", NULL, 0, f, 2);
	len = strlen(line);
	while (off < len) {
		n = write(STDERR_FILENO, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
}

/* Create a queue, its thread and its channel. Caller frees with grpcq_free. */
struct grpcq *
grpcq_new(struct event_base *base, const struct grpcq_opts *o, char **cause)
{
	struct grpcq *q;
	sigset_t all, old;
	int error;

	if (o->target == NULL || *o->target == '\0') {
		*cause = xstrdup("gRPC target is empty (expected host:port)");
		return NULL;
	}
	q = xcalloc(1, sizeof *q);
	q->base = base;
	q->efd = -1;
	q->max_message = o->max_message != 0 ? o->max_message :
	    GRPCQ_DEFAULT_MAX_MESSAGE;
	if (q->max_message > INT32_MAX)
		q->max_message = INT32_MAX;
	TAILQ_INIT(&q->inflight);
	TAILQ_INIT(&q->done);
	pthread_mutex_init(&q->lock, NULL);
	gpr_set_log_function(grpcq_log_cb);
	grpc_init();

	q->channel = grpcq_channel(o, q->max_message, cause);
	if (q->channel == NULL)
		goto fail;
	q->cq = grpc_completion_queue_create_for_next(NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		*cause = xasprintf("eventfd: %s", strerror(errno));
		goto fail;
	}
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, grpcq_wake_cb, q);
	if (q->ev == NULL || event_add(q->ev, NULL) != 0) {
		*cause = xstrdup("cannot add the gRPC completion event to the loop");
		goto fail;
	}
	/* The thread takes no signals: they belong to the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&q->thread, NULL, grpcq_thread_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		*cause = xasprintf("cannot start the gRPC completion thread: %s",
		    strerror(error));
		goto fail;
	}
	q->thread_started = true;
	return q;

fail:
	grpcq_free(q);
	return NULL;
}

/* Whether a header key is acceptable to gRPC (lowercase token, not :pseudo). */
static bool
grpcq_md_ok(const struct grpcq_md *m)
{
	const char *p;

	if (m->key == NULL || *m->key == '\0' || m->value == NULL)
		return false;
	for (p = m->key; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.'))
			return false;
	}
	for (p = m->value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* Start a unary call; the result reaches cb on the loop. */
struct grpcq_call *
grpcq_unary(struct grpcq *q, const char *method, const struct grpcq_md *md,
    size_t nmd, const uint8_t *req, size_t len, int timeout_ms, grpcq_cb cb,
    void *arg, char **cause)
{
	struct grpcq_call *c;
	grpc_slice path, payload;
	gpr_timespec deadline;
	grpc_op ops[6];
	grpc_call_error err;

	if (q->closing) {
		*cause = xstrdup("gRPC client is shutting down");
		return NULL;
	}
	for (size_t i = 0; i < nmd; i++) {
		if (!grpcq_md_ok(&md[i])) {
			*cause = xasprintf("invalid gRPC header %s",
			    md[i].key != NULL ? md[i].key : "(null)");
			return NULL;
		}
	}
	if (timeout_ms <= 0)
		timeout_ms = 1;

	c = xcalloc(1, sizeof *c);
	c->q = q;
	c->cb = cb;
	c->arg = arg;
	c->details = grpc_empty_slice();
	c->status = GRPC_STATUS_UNKNOWN;
	grpc_metadata_array_init(&c->initial_md);
	grpc_metadata_array_init(&c->trailing_md);
	if (nmd > 0) {
		c->md = xcalloc(nmd, sizeof *c->md);
		for (size_t i = 0; i < nmd; i++) {
			c->md[i].key = grpc_slice_from_copied_string(md[i].key);
			c->md[i].value = grpc_slice_from_copied_string(md[i].value);
		}
		c->nmd = nmd;
	}
	payload = grpc_slice_from_copied_buffer((const char *)req, len);
	c->send = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_slice_unref(payload);

	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	path = grpc_slice_from_copied_string(method);
	c->call = grpc_channel_create_call(q->channel, NULL,
	    GRPC_PROPAGATE_DEFAULTS, q->cq, path, NULL, deadline, NULL);
	grpc_slice_unref(path);

	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = c->nmd;
	ops[0].data.send_initial_metadata.metadata = c->md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = c->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &c->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
	ops[5].data.recv_status_on_client.status = &c->status;
	ops[5].data.recv_status_on_client.status_details = &c->details;

	q->pending++;
	pthread_mutex_lock(&q->lock);
	err = c->call == NULL ? GRPC_CALL_ERROR :
	    grpc_call_start_batch(c->call, ops, 6, c, NULL);
	if (err == GRPC_CALL_OK) {
		c->inflight = true;
		TAILQ_INSERT_TAIL(&q->inflight, c, entry);
	} else {
		/* No completion will come: report through the loop anyway. */
		c->status = GRPC_STATUS_INTERNAL;
		c->local_error = "cannot start the gRPC call";
		TAILQ_INSERT_TAIL(&q->done, c, entry);
	}
	pthread_mutex_unlock(&q->lock);
	if (err != GRPC_CALL_OK)
		grpcq_wake(q);
	return c;
}

/* Cancel a call that has not completed yet. */
void
grpcq_cancel(struct grpcq_call *c)
{
	struct grpcq *q = c->q;

	pthread_mutex_lock(&q->lock);
	if (c->inflight)
		grpc_call_cancel(c->call, NULL);
	pthread_mutex_unlock(&q->lock);
}

/* Number of started calls whose callback has not run. */
size_t
grpcq_pending(struct grpcq *q)
{
	return q->pending;
}

/* Cancel everything, join the thread, run the remaining callbacks, free q. */
void
grpcq_free(struct grpcq *q)
{
	struct grpcq_call *c;

	if (q == NULL)
		return;
	if (q->in_callbacks)
		abort();	/* freeing from a callback would free the running list */
	q->closing = true;
	if (q->cq != NULL) {
		pthread_mutex_lock(&q->lock);
		TAILQ_FOREACH(c, &q->inflight, entry)
			grpc_call_cancel(c->call, NULL);
		pthread_mutex_unlock(&q->lock);
		grpc_completion_queue_shutdown(q->cq);
		if (q->thread_started)
			pthread_join(q->thread, NULL);
		else
			grpcq_thread_main(q);	/* nothing started: returns at once */
		grpcq_drain(q);
		grpc_completion_queue_destroy(q->cq);
	}
	if (q->channel != NULL)
		grpc_channel_destroy(q->channel);
	if (q->ev != NULL)
		event_free(q->ev);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
	grpc_shutdown_blocking();
}
