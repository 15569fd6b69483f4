//! What a voter chose, checked against the ballot's items and written in one canonical form
//! (which is also what the hash chain hashes).

use std::collections::BTreeMap;

use super::rules::NonVoterRule;

/// A choice on a matter.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatterChoice {
    /// 同意
    Agree,
    /// 反对
    Oppose,
    /// 弃权: takes part without agreeing.
    Abstain,
    /// 从多数: joins the side that leads (only where the estate's rules allow it).
    FollowMajority,
}

impl MatterChoice {
    pub fn key(self) -> &'static str {
        match self {
            MatterChoice::Agree => "AGREE",
            MatterChoice::Oppose => "OPPOSE",
            MatterChoice::Abstain => "ABSTAIN",
            MatterChoice::FollowMajority => "FOLLOW_MAJORITY",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        [
            Self::Agree,
            Self::Oppose,
            Self::Abstain,
            Self::FollowMajority,
        ]
        .into_iter()
        .find(|c| c.key() == s)
    }
}

/// The kind of a ballot item.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A matter decided by agree / oppose / abstain.
    Matter,
    /// An election of committee members among candidate owners.
    Election,
    /// A choice of property company among candidates.
    Selection,
}

impl ItemKind {
    pub fn as_db(self) -> &'static str {
        match self {
            ItemKind::Matter => "MATTER",
            ItemKind::Election => "ELECTION",
            ItemKind::Selection => "SELECTION",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "ELECTION" => ItemKind::Election,
            "SELECTION" => ItemKind::Selection,
            _ => ItemKind::Matter,
        }
    }
}

/// What the checks need to know of an item.
#[derive(Debug, Clone)]
pub struct ItemSpec {
    pub id: i64,
    pub kind: ItemKind,
    pub seats: i64,
    pub option_ids: Vec<i64>,
}

/// One item's choice as the client sent it.
#[derive(Debug, Clone)]
pub struct RawChoice {
    pub item_id: i64,
    pub choice: Option<MatterChoice>,
    pub option_ids: Vec<i64>,
}

/// A checked choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemChoice {
    Matter(MatterChoice),
    /// Candidates supported (sorted); empty means taking part without supporting anyone.
    Options(Vec<i64>),
}

/// Checked choices for every item of a ballot, by item id.
pub type Choices = BTreeMap<i64, ItemChoice>;

/// Checks one ballot's choices: every item exactly once, a matter choice for matters (follow
/// the majority only where allowed), at most `seats` distinct candidates of the item for an
/// election, at most one company for a selection.
pub fn check(items: &[ItemSpec], raw: &[RawChoice], rule: NonVoterRule) -> Result<Choices, String> {
    let mut out = Choices::new();
    for c in raw {
        let Some(item) = items.iter().find(|i| i.id == c.item_id) else {
            return Err(format!("item {} is not on this ballot", c.item_id));
        };
        if out.contains_key(&c.item_id) {
            return Err(format!("item {} is answered twice", item.id));
        }
        let choice = match item.kind {
            ItemKind::Matter => {
                if !c.option_ids.is_empty() {
                    return Err(format!(
                        "item {} is a matter: answer with `choice`, not options",
                        item.id
                    ));
                }
                let choice = c.choice.ok_or_else(|| {
                    format!("item {} needs a choice (AGREE, OPPOSE or ABSTAIN)", item.id)
                })?;
                if choice == MatterChoice::FollowMajority
                    && rule != NonVoterRule::FollowMajorityChoice
                {
                    return Err(
                        "this estate's rules of procedure do not allow FOLLOW_MAJORITY".into(),
                    );
                }
                ItemChoice::Matter(choice)
            }
            ItemKind::Election | ItemKind::Selection => {
                if c.choice.is_some() {
                    return Err(format!(
                        "item {} is a choice among candidates: answer with `optionIds`",
                        item.id
                    ));
                }
                let mut ids = c.option_ids.clone();
                ids.sort_unstable();
                ids.dedup();
                if ids.len() != c.option_ids.len() {
                    return Err(format!("item {}: a candidate is named twice", item.id));
                }
                if let Some(bad) = ids.iter().find(|id| !item.option_ids.contains(id)) {
                    return Err(format!(
                        "item {}: option {bad} is not one of its candidates",
                        item.id
                    ));
                }
                let max = if item.kind == ItemKind::Selection {
                    1
                } else {
                    item.seats
                };
                if ids.len() as i64 > max {
                    return Err(format!(
                        "item {}: at most {max} candidate(s) may be chosen, got {}",
                        item.id,
                        ids.len()
                    ));
                }
                ItemChoice::Options(ids)
            }
        };
        out.insert(c.item_id, choice);
    }
    if let Some(missing) = items.iter().find(|i| !out.contains_key(&i.id)) {
        return Err(format!(
            "item {} is not answered: a ballot answers every item",
            missing.id
        ));
    }
    Ok(out)
}

/// The canonical text of choices: "12=AGREE;13=4,7;14=" (items by id, options sorted).
pub fn encode(choices: &Choices) -> String {
    choices
        .iter()
        .map(|(item, c)| match c {
            ItemChoice::Matter(m) => format!("{item}={}", m.key()),
            ItemChoice::Options(ids) => format!(
                "{item}={}",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            ),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads back the canonical text (for recounts).
pub fn decode(text: &str) -> Option<Choices> {
    let mut out = Choices::new();
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let (item, value) = part.split_once('=')?;
        let item: i64 = item.parse().ok()?;
        let choice = match MatterChoice::from_key(value) {
            Some(m) => ItemChoice::Matter(m),
            None if value.is_empty() => ItemChoice::Options(Vec::new()),
            None => ItemChoice::Options(
                value
                    .split(',')
                    .map(|v| v.parse().ok())
                    .collect::<Option<Vec<i64>>>()?,
            ),
        };
        out.insert(item, choice);
    }
    Some(out)
}

/// The tally rows (item, choice key) a vote adds its weight to.
pub fn tally_keys(choices: &Choices) -> Vec<(i64, String)> {
    let mut keys = Vec::new();
    for (item, c) in choices {
        match c {
            ItemChoice::Matter(m) => keys.push((*item, m.key().to_string())),
            ItemChoice::Options(ids) => keys.extend(ids.iter().map(|id| (*item, option_key(*id)))),
        }
    }
    keys
}

pub fn option_key(option_id: i64) -> String {
    format!("OPTION:{option_id}")
}

/// The hash of a vote in its ballot's chain (see `crate::chain`).
pub fn chain_hash(
    prev_hash: &str,
    ballot_id: i64,
    voter_id: i64,
    seq: i64,
    channel: &str,
    choices: &str,
    cast_at: &str,
) -> String {
    crate::chain::link(
        prev_hash,
        &[
            &ballot_id.to_string(),
            &voter_id.to_string(),
            &seq.to_string(),
            channel,
            choices,
            cast_at,
        ],
    )
}

/// The first "previous hash" of a ballot's chain.
pub fn genesis(ballot_id: i64) -> String {
    crate::chain::genesis(&format!("quorum-ballot-{ballot_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<ItemSpec> {
        vec![
            ItemSpec {
                id: 1,
                kind: ItemKind::Matter,
                seats: 0,
                option_ids: vec![],
            },
            ItemSpec {
                id: 2,
                kind: ItemKind::Election,
                seats: 2,
                option_ids: vec![10, 11, 12],
            },
            ItemSpec {
                id: 3,
                kind: ItemKind::Selection,
                seats: 1,
                option_ids: vec![20, 21],
            },
        ]
    }

    fn raw(item_id: i64, choice: Option<MatterChoice>, option_ids: &[i64]) -> RawChoice {
        RawChoice {
            item_id,
            choice,
            option_ids: option_ids.to_vec(),
        }
    }

    #[test]
    fn a_complete_ballot_round_trips() {
        let c = check(
            &items(),
            &[
                raw(1, Some(MatterChoice::Agree), &[]),
                raw(2, None, &[12, 10]),
                raw(3, None, &[21]),
            ],
            NonVoterRule::None,
        )
        .unwrap();
        let text = encode(&c);
        assert_eq!(text, "1=AGREE;2=10,12;3=21");
        assert_eq!(decode(&text).unwrap(), c);
        assert_eq!(
            tally_keys(&c),
            vec![
                (1, "AGREE".into()),
                (2, "OPTION:10".into()),
                (2, "OPTION:12".into()),
                (3, "OPTION:21".into())
            ]
        );
    }

    #[test]
    fn broken_ballots_are_refused() {
        let ok1 = raw(1, Some(MatterChoice::Agree), &[]);
        let ok2 = raw(2, None, &[10]);
        let ok3 = raw(3, None, &[20]);
        let none = NonVoterRule::None;
        assert!(check(&items(), &[ok1.clone(), ok2.clone()], none)
            .unwrap_err()
            .contains("not answered"));
        assert!(check(
            &items(),
            &[ok1.clone(), ok2.clone(), ok3.clone(), raw(9, None, &[])],
            none
        )
        .unwrap_err()
        .contains("not on this ballot"));
        assert!(check(
            &items(),
            &[ok1.clone(), raw(2, None, &[10, 11, 12]), ok3.clone()],
            none
        )
        .unwrap_err()
        .contains("at most 2"));
        assert!(check(
            &items(),
            &[ok1.clone(), raw(2, None, &[10, 10]), ok3.clone()],
            none
        )
        .unwrap_err()
        .contains("twice"));
        assert!(check(
            &items(),
            &[ok1.clone(), raw(2, None, &[99]), ok3.clone()],
            none
        )
        .unwrap_err()
        .contains("not one of its candidates"));
        assert!(check(
            &items(),
            &[ok1.clone(), ok2.clone(), raw(3, None, &[20, 21])],
            none
        )
        .unwrap_err()
        .contains("at most 1"));
        assert!(check(
            &items(),
            &[raw(1, None, &[]), ok2.clone(), ok3.clone()],
            none
        )
        .unwrap_err()
        .contains("needs a choice"));
        let follow = raw(1, Some(MatterChoice::FollowMajority), &[]);
        assert!(check(&items(), &[follow.clone(), ok2.clone(), ok3.clone()], none).is_err());
        assert!(check(
            &items(),
            &[follow, ok2, ok3],
            NonVoterRule::FollowMajorityChoice
        )
        .is_ok());
    }

    #[test]
    fn the_chain_depends_on_every_part() {
        let a = chain_hash(
            &genesis(1),
            1,
            2,
            0,
            "ONLINE",
            "1=AGREE",
            "2026-12-03T10:00:00.000000Z",
        );
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            chain_hash(
                &genesis(1),
                1,
                2,
                0,
                "ONLINE",
                "1=OPPOSE",
                "2026-12-03T10:00:00.000000Z"
            )
        );
        assert_ne!(
            a,
            chain_hash(
                &genesis(2),
                1,
                2,
                0,
                "ONLINE",
                "1=AGREE",
                "2026-12-03T10:00:00.000000Z"
            )
        );
    }
}
