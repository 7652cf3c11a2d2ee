//! Trusted peers: the CIDR list of proxies allowed to send the identity
//! header.

use super::*;

/// Peers (IP networks) whose identity header is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedPeers(Vec<(IpAddr, u8)>);

impl TrustedPeers {
    /// Parses `127.0.0.1/8,::1,10.0.0.5`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (ip, len) = match item.split_once('/') {
                Some((ip, len)) => (ip, Some(len)),
                None => (item, None),
            };
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("--trusted-proxies: {item:?} is not an IP or CIDR"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("--trusted-proxies: bad prefix in {item:?}"))?,
                None => max,
            };
            nets.push((ip, len));
        }
        Ok(TrustedPeers(nets))
    }

    /// True when `peer` lies in one of the networks.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, len)| match (net, peer) {
            (IpAddr::V4(n), IpAddr::V4(p)) => prefix_eq(&n.octets(), &p.octets(), *len),
            (IpAddr::V6(n), IpAddr::V6(p)) => prefix_eq(&n.octets(), &p.octets(), *len),
            _ => false,
        })
    }
}

pub(super) fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    let (full, rest) = (len / 8, len % 8);
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}
