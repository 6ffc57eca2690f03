/*
 * temporal: asynchronous client of the Temporal frontend.
 *
 * Each typed call encodes its request once into a "logical call" (struct
 * tcall). An attempt sends it through grpcq with the per-attempt deadline
 * and the headers (temporal-namespace, authorization); a retryable failure
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) schedules the next
 * attempt on a libevent timer after a jittered backoff, until the policy's
 * attempt bound. Calls of the Worker Deployment API wait for one
 * GetSystemInfo per client that tells the server version, and fail locally
 * on servers that lack what they need.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "temporal_workflowservice.pb-c.h"

#include "grpcq.h"
#include "log.h"
#include "temporal.h"
#include "temporal_decode.h"
#include "temporal_rpc.h"
#include "xalloc.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define TEMPORAL_SERVICE	"/temporal.api.workflowservice.v1.WorkflowService/"
#define TEMPORAL_FILE_MAX	(1024 * 1024)	/* PEM files */
#define TEMPORAL_KEY_MAX	(64 * 1024)	/* API key file */
#define TEMPORAL_ARG_MAX	4096		/* names and ids we send */

enum tcall_state { TC_WAIT, TC_SENT, TC_BACKOFF, TC_FAILED };

struct tcall {
	struct temporal		*t;
	const struct rpc	*rpc;
	TAILQ_ENTRY(tcall)	 entry;
	enum tcall_state	 state;
	int			 need_minor;
	uint8_t			*req;
	size_t			 reqlen;
	unsigned		 attempts;
	struct event		*timer;
	struct grpcq_call	*gc;
	void			(*cb)(void);	/* typed callback, cast back by finish */
	void			*arg;
	bool			 probe;		/* internal GetSystemInfo */
	int			 fail_code;	/* TC_FAILED */
	char			*fail_message;
};
TAILQ_HEAD(tcalls, tcall);

enum srv_state { SRV_UNKNOWN, SRV_PROBING, SRV_KNOWN };

struct temporal {
	struct event_base	*base;
	struct grpcq		*q;
	char			*ns;
	char			*identity;
	int			 timeout_ms;
	struct backoff_policy	 retry;
	uint64_t		 rng;

	char			*key_file;
	char			*key;
	struct stat		 key_st;
	bool			 key_warned;

	struct tcalls		 calls;
	size_t			 ncalls;	/* user calls not yet reported */
	enum srv_state		 srv;
	int			 srv_major, srv_minor;
	char			*srv_version;

	bool			 closing;
	unsigned		 depth;		/* > 0 while user callbacks run */
};

static void tcall_send(struct tcall *);
static void tcall_end(struct tcall *, const struct temporal_error *,
    const uint8_t *, size_t);

/* Name of a status code; static storage. */
const char *
temporal_code_name(int code)
{
	return grpcq_code_name(code);
}

/* Whether a failure with this code is retried. */
bool
temporal_retryable(int code)
{
	return code == TEMPORAL_UNAVAILABLE ||
	    code == TEMPORAL_DEADLINE_EXCEEDED ||
	    code == TEMPORAL_RESOURCE_EXHAUSTED;
}

/* Next value of the client's xorshift64* generator (backoff jitter). */
static uint64_t
temporal_random(struct temporal *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545F4914F6CDD1DULL;
}

/* Read a whole file of at most max bytes. Caller frees; NULL and a cause on failure. */
static char *
temporal_read_file(const char *what, const char *path, size_t max,
    size_t *lenp, char **cause)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*cause = xasprintf("cannot open %s %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	buf = xmalloc(max + 1);
	for (;;) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = xasprintf("cannot read %s %s: %s", what, path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			*cause = xasprintf("%s %s is larger than %zu bytes",
			    what, path, max);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;

fail:
	close(fd);
	free(buf);
	return NULL;
}

/*
 * Make t->key current: re-read the API key file when its identity, size
 * or mtime changed. On a read failure the previous key stays (warned once).
 * Returns 0, or -1 and a cause when there is no usable key at all.
 */
static int
temporal_refresh_key(struct temporal *t, char **cause)
{
	struct stat st;
	char *buf, *p, *end, *why = NULL;

	if (stat(t->key_file, &st) != 0) {
		why = xasprintf("cannot stat API key file %s: %s", t->key_file,
		    strerror(errno));
		goto failed;
	}
	if (t->key != NULL && st.st_ino == t->key_st.st_ino &&
	    st.st_dev == t->key_st.st_dev && st.st_size == t->key_st.st_size &&
	    st.st_mtim.tv_sec == t->key_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == t->key_st.st_mtim.tv_nsec)
		return 0;
	buf = temporal_read_file("API key file", t->key_file, TEMPORAL_KEY_MAX,
	    NULL, &why);
	if (buf == NULL)
		goto failed;
	for (p = buf; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		continue;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	for (char *c = p; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
			why = xasprintf("API key file %s holds a character that "
			    "cannot go in a header (expected one printable "
			    "ASCII token)", t->key_file);
			free(buf);
			goto failed;
		}
	}
	if (*p == '\0') {
		why = xasprintf("API key file %s is empty", t->key_file);
		free(buf);
		goto failed;
	}
	free(t->key);
	t->key = xstrdup(p);
	free(buf);
	t->key_st = st;
	if (t->key_warned)
		log_info("temporal", "API key file readable again",
		    LS("file", t->key_file));
	t->key_warned = false;
	log_debug("temporal", "API key loaded", LS("file", t->key_file));
	return 0;

failed:
	if (t->key != NULL) {
		if (!t->key_warned)
			log_warn("temporal", "keeping the previous API key",
			    LS("error", why));
		t->key_warned = true;
		free(why);
		return 0;
	}
	*cause = why;
	return -1;
}

/* Whether s is valid UTF-8 (protobuf strings must be). */
static bool
temporal_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned need;
	uint32_t cp, min;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			need = 1; cp = *p & 0x1f; min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			need = 2; cp = *p & 0x0f; min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			need = 3; cp = *p & 0x07; min = 0x10000;
		} else
			return false;
		p++;
		for (unsigned i = 0; i < need; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/* Check a string argument: present (unless optional), bounded, UTF-8. */
int
temporal_check_arg(const char *what, const char *s, bool required,
    char **cause)
{
	if (s == NULL || *s == '\0') {
		if (!required)
			return 0;
		*cause = xasprintf("%s is empty", what);
		return -1;
	}
	if (strlen(s) > TEMPORAL_ARG_MAX) {
		*cause = xasprintf("%s is longer than %d bytes", what,
		    TEMPORAL_ARG_MAX);
		return -1;
	}
	if (!temporal_utf8(s)) {
		*cause = xasprintf("%s is not valid UTF-8", what);
		return -1;
	}
	return 0;
}

/* Create a client. Caller frees with temporal_free. */
struct temporal *
temporal_new(struct event_base *base, const struct temporal_config *cfg,
    char **cause)
{
	struct grpcq_opts o;
	struct temporal *t;
	char *ca = NULL, *cert = NULL, *key = NULL;
	uint64_t seed;

	if (cfg->address == NULL || *cfg->address == '\0') {
		*cause = xstrdup("Temporal address is empty (expected "
		    "host:port)");
		return NULL;
	}
	if (temporal_check_arg("Temporal namespace", cfg->ns, true, cause) != 0 ||
	    temporal_check_arg("identity", cfg->identity, true, cause) != 0)
		return NULL;
	if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
		*cause = xstrdup("TLS client certificate and key must be given "
		    "together");
		return NULL;
	}
	if (cfg->timeout_ms < 0) {
		*cause = xasprintf("Temporal call timeout %d ms is negative",
		    cfg->timeout_ms);
		return NULL;
	}

	t = xcalloc(1, sizeof *t);
	t->base = base;
	t->ns = xstrdup(cfg->ns);
	t->identity = xstrdup(cfg->identity);
	t->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	t->retry = cfg->retry;
	if (t->retry.base_ms == 0 && t->retry.cap_ms == 0 &&
	    t->retry.max_attempts == 0) {
		t->retry.base_ms = 200;
		t->retry.cap_ms = 5000;
		t->retry.max_attempts = 5;
	}
	if (t->retry.max_attempts == 0)
		t->retry.max_attempts = 5;	/* retries are always bounded */
	TAILQ_INIT(&t->calls);
	if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	t->rng = seed | 1;

	if (cfg->api_key_file != NULL) {
		t->key_file = xstrdup(cfg->api_key_file);
		if (temporal_refresh_key(t, cause) != 0)
			goto fail;
	}
	memset(&o, 0, sizeof o);
	o.target = cfg->address;
	o.tls = cfg->tls || cfg->ca_file != NULL || cfg->cert_file != NULL ||
	    cfg->server_name != NULL;
	o.user_agent = "twa/" PACKAGE_VERSION;
	if (cfg->ca_file != NULL) {
		ca = temporal_read_file("TLS CA file", cfg->ca_file,
		    TEMPORAL_FILE_MAX, NULL, cause);
		if (ca == NULL)
			goto fail;
		o.ca_pem = ca;
	}
	if (cfg->cert_file != NULL) {
		cert = temporal_read_file("TLS certificate file", cfg->cert_file,
		    TEMPORAL_FILE_MAX, NULL, cause);
		if (cert == NULL)
			goto fail;
		key = temporal_read_file("TLS key file", cfg->key_file,
		    TEMPORAL_FILE_MAX, NULL, cause);
		if (key == NULL)
			goto fail;
		o.cert_pem = cert;
		o.key_pem = key;
	}
	o.server_name = o.tls ? cfg->server_name : NULL;
	t->q = grpcq_new(base, &o, cause);
	if (t->q == NULL)
		goto fail;
	free(ca);
	free(cert);
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	log_debug("temporal", "client created", LS("address", cfg->address),
	    LS("namespace", cfg->ns), LI("tls", o.tls));
	return t;

fail:
	free(ca);
	free(cert);
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	temporal_free(t);
	return NULL;
}

/* Number of user calls not yet reported. */
size_t
temporal_pending(struct temporal *t)
{
	return t->ncalls;
}

/* Free a logical call (already off the list). */
static void
tcall_free(struct tcall *tc)
{
	if (tc->timer != NULL)
		event_free(tc->timer);
	free(tc->req);
	free(tc->fail_message);
	free(tc);
}

/* Timer of a logical call: next attempt after a backoff, or a deferred failure. */
static void
tcall_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcall *tc = arg;
	struct temporal_error err;

	if (tc->state == TC_BACKOFF) {
		tcall_send(tc);
		return;
	}
	if (tc->state == TC_FAILED) {
		memset(&err, 0, sizeof err);
		err.code = tc->fail_code;
		err.message = tc->fail_message;
		err.local = true;
		err.attempts = tc->attempts;
		tcall_end(tc, &err, NULL, 0);
	}
}

/* Arm tc's timer to fire after ms milliseconds. */
static void
tcall_arm(struct tcall *tc, int64_t ms)
{
	struct timeval tv;

	if (tc->timer == NULL)
		tc->timer = evtimer_new(tc->t->base, tcall_timer_cb, tc);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(tc->timer, &tv);
}

/* Fail tc with a local error, reported from the loop (never synchronously). */
static void
tcall_fail_later(struct tcall *tc, int code, char *message)
{
	tc->state = TC_FAILED;
	tc->fail_code = code;
	free(tc->fail_message);
	tc->fail_message = message;
	tcall_arm(tc, 0);
}

/*
 * Report the outcome of tc (err NULL: success with response data/len) to
 * its callback through the RPC's finish function, then free it.
 */
static void
tcall_end(struct tcall *tc, const struct temporal_error *err,
    const uint8_t *data, size_t len)
{
	struct temporal *t = tc->t;
	struct temporal_error e2;
	char *msg = NULL;

	TAILQ_REMOVE(&t->calls, tc, entry);
	if (!tc->probe)
		t->ncalls--;
	if (tc->timer != NULL)
		evtimer_del(tc->timer);
	if (err != NULL && err->code == TEMPORAL_UNIMPLEMENTED && !err->local &&
	    tc->rpc->need_minor > 0) {
		e2 = *err;
		msg = xasprintf("%s (%s is part of the Worker Deployment API of "
		    "Temporal server 1.%d and newer)", err->message,
		    tc->rpc->name, tc->rpc->need_minor);
		e2.message = msg;
		err = &e2;
	}
	if (err != NULL)
		log_debug("temporal", "call failed", LS("rpc", tc->rpc->name),
		    LS("code", temporal_code_name(err->code)),
		    LS("error", err->message), LU("attempts", err->attempts));
	t->depth++;
	tc->rpc->finish(t, tc->cb, tc->arg, err, data, len);
	t->depth--;
	free(msg);
	tcall_free(tc);
}

/* grpcq callback of one attempt: success, retry, or final failure. */
static void
tcall_done_cb(const struct grpcq_result *r, void *arg)
{
	struct tcall *tc = arg;
	struct temporal *t = tc->t;
	struct temporal_error err;
	int64_t delay;

	tc->gc = NULL;
	if (r->status == TEMPORAL_OK) {
		tcall_end(tc, NULL, r->data, r->len);
		return;
	}
	if (!t->closing && temporal_retryable(r->status) &&
	    tc->attempts < t->retry.max_attempts) {
		/* max_attempts counts every attempt; the policy bounds the rest. */
		struct backoff_policy p = t->retry;

		p.max_attempts = 0;
		delay = backoff_delay(&p, tc->attempts - 1, temporal_random(t), -1);
		if (delay >= 0) {
			log_info("temporal", "retrying", LS("rpc", tc->rpc->name),
			    LS("code", temporal_code_name(r->status)),
			    LS("error", r->message), LU("attempt", tc->attempts),
			    LI("delay_ms", delay));
			tc->state = TC_BACKOFF;
			tcall_arm(tc, delay);
			return;
		}
	}
	memset(&err, 0, sizeof err);
	err.code = r->status;
	err.message = r->message;
	err.attempts = tc->attempts;
	if (t->closing && r->status == TEMPORAL_CANCELLED) {
		err.message = "Temporal client shut down";
		err.local = true;
	}
	tcall_end(tc, &err, NULL, 0);
}

/* Send one attempt of tc with the current headers. */
static void
tcall_send(struct tcall *tc)
{
	struct temporal *t = tc->t;
	struct grpcq_md md[4];
	char *method, *auth = NULL, *cause = NULL;
	size_t n = 0;

	if (t->key_file != NULL) {
		if (temporal_refresh_key(t, &cause) != 0) {
			tcall_fail_later(tc, TEMPORAL_UNAUTHENTICATED, cause);
			return;
		}
		auth = xasprintf("Bearer %s", t->key);
		md[n++] = (struct grpcq_md){ "authorization", auth };
	}
	if (tc->rpc->namespaced)
		md[n++] = (struct grpcq_md){ "temporal-namespace", t->ns };
	md[n++] = (struct grpcq_md){ "client-name", "twa" };
	md[n++] = (struct grpcq_md){ "client-version", PACKAGE_VERSION };

	method = xasprintf(TEMPORAL_SERVICE "%s", tc->rpc->name);
	tc->attempts++;
	tc->state = TC_SENT;
	tc->gc = grpcq_unary(t->q, method, md, n, tc->req, tc->reqlen,
	    t->timeout_ms, tcall_done_cb, tc, &cause);
	free(method);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (tc->gc == NULL)
		tcall_fail_later(tc, TEMPORAL_INTERNAL, cause);
}

/* Whether the known server version satisfies 1.need_minor. */
static bool
temporal_server_has(struct temporal *t, int need_minor)
{
	if (t->srv_major < 0)
		return true;	/* unparsable version: let the server decide */
	return t->srv_major > 1 || (t->srv_major == 1 && t->srv_minor >= need_minor);
}

/* Send tc now, or fail it when the known server cannot serve it. */
static void
tcall_go(struct tcall *tc)
{
	struct temporal *t = tc->t;

	if (tc->need_minor > 0 && t->srv == SRV_KNOWN &&
	    !temporal_server_has(t, tc->need_minor)) {
		tcall_fail_later(tc, TEMPORAL_UNIMPLEMENTED, xasprintf(
		    "Temporal server %s does not support %s%s: the Worker "
		    "Deployment API it needs came with server 1.%d",
		    t->srv_version, tc->rpc->name,
		    tc->need_minor > tc->rpc->need_minor ?
		    " with allow_no_pollers" : "", tc->need_minor));
		return;
	}
	tcall_send(tc);
}

/* Record the server version from a system info result. */
void
temporal_learn(struct temporal *t, const struct temporal_system_info *si)
{
	free(t->srv_version);
	t->srv_version = xstrdup(si->server_version);
	t->srv_major = si->major;
	t->srv_minor = si->minor;
	t->srv = SRV_KNOWN;
	log_info("temporal", "server version", LS("version", si->server_version),
	    LI("deployments", si->deployments), LI("manager", si->manager));
}

/* Finish of the internal probe: learn the version, release waiting calls. */
static void
probe_finish(struct temporal *t, void (*cb)(void), void *arg,
    const struct temporal_error *err, const uint8_t *data, size_t len)
{
	struct temporal_system_info *si = NULL;
	struct tcall *w, *next;
	char *cause = NULL;

	t->srv = SRV_UNKNOWN;
	if (err == NULL) {
		if (temporal_decode_system_info(data, len, &si, &cause) == 0)
			temporal_learn(t, si);
		else {
			log_warn("temporal", "cannot read the server version",
			    LS("error", cause));
			free(cause);
		}
		temporal_system_info_free(si);
	} else if (!t->closing)
		log_warn("temporal", "cannot learn the server version",
		    LS("code", temporal_code_name(err->code)),
		    LS("error", err->message));
	if (t->closing)
		return;
	/* On failure the waiting calls go ahead; the next one probes again. */
	TAILQ_FOREACH_SAFE(w, &t->calls, entry, next) {
		if (w->state == TC_WAIT)
			tcall_go(w);
	}
}

/* Start the internal GetSystemInfo that learns the server version. */
static void
temporal_probe(struct temporal *t)
{
	struct tcall *tc;
	Temporal__Api__Workflowservice__V1__GetSystemInfoRequest m =
	    TEMPORAL__API__WORKFLOWSERVICE__V1__GET_SYSTEM_INFO_REQUEST__INIT;
	static const struct rpc probe = { "GetSystemInfo", false, 0,
	    probe_finish };

	tc = xcalloc(1, sizeof *tc);
	tc->t = t;
	tc->rpc = &probe;
	tc->probe = true;
	tc->reqlen = protobuf_c_message_get_packed_size(&m.base);
	tc->req = xmalloc(tc->reqlen + 1);
	protobuf_c_message_pack(&m.base, tc->req);
	TAILQ_INSERT_TAIL(&t->calls, tc, entry);
	t->srv = SRV_PROBING;
	tcall_send(tc);
}

/*
 * Accept a logical call of rpc with the encoded message m, reporting to cb.
 * need_minor overrides the RPC's own requirement when larger.
 */
int
temporal_start(struct temporal *t, const struct rpc *rpc,
    const ProtobufCMessage *m, int need_minor, void (*cb)(void), void *arg,
    char **cause)
{
	struct tcall *tc;

	if (t->closing) {
		*cause = xstrdup("Temporal client is shutting down");
		return -1;
	}
	if (cb == NULL) {
		*cause = xasprintf("%s needs a callback", rpc->name);
		return -1;
	}
	tc = xcalloc(1, sizeof *tc);
	tc->t = t;
	tc->rpc = rpc;
	tc->cb = cb;
	tc->arg = arg;
	tc->need_minor = need_minor > rpc->need_minor ? need_minor :
	    rpc->need_minor;
	tc->reqlen = protobuf_c_message_get_packed_size(m);
	tc->req = xmalloc(tc->reqlen + 1);
	protobuf_c_message_pack(m, tc->req);
	TAILQ_INSERT_TAIL(&t->calls, tc, entry);
	t->ncalls++;
	if (tc->need_minor > 0 && t->srv != SRV_KNOWN) {
		tc->state = TC_WAIT;
		if (t->srv == SRV_UNKNOWN)
			temporal_probe(t);
		return 0;
	}
	tcall_go(tc);
	return 0;
}

/* The client's namespace; owned by t. */
const char *
temporal_namespace(struct temporal *t)
{
	return t->ns;
}

/* The client's request identity; owned by t. */
const char *
temporal_identity(struct temporal *t)
{
	return t->identity;
}

/* Cancel everything, report every call, free the client. */
void
temporal_free(struct temporal *t)
{
	struct tcall *tc, *next;
	struct temporal_error err;

	if (t == NULL)
		return;
	if (t->depth > 0) {
		log_error("temporal", "temporal_free called from a temporal "
		    "callback");
		abort();
	}
	t->closing = true;
	memset(&err, 0, sizeof err);
	err.code = TEMPORAL_CANCELLED;
	err.message = "Temporal client shut down";
	err.local = true;
	TAILQ_FOREACH_SAFE(tc, &t->calls, entry, next) {
		if (tc->state != TC_SENT) {
			err.attempts = tc->attempts;
			tcall_end(tc, &err, NULL, 0);
		}
	}
	/* The calls in flight report CANCELLED from here. */
	grpcq_free(t->q);
	free(t->ns);
	free(t->identity);
	free(t->key_file);
	if (t->key != NULL)
		explicit_bzero(t->key, strlen(t->key));
	free(t->key);
	free(t->srv_version);
	free(t);
}
