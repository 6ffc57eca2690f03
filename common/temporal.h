/*
 * temporal: asynchronous client of the Temporal frontend (WorkflowService),
 * typed for the Worker Deployment calls the leader makes.
 *
 * Threading: every function is called on the thread running the libevent
 * loop given to temporal_new, and every callback runs on that loop, never
 * from inside the call that started it. Each accepted call reports exactly
 * once, including at temporal_free (code CANCELLED).
 *
 * Ownership: a callback receives an error (NULL on success; valid only
 * during the callback) and, on success, a result it owns and releases with
 * the matching temporal_*_free. Strings in results are never NULL unless
 * the field says so.
 */
#ifndef TWA_TEMPORAL_H
#define TWA_TEMPORAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backoff.h"

struct event_base;
struct temporal;

/* gRPC status codes, as carried by struct temporal_error. */
enum temporal_code {
	TEMPORAL_OK = 0,
	TEMPORAL_CANCELLED = 1,
	TEMPORAL_UNKNOWN = 2,
	TEMPORAL_INVALID_ARGUMENT = 3,
	TEMPORAL_DEADLINE_EXCEEDED = 4,
	TEMPORAL_NOT_FOUND = 5,
	TEMPORAL_ALREADY_EXISTS = 6,
	TEMPORAL_PERMISSION_DENIED = 7,
	TEMPORAL_RESOURCE_EXHAUSTED = 8,
	TEMPORAL_FAILED_PRECONDITION = 9,
	TEMPORAL_ABORTED = 10,
	TEMPORAL_OUT_OF_RANGE = 11,
	TEMPORAL_UNIMPLEMENTED = 12,
	TEMPORAL_INTERNAL = 13,
	TEMPORAL_UNAVAILABLE = 14,
	TEMPORAL_DATA_LOSS = 15,
	TEMPORAL_UNAUTHENTICATED = 16,
};

/* Upstream enum values (open enums: unknown numbers are passed through). */
enum temporal_version_status {
	TEMPORAL_VERSION_UNSPECIFIED = 0,
	TEMPORAL_VERSION_INACTIVE = 1,
	TEMPORAL_VERSION_CURRENT = 2,
	TEMPORAL_VERSION_RAMPING = 3,
	TEMPORAL_VERSION_DRAINING = 4,
	TEMPORAL_VERSION_DRAINED = 5,
	TEMPORAL_VERSION_CREATED = 6,
};
enum temporal_drainage_status {
	TEMPORAL_DRAINAGE_UNSPECIFIED = 0,
	TEMPORAL_DRAINAGE_DRAINING = 1,
	TEMPORAL_DRAINAGE_DRAINED = 2,
};
enum temporal_workflow_status {
	TEMPORAL_WORKFLOW_UNSPECIFIED = 0,
	TEMPORAL_WORKFLOW_RUNNING = 1,
	TEMPORAL_WORKFLOW_COMPLETED = 2,
	TEMPORAL_WORKFLOW_FAILED = 3,
	TEMPORAL_WORKFLOW_CANCELED = 4,
	TEMPORAL_WORKFLOW_TERMINATED = 5,
	TEMPORAL_WORKFLOW_CONTINUED_AS_NEW = 6,
	TEMPORAL_WORKFLOW_TIMED_OUT = 7,
	TEMPORAL_WORKFLOW_PAUSED = 8,
};
enum temporal_task_queue_type {
	TEMPORAL_TQ_UNSPECIFIED = 0,
	TEMPORAL_TQ_WORKFLOW = 1,
	TEMPORAL_TQ_ACTIVITY = 2,
	TEMPORAL_TQ_NEXUS = 3,
};
enum temporal_versioning_mode {
	TEMPORAL_MODE_UNSPECIFIED = 0,
	TEMPORAL_MODE_UNVERSIONED = 1,
	TEMPORAL_MODE_VERSIONED = 2,
};
enum temporal_routing_update_state {
	TEMPORAL_ROUTING_UPDATE_UNSPECIFIED = 0,
	TEMPORAL_ROUTING_UPDATE_IN_PROGRESS = 1,
	TEMPORAL_ROUTING_UPDATE_COMPLETED = 2,
};

/* How to reach and authenticate to the frontend. Strings are copied. */
struct temporal_config {
	const char	*address;	/* host:port of the frontend */
	const char	*ns;		/* Temporal namespace */
	const char	*identity;	/* request identity (the manager identity) */
	bool		 tls;		/* TLS; implied by any of the files below */
	const char	*ca_file;	/* PEM roots; NULL: system roots */
	const char	*cert_file;	/* PEM client certificate (mTLS) ... */
	const char	*key_file;	/* ... and its key */
	const char	*server_name;	/* TLS name to verify and send as SNI */
	const char	*api_key_file;	/* "authorization: Bearer <key>"; re-read on change */
	int		 timeout_ms;	/* deadline of each attempt; 0: 10 s */
	/*
	 * Retries of UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED:
	 * jittered delays from base_ms up to cap_ms; max_attempts counts
	 * every attempt, the first included (0: 5). All zero: 200 ms, 5 s, 5.
	 */
	struct backoff_policy retry;
};

/* Why a call failed. */
struct temporal_error {
	int		 code;		/* enum temporal_code */
	const char	*message;	/* the server's message or the client's reason */
	bool		 local;		/* decided by the client, not sent by the server */
	unsigned	 attempts;	/* attempts made (0: none was sent) */
};

/* A conflict token, copied by value. */
#define TEMPORAL_TOKEN_MAX 512
struct temporal_token {
	size_t		 len;
	uint8_t		 data[TEMPORAL_TOKEN_MAX];
};

/* A version; build_id NULL means unversioned (then deployment_name is NULL too). */
struct temporal_version {
	char		*deployment_name;
	char		*build_id;
};

/* Drainage of a version; present false when the server sent none. */
struct temporal_drainage {
	bool		 present;
	int		 status;	/* enum temporal_drainage_status */
	int64_t		 changed_us;	/* microseconds since the epoch; 0: unset */
	int64_t		 checked_us;
};

/* Routing of a deployment. Times are microseconds since the epoch, 0 when unset. */
struct temporal_routing {
	struct temporal_version current;	/* build_id NULL: unversioned workers */
	struct temporal_version ramping;	/* build_id NULL: no ramp, or to unversioned */
	bool		 ramp;			/* a ramp exists (ramping set or percentage > 0) */
	float		 ramping_percentage;
	int64_t		 current_changed_us;
	int64_t		 ramping_changed_us;
	int64_t		 ramping_percentage_changed_us;
	int64_t		 revision_number;
};

/* One version as summarised by DescribeWorkerDeployment. */
struct temporal_version_summary {
	char		*build_id;		/* "" when the server sent no version */
	int		 status;		/* enum temporal_version_status */
	struct temporal_drainage drainage;	/* falls back to drainage_status */
	int64_t		 create_us;
	int64_t		 current_since_us;
	int64_t		 ramping_since_us;
	int64_t		 routing_update_us;
	int64_t		 first_activation_us;
	int64_t		 last_deactivation_us;
	int64_t		 last_current_us;
};

/* DescribeWorkerDeployment. */
struct temporal_deployment {
	char		*name;
	int64_t		 create_us;
	struct temporal_routing routing;
	struct temporal_version_summary *versions;	/* newest first, as sent */
	size_t		 nversions;
	char		*last_modifier_identity;	/* "" when none */
	char		*manager_identity;		/* "" when nobody holds it */
	int		 routing_update_state;		/* enum temporal_routing_update_state */
	struct temporal_token token;
};

/* A (task queue, type) pair of a version. */
struct temporal_task_queue {
	char		*name;
	int		 type;		/* enum temporal_task_queue_type */
};

/* DescribeWorkerDeploymentVersion. */
struct temporal_version_info {
	char		*deployment_name;
	char		*build_id;
	int		 status;	/* enum temporal_version_status */
	int64_t		 create_us;
	int64_t		 routing_changed_us;
	int64_t		 current_since_us;
	int64_t		 ramping_since_us;
	float		 ramp_percentage;
	struct temporal_drainage drainage;
	struct temporal_task_queue *task_queues;
	size_t		 ntask_queues;
	char		*last_modifier_identity;
};

/* A poller seen by DescribeTaskQueue. */
struct temporal_poller {
	char		*identity;
	int64_t		 last_access_us;
	double		 rate_per_second;
	struct temporal_version version;	/* from its deployment options; NULL if none */
	int		 mode;			/* enum temporal_versioning_mode */
};

/* DescribeTaskQueue. */
struct temporal_task_queue_info {
	struct temporal_poller *pollers;
	size_t		 npollers;
	struct temporal_version current;	/* routing the queue knows; NULL: unversioned */
	struct temporal_version ramping;
	float		 ramping_percentage;
	int64_t		 update_us;
};

/* StartWorkflowExecution of a gate workflow pinned to one version. */
struct temporal_start_params {
	const char	*workflow_id;
	const char	*workflow_type;
	const char	*task_queue;
	const char	*input_json;	/* one JSON argument; NULL: no input */
	const char	*request_id;	/* NULL: a fresh UUID, reused by retries */
	const char	*deployment_name;	/* the pin */
	const char	*build_id;
	int64_t		 execution_timeout_ms;	/* 0: none */
	int		 id_reuse_policy;	/* upstream enum value; 0: server default */
	int		 id_conflict_policy;	/* upstream enum value; 0: FAIL */
};
struct temporal_started {
	char		*run_id;
	bool		 started;	/* false: an earlier start with this request id */
	int		 status;	/* enum temporal_workflow_status, 0 if not sent */
};

/* DescribeWorkflowExecution. */
struct temporal_workflow {
	char		*workflow_id;
	char		*run_id;
	char		*type;
	char		*task_queue;
	int		 status;	/* enum temporal_workflow_status */
	int64_t		 start_us;
	int64_t		 close_us;
	int		 behavior;	/* upstream VersioningBehavior */
	struct temporal_version pinned;		/* versioning override pin; NULL: none */
	struct temporal_version last_version;	/* version of the last workflow task */
};

/* GetSystemInfo. */
struct temporal_system_info {
	char		*server_version;	/* as reported, "" when empty */
	int		 major, minor, patch;	/* -1 when not parsable */
	bool		 deployments;	/* structured Worker Deployment API (1.28+ or unknown) */
	bool		 manager;	/* SetWorkerDeploymentManager, allow_no_pollers (1.29+) */
};

/* Flags of temporal_set_current and temporal_set_ramping. */
#define TEMPORAL_IGNORE_MISSING_TASK_QUEUES	0x1
#define TEMPORAL_ALLOW_NO_POLLERS		0x2

typedef void (*temporal_deployment_cb)(const struct temporal_error *,
    struct temporal_deployment *, void *);
typedef void (*temporal_token_cb)(const struct temporal_error *,
    const struct temporal_token *, void *);
typedef void (*temporal_version_cb)(const struct temporal_error *,
    struct temporal_version_info *, void *);
typedef void (*temporal_done_cb)(const struct temporal_error *, void *);
typedef void (*temporal_task_queue_cb)(const struct temporal_error *,
    struct temporal_task_queue_info *, void *);
typedef void (*temporal_started_cb)(const struct temporal_error *,
    struct temporal_started *, void *);
typedef void (*temporal_workflow_cb)(const struct temporal_error *,
    struct temporal_workflow *, void *);
typedef void (*temporal_count_cb)(const struct temporal_error *, int64_t,
    void *);
typedef void (*temporal_system_info_cb)(const struct temporal_error *,
    struct temporal_system_info *, void *);

/*
 * Create a client on base. Reads the CA, certificate and key files now and
 * checks the API key file is readable; connects lazily on the first call.
 * Returns NULL and an allocated cause on bad configuration. Free with
 * temporal_free.
 */
struct temporal *temporal_new(struct event_base *base,
    const struct temporal_config *cfg, char **cause);
/*
 * Cancel every call (their callbacks run now with CANCELLED), stop the
 * completion thread and release grpc. Not from inside a temporal callback.
 */
void temporal_free(struct temporal *t);
/* Number of calls whose callback has not run yet. */
size_t temporal_pending(struct temporal *t);

/*
 * The typed calls. Each returns 0 when the call was accepted (cb will run
 * exactly once), or -1 with an allocated cause for a bad argument or a
 * client shutting down (cb never runs). Worker Deployment calls first learn
 * the server version through GetSystemInfo (once per client) and fail with
 * UNIMPLEMENTED, local, on servers older than the API they need.
 */
int temporal_describe_deployment(struct temporal *t, const char *deployment,
    temporal_deployment_cb cb, void *arg, char **cause);
/* build_id NULL or "": make unversioned workers Current. token NULL: no check. */
int temporal_set_current(struct temporal *t, const char *deployment,
    const char *build_id, const struct temporal_token *token, int flags,
    temporal_token_cb cb, void *arg, char **cause);
/* build_id NULL/"" with 0 %: clear the ramp. percentage in [0, 100]. */
int temporal_set_ramping(struct temporal *t, const char *deployment,
    const char *build_id, float percentage, const struct temporal_token *token,
    int flags, temporal_token_cb cb, void *arg, char **cause);
int temporal_describe_version(struct temporal *t, const char *deployment,
    const char *build_id, temporal_version_cb cb, void *arg, char **cause);
int temporal_delete_version(struct temporal *t, const char *deployment,
    const char *build_id, bool skip_drainage, temporal_done_cb cb, void *arg,
    char **cause);
/* manager NULL: claim it for this client's identity; "": clear it. */
int temporal_set_manager(struct temporal *t, const char *deployment,
    const char *manager, const struct temporal_token *token,
    temporal_token_cb cb, void *arg, char **cause);
/* type: TEMPORAL_TQ_WORKFLOW or TEMPORAL_TQ_ACTIVITY (0 means workflow). */
int temporal_describe_task_queue(struct temporal *t, const char *task_queue,
    int type, temporal_task_queue_cb cb, void *arg, char **cause);
int temporal_start_workflow(struct temporal *t,
    const struct temporal_start_params *p, temporal_started_cb cb, void *arg,
    char **cause);
/* run_id NULL or "": the latest run. */
int temporal_describe_workflow(struct temporal *t, const char *workflow_id,
    const char *run_id, temporal_workflow_cb cb, void *arg, char **cause);
int temporal_count_workflows(struct temporal *t, const char *query,
    temporal_count_cb cb, void *arg, char **cause);
/* Also refreshes the server version the client gates calls on. */
int temporal_get_system_info(struct temporal *t, temporal_system_info_cb cb,
    void *arg, char **cause);

/* Release results; NULL is a no-op. */
void temporal_deployment_free(struct temporal_deployment *d);
void temporal_version_info_free(struct temporal_version_info *v);
void temporal_task_queue_info_free(struct temporal_task_queue_info *q);
void temporal_started_free(struct temporal_started *s);
void temporal_workflow_free(struct temporal_workflow *w);
void temporal_system_info_free(struct temporal_system_info *s);

/* Name of a code ("NOT_FOUND"); static storage. */
const char *temporal_code_name(int code);
/*
 * Parse a server version ("1.29.1", "v1.32.0-162.0") into *major, *minor,
 * *patch. Returns 0, or -1 when s is not such a version.
 */
int temporal_parse_version(const char *s, int *major, int *minor, int *patch);
/* Whether code is worth retrying (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
bool temporal_retryable(int code);

#endif
