//! The voter roll (SPC interpretation, Arts. 8–9), as a pure function of the register.

use std::collections::BTreeMap;

/// A house as the roll sees it.
#[derive(Debug, Clone)]
pub struct RollHouse {
    pub house_id: i64,
    pub area: i64,
    pub developer_held: bool,
    /// Current owners (sorted, unique).
    pub owners: Vec<i64>,
    pub address: String,
}

/// One counting unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollVoter {
    /// "developer", or the sorted owner ids: "owners:3,17".
    pub key: String,
    pub area: i64,
    pub house_ids: Vec<i64>,
    /// Owners who may cast this voter's ballot.
    pub owners: Vec<i64>,
    pub developer: bool,
    /// A readable reference: the first house's address and how many houses.
    pub label: String,
}

/// Groups houses into voters: houses with the same set of owners form one voter (areas summed,
/// counted once); all developer-held houses — and houses with no recorded owner, which are
/// unsold — form one voter; a co-owned house is one voter.
pub fn build_roll(houses: &[RollHouse], developer_owners: &[i64]) -> Vec<RollVoter> {
    let mut groups: BTreeMap<String, RollVoter> = BTreeMap::new();
    for h in houses {
        // A house the developer alone owns is one of its parts whether or not the register
        // flags it, else the developer would count once in the developer's voter and again on
        // its own.
        let developer = h.developer_held
            || h.owners.is_empty()
            || h.owners.iter().all(|o| developer_owners.contains(o));
        let key = if developer {
            "developer".to_string()
        } else {
            let mut owners = h.owners.clone();
            owners.sort_unstable();
            owners.dedup();
            format!(
                "owners:{}",
                owners
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let entry = groups.entry(key.clone()).or_insert_with(|| RollVoter {
            key,
            area: 0,
            house_ids: Vec::new(),
            owners: Vec::new(),
            developer,
            label: h.address.clone(),
        });
        entry.area += h.area;
        entry.house_ids.push(h.house_id);
        let owners: &[i64] = if developer {
            developer_owners
        } else {
            &h.owners
        };
        for o in owners {
            if !entry.owners.contains(o) {
                entry.owners.push(*o);
            }
        }
    }
    let mut voters: Vec<RollVoter> = groups.into_values().collect();
    for v in &mut voters {
        v.owners.sort_unstable();
        if v.house_ids.len() > 1 {
            v.label = format!("{} 等{}处", v.label, v.house_ids.len());
        }
        if v.developer {
            v.label = format!("开发建设单位 ({}处)", v.house_ids.len());
        }
    }
    voters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn house(id: i64, area: i64, owners: &[i64], developer_held: bool) -> RollHouse {
        RollHouse {
            house_id: id,
            area,
            developer_held,
            owners: owners.to_vec(),
            address: format!("H{id}"),
        }
    }

    #[test]
    fn owners_of_several_houses_count_once_with_summed_area() {
        let roll = build_roll(
            &[
                house(1, 9000, &[7], false),
                house(2, 1250, &[7], false),
                house(3, 8000, &[8], false),
            ],
            &[],
        );
        assert_eq!(roll.len(), 2);
        let seven = roll.iter().find(|v| v.owners == vec![7]).unwrap();
        assert_eq!(seven.area, 10250);
        assert_eq!(seven.house_ids, vec![1, 2]);
    }

    #[test]
    fn developer_units_form_one_voter() {
        let roll = build_roll(
            &[
                house(1, 9000, &[99], true),
                house(2, 9000, &[99], true),
                house(3, 9000, &[], false),
                house(4, 9000, &[5], false),
            ],
            &[99],
        );
        assert_eq!(roll.len(), 2);
        let dev = roll.iter().find(|v| v.developer).unwrap();
        assert_eq!(dev.area, 27000);
        assert_eq!(dev.house_ids.len(), 3);
        assert_eq!(dev.owners, vec![99]);
    }

    #[test]
    fn a_house_the_developer_alone_owns_joins_the_developer_voter_even_unflagged() {
        let roll = build_roll(
            &[
                house(1, 9000, &[99], true),
                house(2, 8000, &[99], false),
                house(3, 7000, &[99, 5], false),
            ],
            &[99],
        );
        assert_eq!(roll.len(), 2);
        let dev = roll.iter().find(|v| v.developer).unwrap();
        assert_eq!((dev.area, dev.house_ids.clone()), (17000, vec![1, 2]));
        assert!(roll.iter().any(|v| v.owners == vec![5, 99] && !v.developer));
    }

    #[test]
    fn a_co_owned_house_is_one_voter_and_differs_from_sole_ownership() {
        let roll = build_roll(
            &[
                house(1, 9000, &[3, 2], false),
                house(2, 8000, &[2, 3], false),
                house(3, 7000, &[2], false),
            ],
            &[],
        );
        assert_eq!(roll.len(), 2);
        let couple = roll.iter().find(|v| v.owners == vec![2, 3]).unwrap();
        assert_eq!(couple.area, 17000);
        assert_eq!(couple.key, "owners:2,3");
        let alone = roll.iter().find(|v| v.owners == vec![2]).unwrap();
        assert_eq!(alone.area, 7000);
    }
}
