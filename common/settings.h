/* settings: every twa label and annotation, declared once in a table. */
#ifndef TWA_SETTINGS_H
#define TWA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SETTINGS_MAX_STEPS 20

/* Label names. */
#define SETTINGS_LABEL_INJECT     "twa.dev/inject"
#define SETTINGS_LABEL_DEPLOYMENT "twa.dev/deployment"
/* Annotation prefix of every setting. */
#define SETTINGS_PREFIX           "twa.dev/"
/* Name of the agent container the webhook adds; never a worker container. */
#define SETTINGS_AGENT_CONTAINER  "twa"

enum settings_rollout {
	SETTINGS_ROLLOUT_MANUAL,
	SETTINGS_ROLLOUT_ALL_AT_ONCE,
	SETTINGS_ROLLOUT_PROGRESSIVE,
};

enum settings_probe_kind {
	SETTINGS_PROBE_NONE,
	SETTINGS_PROBE_HTTP,
	SETTINGS_PROBE_TCP,
};

/* One Progressive step: ramp to percent and hold it for duration_ms. */
struct settings_ramp_step {
	int	percent;
	int64_t	duration_ms;
};

/* A Secret reference "name" or "name:key"; key is NULL when not given. */
struct settings_secret_ref {
	char	*name;
	char	*key;
};

/* How the agent checks its worker. */
struct settings_probe {
	enum settings_probe_kind kind;
	char	*host;		/* NULL: the pod's loopback */
	int	 port;
	char	*path;		/* HTTP only, starts with '/' */
};

/* Healthy pods needed: a share of the version's pods or a count. */
struct settings_min_ready {
	bool	is_percent;
	int	value;
};

/*
 * Parsed settings of one pod template. Plain data: strings are owned by the
 * struct and released by settings_clear; NULL strings mean "not set".
 */
struct settings {
	char				*build_id;
	char				*temporal_address;
	char				*temporal_namespace;
	struct settings_secret_ref	 tls_secret;
	char				*tls_server_name;
	struct settings_secret_ref	 api_key_secret;
	enum settings_rollout		 rollout;
	struct settings_ramp_step	 steps[SETTINGS_MAX_STEPS];
	size_t				 nsteps;
	char				*gate_workflow;
	char				*gate_input;	/* JSON text */
	int64_t				 gate_timeout_ms;
	struct settings_min_ready	 min_ready;
	bool				 abort_on_unhealthy;
	int64_t				 scaledown_delay_ms;
	int64_t				 delete_delay_ms;
	int				 max_versions;
	struct settings_probe		 worker_probe;
	int64_t				 report_interval_ms;
	int				 agent_log_level;	/* enum log_level */
	char				*agent_image;
	char				*agent_cpu;
	char				*agent_memory;
};

/* One key/value pair of an annotation or label set. */
struct settings_kv {
	const char	*key;
	const char	*value;
};

/* One rejected annotation: names it, the bad value and what is expected. */
struct settings_error {
	char	*key;
	char	*value;		/* NULL when the error is not about one value */
	char	*message;	/* full sentence, names key, value and expectation */
};

/* Every error of one parse. */
struct settings_errors {
	struct settings_error	*v;
	size_t			 n;
};

/* Fill s with every default. Call settings_clear when done. */
void settings_defaults(struct settings *s);
/* Release what s owns and zero it. */
void settings_clear(struct settings *s);
/* Deep-copy src into dst (dst need not be initialised). */
void settings_copy(struct settings *dst, const struct settings *src);
/*
 * Parse the twa.dev/ annotations among kv[0..n) into out. Keys outside the
 * twa.dev/ prefix are ignored. A missing annotation takes its default; an
 * invalid one keeps its value from prev (or the default when prev is NULL)
 * and is reported in errs. Returns the number of errors (0: all valid).
 * out is always fully initialised; release it with settings_clear and errs
 * with settings_errors_free.
 */
size_t settings_parse(const struct settings *prev, const struct settings_kv *kv,
    size_t n, struct settings *out, struct settings_errors *errs);
/* Release an error list. */
void settings_errors_free(struct settings_errors *errs);
/* Join all messages with "; ". Caller frees. */
char *settings_errors_join(const struct settings_errors *errs);
/* Validate a twa.dev/deployment label value. 0, or -1 and an allocated cause. */
int settings_check_deployment_label(const char *value, char **cause);
/* Whether two settings are equal in every field. */
bool settings_equal(const struct settings *a, const struct settings *b);
/* Name of a rollout strategy ("Progressive"). */
const char *settings_rollout_name(enum settings_rollout r);
/* Print the reference table of every label and annotation. */
void settings_print_reference(FILE *f);
/* Number of annotations in the table. */
size_t settings_count(void);
/* Name of table entry i ("twa.dev/rollout"), or NULL past the end. */
const char *settings_name(size_t i);
/* Default value text of table entry i, or NULL when it has none. */
const char *settings_default_text(size_t i);

#endif
