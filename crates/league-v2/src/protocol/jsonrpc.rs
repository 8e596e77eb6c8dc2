//! JSON-RPC 2.0 framing: parsing what arrives on `/mcp` (strictly), building
//! what we send (always with an `id`, since some public players reject
//! requests without one), and reading peers' replies (liberally).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::envelope::{Envelope, Sender};
use super::messages::{types, ErrorBody, RetryInfo};
use crate::error::{ErrorCode, ProtocolError};

/// A validated incoming request: JSON-RPC framing plus a valid envelope.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The JSON-RPC id (`null` when absent).
    pub id: Value,
    /// The JSON-RPC method.
    pub method: String,
    /// The envelope fields.
    pub envelope: Envelope,
    /// The parsed sender address.
    pub sender: Sender,
    /// The whole `params` object (envelope and body).
    pub params: Value,
}

/// Why a request was refused, with the id to answer under.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The request's id, or `null` when it could not be read.
    pub id: Value,
    /// The error.
    pub error: ProtocolError,
}

impl Inbound {
    /// Parses and validates a request body: JSON, a JSON-RPC 2.0 request
    /// object with `method` and object `params`, an id (number, string or
    /// absent), and a valid envelope in `params`.
    pub fn parse(bytes: &[u8]) -> Result<Inbound, Box<Rejection>> {
        let reject = |id: &Value, code, msg: String| {
            Box::new(Rejection {
                id: id.clone(),
                error: ProtocolError::new(code, msg),
            })
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| {
            reject(
                &Value::Null,
                ErrorCode::E016,
                format!("body is not JSON: {e}"),
            )
        })?;
        let Value::Object(mut obj) = v else {
            return Err(reject(
                &Value::Null,
                ErrorCode::E016,
                "body is not a JSON object".into(),
            ));
        };
        let id = obj.remove("id").unwrap_or(Value::Null);
        if !matches!(id, Value::Null | Value::Number(_) | Value::String(_)) {
            return Err(reject(
                &Value::Null,
                ErrorCode::E004,
                "id must be a number or a string".into(),
            ));
        }
        match obj.get("jsonrpc") {
            Some(Value::String(s)) if s == "2.0" => {}
            None => {
                return Err(reject(
                    &id,
                    ErrorCode::E003,
                    "missing field `jsonrpc`".into(),
                ))
            }
            Some(_) => {
                return Err(reject(
                    &id,
                    ErrorCode::E004,
                    "jsonrpc must be \"2.0\"".into(),
                ))
            }
        }
        let method = match obj.remove("method") {
            Some(Value::String(m)) => m,
            None => {
                return Err(reject(
                    &id,
                    ErrorCode::E003,
                    "missing field `method`".into(),
                ))
            }
            Some(_) => {
                return Err(reject(
                    &id,
                    ErrorCode::E004,
                    "method must be a string".into(),
                ))
            }
        };
        let params = match obj.remove("params") {
            Some(p @ Value::Object(_)) => p,
            None => {
                return Err(reject(
                    &id,
                    ErrorCode::E003,
                    "missing field `params`".into(),
                ))
            }
            Some(_) => {
                return Err(reject(
                    &id,
                    ErrorCode::E004,
                    "params must be an object".into(),
                ))
            }
        };
        let envelope = Envelope::deserialize_from(&params).map_err(|error| {
            Box::new(Rejection {
                id: id.clone(),
                error,
            })
        })?;
        let sender = envelope.validate().map_err(|error| {
            Box::new(Rejection {
                id: id.clone(),
                error,
            })
        })?;
        Ok(Inbound {
            id,
            method,
            envelope,
            sender,
            params,
        })
    }

    /// The message body as `T` (unknown fields ignored; missing ones `E003`,
    /// mistyped ones `E004`).
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ProtocolError> {
        T::deserialize(&self.params)
            .map_err(|e| ProtocolError::from_serde(&self.envelope.message_type, &e))
            .map_err(|e| e.for_player(self.sender.id.clone()))
    }
}

impl Envelope {
    /// Reads the envelope fields of a `params` object.
    pub fn deserialize_from(params: &Value) -> Result<Envelope, ProtocolError> {
        use serde::Deserialize;
        Envelope::deserialize(params).map_err(|e| ProtocolError::from_serde("envelope", &e))
    }
}

/// A message: the envelope's fields and the body's, in one object.
pub fn message<T: Serialize>(envelope: &Envelope, body: &T) -> Value {
    let mut map = match serde_json::to_value(envelope) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Ok(Value::Object(b)) = serde_json::to_value(body) {
        map.extend(b);
    }
    Value::Object(map)
}

/// A JSON-RPC request.
pub fn request(method: &str, id: u64, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "id": id, "params": params})
}

/// A JSON-RPC success answer.
pub fn success(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A JSON-RPC success answer whose message is also at the top level: the
/// shape every known league.v2 referee reads. JSON-RPC readers take
/// `result`; the best-known public referee never looks inside `result`
/// and reads a reply's fields (`accept`, `parity_choice`) from the top
/// level. Keys JSON-RPC gives a meaning to are never copied up.
pub fn success_flat(id: &Value, result: Value) -> Value {
    let mut reply = serde_json::Map::new();
    if let Value::Object(fields) = &result {
        for (k, v) in fields {
            if !matches!(
                k.as_str(),
                "jsonrpc" | "id" | "result" | "error" | "method" | "params"
            ) {
                reply.insert(k.clone(), v.clone());
            }
        }
    }
    reply.insert("jsonrpc".into(), json!("2.0"));
    reply.insert("id".into(), id.clone());
    reply.insert("result".into(), result);
    Value::Object(reply)
}

/// The `LEAGUE_ERROR` / `GAME_ERROR` message for `err`, sent by `from`.
pub fn error_message(err: &ProtocolError, from: &Sender, conversation_id: &str) -> Value {
    let message_type = if err.code.is_game_error() {
        types::GAME_ERROR
    } else {
        types::LEAGUE_ERROR
    };
    let body = ErrorBody {
        error_code: err.code.as_str().to_owned(),
        error_description: err.description.clone(),
        affected_player: err.affected_player.clone(),
        action_required: err.code.action_required().to_owned(),
        retry_info: RetryInfo {
            retryable: err.code.retryable(),
            retry_after_ms: (err.code == ErrorCode::E011).then_some(1000),
        },
        consequence: "the message was not processed".to_owned(),
    };
    message(
        &Envelope::new(message_type, from, conversation_id, None),
        &body,
    )
}

/// A JSON-RPC error answer whose `data` is the `LEAGUE_ERROR` / `GAME_ERROR`
/// message.
pub fn failure(id: &Value, err: &ProtocolError, from: &Sender, conversation_id: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": err.code.rpc_code(),
            "message": err.to_string(),
            "data": error_message(err, from, conversation_id),
        }
    })
}

/// What a peer's reply body turned out to be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplyError {
    /// A JSON-RPC error answer (with the league error code if it had one).
    #[error("peer answered error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
        /// The league.v2 error code from `data`, if any.
        league_code: Option<String>,
    },
    /// Not something we can read.
    #[error("unreadable reply: {0}")]
    Shape(String),
}

/// The message a reply carries, read liberally: a JSON-RPC `result`, or the
/// `params` of a reply shaped as a request (what the best-known public player
/// sends), or the top-level object itself when it has a `message_type`.
pub fn extract_reply(v: Value) -> Result<Value, ReplyError> {
    let Value::Object(mut obj) = v else {
        return Err(ReplyError::Shape("reply is not a JSON object".into()));
    };
    if let Some(err) = obj.remove("error") {
        if !err.is_null() {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            let league_code = err
                .pointer("/data/error_code")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Err(ReplyError::Rpc {
                code,
                message,
                league_code,
            });
        }
    }
    for key in ["result", "params"] {
        if let Some(inner) = obj.remove(key) {
            if inner.is_object() {
                return Ok(inner);
            }
        }
    }
    if obj.contains_key("message_type") || obj.contains_key("status") {
        return Ok(Value::Object(obj));
    }
    Err(ReplyError::Shape(
        "no result, params or message in reply".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_success_is_read_at_the_top_level_and_in_result_alike() {
        let msg = json!({"message_type": "CHOOSE_PARITY_RESPONSE", "parity_choice": "even",
                         "id": "not copied", "params": "not copied"});
        let reply = success_flat(&json!(7), msg.clone());
        // what the public referee reads: the top level
        assert_eq!(reply["parity_choice"], "even");
        assert_eq!(reply["message_type"], "CHOOSE_PARITY_RESPONSE");
        // JSON-RPC's own members keep their meaning
        assert_eq!(reply["id"], 7);
        assert_eq!(reply["jsonrpc"], "2.0");
        assert!(reply.get("params").is_none());
        // what JSON-RPC readers (ours) read: result
        assert_eq!(extract_reply(reply).unwrap(), msg);
    }
    use crate::protocol::messages::LeagueRegisterRequest;
    use crate::protocol::time::now_iso;

    fn req(params: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"jsonrpc":"2.0","method":"register_player","id":1,"params":params}),
        )
        .unwrap()
    }

    fn good_params() -> Value {
        json!({
            "protocol":"league.v2","message_type":"LEAGUE_REGISTER_REQUEST",
            "sender":"player:P01","timestamp":now_iso(),"conversation_id":"c1",
            "player_meta":{"display_name":"x","version":"1","game_types":["even_odd"],
                           "contact_endpoint":"http://localhost:8101/mcp"},
            "some_future_field": {"ignored": true}
        })
    }

    #[test]
    fn parses_valid_requests_and_tolerates_unknown_fields() {
        let inb = Inbound::parse(&req(good_params())).unwrap();
        assert_eq!(inb.sender, Sender::player("P01"));
        let body: LeagueRegisterRequest = inb.body().unwrap();
        assert_eq!(body.player_meta.game_types, vec!["even_odd"]);
    }

    #[test]
    fn rejects_bad_framing() {
        let code = |b: &[u8]| Inbound::parse(b).unwrap_err().error.code;
        assert_eq!(code(b"{not json"), ErrorCode::E016);
        assert_eq!(code(b"[1,2]"), ErrorCode::E016);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"params":{}}"#),
            ErrorCode::E003
        );
        assert_eq!(
            code(br#"{"jsonrpc":"1.0","method":"m","id":1,"params":{}}"#),
            ErrorCode::E004
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","method":"m","id":1,"params":[]}"#),
            ErrorCode::E004
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","method":"m","id":{},"params":{}}"#),
            ErrorCode::E004
        );
    }

    #[test]
    fn rejects_missing_and_mistyped_fields() {
        let mut p = good_params();
        p.as_object_mut().unwrap().remove("sender");
        assert_eq!(
            Inbound::parse(&req(p)).unwrap_err().error.code,
            ErrorCode::E003
        );

        let mut p = good_params();
        p["timestamp"] = json!(12);
        assert_eq!(
            Inbound::parse(&req(p)).unwrap_err().error.code,
            ErrorCode::E004
        );

        let mut p = good_params();
        p["player_meta"]["game_types"] = json!("even_odd");
        let inb = Inbound::parse(&req(p)).unwrap();
        let err = inb.body::<LeagueRegisterRequest>().unwrap_err();
        assert_eq!(err.code, ErrorCode::E004);
        assert_eq!(err.affected_player.as_deref(), Some("P01"));

        let mut p = good_params();
        p["player_meta"]
            .as_object_mut()
            .unwrap()
            .remove("contact_endpoint");
        let inb = Inbound::parse(&req(p)).unwrap();
        assert_eq!(
            inb.body::<LeagueRegisterRequest>().unwrap_err().code,
            ErrorCode::E003
        );
    }

    #[test]
    fn replies_are_read_liberally() {
        let as_result = json!({"jsonrpc":"2.0","id":1,"result":{"parity_choice":"even"}});
        let as_request = json!({"jsonrpc":"2.0","id":"x","method":"choose_parity_response",
                                "params":{"parity_choice":"odd"}});
        let bare = json!({"message_type":"CHOOSE_PARITY_RESPONSE","parity_choice":"odd"});
        assert_eq!(extract_reply(as_result).unwrap()["parity_choice"], "even");
        assert_eq!(extract_reply(as_request).unwrap()["parity_choice"], "odd");
        assert_eq!(extract_reply(bare).unwrap()["parity_choice"], "odd");
        let err = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"no",
                         "data":{"error_code":"E012"}}});
        match extract_reply(err) {
            Err(ReplyError::Rpc { league_code, .. }) => {
                assert_eq!(league_code.as_deref(), Some("E012"))
            }
            other => panic!("{other:?}"),
        }
        assert!(extract_reply(json!([1])).is_err());
        assert!(extract_reply(json!({"id":1})).is_err());
    }

    #[test]
    fn failures_carry_a_league_error() {
        let err = ProtocolError::new(ErrorCode::E012, "bad token").for_player("P01");
        let v = failure(&json!(7), &err, &Sender::manager("L1"), "c");
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], -32001);
        assert_eq!(v["error"]["data"]["message_type"], "LEAGUE_ERROR");
        assert_eq!(v["error"]["data"]["error_code"], "E012");
        assert_eq!(v["error"]["data"]["affected_player"], "P01");
        let game = ProtocolError::new(ErrorCode::E015, "illegal");
        let v = failure(&json!(1), &game, &Sender::referee("R"), "c");
        assert_eq!(v["error"]["data"]["message_type"], "GAME_ERROR");
    }
}
