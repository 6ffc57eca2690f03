/*
 * agent: the twa agent process, wired on one libevent loop: live
 * configuration (agentconf), the worker probe, the Kubernetes client, the
 * Lease election, the health board, the leader (leader.h), the HTTP
 * endpoints (httpd) and the process lifecycle (signals, sd_notify).
 */
#ifndef TWA_AGENT_H
#define TWA_AGENT_H

#include <stdbool.h>
#include <stdint.h>

/* Default paths and address. */
#define AGENT_DEFAULT_LISTEN		":9464"
#define AGENT_DEFAULT_ANNOTATIONS	"/etc/twa/podinfo/annotations"
#define AGENT_DEFAULT_LABELS		"/etc/twa/podinfo/labels"

/* Everything the agent is started with (plain data; strings borrowed). */
struct agent_config {
	const char	*pod;			/* required */
	const char	*pod_namespace;		/* required */
	const char	*pod_uid;		/* required */
	const char	*deployment;		/* NULL: from the labels file */
	const char	*build_id;		/* NULL: twa.dev/build-id */
	const char	*listen;
	const char	*annotations_file;
	const char	*labels_file;
	/* Kubernetes: server NULL means in-cluster configuration. */
	const char	*kube_server;
	const char	*kube_ca;
	const char	*kube_token_file;
	/* Temporal overrides, handed to the leader. */
	const char	*temporal_address;
	const char	*temporal_ca;
	const char	*temporal_cert;
	const char	*temporal_key;
	const char	*temporal_api_key_file;
	bool		 temporal_tls;
	/* Election timing. */
	int64_t		 lease_ms, renew_ms, retry_ms;
	/* Probe timing (0: defaults), reload poll period, shutdown bound. */
	int64_t		 probe_interval_ms, probe_timeout_ms;
	int64_t		 reload_ms;
	int64_t		 shutdown_ms;
	int64_t		 resync_ms;
};

/*
 * Run the agent until SIGTERM or SIGINT and return the exit status: 0
 * after a clean (or timed-out) shutdown, 1 when start-up failed (the
 * reason is logged).
 */
int agent_run(const struct agent_config *cfg);

#endif
