/* random_model.c — `lens random-model` without the rest of the lens program, for
 * machines that build only the engine (tests/gpu/run.sh: no ZeroMQ there).
 * Same arguments: random_model --like gpt2-small [--tokenizer DIR] [--seed N] OUT_DIR */
#include "commands.h"

int main(int argc, char **argv)
{
    return cmd_random_model(argc, argv);
}
