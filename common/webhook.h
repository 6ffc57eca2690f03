/*
 * webhook: the admission decisions of `twa webhook` (DESIGN §7), pure
 * functions of (AdmissionReview JSON, configuration, server version) to the
 * AdmissionReview response: JSON Patch injection of the agent into pods
 * labelled twa.dev/inject=true, and validation of Deployments labelled
 * twa.dev/deployment. No I/O, no clock, no globals.
 */
#ifndef TWA_WEBHOOK_H
#define TWA_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Largest request body accepted by default (the API server's own cap). */
#define WEBHOOK_MAX_BODY	(3 * 1024 * 1024)
/* Longest request uid accepted. */
#define WEBHOOK_MAX_UID		256

/*
 * The contract between the injected pod and the agent (the names the agent
 * reads). The agent's HTTP port (healthz, readyz, metrics) by default:
 */
#define WEBHOOK_AGENT_PORT	9464
/* Downward-API volume with the files "annotations" and "labels". */
#define WEBHOOK_PODINFO_VOLUME	"twa-podinfo"
#define WEBHOOK_PODINFO_DIR	"/etc/twa/podinfo"
/* Projected service-account token volume, mounted into the agent only. */
#define WEBHOOK_TOKEN_VOLUME	"twa-kube-api-access"
#define WEBHOOK_TOKEN_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"
/* Lifetime asked for the agent's projected token (kubelet refreshes it). */
#define WEBHOOK_TOKEN_SECONDS	3607
/* Temporal TLS client Secret volume (agent and worker containers). */
#define WEBHOOK_TLS_VOLUME	"twa-temporal-tls"
#define WEBHOOK_TLS_DIR		"/etc/twa/temporal-tls"
/* Agent environment besides POD_NAME, POD_NAMESPACE, POD_UID, TEMPORAL_*. */
#define WEBHOOK_ENV_DEPLOYMENT	"TWA_DEPLOYMENT"	/* twa.dev/deployment label */
#define WEBHOOK_ENV_PODINFO	"TWA_PODINFO_DIR"	/* WEBHOOK_PODINFO_DIR */
#define WEBHOOK_ENV_LOG_LEVEL	"TWA_LOG_LEVEL"		/* level at injection */
#define WEBHOOK_ENV_LISTEN	"TWA_LISTEN"		/* ":<agent port>" */
/* Pod annotation the webhook sets on injection (value: the build ID). */
#define WEBHOOK_MARKER		"status.twa.dev/injected"
/* Prefix of the volume the API server's ServiceAccount plugin adds. */
#define WEBHOOK_AUTO_TOKEN_PREFIX "kube-api-access-"
/* First Kubernetes minor version (of major 1) with native sidecars on. */
#define WEBHOOK_NATIVE_MINOR	29

/* What the webhook was started with (plain data; strings borrowed). */
struct webhook_config {
	const char	*agent_image;		/* required */
	const char	*agent_cpu;		/* required: quantity */
	const char	*agent_memory;		/* required: quantity */
	const char	*agent_log_level;	/* required: debug|info|warn|error */
	const char	*temporal_address;	/* NULL: pods must name it */
	int		 agent_port;		/* 1..65535 */
	int		 server_major;		/* Kubernetes version, e.g. 1 */
	int		 server_minor;		/* e.g. 29 */
};

/* Which endpoint a review came to. */
enum webhook_kind {
	WEBHOOK_MUTATE,		/* POST /mutate: pods */
	WEBHOOK_VALIDATE,	/* POST /validate: Deployments */
};

/* How a review ended (for logs and metrics). */
enum webhook_result {
	WEBHOOK_ALLOWED,	/* allowed, nothing changed */
	WEBHOOK_PATCHED,	/* allowed with a JSON Patch */
	WEBHOOK_DENIED,		/* allowed: false, with a message */
	WEBHOOK_BAD_REQUEST,	/* not an AdmissionReview v1: HTTP 400 */
};

/* The answer to one review (plain data; free with webhook_reply_clear). */
struct webhook_reply {
	int			 http_status;	/* 200, or 400 for BAD_REQUEST */
	enum webhook_result	 result;
	char			*body;		/* JSON text of the HTTP body */
	size_t			 len;
	char			*uid;		/* request uid, or NULL */
	char			*message;	/* denial or error, or NULL */
	size_t			 nops;		/* operations in the patch */
};

/*
 * Answer the AdmissionReview in body[0..len) for endpoint kind. Never
 * fails: a request that is not an AdmissionReview v1 with a uid gets HTTP
 * 400 and a Status body naming the problem; anything else gets an
 * AdmissionReview response echoing the uid. out is fully written; free it
 * with webhook_reply_clear.
 */
void webhook_handle(enum webhook_kind kind, const char *body, size_t len,
    const struct webhook_config *cfg, struct webhook_reply *out);
/* Free what r owns and zero it. */
void webhook_reply_clear(struct webhook_reply *r);

/*
 * The JSON Patch (an array, possibly empty) that injects the agent into
 * pod, created in namespace ns. An empty array: nothing to do (not
 * labelled for injection, or already injected). NULL and an allocated
 * cause: the pod must be denied (the cause names the field, the value and
 * what is expected). Caller decrefs.
 */
json_t *webhook_mutate_pod(const json_t *pod, const char *ns,
    const struct webhook_config *cfg, char **cause);
/*
 * Check a Deployment labelled twa.dev/deployment: the label, the pod
 * template's labels and every twa annotation of the template. Returns 0,
 * appending advice that does not deny to warnings (a JSON array of
 * strings; may be NULL), or -1 and an allocated cause naming every bad
 * annotation, its value and what is expected.
 */
int webhook_validate_deployment(const json_t *deployment,
    const struct webhook_config *cfg, json_t *warnings, char **cause);
/* Whether pods get the agent as a native sidecar (Kubernetes 1.29+). */
bool webhook_native_sidecar(const struct webhook_config *cfg);
/*
 * Parse a server version "1.29", "v1.29.3" or "1.30+" into major and minor.
 * Returns 0, or -1 and an allocated cause.
 */
int webhook_parse_version(const char *s, int *major, int *minor, char **cause);
/*
 * A Kubernetes Status object as JSON text for an HTTP error answered
 * outside AdmissionReview (400, 404, 405, 413, 503). Caller frees.
 */
char *webhook_status_json(int code, const char *message);
/* Name of a result ("patched"), for metrics labels. */
const char *webhook_result_name(enum webhook_result r);

#endif
