//! The law of the tally, as pure functions over integers (DESIGN.md, "The law the tally follows").
//!
//! Areas are in hundredths of a square metre, counts are voters on the frozen roll. Every
//! comparison is an exact cross-multiplication in i128: "以上" (at least) includes the boundary,
//! "过半数" (more than half) does not.

use std::collections::BTreeMap;

/// Civil Code Art. 278 matter types; the type fixes the threshold.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatterType {
    /// 1. Make or amend the rules of procedure.
    RulesOfProcedure,
    /// 2. Make or amend the management covenant.
    ManagementCovenant,
    /// 3. Elect the owners' committee or replace members.
    CommitteeElection,
    /// 4. Hire or dismiss the property company or other manager.
    ManagerHireOrDismiss,
    /// 5. Use the maintenance fund.
    MaintenanceFundUse,
    /// 6. Raise the maintenance fund (three-quarters threshold).
    MaintenanceFundRaise,
    /// 7. Rebuild or reconstruct buildings and facilities (three-quarters threshold).
    Rebuild,
    /// 8. Change the use of common parts or use them for business (three-quarters threshold).
    CommonPartsChange,
    /// 9. Other major common matters, e.g. how public income is distributed.
    OtherMajor,
}

impl MatterType {
    pub const ALL: [MatterType; 9] = [
        MatterType::RulesOfProcedure,
        MatterType::ManagementCovenant,
        MatterType::CommitteeElection,
        MatterType::ManagerHireOrDismiss,
        MatterType::MaintenanceFundUse,
        MatterType::MaintenanceFundRaise,
        MatterType::Rebuild,
        MatterType::CommonPartsChange,
        MatterType::OtherMajor,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            MatterType::RulesOfProcedure => "RULES_OF_PROCEDURE",
            MatterType::ManagementCovenant => "MANAGEMENT_COVENANT",
            MatterType::CommitteeElection => "COMMITTEE_ELECTION",
            MatterType::ManagerHireOrDismiss => "MANAGER_HIRE_OR_DISMISS",
            MatterType::MaintenanceFundUse => "MAINTENANCE_FUND_USE",
            MatterType::MaintenanceFundRaise => "MAINTENANCE_FUND_RAISE",
            MatterType::Rebuild => "REBUILD",
            MatterType::CommonPartsChange => "COMMON_PARTS_CHANGE",
            MatterType::OtherMajor => "OTHER_MAJOR",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_db() == s)
    }

    pub fn threshold(self) -> Threshold {
        match self {
            MatterType::MaintenanceFundRaise
            | MatterType::Rebuild
            | MatterType::CommonPartsChange => Threshold::ThreeQuarters,
            _ => Threshold::MoreThanHalf,
        }
    }
}

/// How many of the participants must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// More than 1/2 of participating area and of participating voters (过半数).
    MoreThanHalf,
    /// At least 3/4 of participating area and of participating voters (四分之三以上).
    ThreeQuarters,
}

impl Threshold {
    /// Whether `part` of `whole` meets the threshold on one measure.
    pub fn met(self, part: i64, whole: i64) -> bool {
        if whole <= 0 {
            return false;
        }
        let (p, w) = (part as i128, whole as i128);
        match self {
            Threshold::MoreThanHalf => 2 * p > w,
            Threshold::ThreeQuarters => 4 * p >= 3 * w,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Threshold::MoreThanHalf => "more than 50% of both",
            Threshold::ThreeQuarters => "at least 75% of both",
        }
    }
}

/// Quorum on one measure: at least 2/3 of the roll takes part (三分之二以上).
pub fn quorum_met_on(part: i64, roll: i64) -> bool {
    roll > 0 && 3 * part as i128 >= 2 * roll as i128
}

/// An area and a voter count: the two measures of the double majority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weight {
    pub area: i64,
    pub voters: i64,
}

impl Weight {
    pub fn new(area: i64, voters: i64) -> Self {
        Self { area, voters }
    }

    pub fn plus(self, o: Weight) -> Weight {
        Weight::new(self.area + o.area, self.voters + o.voters)
    }

    pub fn minus(self, o: Weight) -> Weight {
        Weight::new(self.area - o.area, self.voters - o.voters)
    }
}

/// The frozen roll's totals.
pub type Roll = Weight;

/// The estate's rule for non-voters and "follow the majority" (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonVoterRule {
    None,
    FollowMajorityChoice,
    NonvotersFollowMajority,
}

/// Choices on a matter, summed over the voters who made them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatterCounts {
    pub agree: Weight,
    pub oppose: Weight,
    pub abstain: Weight,
    pub follow_majority: Weight,
}

impl MatterCounts {
    pub fn participants(&self) -> Weight {
        self.agree
            .plus(self.oppose)
            .plus(self.abstain)
            .plus(self.follow_majority)
    }
}

/// Which side leads among agree and oppose: a side leads only if it leads on both measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leading {
    Agree,
    Oppose,
    Split,
}

pub fn leading_side(agree: Weight, oppose: Weight) -> Leading {
    if agree.area > oppose.area && agree.voters > oppose.voters {
        Leading::Agree
    } else if oppose.area > agree.area && oppose.voters > agree.voters {
        Leading::Oppose
    } else {
        Leading::Split
    }
}

/// The effective agree and participation of a matter once the rule is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub agree: Weight,
    pub participants: Weight,
}

/// Applies the non-voter rule: FOLLOW_MAJORITY ballots join the leading side (abstain when the
/// measures split); under NONVOTERS_FOLLOW_MAJORITY those who did not vote take part and join it.
pub fn effective(counts: &MatterCounts, roll: Roll, rule: NonVoterRule) -> Effective {
    let lead = leading_side(counts.agree, counts.oppose);
    let mut agree = counts.agree;
    let mut participants = counts.participants();
    // Outside FOLLOW_MAJORITY_CHOICE nobody can have chosen it; if a count exists anyway it
    // takes part as an abstention, never as agreement.
    if rule == NonVoterRule::FollowMajorityChoice && lead == Leading::Agree {
        agree = agree.plus(counts.follow_majority);
    }
    if rule == NonVoterRule::NonvotersFollowMajority {
        let nonvoters = roll.minus(participants);
        participants = roll;
        if lead == Leading::Agree {
            agree = agree.plus(nonvoters);
        }
    }
    Effective {
        agree,
        participants,
    }
}

/// The decision on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterOutcome {
    pub quorum_met: bool,
    pub passed: bool,
    pub threshold: Threshold,
    pub effective: Effective,
    pub roll: Roll,
}

pub fn decide_matter(
    counts: &MatterCounts,
    roll: Roll,
    rule: NonVoterRule,
    threshold: Threshold,
) -> MatterOutcome {
    let eff = effective(counts, roll, rule);
    let quorum_met = quorum_met_on(eff.participants.area, roll.area)
        && quorum_met_on(eff.participants.voters, roll.voters);
    let passed = quorum_met
        && threshold.met(eff.agree.area, eff.participants.area)
        && threshold.met(eff.agree.voters, eff.participants.voters);
    MatterOutcome {
        quorum_met,
        passed,
        threshold,
        effective: eff,
        roll,
    }
}

/// "71.20%" — a share in percent with two decimals, rounded half up, exactly.
pub fn percent(part: i64, whole: i64) -> String {
    format!("{}%", crate::graphql::scalars::format_percent(part, whole))
}

/// The sentence a person reads under an item's result.
pub fn matter_sentence(o: &MatterOutcome) -> String {
    let e = &o.effective;
    let took_part = format!(
        "{} of area and {} of owners took part (at least 66.67% of both needed)",
        percent(e.participants.area, o.roll.area),
        percent(e.participants.voters, o.roll.voters)
    );
    if !o.quorum_met {
        return format!("not passed: quorum not met: {took_part}");
    }
    format!(
        "{}: {} of participating area and {} of participating owners agreed ({} needed); {}",
        if o.passed { "passed" } else { "not passed" },
        percent(e.agree.area, e.participants.area),
        percent(e.agree.voters, e.participants.voters),
        o.threshold.describe(),
        took_part
    )
}

/// What remains possible for a matter while the ballot is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterProjection {
    /// The outcome if the ballot closed now.
    pub now: MatterOutcome,
    /// Passed whatever the remaining voters do.
    pub decided_pass: bool,
    /// Fails whatever the remaining voters do.
    pub decided_fail: bool,
    /// The smallest further agreeing area and voters that would pass it (if nobody else voted),
    /// under the estate's rule; Some(0, 0) when it passes as things stand; None when the
    /// remaining voters cannot reach it.
    pub needed: Option<Weight>,
}

/// Projects a matter while the ballot is open, under the estate's rule.
///
/// "Decided" looks at the extremes, which bound every mixture: it passes whatever happens when it
/// passes now (nobody else votes: the smallest participation, for the quorum) and also when every
/// remaining voter opposes (the largest participation with no more agreement, for the
/// majority); it fails whatever happens when it fails even if every remaining voter agrees.
pub fn project_matter(
    counts: &MatterCounts,
    roll: Roll,
    rule: NonVoterRule,
    threshold: Threshold,
) -> MatterProjection {
    let now = decide_matter(counts, roll, rule, threshold);
    let remaining = roll.minus(counts.participants());
    let mut worst = *counts;
    worst.oppose = worst.oppose.plus(remaining);
    let decided_pass = now.passed && decide_matter(&worst, roll, rule, threshold).passed;
    let mut best = *counts;
    best.agree = best.agree.plus(remaining);
    let decided_fail = !decide_matter(&best, roll, rule, threshold).passed;
    // Under a rule other than NONE, new agreeing votes may also give the agreeing side the lead
    // and so bring the follow-the-majority ballots (or the non-voters) with them: both readings
    // are tried and the one needing fewer voters (then less area) is given.
    let readings: &[bool] = if rule == NonVoterRule::None {
        &[false]
    } else {
        &[false, true]
    };
    let needed = readings
        .iter()
        .filter_map(|&agree_leads| {
            let area =
                smallest_further_agree(counts, roll, rule, threshold, agree_leads, |w| w.area)?;
            let voters =
                smallest_further_agree(counts, roll, rule, threshold, agree_leads, |w| w.voters)?;
            Some(Weight::new(area, voters))
        })
        .min_by_key(|w| (w.voters, w.area));
    MatterProjection {
        now,
        decided_pass,
        decided_fail,
        needed,
    }
}

/// The smallest x (of one measure, picked by `measure`) such that the matter passes on that
/// measure if x more of it agree and nobody else votes; None when the remaining voters cannot
/// reach it. `agree_leads` reads the rule as if the agreeing side led (it must then lead on this
/// measure); otherwise follow-the-majority ballots and non-voters are not counted as agreeing,
/// which can only understate the support. Every condition grows with x, so a bisection finds it.
fn smallest_further_agree(
    counts: &MatterCounts,
    roll: Roll,
    rule: NonVoterRule,
    threshold: Threshold,
    agree_leads: bool,
    measure: fn(Weight) -> i64,
) -> Option<i64> {
    let (a, o, f) = (
        measure(counts.agree),
        measure(counts.oppose),
        measure(counts.follow_majority),
    );
    let (p, r) = (measure(counts.participants()), measure(roll));
    let passes = |x: i64| {
        if agree_leads && a + x <= o {
            return false;
        }
        let (agree, participants) = match (rule, agree_leads) {
            (NonVoterRule::FollowMajorityChoice, true) => (a + x + f, p + x),
            (NonVoterRule::NonvotersFollowMajority, true) => (a + (r - p), r),
            (NonVoterRule::NonvotersFollowMajority, false) => (a + x, r),
            (NonVoterRule::None | NonVoterRule::FollowMajorityChoice, _) => (a + x, p + x),
        };
        quorum_met_on(participants, r) && threshold.met(agree, participants)
    };
    let remaining = r - p;
    if remaining < 0 || !passes(remaining) {
        return None;
    }
    let (mut lo, mut hi) = (0, remaining);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if passes(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// One candidate's support in an election or selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateCount {
    pub option_id: i64,
    pub support: Weight,
}

/// The result of an election for `seats` seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionOutcome {
    pub quorum_met: bool,
    /// Candidates that met the ordinary double majority, best first.
    pub qualified: Vec<CandidateCount>,
    /// Those elected (at most `seats`).
    pub elected: Vec<i64>,
    /// Seats left unfilled because of a tie for the last seat: they go to a runoff.
    pub runoff_seats: i64,
    /// The candidates tied for the last seats.
    pub runoff_candidates: Vec<i64>,
}

/// Elections (DESIGN.md): each candidate needs more than half of participating area and voters;
/// if more qualify than there are seats, rank by voters, then area; a tie for the last seat leaves
/// it unfilled and flagged for a runoff.
pub fn decide_election(
    candidates: &[CandidateCount],
    participants: Weight,
    roll: Roll,
    seats: i64,
) -> ElectionOutcome {
    let quorum_met = quorum_met_on(participants.area, roll.area)
        && quorum_met_on(participants.voters, roll.voters);
    let mut qualified: Vec<CandidateCount> = if quorum_met {
        candidates
            .iter()
            .copied()
            .filter(|c| {
                Threshold::MoreThanHalf.met(c.support.area, participants.area)
                    && Threshold::MoreThanHalf.met(c.support.voters, participants.voters)
            })
            .collect()
    } else {
        Vec::new()
    };
    qualified.sort_by(|a, b| {
        b.support
            .voters
            .cmp(&a.support.voters)
            .then(b.support.area.cmp(&a.support.area))
            .then(a.option_id.cmp(&b.option_id))
    });
    let seats = seats.max(0) as usize;
    let mut runoff_candidates = Vec::new();
    let mut runoff_seats = 0;
    let elected;
    if seats == 0 {
        elected = Vec::new();
    } else if qualified.len() <= seats {
        elected = qualified.iter().map(|c| c.option_id).collect();
    } else {
        // The support of the last seat; everyone with exactly that support and not clearly
        // ahead of it is tied for the remaining seats.
        let cut = qualified[seats - 1].support;
        let above: Vec<i64> = qualified
            .iter()
            .filter(|c| (c.support.voters, c.support.area) > (cut.voters, cut.area))
            .map(|c| c.option_id)
            .collect();
        let tied: Vec<i64> = qualified
            .iter()
            .filter(|c| c.support == cut)
            .map(|c| c.option_id)
            .collect();
        if above.len() + tied.len() <= seats {
            elected = above.into_iter().chain(tied).collect();
        } else {
            runoff_seats = (seats - above.len()) as i64;
            elected = above;
            runoff_candidates = tied;
        }
    }
    ElectionOutcome {
        quorum_met,
        qualified,
        elected,
        runoff_seats,
        runoff_candidates,
    }
}

/// A selection among candidate companies: the one meeting the ordinary double majority is
/// selected (at most one can); none qualifying means no selection.
pub fn decide_selection(
    candidates: &[CandidateCount],
    participants: Weight,
    roll: Roll,
) -> Option<i64> {
    let quorum_met = quorum_met_on(participants.area, roll.area)
        && quorum_met_on(participants.voters, roll.voters);
    if !quorum_met {
        return None;
    }
    candidates
        .iter()
        .find(|c| {
            Threshold::MoreThanHalf.met(c.support.area, participants.area)
                && Threshold::MoreThanHalf.met(c.support.voters, participants.voters)
        })
        .map(|c| c.option_id)
}

/// Sums candidates' support from per-option counts, keeping every candidate (zeros included).
pub fn candidate_counts(option_ids: &[i64], counts: &BTreeMap<i64, Weight>) -> Vec<CandidateCount> {
    option_ids
        .iter()
        .map(|id| CandidateCount {
            option_id: *id,
            support: counts.get(id).copied().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLL: Roll = Weight {
        area: 3000,
        voters: 30,
    };

    fn counts(agree: (i64, i64), oppose: (i64, i64), abstain: (i64, i64)) -> MatterCounts {
        MatterCounts {
            agree: Weight::new(agree.0, agree.1),
            oppose: Weight::new(oppose.0, oppose.1),
            abstain: Weight::new(abstain.0, abstain.1),
            follow_majority: Weight::default(),
        }
    }

    #[test]
    fn quorum_is_two_thirds_inclusive_on_each_measure() {
        assert!(quorum_met_on(2000, 3000));
        assert!(!quorum_met_on(1999, 3000));
        assert!(quorum_met_on(20, 30));
        assert!(!quorum_met_on(19, 30));
        // 2/3 of 10 is 6.67: 7 meets it, 6 does not.
        assert!(quorum_met_on(7, 10));
        assert!(!quorum_met_on(6, 10));
        assert!(!quorum_met_on(0, 0));
    }

    #[test]
    fn quorum_needs_both_measures() {
        // Area met exactly, voters one short.
        let c = counts((2000, 19), (0, 0), (0, 0));
        let o = decide_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf);
        assert!(!o.quorum_met && !o.passed);
        // Voters met exactly, area one hundredth short.
        let c = counts((1999, 20), (0, 0), (0, 0));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf).quorum_met);
        let c = counts((2000, 20), (0, 0), (0, 0));
        assert!(decide_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf).passed);
    }

    #[test]
    fn more_than_half_excludes_exactly_half_on_each_measure() {
        let t = Threshold::MoreThanHalf;
        assert!(!t.met(50, 100));
        assert!(t.met(51, 100));
        assert!(!t.met(2, 5) && t.met(3, 5));
        // Participation 2400 area / 24 voters: exactly half agrees on area → fails.
        let c = counts((1200, 13), (1200, 11), (0, 0));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        // Exactly half on voters → fails.
        let c = counts((1300, 12), (1100, 12), (0, 0));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        // One more on each → passes.
        let c = counts((1201, 13), (1199, 11), (0, 0));
        assert!(decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        // Abstentions take part and count against.
        let c = counts((1201, 13), (0, 0), (1199, 11));
        assert!(decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        let c = counts((1200, 12), (0, 0), (1200, 12));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
    }

    #[test]
    fn three_quarters_includes_the_boundary_on_each_measure() {
        let t = Threshold::ThreeQuarters;
        assert!(t.met(75, 100) && !t.met(74, 100));
        assert!(t.met(3, 4) && !t.met(2, 4));
        // Participation 2400 / 24: exactly 3/4 is 1800 and 18.
        let c = counts((1800, 18), (600, 6), (0, 0));
        assert!(decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        let c = counts((1799, 18), (601, 6), (0, 0));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        let c = counts((1800, 17), (600, 7), (0, 0));
        assert!(!decide_matter(&c, ROLL, NonVoterRule::None, t).passed);
        assert_eq!(MatterType::Rebuild.threshold(), t);
        assert_eq!(MatterType::MaintenanceFundRaise.threshold(), t);
        assert_eq!(MatterType::CommonPartsChange.threshold(), t);
        assert_eq!(
            MatterType::MaintenanceFundUse.threshold(),
            Threshold::MoreThanHalf
        );
        assert_eq!(MatterType::OtherMajor.threshold(), Threshold::MoreThanHalf);
    }

    #[test]
    fn what_is_needed_to_pass_is_exactly_enough_on_each_measure() {
        // Every small situation on a roll of 30/10 (area, voters, scaled apart so the measures
        // differ), both thresholds: adding `needed` agreeing passes, one less of either fails.
        let roll = Weight::new(30, 10);
        for t in [Threshold::MoreThanHalf, Threshold::ThreeQuarters] {
            for (agree, oppose) in [(0, 0), (3, 1), (9, 3), (12, 4), (6, 5), (15, 5), (21, 7)] {
                let c = MatterCounts {
                    agree: Weight::new(agree, agree / 3),
                    oppose: Weight::new(oppose, oppose / 3 + 1),
                    ..MatterCounts::default()
                };
                if c.participants().voters > roll.voters {
                    continue;
                }
                let p = project_matter(&c, roll, NonVoterRule::None, t);
                let Some(n) = p.needed else {
                    let mut best = c;
                    best.agree = best.agree.plus(roll.minus(c.participants()));
                    assert!(!decide_matter(&best, roll, NonVoterRule::None, t).passed);
                    continue;
                };
                let with = |w: Weight| {
                    let mut more = c;
                    more.agree = more.agree.plus(w);
                    decide_matter(&more, roll, NonVoterRule::None, t).passed
                };
                assert!(with(n), "{t:?} {c:?} + {n:?}");
                if n.area > 0 {
                    assert!(!with(Weight::new(n.area - 1, n.voters)), "{t:?} {c:?} area");
                }
                if n.voters > 0 {
                    assert!(
                        !with(Weight::new(n.area, n.voters - 1)),
                        "{t:?} {c:?} voters"
                    );
                }
            }
        }
    }

    #[test]
    fn follow_majority_choice_joins_the_leader_or_abstains_on_a_split() {
        let mut c = counts((1000, 9), (500, 6), (0, 0));
        c.follow_majority = Weight::new(600, 6);
        let e = effective(&c, ROLL, NonVoterRule::FollowMajorityChoice);
        assert_eq!(e.agree, Weight::new(1600, 15));
        assert_eq!(e.participants, Weight::new(2100, 21));
        // Under NONE, a follow-majority count never agrees.
        assert_eq!(
            effective(&c, ROLL, NonVoterRule::None).agree,
            Weight::new(1000, 9)
        );
        // Split: agree leads on area, oppose on voters → they abstain.
        let mut c = counts((1000, 5), (500, 10), (0, 0));
        c.follow_majority = Weight::new(600, 6);
        assert_eq!(
            effective(&c, ROLL, NonVoterRule::FollowMajorityChoice).agree,
            Weight::new(1000, 5)
        );
    }

    #[test]
    fn nonvoters_follow_the_majority_only_under_that_rule() {
        let c = counts((900, 9), (300, 3), (0, 0));
        let with = decide_matter(
            &c,
            ROLL,
            NonVoterRule::NonvotersFollowMajority,
            Threshold::MoreThanHalf,
        );
        assert!(with.quorum_met && with.passed);
        assert_eq!(with.effective.agree, Weight::new(2700, 27));
        let without = decide_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf);
        assert!(!without.quorum_met && !without.passed);
        // When opposition leads, non-voters join it.
        let c = counts((300, 3), (900, 9), (0, 0));
        assert!(
            !decide_matter(
                &c,
                ROLL,
                NonVoterRule::NonvotersFollowMajority,
                Threshold::MoreThanHalf
            )
            .passed
        );
    }

    #[test]
    fn projections_know_when_an_item_is_decided() {
        // 2100/21 agree already: even if the 9 remaining oppose, 21 of 30 > half and quorum met.
        let c = counts((2100, 21), (0, 0), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf);
        assert!(p.now.passed && p.decided_pass && !p.decided_fail);
        assert_eq!(p.needed, Some(Weight::new(0, 0)));
        // 1600/16 oppose: even if all 14 remaining agree, 14 of 30 is not more than half.
        let c = counts((0, 0), (1600, 16), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf);
        assert!(p.decided_fail && !p.decided_pass);
        assert_eq!(p.needed, None);
        // Open race: 1000/10 agree, 500/5 oppose; quorum needs 500/5 more; the majority then holds.
        let c = counts((1000, 10), (500, 5), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::MoreThanHalf);
        assert!(!p.decided_pass && !p.decided_fail);
        assert_eq!(p.needed, Some(Weight::new(500, 5)));
    }

    #[test]
    fn projections_under_a_three_quarter_threshold_stop_exactly_at_the_boundary() {
        // 1500/15 agree, 500/5 oppose: 3/4 of participants needs 4(a+x) >= 3(p+x), x >= 3p - 4a
        // = 0 on both measures, and the quorum (2000/20 of 3000/30) is met.
        let c = counts((1500, 15), (500, 5), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::ThreeQuarters);
        assert!(p.now.passed);
        assert_eq!(p.needed, Some(Weight::new(0, 0)));
        // One area unit and one voter fewer agreeing: exactly 3p - 4a = 1 more of each.
        let c = counts((1499, 14), (500, 5), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::ThreeQuarters);
        assert!(!p.now.passed);
        assert_eq!(
            p.needed,
            Some(Weight::new(3 * 1999 - 4 * 1499, 3 * 19 - 4 * 14))
        );
        // Against 500/5 opposing, 1500/15 agreeing are needed (of 2500/25 remaining).
        let c = counts((0, 0), (500, 5), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::ThreeQuarters);
        assert_eq!(p.needed, Some(Weight::new(1500, 15)));
        // Against 800/8, 2400/24 would be needed but only 2200/22 remain.
        let c = counts((0, 0), (800, 8), (0, 0));
        let p = project_matter(&c, ROLL, NonVoterRule::None, Threshold::ThreeQuarters);
        assert_eq!(p.needed, None);
        assert!(p.decided_fail);
    }

    #[test]
    fn new_agreement_that_takes_the_lead_brings_the_follow_majority_ballots() {
        // Oppose leads 100/1 against nothing; 1900/19 chose "follow the majority".
        let mut c = counts((0, 0), (100, 1), (0, 0));
        c.follow_majority = Weight::new(1900, 19);
        let p = project_matter(
            &c,
            ROLL,
            NonVoterRule::FollowMajorityChoice,
            Threshold::MoreThanHalf,
        );
        assert!(!p.now.passed && !p.decided_fail && !p.decided_pass);
        // 101/2 agreeing take the lead on both measures: 2001/21 of 2101/22 agree.
        assert_eq!(p.needed, Some(Weight::new(101, 2)));
        let mut after = c;
        after.agree = Weight::new(101, 2);
        assert!(
            decide_matter(
                &after,
                ROLL,
                NonVoterRule::FollowMajorityChoice,
                Threshold::MoreThanHalf
            )
            .passed
        );
        // One voter fewer ties on voters (1 against 1): a split, the follow ballots abstain.
        after.agree = Weight::new(101, 1);
        assert!(
            !decide_matter(
                &after,
                ROLL,
                NonVoterRule::FollowMajorityChoice,
                Threshold::MoreThanHalf
            )
            .passed
        );
    }

    #[test]
    fn under_nonvoters_follow_majority_a_leading_agreement_is_decided_and_needs_nothing() {
        // 1600/16 agree of 3000/30: even if the 14 others all oppose, 16 of 30 is a majority.
        let c = counts((1600, 16), (0, 0), (0, 0));
        let p = project_matter(
            &c,
            ROLL,
            NonVoterRule::NonvotersFollowMajority,
            Threshold::MoreThanHalf,
        );
        assert!(p.now.passed && p.decided_pass && !p.decided_fail);
        assert_eq!(p.needed, Some(Weight::new(0, 0)));
        // 900/9 agree, 300/3 oppose: passes as things stand (the 18 non-voters join agreement),
        // so nothing more is needed, but 1800/18 opposing could still sink it.
        let c = counts((900, 9), (300, 3), (0, 0));
        let p = project_matter(
            &c,
            ROLL,
            NonVoterRule::NonvotersFollowMajority,
            Threshold::MoreThanHalf,
        );
        assert!(p.now.passed && !p.decided_pass && !p.decided_fail);
        assert_eq!(p.needed, Some(Weight::new(0, 0)));
        // Oppose leads 300/3 against 200/2: 101/2 more agreeing take the lead, and then the
        // non-voters join agreement.
        let c = counts((200, 2), (300, 3), (0, 0));
        let p = project_matter(
            &c,
            ROLL,
            NonVoterRule::NonvotersFollowMajority,
            Threshold::MoreThanHalf,
        );
        assert!(!p.now.passed);
        assert_eq!(p.needed, Some(Weight::new(101, 2)));
    }

    #[test]
    fn an_election_without_seats_elects_no_one() {
        let c = [CandidateCount {
            option_id: 1,
            support: Weight::new(3000, 30),
        }];
        let e = decide_election(&c, ROLL, ROLL, 0);
        assert!(e.elected.is_empty() && e.runoff_seats == 0);
    }

    #[test]
    fn elections_rank_by_voters_then_area_and_flag_ties_for_a_runoff() {
        let participants = Weight::new(2400, 24);
        let c = |id, area, voters| CandidateCount {
            option_id: id,
            support: Weight::new(area, voters),
        };
        // Three qualify for two seats; ranked by voters then area.
        let out = decide_election(
            &[c(1, 1300, 13), c(2, 1500, 14), c(3, 1400, 14), c(4, 100, 1)],
            participants,
            ROLL,
            2,
        );
        assert_eq!(out.elected, vec![2, 3]);
        assert_eq!(out.runoff_seats, 0);
        // Exactly half on voters does not qualify.
        let out = decide_election(&[c(1, 1300, 12)], participants, ROLL, 1);
        assert!(out.elected.is_empty());
        // A tie for the last seat leaves it unfilled.
        let out = decide_election(
            &[c(1, 1500, 15), c(2, 1300, 13), c(3, 1300, 13)],
            participants,
            ROLL,
            2,
        );
        assert_eq!(out.elected, vec![1]);
        assert_eq!(out.runoff_seats, 1);
        assert_eq!(out.runoff_candidates, vec![2, 3]);
        // Tied candidates who all fit are all elected.
        let out = decide_election(&[c(2, 1300, 13), c(3, 1300, 13)], participants, ROLL, 2);
        assert_eq!(out.elected, vec![2, 3]);
        // No quorum, nobody elected.
        let out = decide_election(&[c(1, 1900, 19)], Weight::new(1900, 19), ROLL, 1);
        assert!(!out.quorum_met && out.elected.is_empty());
    }

    #[test]
    fn selections_need_the_ordinary_double_majority() {
        let p = Weight::new(2400, 24);
        let c = |id, area, voters| CandidateCount {
            option_id: id,
            support: Weight::new(area, voters),
        };
        assert_eq!(
            decide_selection(&[c(1, 1201, 13), c(2, 1199, 11)], p, ROLL),
            Some(1)
        );
        assert_eq!(
            decide_selection(&[c(1, 1200, 13), c(2, 1200, 11)], p, ROLL),
            None
        );
        assert_eq!(
            decide_selection(&[c(1, 1201, 12), c(2, 1199, 12)], p, ROLL),
            None
        );
        assert_eq!(
            decide_selection(&[c(1, 1900, 19)], Weight::new(1900, 19), ROLL),
            None
        );
    }

    #[test]
    fn sentences_read_like_the_issue() {
        let roll = Weight::new(10_000, 1000);
        let c = counts((5_917, 538), (2_393, 242), (0, 14));
        let o = decide_matter(&c, roll, NonVoterRule::None, Threshold::MoreThanHalf);
        let s = matter_sentence(&o);
        assert!(s.starts_with("passed: "), "{s}");
        assert!(s.contains("more than 50% of both needed"), "{s}");
        assert!(
            s.contains("83.10% of area and 79.40% of owners took part"),
            "{s}"
        );
    }
}
