/* proc: start a child process for a test and wait for its ready line. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "xalloc.h"

/* A running child. */
struct proc {
	pid_t	 pid;
	int	 out;		/* read end of its stdout */
	json_t	*ready;
	bool	 reaped;
};

/* Milliseconds on the monotonic clock. */
long long
proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the first line of fd within timeout_ms. Caller frees. */
static char *
proc_read_line(int fd, int timeout_ms, char **cause)
{
	long long deadline = proc_now_ms() + timeout_ms;
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - proc_now_ms();
		ssize_t r;
		char c;

		if (left <= 0) {
			*cause = xstrdup("no ready line before the deadline");
			goto fail;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*cause = xstrdup("the process closed stdout before its ready line");
			goto fail;
		}
		if (c == '\n')
			break;
		if (len + 1 == cap) {
			if (cap > 65536) {
				*cause = xstrdup("ready line too long");
				goto fail;
			}
			buf = xrealloc(buf, cap *= 2);
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	return buf;
fail:
	free(buf);
	return NULL;
}

/* Start a child and wait for its ready line. */
struct proc *
proc_start(char *const argv[], const char *log_path, int timeout_ms,
    char **cause)
{
	struct proc *p = xcalloc(1, sizeof *p);
	json_error_t err;
	int pipefd[2];
	char *line, *inner = NULL;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		free(p);
		return NULL;
	}
	p->pid = fork();
	if (p->pid < 0) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		free(p);
		return NULL;
	}
	if (p->pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		if (log_path != NULL) {
			int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	p->out = pipefd[0];
	line = proc_read_line(p->out, timeout_ms, &inner);
	if (line == NULL) {
		*cause = xasprintf("%s: %s", argv[0], inner);
		free(inner);
		goto fail;
	}
	p->ready = json_loads(line, 0, &err);
	if (!json_is_object(p->ready)) {
		*cause = xasprintf("%s: ready line is not a JSON object: %.128s",
		    argv[0], line);
		free(line);
		goto fail;
	}
	free(line);
	return p;
fail:
	proc_stop(p);
	return NULL;
}

/* The ready line. */
json_t *
proc_ready(struct proc *p)
{
	return p->ready;
}

/* Integer member of the ready line. */
int
proc_port(struct proc *p, const char *key)
{
	json_t *v = json_object_get(p->ready, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

/* The child's pid. */
pid_t
proc_pid(struct proc *p)
{
	return p->pid;
}

/* Signal the child. */
void
proc_kill(struct proc *p, int sig)
{
	if (!p->reaped)
		kill(p->pid, sig);
}

/* Wait for the child to exit. */
bool
proc_wait(struct proc *p, int timeout_ms, int *status)
{
	long long deadline = proc_now_ms() + timeout_ms;
	int st;

	if (p->reaped)
		return true;
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			p->reaped = true;
			if (status != NULL)
				*status = st;
			return true;
		}
		if (r < 0 && errno != EINTR)
			return false;
		if (proc_now_ms() >= deadline)
			return false;
		poll(NULL, 0, 5);
	}
}

/* Stop and free. */
void
proc_stop(struct proc *p)
{
	if (p == NULL)
		return;
	if (!p->reaped) {
		kill(p->pid, SIGTERM);
		if (!proc_wait(p, 5000, NULL)) {
			kill(p->pid, SIGKILL);
			proc_wait(p, 5000, NULL);
		}
	}
	if (p->out >= 0)
		close(p->out);
	json_decref(p->ready);
	free(p);
}

/* Join an environment directory with a relative path. */
static char *
proc_path(const char *var, const char *rel)
{
	const char *dir = getenv(var);

	return xasprintf("%s/%s", dir != NULL ? dir : ".", rel);
}

/* Path under the source tree. */
char *
proc_srcpath(const char *rel)
{
	return proc_path("TWA_SRCDIR", rel);
}

/* Path under the build tree. */
char *
proc_buildpath(const char *rel)
{
	return proc_path("TWA_BUILDDIR", rel);
}

/* Poll a condition until it holds or the deadline passes. */
bool
proc_wait_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
	long long deadline = proc_now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (proc_now_ms() >= deadline)
			return cond(arg);
		poll(NULL, 0, 10);
	}
}

/* Minimal HTTP/1.1 client for simulators' admin APIs on loopback. */
int
proc_http(int port, const char *method, const char *path, const char *body,
    char **resp, char **cause)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	size_t len = 0, cap = 4096;
	char *req, *buf = NULL, *hdr_end;
	int fd, status = -1;

	*resp = NULL;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		*cause = xasprintf("connect 127.0.0.1:%d: %s", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	req = xasprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", method, path, port,
	    body != NULL ? strlen(body) : 0, body != NULL ? body : "");
	for (size_t off = 0, n = strlen(req); off < n;) {
		ssize_t w = write(fd, req + off, n - off);

		if (w <= 0) {
			*cause = xasprintf("write: %s", strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (len + 1 == cap)
			buf = xrealloc(buf, cap *= 2);
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 ||
	    (hdr_end = strstr(buf, "\r\n\r\n")) == NULL) {
		*cause = xasprintf("malformed HTTP response: %.64s", buf);
		status = -1;
		goto done;
	}
	if (strcasestr(buf, "transfer-encoding: chunked") != NULL &&
	    strcasestr(buf, "transfer-encoding: chunked") < hdr_end) {
		/* De-chunk in place. */
		char *src = hdr_end + 4, *dst = xmalloc(strlen(src) + 1), *w = dst;

		for (;;) {
			char *end;
			unsigned long n = strtoul(src, &end, 16);

			if (end == src || (end = strstr(end, "\r\n")) == NULL || n == 0)
				break;
			src = end + 2;
			if (strlen(src) < n)
				break;
			memcpy(w, src, n);
			w += n;
			src += n + 2;
		}
		*w = '\0';
		*resp = dst;
	} else
		*resp = xstrdup(hdr_end + 4);
done:
	free(buf);
	free(req);
	close(fd);
	return status;
}
