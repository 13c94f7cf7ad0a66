/* harness/report.h - the `maplab report` subcommand. */
#ifndef MAPLAB_REPORT_H
#define MAPLAB_REPORT_H

int report_main(int argc, char **argv);

#endif
