/* board: each agent's health entry and the leader's status on the shared Lease. */
#ifndef TWA_BOARD_H
#define TWA_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kube.h"
#include "lease.h"

/* Prefix of every agent's annotation key. */
#define BOARD_KEY_PREFIX "agents.twa.dev/"
/* The leader's status annotation. */
#define BOARD_STATUS_KEY "twa.dev/status"

/* An agent's health state. */
enum board_state {
	BOARD_STARTING,
	BOARD_READY,
	BOARD_UNHEALTHY,
	BOARD_TERMINATING,
};

/* Health board settings (plain data; strings copied by board_new). */
struct board_config {
	const char	*lease_name;	/* "twa-orders" */
	const char	*namespace;
	const char	*pod;		/* this pod's name */
	const char	*build;		/* this pod's build ID */
	int64_t		 report_ms;	/* heartbeat period, 15000 */
	int64_t		 debounce_ms;	/* least time between writes, 1000 */
	unsigned	 standbys;	/* how many standbys the leader names, 2 */
	const char	*pod_selector;	/* leader: label selector of live pods; NULL: no pod check */
};

/* One agent's entry as the leader sees it (plain data, owned by the board). */
struct board_entry {
	const char	*key;		/* full annotation key */
	const char	*pod;		/* real pod name (from the value) */
	const char	*build;
	const char	*state;		/* "starting", "ready", ... */
	const char	*reason;
	const char	*changed;	/* time of the last state change */
	const char	*written;
	int64_t		 interval_ms;	/* the writer's report interval, 0: unknown */
	int64_t		 seen_ms;	/* monotonic time the value last changed */
	int64_t		 first_ms;	/* monotonic time the key was first seen */
};

/* Counters (plain data). */
struct board_stats {
	uint64_t	writes;		/* health writes sent */
	uint64_t	write_failures;
	uint64_t	prunes;		/* entries removed by this leader */
	uint64_t	pod_lists;
	uint64_t	status_writes;
};

/* Name of a state ("ready"); static storage. */
const char *board_state_name(enum board_state s);
/* Whether name is a valid annotation key name part (1-63, alnum ends, [-_.A-Za-z0-9]). */
bool board_name_valid(const char *name);
/*
 * The annotation key of a pod: BOARD_KEY_PREFIX plus the pod name when it
 * is a valid name part, else "h-" and 16 hex digits of its SHA-256. Pure;
 * caller frees.
 */
char *board_key(const char *pod);
/*
 * The compact JSON value of an entry: {build, state, reason, changed,
 * written, pod, interval_ms}, times as six-digit RFC 3339 from
 * microseconds; interval_ms is the writer's report interval, so a leader
 * with another interval judges staleness right. Pure; caller frees.
 */
char *board_entry_value(const char *build, enum board_state state,
    const char *reason, int64_t changed_us, int64_t written_us,
    const char *pod, int64_t interval_ms);
/*
 * Whether an entry last changed at seen_ms is stale at now_ms: unchanged
 * for 3 of its writer's intervals (interval_ms; 0 when unknown, then the
 * leader's report_ms). Pure.
 */
bool board_entry_stale(int64_t seen_ms, int64_t now_ms, int64_t interval_ms,
    int64_t report_ms);
/* Read interval_ms of an entry value (object) within [100 ms, 1 h]; 0 if absent or out of range. */
int64_t board_entry_interval(json_t *value);
/*
 * Choose up to want standbys among entries (ready ones first, then
 * starting; never self, never stale at now_ms), keeping those in prev
 * (nprev names) that still qualify, then the rest by name. Writes up to
 * want borrowed pod names to out; returns how many. Pure.
 */
size_t board_pick_standbys(const struct board_entry *entries, size_t n,
    const char *self, const char *const *prev, size_t nprev, unsigned want,
    int64_t now_ms, int64_t report_ms, const char **out);

struct board;

/*
 * A health board for cfg on client k. l is this agent's elector (may be
 * NULL: a writer that takes no part in the election); the board feeds it
 * the Lease from each write's answer and sets its standby polling from the
 * leader's status. Returns NULL and an allocated cause for a bad config.
 * Free with board_free.
 */
struct board *board_new(struct kube *k, struct lease *l,
    const struct board_config *cfg, char **cause);
/*
 * Feed the board a Lease object received elsewhere (obj borrowed; recv_ms
 * monotonic): for a caller that sets its own object callback on the
 * elector after board_new and forwards each object here, so the leader
 * keeps seeing entries at its renewal rate and standbys read the status.
 */
void board_observe(struct board *b, json_t *obj, int64_t sent_ms,
    int64_t recv_ms);
/* Write the first entry now, then keep writing. */
void board_start(struct board *b);
/* Free the board (pending writes are cancelled); NULL is a no-op. */
void board_free(struct board *b);
/* Change this agent's state; written at once, or debounced to one write a second. */
void board_set_state(struct board *b, enum board_state s, const char *reason);
/*
 * Set the leader's status object (borrowed; copied): written as
 * twa.dev/status with "leader" and "standbys" added, while this agent
 * leads.
 */
void board_set_status(struct board *b, json_t *status);
/* The leader's view of every entry; *out owned by the board until its next change. */
size_t board_entries(struct board *b, const struct board_entry **out);
/* Standbys named in the last status this board wrote or read (owned by b). */
size_t board_standbys(struct board *b, const char *const **out);
/* Counters so far. */
void board_get_stats(const struct board *b, struct board_stats *st);
/*
 * Final report: write state terminating, then call done(arg) (also after a
 * failure; at most after one request timeout).
 */
void board_stop(struct board *b, void (*done)(void *), void *arg);

#endif
