/* harness/bench/bench.h - the `maplab bench` subcommand. */
#ifndef MAPLAB_BENCH_H
#define MAPLAB_BENCH_H

int bench_main(int argc, char **argv);

#endif
