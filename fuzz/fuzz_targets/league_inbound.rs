//! Feeds arbitrary bytes to the league's request reader
//! (`Inbound::parse`: JSON, JSON-RPC 2.0, the league.v2 envelope): it
//! answers a request or a rejection, never panics, and a rejection's id is
//! one a JSON-RPC reply may carry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use league_v2::protocol::jsonrpc::Inbound;

fuzz_target!(|data: &[u8]| {
    match Inbound::parse(data) {
        Ok(_) => {}
        Err(rejection) => {
            assert!(
                rejection.id.is_null() || rejection.id.is_number() || rejection.id.is_string(),
                "id {:?}",
                rejection.id
            );
            let _ = rejection.error.to_string();
        }
    }
});
