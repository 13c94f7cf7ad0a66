/* harness/lanes/tsan.h - the `maplab tsan` subcommand. */
#ifndef MAPLAB_TSAN_H
#define MAPLAB_TSAN_H

int tsan_main(int argc, char **argv);

#endif
