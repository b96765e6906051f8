//! Where a webhook may be sent (issue 20 item 6). A site administrator chooses the URL and the
//! server makes the request, so the rule keeps the server from probing its own network:
//! https to a public address, unless the operator allows private targets (development).

use super::{Invalid, RedirectUri};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A webhook endpoint's URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses `raw` with the redirect URI rules (absolute, no fragment, no credentials), then:
    /// https only, and a host that is not an IP address outside the public internet — unless
    /// `allow_private`, which also accepts http. (Names are checked when they are resolved,
    /// at each delivery: see [`is_public`].)
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, Invalid> {
        let checked = RedirectUri::parse(raw, true).map_err(|invalid| {
            Invalid::new(invalid.0.replace("Redirect URI", "The webhook URL"))
        })?;
        let url = url::Url::parse(checked.as_str())
            .map_err(|_| Invalid::new("The webhook URL is not a valid URL."))?;
        if allow_private {
            return Ok(Self(checked.as_str().to_owned()));
        }
        if url.scheme() != "https" {
            return Err(Invalid::new("The webhook URL must use https."));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        let local_name = url
            .host_str()
            .is_some_and(|host| host == "localhost" || host.ends_with(".localhost"));
        if literal.is_some_and(|ip| !is_public(ip)) || local_name {
            return Err(Invalid::new(
                "The webhook URL must point to a public address, not a private, loopback or \
                 link-local one.",
            ));
        }
        Ok(Self(checked.as_str().to_owned()))
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True for an address on the public internet: not loopback, private, shared (CGNAT),
/// link-local, multicast, documentation, benchmarking, reserved or unspecified, and not an
/// IPv6 form of one of those (IPv4-mapped, NAT64, unique local).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..=19).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || (segments[0] == 0x0064 && segments[1] == 0xff9b)
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0])
        || segments[..6] == [0, 0, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_webhook_goes_to_a_public_https_url_unless_private_targets_are_allowed() {
        assert!(WebhookUrl::parse("https://hooks.example.com/in", false).is_ok());
        for refused in [
            "http://hooks.example.com/in",
            "https://127.0.0.1/in",
            "https://[::1]/in",
            "https://169.254.169.254/latest",
            "https://10.0.0.7:8443/in",
            "https://[::ffff:192.168.0.1]/in",
            "https://localhost:9000/in",
            "https://hooks.example.com/in#frag",
            "ftp://hooks.example.com/in",
        ] {
            assert!(WebhookUrl::parse(refused, false).is_err(), "{refused}");
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/in", true).is_ok());
    }
}
