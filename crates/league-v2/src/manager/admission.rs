//! What a registration must satisfy before the manager stores it: a
//! printable display name, and a contact endpoint the registering peer may
//! name.
//!
//! **Endpoints and the peer.** The manager calls every registered endpoint
//! (invitations, moves, announcements), so an endpoint is a request the
//! manager will make on the registrant's behalf. Bound to a public address,
//! a manager that took any endpoint would let anyone on the network make it
//! post to its own loopback services (server-side request forgery). An
//! endpoint is therefore accepted only when its host is the address the
//! registration came from (any loopback address counts as the same machine
//! for a loopback peer), or when its host is on the operator's allow-list
//! (`ManagerConfig::endpoint_allow`, `league serve --allow-endpoint`), e.g.
//! for players behind a proxy. Host names other than `localhost` cannot be
//! checked against the peer without trusting DNS, so they need the list.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::error::{ErrorCode, ProtocolError};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// A display name is 1 to 64 characters after trimming, none of them a
/// control character (it ends up in logs, reports and other players'
/// terminals).
pub fn check_display_name(name: &str) -> Result<(), ProtocolError> {
    let n = name.trim().chars().count();
    if n == 0 || n > MAX_DISPLAY_NAME_CHARS {
        return Err(ProtocolError::new(
            ErrorCode::E004,
            format!("display_name must have 1 to {MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(ProtocolError::new(
            ErrorCode::E004,
            format!("display_name must not contain control characters (found {c:?})"),
        ));
    }
    Ok(())
}

/// Checks that the peer at `peer` may register `endpoint` (already
/// normalized: `localhost` written `127.0.0.1`); `allow` lists hosts (IP
/// addresses or names, as written in URLs) any peer may register.
pub fn check_endpoint_peer(
    endpoint: &str,
    peer: Option<SocketAddr>,
    allow: &[String],
) -> Result<(), String> {
    let url = Url::parse(endpoint).map_err(|e| format!("{endpoint:?}: {e}"))?;
    let host = url.host().ok_or_else(|| format!("{endpoint:?}: no host"))?;
    let shown = host.to_string();
    if allow.iter().any(|a| a.eq_ignore_ascii_case(&shown)) {
        return Ok(());
    }
    let ip = match host {
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
        Host::Domain(d) => {
            return Err(format!(
                "{endpoint:?}: host name {d:?} is not on the allow-list (register an IP address, \
                 or the operator allows it with --allow-endpoint)"
            ))
        }
    };
    let Some(peer) = peer else {
        return Err(format!(
            "{endpoint:?}: the registering peer's address is unknown, and {shown} is not on the allow-list"
        ));
    };
    let peer_ip = peer.ip().to_canonical();
    let ip = ip.to_canonical();
    if ip == peer_ip || (ip.is_loopback() && peer_ip.is_loopback()) {
        return Ok(());
    }
    Err(format!(
        "{endpoint:?}: host {ip} is not the registering peer's address {peer_ip} \
         (the operator can allow it with --allow-endpoint)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn endpoints_must_be_the_peers_own_address() {
        let none: &[String] = &[];
        // a loopback peer names any loopback address (same machine)
        assert!(
            check_endpoint_peer("http://127.0.0.1:8101/mcp", peer("127.0.0.1:5000"), none).is_ok()
        );
        assert!(
            check_endpoint_peer("http://127.0.0.2:8101/mcp", peer("127.0.0.1:5000"), none).is_ok()
        );
        assert!(check_endpoint_peer("http://[::1]:8101/mcp", peer("127.0.0.1:5000"), none).is_ok());
        // a remote peer names itself, not the manager's loopback services
        assert!(
            check_endpoint_peer("http://10.0.0.5:8101/mcp", peer("10.0.0.5:40000"), none).is_ok()
        );
        assert!(check_endpoint_peer(
            "http://10.0.0.5:8101/mcp",
            peer("[::ffff:10.0.0.5]:40000"),
            none
        )
        .is_ok());
        let e = check_endpoint_peer("http://127.0.0.1:6379/mcp", peer("10.0.0.5:40000"), none)
            .unwrap_err();
        assert!(
            e.contains("not the registering peer's address 10.0.0.5"),
            "{e}"
        );
        assert!(
            check_endpoint_peer("http://10.0.0.6:8101/mcp", peer("10.0.0.5:40000"), none).is_err()
        );
        assert!(
            check_endpoint_peer("http://10.0.0.6:8101/mcp", peer("127.0.0.1:1"), none).is_err()
        );
        // names need the list; an unknown peer needs the list
        assert!(
            check_endpoint_peer("http://players.example/mcp", peer("10.0.0.5:1"), none).is_err()
        );
        assert!(check_endpoint_peer("http://127.0.0.1:1/mcp", None, none).is_err());
        let allow = vec!["players.example".to_owned(), "10.0.0.9".to_owned()];
        assert!(
            check_endpoint_peer("http://players.example/mcp", peer("10.0.0.5:1"), &allow).is_ok()
        );
        assert!(check_endpoint_peer("http://10.0.0.9:1/mcp", peer("10.0.0.5:1"), &allow).is_ok());
        assert!(check_endpoint_peer("http://10.0.0.9:1/mcp", None, &allow).is_ok());
    }

    #[test]
    fn display_names_are_printable() {
        assert!(check_display_name("Alice").is_ok());
        assert!(check_display_name("  Bob  ").is_ok());
        assert!(check_display_name("Zoë 🐉").is_ok());
        for bad in [
            "",
            "   ",
            "a\nb",
            "a\u{1b}[31mred",
            "tab\there",
            "nul\0",
            "del\u{7f}",
            "c1\u{9b}",
        ] {
            let e = check_display_name(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::E004, "{bad:?}");
        }
        assert!(check_display_name(&"x".repeat(64)).is_ok());
        assert!(check_display_name(&"x".repeat(65)).is_err());
    }
}
