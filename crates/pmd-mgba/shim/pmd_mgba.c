/* See pmd_mgba.h. mgba/flags.h must come before any other mGBA header: it
 * sets the build options that change the layout of struct mCore. */
#include <mgba/flags.h>

#include <mgba/core/core.h>
#include <mgba/core/log.h>
#include <mgba/core/serialize.h>
#include <mgba/gba/core.h>
#include <mgba/internal/gba/gba.h>
#include <mgba/internal/gba/memory.h>
#include <mgba/internal/gba/serialize.h>
#include <mgba/internal/gba/video.h>
#include <mgba-util/memory.h>
#include <mgba-util/vfs.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd_mgba.h"

struct pmd_core {
    struct mCore *core;
};

/* Read by every emulator thread while the host may update them: accessed
 * only through atomic builtins. */
static pmd_log_sink g_sink;
static int g_level_mask;

static void pmd_log(struct mLogger *logger, int category, enum mLogLevel level,
                    const char *format, va_list args) {
    (void)logger;
    pmd_log_sink sink = __atomic_load_n(&g_sink, __ATOMIC_ACQUIRE);
    if (!sink || !(__atomic_load_n(&g_level_mask, __ATOMIC_RELAXED) & (int)level)) {
        return;
    }
    char message[512];
    vsnprintf(message, sizeof(message), format, args);
    const char *name = mLogCategoryId(category);
    sink((int)level, name ? name : "mgba", message);
}

static struct mLogger g_logger = {.log = pmd_log, .filter = NULL};

void pmd_log_install(pmd_log_sink sink) {
    __atomic_store_n(&g_sink, sink, __ATOMIC_RELEASE);
    mLogSetDefaultLogger(&g_logger);
}

void pmd_log_set_mask(int level_mask) {
    __atomic_store_n(&g_level_mask, level_mask, __ATOMIC_RELAXED);
}

pmd_core *pmd_core_new(const uint8_t *rom, size_t rom_len, uint32_t *framebuffer) {
    pmd_core *handle = calloc(1, sizeof(*handle));
    if (!handle) {
        return NULL;
    }
    struct mCore *core = GBACoreCreate();
    if (!core) {
        free(handle);
        return NULL;
    }
    if (!core->init(core)) {
        free(core);
        free(handle);
        return NULL;
    }
    mCoreInitConfig(core, NULL);
    /* No BIOS file is looked up on disk: mGBA's built-in BIOS is used and
     * the boot animation skipped, so a run depends on nothing but the ROM. */
    core->opts.useBios = false;
    core->opts.skipBios = true;

    struct VFile *vf = VFileFromConstMemory(rom, rom_len);
    /* Once handed to loadROM the VFile belongs to the core (GBALoadROM
     * keeps it even when it fails), so it is never closed here. */
    if (!vf || !core->loadROM(core, vf)) {
        mCoreConfigDeinit(&core->config);
        core->deinit(core);
        free(handle);
        return NULL;
    }
    core->setVideoBuffer(core, (color_t *)framebuffer, GBA_VIDEO_HORIZONTAL_PIXELS);
    core->reset(core);
    /* mGBA copies a ROM smaller than the cartridge space into memory of its
     * own, but maps a full-size (32 MiB) one straight from the caller's
     * buffer, and a cartridge with GPIO hardware (a clock, a sensor, which
     * the reset above just set up from mGBA's game table) writes its port
     * registers into the ROM bytes at 0xC4..0xC9. The caller's bytes are
     * shared by every core and thread and must never be written: such a
     * core gets a private copy of the ROM. A shared mapping stays where
     * mGBA has no GPIO device to write through. */
    struct GBA *gba = core->board;
    if ((const uint8_t *)gba->memory.rom == rom &&
        (gba->memory.hw.devices & ~HW_NO_OVERRIDE) != HW_NONE) {
        struct VFile *copy = VFileMemChunk(rom, rom_len);
        core->unloadROM(core);
        if (!copy || !core->loadROM(core, copy)) {
            mCoreConfigDeinit(&core->config);
            core->deinit(core);
            free(handle);
            return NULL;
        }
        core->reset(core);
        if ((const uint8_t *)gba->memory.rom == rom) {
            /* Still the caller's bytes: refuse rather than share them. */
            mCoreConfigDeinit(&core->config);
            core->deinit(core);
            free(handle);
            return NULL;
        }
    }
    handle->core = core;
    return handle;
}

void pmd_core_free(pmd_core *handle) {
    if (!handle) {
        return;
    }
    mCoreConfigDeinit(&handle->core->config);
    handle->core->deinit(handle->core);
    free(handle);
}

void pmd_core_reset(pmd_core *handle) {
    handle->core->reset(handle->core);
}

void pmd_core_run_frame(pmd_core *handle, int render) {
    struct GBA *gba = handle->core->board;
    /* The video unit draws scanlines and finishes the frame only while
     * frameskipCounter <= 0; it counts down at the end of each frame, so
     * setting it before every frame chooses rendering frame by frame. */
    gba->video.frameskip = 0;
    gba->video.frameskipCounter = render ? 0 : 1;
    handle->core->runFrame(handle->core);
}

void pmd_core_set_keys(pmd_core *handle, uint32_t keys) {
    handle->core->setKeys(handle->core, keys);
}

uint32_t pmd_core_frame_counter(const pmd_core *handle) {
    return handle->core->frameCounter(handle->core);
}

uint8_t *pmd_core_memory(pmd_core *handle, int region, size_t *size) {
    size_t id;
    switch (region) {
    case 0:
        id = REGION_WORKING_RAM;
        break;
    case 1:
        id = REGION_WORKING_IRAM;
        break;
    default:
        *size = 0;
        return NULL;
    }
    size_t out = 0;
    void *block = handle->core->getMemoryBlock(handle->core, id, &out);
    *size = block ? out : 0;
    return block;
}

size_t pmd_core_state_size(pmd_core *handle) {
    return handle->core->stateSize(handle->core);
}

int pmd_core_save_state(pmd_core *handle, uint8_t *out, size_t len) {
    if (len != handle->core->stateSize(handle->core)) {
        return 0;
    }
    return handle->core->saveState(handle->core, out) ? 1 : 0;
}

int pmd_core_load_state(pmd_core *handle, const uint8_t *state, size_t len) {
    if (len != handle->core->stateSize(handle->core)) {
        return 0;
    }
    return handle->core->loadState(handle->core, state) ? 1 : 0;
}

int pmd_core_load_state_file(pmd_core *handle, const uint8_t *bytes, size_t len) {
    struct VFile *vf = VFileFromConstMemory(bytes, len);
    if (!vf) {
        return 0;
    }
    bool ok = mCoreLoadStateNamed(handle->core, vf, SAVESTATE_RTC);
    vf->close(vf);
    return ok ? 1 : 0;
}

size_t pmd_core_export_state_file(pmd_core *handle, uint8_t **out) {
    *out = NULL;
    struct VFile *vf = VFileMemChunk(NULL, 0);
    if (!vf) {
        return 0;
    }
    size_t len = 0;
    if (mCoreSaveStateNamed(handle->core, vf, SAVESTATE_SCREENSHOT | SAVESTATE_RTC)) {
        ssize_t size = vf->size(vf);
        uint8_t *buffer = size > 0 ? malloc((size_t)size) : NULL;
        if (buffer) {
            vf->seek(vf, 0, SEEK_SET);
            if (vf->read(vf, buffer, (size_t)size) == size) {
                *out = buffer;
                len = (size_t)size;
            } else {
                free(buffer);
            }
        }
    }
    vf->close(vf);
    return len;
}

int pmd_core_check_state_file(pmd_core *handle, const uint8_t *bytes, size_t len,
                              uint32_t *state_crc32) {
    struct mCore *core = handle->core;
    struct VFile *vf = VFileFromConstMemory(bytes, len);
    if (!vf) {
        return 1;
    }
    struct mStateExtdata extdata;
    mStateExtdataInit(&extdata);
    struct GBASerializedState *state = mCoreExtractState(core, vf, &extdata);
    mStateExtdataDeinit(&extdata);
    vf->close(vf);
    if (!state) {
        return 1;
    }
    const struct GBA *gba = core->board;
    int result = 0;
    const struct GBACartridge *cart = (const struct GBACartridge *)gba->memory.rom;
    /* mGBA reads its own older formats, not newer ones. */
    if (state->versionMagic < GBASavestateMagic ||
        state->versionMagic > GBASavestateMagic + GBASavestateVersion) {
        result = 2;
    } else if (!cart || memcmp(state->title, cart->title, sizeof(state->title)) != 0 ||
               state->id != cart->id) {
        result = 3;
    } else if (state->romCrc32 != gba->romCrc32) {
        *state_crc32 = state->romCrc32;
        result = 4;
    }
    mappedMemoryFree(state, core->stateSize(core));
    return result;
}

int pmd_core_load_battery(pmd_core *handle, const uint8_t *bytes, size_t len) {
    struct VFile *vf = VFileMemChunk(bytes, len);
    if (!vf) {
        return 0;
    }
    /* The core owns the VFile from here on, as with the ROM. */
    if (!handle->core->loadSave(handle->core, vf)) {
        return 0;
    }
    handle->core->reset(handle->core);
    return 1;
}

void pmd_free(void *ptr) {
    free(ptr);
}

struct mCore *pmd_core_mcore(pmd_core *handle) {
    return handle ? handle->core : NULL;
}
