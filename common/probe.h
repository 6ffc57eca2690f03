/*
 * probe: asynchronous checks of the worker container on libevent, turned
 * into a debounced health state.
 *
 * A check is an HTTP GET of http://host:port/path (2xx and 3xx pass; the
 * redirect is not followed), a TCP connect to host:port, or nothing (the
 * "none" probe, which is ready at once). Every check has a timeout; a new
 * check starts one interval after the previous one ended.
 *
 * The state starts as starting and then follows the results: ready after
 * PROBE_READY_AFTER (1) passing check, unhealthy after PROBE_UNHEALTHY_AFTER
 * (3) consecutive failing checks. A single failure between passes never
 * leaves ready, and a single pass between failures resets the count, so a
 * flapping worker stays ready; a worker that keeps failing turns unhealthy
 * after about 3 intervals. The reason is fixed at each change of state.
 */
#ifndef TWA_PROBE_H
#define TWA_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "settings.h"

struct event_base;

/* Passing checks that make a probe ready. */
#define PROBE_READY_AFTER		1
/* Consecutive failing checks that make a probe unhealthy. */
#define PROBE_UNHEALTHY_AFTER		3
/* Default time between checks and timeout of one check. */
#define PROBE_DEFAULT_INTERVAL_MS	5000
#define PROBE_DEFAULT_TIMEOUT_MS	2000
/* Largest HTTP response (headers and body) a check reads. */
#define PROBE_MAX_RESPONSE		65536

/* The debounced health of the worker. */
enum probe_state {
	PROBE_STARTING,
	PROBE_READY,
	PROBE_UNHEALTHY,
};

/* The pure debounce state machine (plain data; zero is starting). */
struct probe_fsm {
	enum probe_state	state;
	unsigned		fails;	/* consecutive failures */
	unsigned		passes;	/* consecutive passes */
};

/*
 * Feed one check result to f with the thresholds (0 means the defaults
 * above). Returns true when the state changed. Pure.
 */
bool probe_fsm_feed(struct probe_fsm *f, bool ok, unsigned ready_after,
    unsigned unhealthy_after);
/* Name of a state ("ready"); static storage. */
const char *probe_state_name(enum probe_state s);
/*
 * The URL a probe target checks ("http://127.0.0.1:8080/healthz",
 * "tcp://[::1]:7234", "none"), loopback filled in. Caller frees.
 */
char *probe_target_url(const struct settings_probe *t);

/* Probe settings (plain data; the target is copied by probe_new). */
struct probe_config {
	const struct settings_probe	*target;
	int64_t				 interval_ms;	/* 0: default */
	int64_t				 timeout_ms;	/* 0: default */
	unsigned			 ready_after;	/* 0: default */
	unsigned			 unhealthy_after; /* 0: default */
};

/* The outcome of one check (plain data, valid during the callback). */
struct probe_result {
	bool			 ok;
	const char		*detail;	/* "HTTP 200", "timeout after 2s" */
	int64_t			 latency_ms;
	enum probe_state	 state;		/* after this check */
	const char		*reason;	/* of the state */
	bool			 changed;	/* state changed with this check */
};

/* Called after every check, from the event loop. */
typedef void (*probe_cb)(const struct probe_result *r, void *arg);

struct probe;

/*
 * A probe on base for cfg, calling cb(arg) after each check. Returns NULL
 * and an allocated cause for a bad config (interval or timeout not
 * positive, port out of range, HTTP path not starting with '/'). Nothing
 * happens until probe_start. Free with probe_free.
 */
struct probe *probe_new(struct event_base *base, const struct probe_config *cfg,
    probe_cb cb, void *arg, char **cause);
/* Run the first check now (from the loop), then one every interval. */
void probe_start(struct probe *p);
/*
 * Switch to another target (live reload; copied): the check in flight is
 * dropped, the counts restart, the state is kept until the new target's
 * results change it, and a check runs now. An equal target is a no-op.
 */
void probe_set_target(struct probe *p, const struct settings_probe *t);
/* Current state and its reason (owned by p). */
enum probe_state probe_get_state(const struct probe *p);
const char *probe_reason(const struct probe *p);
/* Checks run and checks failed so far. */
uint64_t probe_checks(const struct probe *p);
uint64_t probe_failures(const struct probe *p);
/* Stop any check in flight and free p; NULL is a no-op. */
void probe_free(struct probe *p);

#endif
