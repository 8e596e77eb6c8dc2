//! The decoded dungeon as one JSON object: what `pmd-agent inspect --json`
//! prints and what a remote league player is sent each turn (one function,
//! so the two can never drift apart).

use serde::Serialize;
use serde_json::{json, Value};

use super::ram_map::{MAP_HEIGHT, MAP_WIDTH};
use super::{DungeonState, Monster};

#[derive(Serialize)]
struct LeaderJson {
    species: i16,
    level: u8,
    hp: i16,
    max_hp: i16,
    belly: i16,
    x: u8,
    y: u8,
}

impl From<&Monster> for LeaderJson {
    fn from(m: &Monster) -> Self {
        LeaderJson {
            species: m.species,
            level: m.level,
            hp: m.hp,
            max_hp: m.max_hp,
            belly: m.belly,
            x: m.x,
            y: m.y,
        }
    }
}

/// The JSON object for a decoded state, or for "not in a dungeon" (`None`):
///
/// `{"in_dungeon":bool,"dungeon_id":..,"floor":..,"turn_ready":bool,`
/// `"leader":{"species":..,"level":..,"hp":..,"max_hp":..,"belly":..,"x":..,"y":..},`
/// `"team":[..],"monsters":[..],"items":[..],"traps":[..],"stairs":{"x":..,"y":..}|null,`
/// `"map":{"width":56,"height":32,"rows":[".."]}}` — monsters, items and
/// traps are the ones the player is shown; the map rows are
/// [`DungeonState::ascii_rows`].
pub fn state_json(state: Option<&DungeonState>) -> Value {
    let Some(s) = state else {
        return json!({
            "in_dungeon": false, "dungeon_id": null, "floor": null, "turn_ready": false,
            "leader": null, "team": [], "monsters": [], "items": [], "traps": [],
            "stairs": null, "map": null,
        });
    };
    let monster = |m: &Monster| {
        json!({"species": m.species, "level": m.level, "hp": m.hp, "max_hp": m.max_hp,
               "x": m.x, "y": m.y, "facing": m.facing})
    };
    json!({
        "in_dungeon": true,
        "dungeon_id": s.dungeon_id,
        "floor": s.floor,
        "turn_ready": s.turn_ready,
        "leader": s.leader().map(LeaderJson::from),
        "team": s.team().iter().map(|m| json!({
            "species": m.species, "level": m.level, "hp": m.hp, "max_hp": m.max_hp,
            "belly": m.belly, "x": m.x, "y": m.y, "leader": m.is_leader,
        })).collect::<Vec<_>>(),
        "monsters": s.visible_wild().map(monster).collect::<Vec<_>>(),
        "items": s.items().iter().filter(|o| o.visible).map(|o| json!({
            "id": o.id, "quantity": o.quantity, "x": o.x, "y": o.y,
        })).collect::<Vec<_>>(),
        "traps": s.traps().iter().filter(|o| o.visible).map(|o| json!({"x": o.x, "y": o.y}))
            .collect::<Vec<_>>(),
        "stairs": s.stairs().map(|(x, y)| json!({"x": x, "y": y})),
        "map": {"width": MAP_WIDTH, "height": MAP_HEIGHT, "rows": s.ascii_rows()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_dungeon_every_key_is_there() {
        let v = state_json(None);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "in_dungeon",
                "dungeon_id",
                "floor",
                "turn_ready",
                "leader",
                "team",
                "monsters",
                "items",
                "traps",
                "stairs",
                "map"
            ]
        );
        assert_eq!(v["in_dungeon"], false);
    }
}
