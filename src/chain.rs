//! Hash chains: each link hashes the previous link and its own parts, so nothing can be changed,
//! removed or slipped in without breaking every later link. Used by votes (per ballot) and
//! disclosures (per estate).

use sha2::{Digest, Sha256};

/// SHA-256 (hex) over the previous hash and the parts, each followed by a zero byte so that
/// parts cannot run into each other.
pub fn link(prev_hash: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update([0u8]);
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// The "previous hash" of a chain's first link, distinct per chain.
pub fn genesis(chain: &str) -> String {
    hex::encode(Sha256::digest(chain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_depend_on_every_part_and_its_boundaries() {
        let a = link("p", &["ab", "c"]);
        assert_ne!(a, link("p", &["a", "bc"]));
        assert_ne!(a, link("q", &["ab", "c"]));
        assert_eq!(a, link("p", &["ab", "c"]));
        assert_ne!(genesis("x"), genesis("y"));
    }
}
