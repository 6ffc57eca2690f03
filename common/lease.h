/* lease: leader election on a coordination.k8s.io/v1 Lease, with client-go semantics. */
#ifndef TWA_LEASE_H
#define TWA_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "kube.h"

/* Election settings (plain data; strings are copied by lease_new). */
struct lease_config {
	const char	*name;		/* Lease name, "twa-orders" */
	const char	*namespace;
	const char	*identity;	/* holderIdentity: this pod's name */
	int64_t		 lease_ms;	/* 15000: candidates wait this long */
	int64_t		 renew_ms;	/* 10000: leader gives up after this */
	int64_t		 retry_ms;	/* 2000: renew and poll period */
	bool		 poll;		/* poll the Lease even when not standby */
};

/* Defaults of client-go's core components. */
#define LEASE_DEFAULT_LEASE_MS	15000
#define LEASE_DEFAULT_RENEW_MS	10000
#define LEASE_DEFAULT_RETRY_MS	2000

/*
 * Check timings and names like client-go does: every duration >= 1 ms,
 * lease > renew > 1.2 x retry, non-empty name and identity. Returns 0, or
 * -1 and an allocated cause naming the bad value.
 */
int lease_config_check(const struct lease_config *cfg, char **cause);

/* The election fields of a Lease spec, as last observed (plain data). */
struct lease_record {
	char		*holder;	/* NULL when absent; "" when released */
	char		*renew_time;	/* NULL when absent */
	char		*acquire_time;
	int64_t		 duration_s;	/* 0 when absent */
	int64_t		 transitions;	/* -1 when absent */
	char		*canon;		/* the whole spec, canonical JSON */
	char		*rv;		/* metadata.resourceVersion */
};

/*
 * Read the record of a Lease object. Returns 0, or -1 and an allocated
 * cause if obj is not a Lease-shaped object. Free with lease_record_clear.
 */
int lease_record_parse(json_t *obj, struct lease_record *rec, char **cause);
/* Free a record's strings and zero it. */
void lease_record_clear(struct lease_record *rec);
/* Whether two records differ in any spec field (annotations do not count). */
bool lease_record_changed(const struct lease_record *a,
    const struct lease_record *b);

/*
 * Whether identity may write the Lease now: the holder is empty or itself,
 * or the spec has not changed for a full lease duration (the record's,
 * else default_ms) since observed_ms, all on the caller's monotonic clock.
 * Pure.
 */
bool lease_may_acquire(const struct lease_record *rec, const char *identity,
    int64_t observed_ms, int64_t now_ms, int64_t default_ms);
/*
 * The JSON Patch that renews (holder is identity) or takes over (any other
 * holder) the observed record at now (six-digit MicroTime) for lease_s
 * seconds: "test" operations on holderIdentity and renewTime (on
 * resourceVersion when the record lacks them) make it fail with 422 if
 * anyone changed the spec since. Pure; caller decrefs.
 */
json_t *lease_patch_acquire(const struct lease_record *rec,
    const char *identity, const char *now, int64_t lease_s);
/*
 * The JSON Patch that releases a Lease held by identity: empty holder,
 * duration 1 s, acquire and renew time now, transitions kept; conditional
 * like lease_patch_acquire. Pure; caller decrefs.
 */
json_t *lease_patch_release(const struct lease_record *rec,
    const char *identity, const char *now);
/* A new Lease held by identity (for POST). Pure; caller decrefs. */
json_t *lease_object_new(const char *ns, const char *name,
    const char *identity, const char *now, int64_t lease_s);

/* Counters of one elector (plain data). */
struct lease_stats {
	uint64_t	requests;	/* every Lease request sent */
	uint64_t	renewals;	/* successful renewals while leading */
	uint64_t	renew_failures;
	uint64_t	acquisitions;	/* times leadership started */
	uint64_t	lost_races;	/* 409 on create, 422 on a takeover */
	int64_t		renew_last_ms;	/* latency of the last renewal */
	int64_t		renew_max_ms;
	int64_t		renew_sum_ms;
};

struct lease;

/* Leadership started (leading true) or stopped (false). */
typedef void (*lease_leading_cb)(bool leading, void *arg);
/*
 * Every Lease object the elector received (poll, renew and takeover
 * responses), with the monotonic send and receive times of its request;
 * obj borrowed.
 */
typedef void (*lease_object_cb)(json_t *obj, int64_t sent_ms, int64_t recv_ms,
    void *arg);

/*
 * An elector for cfg (checked with lease_config_check) on client k (which
 * must outlive it); leading_cb (required) gets arg. Returns NULL and an
 * allocated cause on a bad config. Call lease_start to begin; free with
 * lease_free.
 */
struct lease *lease_new(struct kube *k, const struct lease_config *cfg,
    lease_leading_cb leading_cb, void *arg, char **cause);
/* Set (or clear, with NULL) the callback for every Lease object received. */
void lease_set_object_cb(struct lease *l, lease_object_cb cb, void *arg);
/* Read the Lease once (creating it if missing), then follow the mode. */
void lease_start(struct lease *l);
/* Stop everything without releasing and free l; NULL is a no-op. */
void lease_free(struct lease *l);
/*
 * Whether this elector leads at now_ms (monotonic): true only until the
 * send time of the last successful renewal plus the renew deadline, which
 * passes before any other candidate can see the lease expire. Pure.
 */
bool lease_is_leader(const struct lease *l, int64_t now_ms);
/* lease_is_leader at the current monotonic time; call before every leader action. */
bool lease_leading(const struct lease *l);
/* Poll the Lease every retry period (standby), or stop polling. */
void lease_set_poll(struct lease *l, bool poll);
/* Whether the elector polls. */
bool lease_polling(const struct lease *l);
/*
 * Feed a Lease object learned elsewhere (the response to a health write),
 * with the monotonic send and receive times of that request. A candidate
 * that finds the lease free or expired tries to take it.
 */
void lease_observe(struct lease *l, json_t *obj, int64_t sent_ms,
    int64_t recv_ms);
/* Tell the elector the Lease does not exist (a 404 elsewhere): create it. */
void lease_observe_missing(struct lease *l);
/* Holder of the last observed record (NULL when unknown; owned by l). */
const char *lease_holder(const struct lease *l);
/* Counters so far. */
void lease_get_stats(const struct lease *l, struct lease_stats *st);
/*
 * Shut down: stop leading (leading_cb(false) first), then, if the Lease
 * names this elector, release it (empty holder, 1 s). done(arg) runs when
 * finished (at once from the loop if there is nothing to release). The
 * elector does nothing afterwards but may still be freed.
 */
void lease_release(struct lease *l, void (*done)(void *), void *arg);

#endif
