/* proc: start a child process for a test and wait for its ready line. */
#ifndef TWA_TEST_PROC_H
#define TWA_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

struct proc;

/*
 * Start argv[0] (searched in PATH) with argv, stdout captured. Waits up to
 * timeout_ms for the first stdout line, which must be a JSON object (the
 * simulators' {"grpc":N,"admin":N} or {"port":N,...}). Returns NULL and an
 * allocated cause on failure. The child's stderr goes to the test's stderr,
 * or to the file named by log_path when not NULL. Caller frees with
 * proc_stop.
 */
struct proc *proc_start(char *const argv[], const char *log_path,
    int timeout_ms, char **cause);
/* The ready line's JSON object; owned by p. */
json_t *proc_ready(struct proc *p);
/* Integer member key of the ready line, or -1. */
int proc_port(struct proc *p, const char *key);
/* Child's pid. */
pid_t proc_pid(struct proc *p);
/* Send sig to the child. */
void proc_kill(struct proc *p, int sig);
/*
 * Wait up to timeout_ms for the child to exit; true if it did, with its
 * wait status in *status (may be NULL).
 */
bool proc_wait(struct proc *p, int timeout_ms, int *status);
/* SIGTERM, wait up to 5 s, then SIGKILL; free p. NULL is a no-op. */
void proc_stop(struct proc *p);
/* Path of a file under the source tree ($TWA_SRCDIR/rel). Caller frees. */
char *proc_srcpath(const char *rel);
/* Path of a file under the build tree ($TWA_BUILDDIR/rel). Caller frees. */
char *proc_buildpath(const char *rel);
/* Milliseconds on the monotonic clock. */
long long proc_now_ms(void);

/*
 * Poll cond(arg) every 10 ms until it returns true or timeout_ms passes;
 * returns the last result. Tests wait on conditions, never on fixed sleeps.
 */
bool proc_wait_until(bool (*cond)(void *), void *arg, int timeout_ms);

/*
 * Send an HTTP/1.1 request to 127.0.0.1:port (plain HTTP, for simulators'
 * admin APIs). body may be NULL. Returns the status code and the body in
 * *resp (allocated, may be NULL), or -1 and an allocated cause.
 */
int proc_http(int port, const char *method, const char *path,
    const char *body, char **resp, char **cause);

#endif
