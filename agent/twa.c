/* twa: the Temporal Worker Agent, one binary with subcommands. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

/* One subcommand. */
struct twa_cmd {
	const char	*name;
	const char	*summary;
	int		(*run)(int, char **);
};

static const struct twa_cmd twa_cmds[] = {
	{ "agent", "run the sidecar: health report, election, rollout when leading",
	  cmd_agent },
	{ "version", "print the version and build options", cmd_version },
	{ "annotations", "print the reference of every twa label and annotation",
	  cmd_annotations },
	{ "build-id", "print the build ID of a Deployment, pod or container (JSON)",
	  cmd_build_id },
	{ "status", "print versions, routing, ramp step, pods and leader of a "
	  "worker deployment", cmd_status },
	{ "webhook", "serve the admission webhook (inject the agent, validate Deployments)",
	  cmd_webhook },
};

#define TWA_NCMDS (sizeof twa_cmds / sizeof twa_cmds[0])

/* Print the top-level usage. */
static void
twa_usage(FILE *f)
{
	fprintf(f, "usage: twa COMMAND [OPTIONS]\n\n"
	    "twa, the Temporal Worker Agent: versions Temporal workers on "
	    "Kubernetes.\n\ncommands:\n");
	for (size_t i = 0; i < TWA_NCMDS; i++)
		fprintf(f, "  %-12s %s\n", twa_cmds[i].name, twa_cmds[i].summary);
	fprintf(f, "\n`twa COMMAND --help` describes each command.\n");
}

/* Dispatch to the named subcommand. */
int
main(int argc, char **argv)
{
	log_init();
	if (argc < 2) {
		twa_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		twa_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < TWA_NCMDS; i++)
		if (strcmp(argv[1], twa_cmds[i].name) == 0)
			return twa_cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "twa: unknown command \"%.64s\"; expected one of:", argv[1]);
	for (size_t i = 0; i < TWA_NCMDS; i++)
		fprintf(stderr, " %s", twa_cmds[i].name);
	fprintf(stderr, "\n");
	return CMD_EXIT_USAGE;
}
