/* harness/lanes/goclaims.h - the `maplab goclaims` subcommand: the Go claim
 * experiments (harness/lanes/goclaims/, built by `make go`) as runs of
 * fresh processes, written to <folder>/goclaims.json for the report
 * (harness/report/report_go.c). */
#ifndef MAPLAB_GOCLAIMS_H
#define MAPLAB_GOCLAIMS_H

#include <stdbool.h>

int goclaims_main(int argc, char **argv);

/* Wilson score interval (95 %: z = 1.96) of k successes in n; n > 0. */
void goclaims_wilson(unsigned k, unsigned n, double *lo, double *hi);

/* How a claims process ended (pure: tests call it): "died" (exit 2 after
 * a `fatal error: ` line), "survived" (exit 0 and a {"survived":true}
 * line), else "error". */
const char *goclaims_end(bool exited, int status, bool fatal_line,
			 bool survived_line);

#endif
