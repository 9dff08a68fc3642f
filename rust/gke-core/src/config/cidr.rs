//! IPv4 CIDR ranges as GKE takes them: `10.4.0.0/14`, or `/14` to let GKE pick the block.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// A range given in a cluster's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrRange {
    /// A fixed block, e.g. `10.4.0.0/14`.
    Block { base: Ipv4Addr, prefix: u8 },
    /// Only a size, e.g. `/14`: GKE chooses where.
    Size(u8),
}

impl CidrRange {
    /// The prefix length, e.g. 14 for `10.4.0.0/14` or `/14`.
    pub fn prefix(&self) -> u8 {
        match self {
            CidrRange::Block { prefix, .. } | CidrRange::Size(prefix) => *prefix,
        }
    }

    /// Whether two fixed blocks share an address; sizes alone never conflict.
    pub fn overlaps(&self, other: &CidrRange) -> bool {
        match (self, other) {
            (
                CidrRange::Block {
                    base: a,
                    prefix: pa,
                },
                CidrRange::Block {
                    base: b,
                    prefix: pb,
                },
            ) => {
                let prefix = (*pa).min(*pb);
                mask(u32::from(*a), prefix) == mask(u32::from(*b), prefix)
            }
            _ => false,
        }
    }
}

fn mask(address: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        address & (u32::MAX << (32 - u32::from(prefix)))
    }
}

impl FromStr for CidrRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').ok_or_else(|| {
            format!("'{text}' is not a CIDR range: write it like 10.4.0.0/14 or /14")
        })?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("'{text}': the prefix length after '/' must be 0 to 32"))?;
        if address.is_empty() {
            return Ok(CidrRange::Size(prefix));
        }
        let base: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("'{text}': '{address}' is not an IPv4 address"))?;
        if mask(u32::from(base), prefix) != u32::from(base) {
            let network = Ipv4Addr::from(mask(u32::from(base), prefix));
            return Err(format!(
                "'{text}' has host bits set: the block starts at {network}/{prefix}"
            ));
        }
        Ok(CidrRange::Block { base, prefix })
    }
}

impl fmt::Display for CidrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrRange::Block { base, prefix } => write!(f, "{base}/{prefix}"),
            CidrRange::Size(prefix) => write!(f, "/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> CidrRange {
        text.parse().unwrap()
    }

    #[test]
    fn parses_blocks_and_sizes() {
        assert_eq!(c("10.4.0.0/14").to_string(), "10.4.0.0/14");
        assert_eq!(c("/20"), CidrRange::Size(20));
        assert_eq!(c(" 0.0.0.0/0 ").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn explains_bad_ranges() {
        let e = |t: &str| t.parse::<CidrRange>().unwrap_err();
        assert!(e("10.4.0.0").contains("write it like 10.4.0.0/14"));
        assert!(e("10.4.0.0/33").contains("0 to 32"));
        assert!(e("10.4.0.300/14").contains("not an IPv4 address"));
        assert!(e("10.5.0.0/14").contains("block starts at 10.4.0.0/14"));
    }

    #[test]
    fn overlap() {
        assert!(c("10.0.0.0/8").overlaps(&c("10.4.0.0/14")));
        assert!(c("10.4.0.0/14").overlaps(&c("10.0.0.0/8")));
        assert!(!c("10.4.0.0/14").overlaps(&c("10.8.0.0/20")));
        assert!(!c("/14").overlaps(&c("10.0.0.0/8")));
    }
}
