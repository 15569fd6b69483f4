//! Figures of a ballot computed from its running tallies: live progress while it is open, and
//! the results at close. Pure: rows in, figures out.

use std::collections::HashMap;

use super::choices::ItemKind;
use super::model::{BallotRow, ItemRow, OptionRow, TallyRow};
use super::repo::{counts_from_tallies, nonvoter_rule, ItemCounts};
use super::rules::{
    self, decide_election, decide_selection, matter_sentence, percent, project_matter,
    quorum_met_on, MatterType, NonVoterRule, Threshold, Weight,
};

/// One option's (or matter choice's) support.
#[derive(Debug, Clone)]
pub struct OptionFigure {
    /// "AGREE", "OPPOSE", "ABSTAIN", "FOLLOW_MAJORITY" or the option id for candidates.
    pub choice: String,
    pub option_id: Option<i64>,
    pub label: String,
    pub support: Weight,
}

/// One item's figures.
#[derive(Debug, Clone)]
pub struct ItemFigure {
    pub item_id: i64,
    pub kind: ItemKind,
    pub options: Vec<OptionFigure>,
    /// "PASSED", "NOT_PASSED", "ELECTED", "SELECTED", "NO_SELECTION", "RUNOFF", "NO_QUORUM".
    pub projected_outcome: String,
    pub decided: bool,
    /// Smallest further agreeing area and voters that would pass a matter, if reachable.
    pub needed_to_pass: Option<Weight>,
    pub sentence: String,
    /// Options elected or selected (as things stand).
    pub winners: Vec<i64>,
    /// Figures without the estate's non-voter rule, where a rule other than NONE applies.
    pub without_rule_sentence: Option<String>,
}

/// A ballot's figures.
#[derive(Debug, Clone)]
pub struct Figures {
    pub ballot_id: i64,
    pub roll: Weight,
    pub participation: Weight,
    pub quorum_met: bool,
    pub items: Vec<ItemFigure>,
}

fn rule_of(b: &BallotRow) -> NonVoterRule {
    b.nonvoter_rule
        .as_deref()
        .map(nonvoter_rule)
        .unwrap_or(NonVoterRule::None)
}

/// Computes the figures of one ballot from its rows.
pub fn compute(
    b: &BallotRow,
    items: &[ItemRow],
    options: &[OptionRow],
    tallies: &[TallyRow],
) -> Figures {
    let roll = Weight::new(b.roll_area.unwrap_or(0), b.roll_voters.unwrap_or(0));
    let participation = Weight::new(b.participating_area, b.votes_cast);
    let rule = rule_of(b);
    let counts = counts_from_tallies(tallies);
    let empty = ItemCounts::default();
    let items = items
        .iter()
        .map(|item| {
            let c = counts.get(&item.id).unwrap_or(&empty);
            let item_options: Vec<&OptionRow> =
                options.iter().filter(|o| o.item_id == item.id).collect();
            item_figure(item, &item_options, c, roll, participation, rule)
        })
        .collect();
    Figures {
        ballot_id: b.id,
        roll,
        participation,
        quorum_met: quorum_met_on(participation.area, roll.area)
            && quorum_met_on(participation.voters, roll.voters),
        items,
    }
}

fn item_figure(
    item: &ItemRow,
    options: &[&OptionRow],
    c: &ItemCounts,
    roll: Weight,
    participation: Weight,
    rule: NonVoterRule,
) -> ItemFigure {
    let kind = ItemKind::from_db(&item.kind);
    match kind {
        ItemKind::Matter => {
            let threshold = MatterType::from_db(&item.matter_type)
                .map_or(Threshold::MoreThanHalf, MatterType::threshold);
            let p = project_matter(&c.matter, roll, rule, threshold);
            let mut figures = vec![
                ("AGREE", "同意 agree", c.matter.agree),
                ("OPPOSE", "反对 oppose", c.matter.oppose),
                ("ABSTAIN", "弃权 abstain", c.matter.abstain),
            ];
            if rule == NonVoterRule::FollowMajorityChoice {
                figures.push((
                    "FOLLOW_MAJORITY",
                    "从多数 follow the majority",
                    c.matter.follow_majority,
                ));
            }
            let without_rule_sentence = (rule != NonVoterRule::None).then(|| {
                matter_sentence(&rules::decide_matter(
                    &c.matter,
                    roll,
                    NonVoterRule::None,
                    threshold,
                ))
            });
            ItemFigure {
                item_id: item.id,
                kind,
                options: figures
                    .into_iter()
                    .map(|(choice, label, support)| OptionFigure {
                        choice: choice.into(),
                        option_id: None,
                        label: label.into(),
                        support,
                    })
                    .collect(),
                projected_outcome: if !p.now.quorum_met {
                    "NO_QUORUM"
                } else if p.now.passed {
                    "PASSED"
                } else {
                    "NOT_PASSED"
                }
                .into(),
                decided: p.decided_pass || p.decided_fail,
                needed_to_pass: p.needed,
                sentence: matter_sentence(&p.now),
                winners: Vec::new(),
                without_rule_sentence,
            }
        }
        ItemKind::Election | ItemKind::Selection => {
            let ids: Vec<i64> = options.iter().map(|o| o.id).collect();
            let candidates = rules::candidate_counts(&ids, &c.options);
            // These figures are shared by every subscriber and kept in the certified result, so
            // candidate owners' names are masked here as they are for anyone but themselves.
            let labels: HashMap<i64, String> = options
                .iter()
                .map(|o| {
                    let label = match o.owner_id {
                        Some(_) => crate::registry::rules::mask_name(&o.label),
                        None => o.label.clone(),
                    };
                    (o.id, label)
                })
                .collect();
            let label_of: HashMap<i64, &str> =
                labels.iter().map(|(id, l)| (*id, l.as_str())).collect();
            let quorum = quorum_met_on(participation.area, roll.area)
                && quorum_met_on(participation.voters, roll.voters);
            let took_part = format!(
                "{} of area and {} of owners took part (at least 66.67% of both needed)",
                percent(participation.area, roll.area),
                percent(participation.voters, roll.voters)
            );
            let (outcome, winners, sentence) = if kind == ItemKind::Election {
                let e = decide_election(
                    &candidates,
                    participation,
                    roll,
                    item.seats.unwrap_or(1) as i64,
                );
                let names = |ids: &[i64]| {
                    ids.iter()
                        .map(|i| label_of.get(i).copied().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join("、")
                };
                let outcome = if !quorum {
                    "NO_QUORUM"
                } else if e.runoff_seats > 0 {
                    "RUNOFF"
                } else if e.elected.is_empty() {
                    "NOT_PASSED"
                } else {
                    "ELECTED"
                };
                let mut s = if !quorum {
                    format!("no one elected: quorum not met: {took_part}")
                } else if e.elected.is_empty() && e.runoff_seats == 0 {
                    format!("no one elected: no candidate won more than 50% of participating area and owners; {took_part}")
                } else if e.elected.is_empty() {
                    format!("no one elected outright; {took_part}")
                } else {
                    format!("elected: {} (each with more than 50% of participating area and owners); {took_part}", names(&e.elected))
                };
                if e.runoff_seats > 0 {
                    s.push_str(&format!(
                        "; {} seat(s) tied between {}: runoff needed",
                        e.runoff_seats,
                        names(&e.runoff_candidates)
                    ));
                }
                (outcome, e.elected, s)
            } else {
                let selected = decide_selection(&candidates, participation, roll);
                match selected {
                    Some(id) => {
                        let support = c.options.get(&id).copied().unwrap_or_default();
                        (
                            "SELECTED",
                            vec![id],
                            format!(
                                "selected: {}: {} of participating area and {} of participating owners (more than 50% of both needed); {took_part}",
                                label_of.get(&id).copied().unwrap_or("?"),
                                percent(support.area, participation.area),
                                percent(support.voters, participation.voters)
                            ),
                        )
                    }
                    None if !quorum => ("NO_QUORUM", vec![], format!("no selection: quorum not met: {took_part}")),
                    None => (
                        "NO_SELECTION",
                        vec![],
                        format!("no selection: no company won more than 50% of participating area and owners; {took_part}"),
                    ),
                }
            };
            // A candidate is decided when its lead cannot be lost: without a per-candidate
            // bound this is only claimed once every voter has voted.
            let decided = participation == roll;
            ItemFigure {
                item_id: item.id,
                kind,
                options: candidates
                    .iter()
                    .map(|cc| OptionFigure {
                        choice: cc.option_id.to_string(),
                        option_id: Some(cc.option_id),
                        label: label_of
                            .get(&cc.option_id)
                            .copied()
                            .unwrap_or_default()
                            .to_string(),
                        support: cc.support,
                    })
                    .collect(),
                projected_outcome: outcome.into(),
                decided,
                needed_to_pass: None,
                sentence,
                winners,
                without_rule_sentence: None,
            }
        }
    }
}
