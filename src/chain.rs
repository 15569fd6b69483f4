//! Hash chains: each link hashes the previous link and its own parts, so nothing can be changed,
//! removed or slipped in without breaking every later link. Used by votes (per ballot) and
//! disclosures (per estate).

use sha2::{Digest, Sha256};

/// SHA-256 (hex) over the previous hash and the parts, each preceded by its length in bytes so
/// that parts cannot run into each other, whatever bytes they hold.
pub fn link(prev_hash: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in std::iter::once(&prev_hash).chain(parts) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
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
        assert_ne!(link("p", &["a\0b", ""]), link("p", &["a", "b\0"]));
        assert_ne!(a, link("q", &["ab", "c"]));
        assert_eq!(a, link("p", &["ab", "c"]));
        assert_ne!(genesis("x"), genesis("y"));
    }
}
