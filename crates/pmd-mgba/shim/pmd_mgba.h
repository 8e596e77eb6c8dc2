/* pmd_mgba: a flat C interface over mGBA's mCore for the Rust FFI layer.
 *
 * Only plain integers, byte pointers and one opaque handle cross this
 * boundary, so the Rust side never mirrors an mGBA struct: every struct
 * layout is read by the C compiler from mGBA's own installed headers. */
#ifndef PMD_MGBA_H
#define PMD_MGBA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An mGBA GBA core with its software renderer attached. */
typedef struct pmd_core pmd_core;

/* Receives mGBA's log messages; `level` is an mGBA mLogLevel bit. */
typedef void (*pmd_log_sink)(int level, const char *category, const char *message);

/* Installs the process-wide mGBA logger. Call once, before any core is
 * created (it sets mGBA's default logger, a plain global). A NULL sink drops
 * every message. */
void pmd_log_install(pmd_log_sink sink);
/* Messages whose level is not in `level_mask` are dropped before they are
 * formatted. Safe to call at any time from any thread. */
void pmd_log_set_mask(int level_mask);

/* Creates a core running `rom` (borrowed, must outlive the core, and never
 * written: a core whose cartridge has GPIO hardware, which writes port
 * registers into ROM, runs on a private copy), rendering into `framebuffer`
 * (240*160 pixels, 32-bit, borrowed, must outlive the core). Returns NULL
 * when mGBA rejects the ROM or cannot allocate. */
pmd_core *pmd_core_new(const uint8_t *rom, size_t rom_len, uint32_t *framebuffer);
void pmd_core_free(pmd_core *core);

void pmd_core_reset(pmd_core *core);
/* Runs until the next frame ends; the scanline renderer runs only when
 * `render` is non-zero. */
void pmd_core_run_frame(pmd_core *core, int render);
void pmd_core_set_keys(pmd_core *core, uint32_t keys);
uint32_t pmd_core_frame_counter(const pmd_core *core);

/* Live pointers into emulated memory: region 0 is EWRAM, 1 is IWRAM.
 * Writes the block size to *size. NULL for an unknown region. */
uint8_t *pmd_core_memory(pmd_core *core, int region, size_t *size);

size_t pmd_core_state_size(pmd_core *core);
/* Both return 1 on success, 0 on failure (wrong length, rejected state). */
int pmd_core_save_state(pmd_core *core, uint8_t *out, size_t len);
int pmd_core_load_state(pmd_core *core, const uint8_t *state, size_t len);

/* Loads a savestate file as mGBA's frontends write it (.ssN: a PNG with
 * the state in a chunk, or the raw state). Returns 1 on success, 0 when
 * mGBA rejects it (corrupt, or for another game). */
int pmd_core_load_state_file(pmd_core *core, const uint8_t *bytes, size_t len);
/* Writes a savestate file in mGBA's frontend format (PNG with the state
 * and a screenshot) into a malloc'd buffer at *out (free with pmd_free).
 * Returns its length, 0 on failure. */
size_t pmd_core_export_state_file(pmd_core *core, uint8_t **out);
/* Reads the header of a savestate file (as pmd_core_load_state_file takes
 * it) without loading it and compares it with the running ROM: returns 0
 * when it matches, 1 when no state can be extracted, 2 for another
 * save-state format version, 3 for another game (title or game code), 4
 * for another ROM image of the same game (its CRC-32 goes to
 * *state_crc32). */
int pmd_core_check_state_file(pmd_core *core, const uint8_t *bytes, size_t len,
                              uint32_t *state_crc32);
/* Installs a battery save (copied) and resets so the game boots with it.
 * Returns 1 on success. */
int pmd_core_load_battery(pmd_core *core, const uint8_t *bytes, size_t len);
void pmd_free(void *ptr);

/* The mGBA core inside a handle, for other C files of the shim (the
 * scripting host); never crosses into Rust. */
struct mCore;
struct mCore *pmd_core_mcore(pmd_core *core);

#ifdef __cplusplus
}
#endif

#endif
