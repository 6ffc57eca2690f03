/* test_temporal_sim: helpers of the Temporal client tests (simulator, loop, results). */
#ifndef TWA_TEST_TEMPORAL_SIM_H
#define TWA_TEST_TEMPORAL_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "temporal.h"

/* A running Temporal simulator. */
struct tsim {
	struct proc	*proc;
	int		 grpc;
	int		 admin;
	char		 addr[64];	/* 127.0.0.1:grpc */
	char		*log;		/* its stderr */
};

/*
 * Start the simulator with the extra arguments args (NULL-terminated, may
 * be NULL). With grpc_port > 0 it listens there (a restart). Aborts the
 * test on failure.
 */
struct tsim *tsim_start(const char *const *args, int grpc_port);
/*
 * Check that the simulator saw no request with unknown fields, then stop
 * it. NULL is a no-op.
 */
void tsim_stop(struct tsim *s);
/* Kill the simulator at once (SIGKILL) and free it, without checks. */
void tsim_kill(struct tsim *s);
/*
 * Send an admin request; returns the HTTP status and the parsed reply in
 * *out when out is not NULL (caller decrefs). Aborts the test on I/O errors.
 */
int tsim_admin(struct tsim *s, const char *method, const char *path,
    const char *body, json_t **out);
/* Register a versioned poller of (deployment, build) on a workflow task queue. */
void tsim_poller(struct tsim *s, const char *tq, const char *deployment,
    const char *build);
/* Integer at a dotted path of the state dump ("counters.unknownFieldRequests"). */
long long tsim_state_int(struct tsim *s, const char *path);

/* Run the loop until *flag is true or timeout_ms passes; returns *flag. */
bool loop_until(struct event_base *base, const bool *flag, int timeout_ms);

/* Temporary directory for a test (files, certificates). Caller frees. */
char *test_tmpdir(void);
/* Write text to dir/name. Aborts the test on failure. Caller frees the path. */
char *test_write(const char *dir, const char *name, const char *text);
/* Remove dir and everything in it. */
void test_rmdir(const char *dir);

/* What one call reported; filled by the rec_* callbacks below. */
struct rec {
	bool				 done;
	int				 code;	/* 0 on success */
	char				 msg[1024];
	bool				 local;
	unsigned			 attempts;
	struct temporal_deployment	*dep;
	struct temporal_token		 tok;
	struct temporal_version_info	*ver;
	struct temporal_task_queue_info	*tq;
	struct temporal_started		*started;
	struct temporal_workflow	*wf;
	struct temporal_system_info	*si;
	int64_t				 count;
	int				 calls;	/* times the callback ran */
};

void rec_deployment_cb(const struct temporal_error *, struct temporal_deployment *, void *);
void rec_token_cb(const struct temporal_error *, const struct temporal_token *, void *);
void rec_version_cb(const struct temporal_error *, struct temporal_version_info *, void *);
void rec_done_cb(const struct temporal_error *, void *);
void rec_task_queue_cb(const struct temporal_error *, struct temporal_task_queue_info *, void *);
void rec_started_cb(const struct temporal_error *, struct temporal_started *, void *);
void rec_workflow_cb(const struct temporal_error *, struct temporal_workflow *, void *);
void rec_count_cb(const struct temporal_error *, int64_t, void *);
void rec_system_info_cb(const struct temporal_error *, struct temporal_system_info *, void *);
/* Free whatever results r holds and reset it. */
void rec_reset(struct rec *r);
/* Wait for r on base (30 s at most); fails the test on timeout. */
void rec_wait(struct event_base *base, struct rec *r);

#endif
