/* kernel/hf_download.h — fetching a model repository's files from the Hugging
 * Face Hub into the Hugging Face cache, the layout lens_model_resolve reads.
 *
 * Owns: the HTTP side (libcurl): the file's metadata from a HEAD request as
 * huggingface_hub reads it (X-Repo-Commit; X-Linked-Etag, the sha256 of an
 * LFS file, else ETag, the git blob sha1; X-Linked-Size or Content-Length),
 * the download, its checksum, and the cache entries: blobs/ETAG,
 * snapshots/COMMIT/FILE (a relative symlink to the blob) and refs/REVISION.
 * Does not own which models exist or their names (cmd_download.c).
 *
 * Nothing unverified is ever where a loader reads: a download goes to
 * blobs/ETAG.incomplete and is renamed to blobs/ETAG only when its size and
 * checksum match; the snapshot links are made only once every file of the
 * model is verified. The endpoint is $HF_ENDPOINT (default
 * https://huggingface.co), the cache lens_hf_hub_dir() ($HF_HUB_CACHE,
 * $HF_HOME/hub, ~/.cache/huggingface/hub); $HF_TOKEN, when set, is sent as a
 * bearer token. */
#ifndef LENS_HF_DOWNLOAD_H
#define LENS_HF_DOWNLOAD_H

#include <stddef.h>

#include "lens/error.h"

/* Downloads files[0..n-1] of repo_id ("openai-community/gpt2") at revision
 * ("main") and writes the snapshot folder holding them into snapshot
 * (size bytes). Progress lines go to stderr. 0 on success; -1 with err set
 * (and nothing new visible in snapshots/) on failure. */
int hf_download(const char *repo_id, const char *revision, const char *const *files, int n,
                char *snapshot, size_t size, lens_error *err);

#endif
