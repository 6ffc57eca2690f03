/* kubeconfig: where the Kubernetes API server is and how to authenticate. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubeconfig.h"
#include "parse.h"
#include "xalloc.h"

/* Read a whole small file; NULL and a cause if missing or over max bytes. Caller frees. */
char *
kube_config_read(const char *path, size_t max, char **cause)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(max + 1);
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		*cause = xasprintf("%s is larger than %zu bytes", path, max);
		return NULL;
	}
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return buf;
}

/* Base URL for host and port, bracketing IPv6 literals; caller frees. */
char *
kube_server_url(const char *host, const char *port)
{
	if (strchr(host, ':') != NULL && host[0] != '[')
		return xasprintf("https://[%s]:%s", host, port);
	return xasprintf("https://%s:%s", host, port);
}

/* Fill cfg from the in-cluster environment and service-account files. */
int
kube_config_incluster(struct kube_config *cfg, const char *sa_dir,
    char **cause)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *path = NULL, *ns = NULL, *why = NULL;
	int64_t p;

	memset(cfg, 0, sizeof *cfg);
	if (sa_dir == NULL)
		sa_dir = KUBE_SA_DIR;
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
		*cause = xstrdup("not in a cluster: KUBERNETES_SERVICE_HOST and "
		    "KUBERNETES_SERVICE_PORT must both be set");
		return -1;
	}
	if (parse_int(port, 1, 65535, &p, &why) != 0) {
		*cause = xasprintf("KUBERNETES_SERVICE_PORT: %s", why);
		free(why);
		return -1;
	}
	path = xasprintf("%s/namespace", sa_dir);
	ns = kube_config_read(path, 253, cause);
	free(path);
	if (ns == NULL)
		return -1;
	cfg->server = kube_server_url(host, port);
	cfg->ca_file = xasprintf("%s/ca.crt", sa_dir);
	cfg->token_file = xasprintf("%s/token", sa_dir);
	cfg->namespace = ns;
	if (access(cfg->ca_file, R_OK) != 0 ||
	    access(cfg->token_file, R_OK) != 0) {
		*cause = xasprintf("service-account files %s and %s must be "
		    "readable", cfg->ca_file, cfg->token_file);
		kube_config_clear(cfg);
		return -1;
	}
	return 0;
}

/* Fill cfg from explicit values. */
int
kube_config_explicit(struct kube_config *cfg, const char *server,
    const char *ca_file, const char *token_file, const char *ns,
    char **cause)
{
	size_t n;

	memset(cfg, 0, sizeof *cfg);
	if (server == NULL || (strncmp(server, "https://", 8) != 0 &&
	    strncmp(server, "http://", 7) != 0)) {
		*cause = xasprintf("server URL \"%.200s\" must start with "
		    "https:// or http://", server == NULL ? "" : server);
		return -1;
	}
	cfg->server = xstrdup(server);
	n = strlen(cfg->server);
	while (n > 0 && cfg->server[n - 1] == '/')
		cfg->server[--n] = '\0';
	cfg->ca_file = ca_file != NULL ? xstrdup(ca_file) : NULL;
	cfg->token_file = token_file != NULL ? xstrdup(token_file) : NULL;
	cfg->namespace = ns != NULL ? xstrdup(ns) : NULL;
	return 0;
}

/* Free cfg's strings. */
void
kube_config_clear(struct kube_config *cfg)
{
	free(cfg->server);
	free(cfg->ca_file);
	free(cfg->token_file);
	free(cfg->namespace);
	memset(cfg, 0, sizeof *cfg);
}

