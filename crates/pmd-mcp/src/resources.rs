//! The server's resources (the RAM map, the action table) and its prompt
//! (how to play a floor).

use pmd_game::env::Action;
use pmd_game::ram_map::{addr, dungeon};

/// `pmd://ram-map`.
pub(crate) const RAM_MAP_URI: &str = "pmd://ram-map";
/// `pmd://actions`.
pub(crate) const ACTIONS_URI: &str = "pmd://actions";

/// The RAM map `read_memory` reads through, as the decoder uses it
/// (PMD Red US; the test cartridge keeps its dungeon in the same layout).
pub(crate) fn ram_map() -> String {
    let fixed = [
        (
            "gDungeon",
            addr::G_DUNGEON,
            "pointer to the Dungeon struct (NULL outside a dungeon)",
        ),
        (
            "gLeaderPointer",
            addr::G_LEADER_POINTER,
            "the leader's Entity",
        ),
        (
            "gDungeonRngState",
            addr::G_DUNGEON_RNG_STATE,
            "the dungeon RNG's state (u32)",
        ),
        (
            "gLeaderPosition",
            addr::G_LEADER_POSITION,
            "s16 x, s16 y of the leader",
        ),
        (
            "gDungeonFramesCounter",
            addr::G_DUNGEON_FRAMES_COUNTER,
            "frames in the dungeon",
        ),
        (
            "gTeamInventory",
            addr::G_TEAM_INVENTORY,
            "20 items of 4 bytes; money at +0x260",
        ),
        ("gCurrentMap", addr::G_CURRENT_MAP, "s16 overworld map id"),
    ];
    let fields = [
        (
            "noActionInProgress",
            dungeon::TURN_READY,
            "non-zero when the game takes the next input",
        ),
        ("startFloorId", dungeon::START_FLOOR, "the first floor"),
        ("dungeon id", dungeon::DUNGEON_ID, "u8"),
        ("floor", dungeon::FLOOR, "u8"),
        ("team[4]", dungeon::TEAM_INFO, "EntityInfo of the team"),
        (
            "wild[16]",
            dungeon::WILD_INFO,
            "EntityInfo of the wild monsters",
        ),
        ("items[64]", dungeon::FLOOR_ITEMS, "items on the floor"),
        ("item count", dungeon::FLOOR_ITEM_COUNT, "u8"),
        ("tiles[32][56]", dungeon::TILES, "row-major (y, x)"),
    ];
    let mut out = String::from(
        "# PMD Red RAM map (as pmd-agent's decoder reads it)\n\n\
         EWRAM is 0x02000000-0x0203FFFF, IWRAM 0x03000000-0x03007FFF; `read_memory` reads either.\n\n\
         ## Fixed EWRAM symbols\n\n| symbol | address | what |\n|---|---|---|\n",
    );
    for (name, a, what) in fixed {
        out.push_str(&format!("| `{name}` | `0x{a:08X}` | {what} |\n"));
    }
    out.push_str(&format!(
        "\n## The Dungeon struct (at *gDungeon, 0x{:X} bytes)\n\n| field | offset | what |\n|---|---|---|\n",
        dungeon::SIZE
    ));
    for (name, o, what) in fields {
        out.push_str(&format!("| {name} | `+0x{o:X}` | {what} |\n"));
    }
    out
}

/// The action table `act` takes.
pub(crate) fn actions() -> String {
    let mut out = String::from(
        "# Actions (`act` takes the name or the index)\n\n| index | name |\n|---|---|\n",
    );
    for a in Action::all() {
        out.push_str(&format!("| {} | `{}` |\n", a.index(), a.name()));
    }
    out.push_str(
        "\nMoves and attacks take a direction: up, up_right, right, down_right, down, down_left, \
         left, up_left. `take_stairs` is legal on the stairs; `use_item` eats or uses the best item \
         for the moment. An illegal action is pressed anyway and the game ignores it (no turn passes).\n",
    );
    out
}

/// The prompt `play_floor`: how to play one floor through the tools.
pub(crate) const PLAY_FLOOR: &str = "You are playing Pokémon Mystery Dungeon through the pmd-agent MCP tools. \
Goal: go as deep as you can; each floor descended is +1 reward, fainting is -1.\n\n\
1. Call session_new (or use your session) and read the observation: `view` is a 15x15 map around you \
(`@`), read with `legend`; `legal_actions` lists what you may do now.\n\
2. If the stairs (`>`) are in view, walk to them (move_<direction>; up is north) and take_stairs.\n\
3. Otherwise explore toward unseen (blank) parts of the map; pick up items (`*`) on the way.\n\
4. A wild monster (`m`) next to you: attack_<direction> it, or walk away if your HP is low; use_item heals \
when your HP is low.\n\
5. Before a risky choice, branch_save; if it goes badly, branch_restore. lookahead tries several action \
sequences from here without moving you and reports each one's reward, HP and floor.\n\
6. When `episode_over` is true, call reset.";
