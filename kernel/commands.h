/* kernel/commands.h — the subcommands of the `lens` program, one function each.
 * main.c dispatches argv[1] to these; each returns the process exit status. */
#ifndef LENS_COMMANDS_H
#define LENS_COMMANDS_H

int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_random_model(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_docs(int argc, char **argv);
int cmd_download(int argc, char **argv);

#endif
