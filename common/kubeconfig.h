/* kubeconfig: where the Kubernetes API server is and how to authenticate. */
#ifndef TWA_KUBECONFIG_H
#define TWA_KUBECONFIG_H

#include <stddef.h>

/* Where the API server is and how to authenticate (plain data). */
struct kube_config {
	char	*server;	/* "https://10.0.0.1:443" (no trailing slash) */
	char	*ca_file;	/* PEM bundle to verify the server; NULL: system CAs */
	char	*token_file;	/* bearer token file; NULL: no Authorization */
	char	*namespace;	/* default namespace of the pod */
};

/* Service-account files and environment of an in-cluster pod. */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * Fill cfg from KUBERNETES_SERVICE_HOST/PORT (IPv6 literals bracketed) and
 * the service-account directory sa_dir (NULL: KUBE_SA_DIR): ca.crt, token,
 * namespace. Returns 0, or -1 and an allocated cause naming what is
 * missing. Free with kube_config_clear.
 */
int kube_config_incluster(struct kube_config *cfg, const char *sa_dir,
    char **cause);
/*
 * Fill cfg from explicit values (tests, out-of-cluster): server URL,
 * CA file, token file and namespace (each may be NULL except server).
 * Returns 0, or -1 and an allocated cause for a URL that is not http(s).
 */
int kube_config_explicit(struct kube_config *cfg, const char *server,
    const char *ca_file, const char *token_file, const char *ns,
    char **cause);
/* Free the strings of cfg and zero it. */
void kube_config_clear(struct kube_config *cfg);
/* Base URL for host and port: brackets IPv6 literals. Caller frees. */
char *kube_server_url(const char *host, const char *port);

/*
 * Read a small text file whole, trailing whitespace trimmed. Returns NULL
 * and an allocated cause if it cannot be read or is over max bytes.
 * Caller frees.
 */
char *kube_config_read(const char *path, size_t max, char **cause);

#endif
