/* test_kube_simlib: start the Kubernetes API simulator for the kube, lease and board tests. */
#ifndef TWA_TEST_KUBE_SIMLIB_H
#define TWA_TEST_KUBE_SIMLIB_H

#include <stdbool.h>

#include <event2/event.h>
#include <jansson.h>

#include "kube.h"

/* A running simulator with a throwaway CA and one bearer token. */
struct ksim {
	struct proc	*proc;
	int		 port;		/* HTTPS API */
	int		 admin;		/* plain-HTTP admin API */
	char		*dir;		/* certificates, token files, logs */
	char		*ca;		/* dir/ca.crt */
	char		*token_file;	/* dir/token: "tok-tester" */
	char		*server;	/* https://127.0.0.1:port */
	char		*log;		/* the simulator's stderr */
};

/*
 * Make certificates and start the simulator with token "tok-tester" (user
 * "tester") and namespace "work". Returns NULL and an allocated cause on
 * failure (callers outside Check tests use this form).
 */
struct ksim *ksim_start(char **cause);
/* Stop the simulator and remove its files. NULL is a no-op. */
void ksim_stop(struct ksim *s);
/*
 * Send an admin request; returns the HTTP status and the parsed reply in
 * *out when out is not NULL (caller decrefs), or -1 on I/O errors.
 */
int ksim_admin(struct ksim *s, const char *method, const char *path,
    const char *body, json_t **out);
/* Register token for user (identity) through the admin API; 0 or -1. */
int ksim_add_token(struct ksim *s, const char *token, const char *user);
/* Write text to path (replacing it atomically); 0 or -1. */
int ksim_write_file(const char *path, const char *text);
/* A client on base for the simulator, reading token_file (NULL: the default one). */
struct kube *ksim_kube(struct ksim *s, struct event_base *base,
    const char *token_file);
/* Run base until *flag is true or timeout_ms passes; returns *flag. */
bool ksim_loop_until(struct event_base *base, const bool *flag,
    int timeout_ms);

#endif
