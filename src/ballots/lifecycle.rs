//! The ballot's states and which actions move it (pure).

/// Where a ballot is in its life.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BallotState {
    /// Being prepared by the organizer; may still change.
    Draft,
    /// Submitted to the subdistrict office for approval.
    PendingApproval,
    /// Approved; opens at `opensAt`.
    Approved,
    /// Rejected by the subdistrict office, with its reason.
    Rejected,
    /// Voting is open; the roll is frozen.
    Open,
    /// Voting has closed; the tally is being computed.
    Closed,
    /// Results are computed and published.
    Tallied,
    /// Cancelled by the organizer before it opened.
    Cancelled,
}

impl BallotState {
    pub const ALL: [BallotState; 8] = [
        BallotState::Draft,
        BallotState::PendingApproval,
        BallotState::Approved,
        BallotState::Rejected,
        BallotState::Open,
        BallotState::Closed,
        BallotState::Tallied,
        BallotState::Cancelled,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            BallotState::Draft => "DRAFT",
            BallotState::PendingApproval => "PENDING_APPROVAL",
            BallotState::Approved => "APPROVED",
            BallotState::Rejected => "REJECTED",
            BallotState::Open => "OPEN",
            BallotState::Closed => "CLOSED",
            BallotState::Tallied => "TALLIED",
            BallotState::Cancelled => "CANCELLED",
        }
    }

    pub fn from_db(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|x| x.as_db() == s)
            .unwrap_or(BallotState::Draft)
    }
}

/// What someone (or the clock) does to a ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Update,
    Submit,
    Approve,
    Reject,
    Cancel,
    Open,
    Close,
    Tally,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Update => "changed",
            Action::Submit => "submitted",
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Cancel => "cancelled",
            Action::Open => "opened",
            Action::Close => "closed",
            Action::Tally => "tallied",
        }
    }
}

/// The state an action leads to, or why it is not allowed now.
pub fn transition(from: BallotState, action: Action) -> Result<BallotState, String> {
    use Action as A;
    use BallotState as S;
    let to = match (from, action) {
        (S::Draft, A::Update) => S::Draft,
        (S::Draft, A::Submit) => S::PendingApproval,
        (S::PendingApproval, A::Approve) => S::Approved,
        (S::PendingApproval, A::Reject) => S::Rejected,
        (S::Draft | S::PendingApproval | S::Approved, A::Cancel) => S::Cancelled,
        (S::Approved, A::Open) => S::Open,
        (S::Open, A::Close) => S::Closed,
        (S::Closed, A::Tally) => S::Tallied,
        (from, action) => {
            let why = match (from, action) {
                (_, A::Update) => "only a draft can be changed",
                (_, A::Submit) => "only a draft can be submitted",
                (_, A::Approve | A::Reject) => {
                    "only a ballot pending approval can be approved or rejected"
                }
                (S::Open | S::Closed | S::Tallied, A::Cancel) => {
                    "a ballot cannot be cancelled once it has opened"
                }
                (_, A::Cancel) => "this ballot is already finished",
                _ => "the clock moves ballots from approved to open, closed and tallied only",
            };
            return Err(format!(
                "a {} ballot cannot be {}: {why}",
                from.as_db(),
                action.verb()
            ));
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let mut s = BallotState::Draft;
        for a in [
            Action::Update,
            Action::Submit,
            Action::Approve,
            Action::Open,
            Action::Close,
            Action::Tally,
        ] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, BallotState::Tallied);
    }

    #[test]
    fn illegal_transitions_say_why() {
        for s in BallotState::ALL {
            for a in [
                Action::Update,
                Action::Submit,
                Action::Approve,
                Action::Reject,
                Action::Cancel,
                Action::Open,
                Action::Close,
                Action::Tally,
            ] {
                let ok = transition(s, a).is_ok();
                let expected = matches!(
                    (s, a),
                    (
                        BallotState::Draft,
                        Action::Update | Action::Submit | Action::Cancel
                    ) | (
                        BallotState::PendingApproval,
                        Action::Approve | Action::Reject | Action::Cancel
                    ) | (BallotState::Approved, Action::Cancel | Action::Open)
                        | (BallotState::Open, Action::Close)
                        | (BallotState::Closed, Action::Tally)
                );
                assert_eq!(ok, expected, "{s:?} {a:?}");
            }
        }
        let e = transition(BallotState::Open, Action::Cancel).unwrap_err();
        assert!(e.contains("once it has opened"), "{e}");
    }
}
