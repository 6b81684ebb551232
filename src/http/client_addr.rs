//! The client's address: the socket peer, unless `[server] trusted_proxies = N`
//! says N proxies stand in front, each appending the address it saw to
//! `X-Forwarded-For`; then the N-th entry from the right is the client (DRF's
//! `NUM_PROXIES`). With fewer entries than N, the leftmost counts, as DRF does.
//! Without trusted proxies the header is never read: anyone can send one.
//!
//! An entry that is not an IP address (`ip`, `ip:port` or `[ipv6]:port`) is a
//! proxy misconfiguration or a forgery: the socket peer is used instead.

use std::net::{IpAddr, SocketAddr};

use hyper::header::HeaderMap;

const XFF: &str = "x-forwarded-for";

/// The client address of a request that arrived from `peer`.
pub fn resolve(headers: &HeaderMap, peer: Option<SocketAddr>, trusted_proxies: usize) -> Option<IpAddr> {
    let peer_ip = peer.map(|p| canonical(p.ip()));
    if trusted_proxies == 0 {
        return peer_ip;
    }
    // Several header lines form one comma-separated list, in order.
    let entries: Vec<&str> =
        headers.get_all(XFF).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    if entries.is_empty() {
        return peer_ip;
    }
    let entry = entries[entries.len() - trusted_proxies.min(entries.len())];
    match parse(entry) {
        Some(ip) => Some(canonical(ip)),
        None => {
            tracing::debug!("X-Forwarded-For entry is not an address; using the socket peer");
            peer_ip
        }
    }
}

fn parse(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse().ok()))
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, a dual-stack socket's view) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(XFF, v.parse().unwrap());
        }
        h
    }

    fn peer() -> Option<SocketAddr> {
        Some("10.0.0.2:5555".parse().unwrap())
    }

    #[test]
    fn the_header_counts_only_behind_trusted_proxies() {
        let h = headers(&["198.51.100.7, 203.0.113.1"]);
        assert_eq!(resolve(&h, peer(), 0), Some("10.0.0.2".parse().unwrap()), "not trusted: the peer");
        assert_eq!(resolve(&h, peer(), 1), Some("203.0.113.1".parse().unwrap()));
        assert_eq!(resolve(&h, peer(), 2), Some("198.51.100.7".parse().unwrap()));
        assert_eq!(resolve(&h, peer(), 5), Some("198.51.100.7".parse().unwrap()), "fewer entries: the leftmost");
        assert_eq!(resolve(&HeaderMap::new(), peer(), 1), Some("10.0.0.2".parse().unwrap()), "no header: the peer");
    }

    #[test]
    fn entries_in_every_form_and_garbage() {
        assert_eq!(resolve(&headers(&["a", "198.51.100.7:443"]), peer(), 1), Some("198.51.100.7".parse().unwrap()));
        assert_eq!(resolve(&headers(&["[2001:db8::1]:443"]), peer(), 1), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(resolve(&headers(&["[2001:db8::1]"]), peer(), 1), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(resolve(&headers(&["::ffff:192.0.2.1"]), peer(), 1), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(resolve(&headers(&["evil"]), peer(), 1), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(resolve(&headers(&["1.2.3.4"]), None, 0), None);
    }
}
